package testenv_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/idcrpc/idc/clients/go/internal/testenv"
)

// TestRequireReturnsTheValue checks the plain case.
func TestRequireReturnsTheValue(t *testing.T) {
	t.Setenv("IDC_TESTENV_PROBE", "here")
	if got := testenv.Require(t, "IDC_TESTENV_PROBE", "a probe"); got != "here" {
		t.Fatalf("Require = %q, want %q", got, "here")
	}
}

// TestRequireFailsInTheGateAndSkipsOutside runs itself in a child process,
// with and without IDC_CONTRACT, where it requires an unset variable, and
// reads the child's verdict.
func TestRequireFailsInTheGateAndSkipsOutside(t *testing.T) {
	if os.Getenv("IDC_TESTENV_CHILD") != "" {
		testenv.Require(t, "IDC_TESTENV_MISSING", "a probe")
		return
	}
	for _, tc := range []struct {
		gate, want string
		fails      bool
	}{
		{"1", "IDC_CONTRACT is set but IDC_TESTENV_MISSING (a probe) is not", true},
		{"", "needs IDC_TESTENV_MISSING, a probe", false},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRequireFailsInTheGateAndSkipsOutside$", "-test.v")
		cmd.Env = append(os.Environ(), "IDC_TESTENV_CHILD=1", "IDC_CONTRACT="+tc.gate, "IDC_TESTENV_MISSING=")
		out, err := cmd.CombinedOutput()
		if failed := err != nil; failed != tc.fails {
			t.Errorf("IDC_CONTRACT=%q: failed = %v, want %v:\n%s", tc.gate, failed, tc.fails, out)
		}
		if !strings.Contains(string(out), tc.want) {
			t.Errorf("IDC_CONTRACT=%q: output lacks %q:\n%s", tc.gate, tc.want, out)
		}
	}
}
