package idc_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
	"github.com/idcrpc/idc/clients/go/idc"
	"github.com/idcrpc/idc/clients/go/internal/testenv"
	"github.com/idcrpc/idc/clients/go/internal/testpki"
)

// These contract tests start their own idc-server processes, from the
// executable in IDC_SERVER_BIN, to test the client's TLS, token, load
// balancing, retry and keepalive options against the real server:
//
//	IDC_SERVER_BIN=$(command -v idc-server) go test ./idc
//
// They are skipped when IDC_SERVER_BIN is unset outside the gate (see
// internal/testenv), and each one fails, saying why, when the server's
// --help lacks a flag it needs: a missing feature is a failure. They run in
// parallel, since each server takes seconds to start.

// serverStartTimeout bounds how long a server may take to open its port.
// Each one builds its catalogue (every TA-Lib function, the formula files,
// the plugins) and starts two render workers, and these tests start eight
// at once: on the gate's loaded 2-core machine that took over 2 minutes.
const serverStartTimeout = 5 * time.Minute

func serverBin(t *testing.T) string {
	t.Helper()
	return testenv.Require(t, "IDC_SERVER_BIN", "the idc-server executable")
}

var serverHelp = sync.OnceValues(func() (string, error) {
	out, err := exec.Command(os.Getenv("IDC_SERVER_BIN"), "--help").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("idc-server --help: %w\n%s", err, out)
	}
	return string(out), nil
})

// requireServer returns the server in IDC_SERVER_BIN, and fails the test
// unless its --help mentions every one of features (flags or environment
// variables).
func requireServer(t *testing.T, features ...string) string {
	t.Helper()
	bin := serverBin(t)
	help, err := serverHelp()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range features {
		if !regexp.MustCompile(`(^|[\s\[(,])` + regexp.QuoteMeta(f) + `($|[\s\]),=])`).MatchString(help) {
			t.Fatalf("idc-server --help has no %s, which this test needs:\n%s", f, help)
		}
	}
	return bin
}

// lockedBuffer collects a server's output.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// serverProc is an idc-server process listening on 127.0.0.1.
type serverProc struct {
	addr   string
	cmd    *exec.Cmd
	out    *lockedBuffer
	exited chan struct{} // closed when the process has exited
	err    error         // the process's exit error, once exited is closed
}

// freePort returns a TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := lis.Addr().(*net.TCPAddr).Port
	if err := lis.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

// startServer starts idc-server on a free port of 127.0.0.1 with args and
// the extra environment env ("NAME=value"); the IDC_* variables of the
// test's own environment are not passed on. It does not wait for the
// port: call wait. The process is killed when the test ends.
func startServer(t *testing.T, bin string, env []string, args ...string) *serverProc {
	t.Helper()
	port := freePort(t)
	args = append([]string{"--host", "127.0.0.1", "--port", strconv.Itoa(port)}, args...)
	s := &serverProc{
		addr:   net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		cmd:    exec.Command(bin, args...),
		out:    &lockedBuffer{},
		exited: make(chan struct{}),
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "IDC_") {
			s.cmd.Env = append(s.cmd.Env, kv)
		}
	}
	s.cmd.Env = append(s.cmd.Env, env...)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start idc-server: %v", err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		<-s.exited
		if t.Failed() {
			t.Logf("idc-server %s output:\n%s", strings.Join(args, " "), s.out)
		}
	})
	return s
}

// wait returns once the server accepts TCP connections, and fails the
// test when the process exits first or serverStartTimeout passes.
func (s *serverProc) wait(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(serverStartTimeout)
	for attempt := 0; time.Now().Before(deadline); attempt++ {
		conn, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err == nil {
			_ = conn.Close()
			return
		}
		select {
		case <-s.exited:
			t.Fatalf("idc-server exited before listening on %s: %v\n%s", s.addr, s.err, s.out)
		case <-time.After(time.Duration(min(attempt+1, 10)) * 20 * time.Millisecond): // poll backoff
		}
	}
	t.Fatalf("idc-server did not listen on %s within %v\n%s", s.addr, serverStartTimeout, s.out)
}

