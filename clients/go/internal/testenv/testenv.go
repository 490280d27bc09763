// Package testenv reads the environment variables that idc's contract tests
// need, under one rule: a test may skip for a missing variable only outside
// the gate.
//
// The nox sessions that run Go tests (tests and contract) set
// IDC_CONTRACT=1 together with every variable they provide (IDC_ADDR,
// IDC_SERVER_BIN, IDC_METRICS_URL). With IDC_CONTRACT set, a missing
// variable fails the test instead of skipping it, so a session that forgot
// one cannot pass by running nothing. Without it (a plain `go test ./...`
// on a developer's machine), the test skips and says what to set.
package testenv

import (
	"os"
	"testing"
)

// Gate is the variable the gate's sessions set to make missing variables fail.
const Gate = "IDC_CONTRACT"

// Require returns the value of the environment variable name. When it is
// empty, the test fails if Gate is set and skips otherwise; purpose says
// what the variable is for, e.g. "the address of a running idc server".
func Require(t testing.TB, name, purpose string) string {
	t.Helper()
	value := os.Getenv(name)
	if value != "" {
		return value
	}
	if os.Getenv(Gate) != "" {
		t.Fatalf("%s is set but %s (%s) is not: the session must provide it", Gate, name, purpose)
	}
	t.Skipf("needs %s, %s: set it to run this test", name, purpose)
	return ""
}