// stop sends sig and waits up to a minute for the process to exit.
func (s *serverProc) stop(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal idc-server: %v", err)
	}
	select {
	case <-s.exited:
	case <-time.After(time.Minute):
		t.Fatalf("idc-server did not exit within a minute of %v", sig)
	}
}

// startServers starts n servers with the same arguments and waits for all
// of them.
func startServers(t *testing.T, bin string, n int, env []string, args ...string) []*serverProc {
	t.Helper()
	servers := make([]*serverProc, n)
	for i := range servers {
		servers[i] = startServer(t, bin, env, args...)
	}
	for _, s := range servers {
		s.wait(t)
	}
	return servers
}

func addrsOf(servers []*serverProc) []string {
	addrs := make([]string, len(servers))
	for i, s := range servers {
		addrs[i] = s.addr
	}
	return addrs
}

// spyMACD calls GetMACD for SPY's last 2023 bar and checks the answer.
func spyMACD(ctx context.Context, c *idc.Client) (string, error) {
	q := idc.MACDQuery{Symbol: "SPY", Start: "2023-12-29", End: "2023-12-29"}
	var p peer.Peer
	resp, err := c.GetMACD(ctx, must(q.Request()), grpc.Peer(&p))
	if err != nil {
		return "", err
	}
	rows, err := idc.MACDRows(resp)
	if err != nil {
		return "", err
	}
	if len(rows) != 1 || !rows[0].Valid || resp.GetSymbol() != "SPY" {
		return "", fmt.Errorf("got %s rows %+v, want SPY's 2023-12-29 bar", resp.GetSymbol(), rows)
	}
	return p.Addr.String(), nil
}

func TestContractServerTLS(t *testing.T) {
	bin := requireServer(t, "--tls-cert", "--tls-key")
	t.Parallel()
	pki := testpki.New(t)
	s := startServer(t, bin, nil, "--tls-cert", pki.ServerCert, "--tls-key", pki.ServerKey)
	s.wait(t)

	t.Run("client trusting the CA", func(t *testing.T) {
		c := dial(t, s.addr, idc.WithTLSFiles(pki.CAFile, "", ""), idc.WithTimeout(time.Minute))
		if _, err := spyMACD(t.Context(), c); err != nil {
			t.Fatalf("GetMACD: %v", err)
		}
	})

	t.Run("client trusting another CA", func(t *testing.T) {
		c := dial(t, s.addr, idc.WithTLSFiles(pki.OtherCAFile, "", ""))
		_, err := spyMACD(t.Context(), c)
		wantFailure(t, err, codes.Unavailable, "certificate")
	})

	t.Run("plaintext client", func(t *testing.T) {
		c := dial(t, s.addr)
		_, err := spyMACD(t.Context(), c)
		wantFailure(t, err, codes.Unavailable)
	})
}

func TestContractServerMTLS(t *testing.T) {
	bin := requireServer(t, "--tls-cert", "--tls-key", "--tls-client-ca")
	t.Parallel()
	pki := testpki.New(t)
	s := startServer(t, bin, nil, "--tls-cert", pki.ServerCert, "--tls-key", pki.ServerKey, "--tls-client-ca", pki.CAFile)
	s.wait(t)

	t.Run("client certificate signed by the CA", func(t *testing.T) {
		c := dial(t, s.addr, idc.WithTLSFiles(pki.CAFile, pki.ClientCert, pki.ClientKey), idc.WithTimeout(time.Minute))
		if _, err := spyMACD(t.Context(), c); err != nil {
			t.Fatalf("GetMACD: %v", err)
		}
	})

	t.Run("no client certificate", func(t *testing.T) {
		c := dial(t, s.addr, idc.WithTLSFiles(pki.CAFile, "", ""))
		_, err := spyMACD(t.Context(), c)
		wantFailure(t, err, codes.Unavailable)
	})

	t.Run("client certificate of another CA", func(t *testing.T) {
		c := dial(t, s.addr, idc.WithTLSFiles(pki.CAFile, pki.OtherClientCert, pki.OtherClientKey))
		_, err := spyMACD(t.Context(), c)
		wantFailure(t, err, codes.Unavailable)
	})
}

// waitServing watches the health of service on c's server until it is
// SERVING, and fails the test if the call's deadline passes first.
func waitServing(t *testing.T, ctx context.Context, hc healthpb.HealthClient, service string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	stream, err := hc.Watch(ctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		t.Fatalf("Watch(%q): %v", service, err)
	}
	for {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatalf("Watch(%q): %v", service, err)
		}
		if resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return
		}
	}
}

func TestContractServerAuth(t *testing.T) {
	bin := requireServer(t, "IDC_AUTH_TOKENS")
	t.Parallel()
	s := startServer(t, bin, []string{"IDC_AUTH_TOKENS=secret1"})
	s.wait(t)

	t.Run("no token", func(t *testing.T) {
		c := dial(t, s.addr)
		_, err := spyMACD(t.Context(), c)
		wantFailure(t, err, codes.Unauthenticated, "get macd:")
	})

	t.Run("wrong token", func(t *testing.T) {
		c := dial(t, s.addr, idc.WithToken("secret2"), idc.WithInsecureToken())
		_, err := spyMACD(t.Context(), c)
		wantFailure(t, err, codes.Unauthenticated)
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("error %q repeats a token", err)
		}
	})

	t.Run("right token", func(t *testing.T) {
		c := dial(t, s.addr, idc.WithToken("secret1"), idc.WithInsecureToken(), idc.WithTimeout(time.Minute))
		if _, err := spyMACD(t.Context(), c); err != nil {
			t.Fatalf("GetMACD: %v", err)
		}
		if _, err := c.ListSymbols(t.Context()); err != nil {
			t.Errorf("ListSymbols: %v", err)
		}
	})

	t.Run("health without a token", func(t *testing.T) {
		c := dial(t, s.addr)
		hc := healthpb.NewHealthClient(c.Conn())
		for _, service := range []string{"", "idc.v1.IndicatorService", "idc.v1.IndicatorGraphService", "idc.Indicator", "idc.IndicatorGraph"} {
			waitServing(t, t.Context(), hc, service)
			resp, err := hc.Check(t.Context(), &healthpb.HealthCheckRequest{Service: service})
			if err != nil {
				t.Fatalf("Check(%q): %v", service, err)
			}
			if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Errorf("Check(%q) = %s, want SERVING", service, resp.GetStatus())
			}
		}
		_, err := hc.Check(t.Context(), &healthpb.HealthCheckRequest{Service: "no.such.Service"})
		if status.Code(err) != codes.NotFound {
			t.Errorf("Check of an unknown service: %v, want NOT_FOUND", err)
		}
	})
}

func TestContractServerAuthTokenFileOverTLS(t *testing.T) {
	bin := requireServer(t, "--tls-cert", "--tls-key", "--auth-token-file")
	t.Parallel()
	pki := testpki.New(t)
	tokens := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(tokens, []byte("first-token\nsecond-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, bin, nil, "--tls-cert", pki.ServerCert, "--tls-key", pki.ServerKey, "--auth-token-file", tokens)
	s.wait(t)

	for _, token := range []string{"first-token", "second-token"} {
		t.Run("token "+token, func(t *testing.T) {
			c := dial(t, s.addr, idc.WithTLSFiles(pki.CAFile, "", ""), idc.WithToken(token), idc.WithTimeout(time.Minute))
			if _, err := spyMACD(t.Context(), c); err != nil {
				t.Fatalf("GetMACD: %v", err)
			}
		})
	}

	t.Run("no token", func(t *testing.T) {
		c := dial(t, s.addr, idc.WithTLSFiles(pki.CAFile, "", ""))
		_, err := c.GetMACDGraph(t.Context(), &idcv1.GetMACDGraphRequest{})
		wantFailure(t, err, codes.Unauthenticated, "get macd graph:")
	})
}

func TestContractServerRoundRobin(t *testing.T) {
	bin := requireServer(t)
	t.Parallel()
	servers := startServers(t, bin, 3, nil)
	addrs := addrsOf(servers)
	c := dialAll(t, addrs, idc.WithLoadBalancing("round_robin"), idc.WithTimeout(time.Minute))

	// Once every backend has answered, round_robin has a ready connection
	// to each and takes them in turn. A connection that is not ready yet
	// (a loaded machine) is retried with backoff, so this waits by the
	// clock, not by a number of calls.
	seen := map[string]bool{}
	deadline := time.Now().Add(30 * time.Second)
	for len(seen) < len(addrs) {
		if time.Now().After(deadline) {
			t.Fatalf("within 30 s only %v of %v answered", seen, addrs)
		}
		a, err := spyMACD(t.Context(), c)
		if err != nil {
			t.Fatalf("GetMACD: %v", err)
		}
		if seen[a] {
			time.Sleep(10 * time.Millisecond) // poll interval while a backend connects
		}
		seen[a] = true
	}

	counts := map[string]int{}
	for range 30 {
		a, err := spyMACD(t.Context(), c)
		if err != nil {
			t.Fatalf("GetMACD: %v", err)
		}
		counts[a]++
	}
	t.Logf("30 calls: %v", counts)
	for _, a := range addrs {
		if n := counts[a]; n < 9 || n > 11 {
			t.Errorf("backend %s got %d of 30 calls, want 10 ± 1 (counts %v)", a, n, counts)
		}
	}
}

// TestContractServerFailover stops one of three backends between calls: with
// round_robin and the default retry policy, no call fails, and the later
// calls go to the other two.
func TestContractServerFailover(t *testing.T) {
	bin := requireServer(t, "--grace-seconds")
	t.Parallel()
	for _, tc := range []struct {
		name string
		sig  syscall.Signal
		opts []idc.Option
	}{
		{"SIGTERM drains", syscall.SIGTERM, []idc.Option{idc.WithHealthCheck("")}},
		{"SIGKILL", syscall.SIGKILL, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			servers := startServers(t, bin, 3, nil, "--grace-seconds", "2")
			opts := append([]idc.Option{idc.WithLoadBalancing("round_robin"), idc.WithTimeout(time.Minute)}, tc.opts...)
			c := dialAll(t, addrsOf(servers), opts...)
			for i := range 15 {
				if _, err := spyMACD(t.Context(), c); err != nil {
					t.Fatalf("call %d before the stop: %v", i, err)
				}
			}
			servers[0].stop(t, tc.sig)
			counts := map[string]int{}
			for i := range 15 {
				a, err := spyMACD(t.Context(), c)
				if err != nil {
					t.Fatalf("call %d after the stop: %v", i, err)
				}
				counts[a]++
			}
			if counts[servers[0].addr] != 0 {
				t.Errorf("the stopped backend answered %d calls", counts[servers[0].addr])
			}
			t.Logf("15 calls after the stop: %v", counts)
		})
	}
}

// TestContractServerKeepalive checks that the server accepts the client's pings
// every 10 s without calls: the connection stays READY for 35 s, during
// which the client pings three times; a server refusing them would close
// it (GOAWAY too_many_pings) after the third.
func TestContractServerKeepalive(t *testing.T) {
	bin := requireServer(t)
	if testing.Short() {
		t.Skip("takes 35 s: skipped in -short mode")
	}
	t.Parallel()
	s := startServer(t, bin, nil)
	s.wait(t)
	c := dial(t, s.addr, idc.WithKeepalive(idc.MinKeepaliveTime, 5*time.Second), idc.WithTimeout(time.Minute))
	if _, err := spyMACD(t.Context(), c); err != nil {
		t.Fatalf("GetMACD: %v", err)
	}
	conn := c.Conn()
	if st := conn.GetState(); st != connectivity.Ready {
		t.Fatalf("state after a call = %s, want READY", st)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 35*time.Second)
	defer cancel()
	if conn.WaitForStateChange(ctx, connectivity.Ready) {
		t.Fatalf("the idle connection left READY for %s:\n%s", conn.GetState(), s.out)
	}
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal(ctx.Err())
	}
	if _, err := spyMACD(t.Context(), c); err != nil {
		t.Fatalf("GetMACD after 35 s idle: %v", err)
	}
}
