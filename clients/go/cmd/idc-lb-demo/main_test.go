package main

import (
	"bytes"
	"context"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
	"github.com/idcrpc/idc/clients/go/internal/testpki"
)

type backend struct {
	idcv1.UnimplementedIndicatorServiceServer
}

func (backend) GetMACD(context.Context, *idcv1.GetMACDRequest) (*idcv1.GetMACDResponse, error) {
	return &idcv1.GetMACDResponse{Symbol: "SPY"}, nil
}

// serve starts a backend on a free local port and returns its address and
// health server.
func serve(t *testing.T, opts ...grpc.ServerOption) (string, *health.Server) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(opts...)
	idcv1.RegisterIndicatorServiceServer(srv, backend{})
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String(), hs
}

var countLine = regexp.MustCompile(`(?m)^\s*(\S+:\d+)\s+(\d+)$`)

// counts parses the per-backend lines of the output.
func counts(out string) map[string]int {
	m := map[string]int{}
	for _, l := range countLine.FindAllStringSubmatch(out, -1) {
		n, _ := strconv.Atoi(l[2])
		m[l[1]] = n
	}
	return m
}

func noEnv(string) string { return "" }

func TestRun(t *testing.T) {
	var addrs []string
	for range 3 {
		a, _ := serve(t)
		addrs = append(addrs, a)
	}
	targets := strings.Join(addrs, ",")

	t.Run("round_robin spreads the calls evenly", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if code := run(t.Context(), []string{"--targets", targets, "--calls", "30"}, &stdout, &stderr, noEnv); code != 0 {
			t.Fatalf("exit status %d; stderr:\n%s", code, &stderr)
		}
		got := counts(stdout.String())
		for _, a := range addrs {
			if got[a] != 10 {
				t.Errorf("counts %v, want 10 calls to each of %v; output:\n%s", got, addrs, &stdout)
				break
			}
		}
		if !strings.Contains(stdout.String(), "30 calls with round_robin over 3 targets: 0 failed, 3 backends answered") {
			t.Errorf("output lacks the summary:\n%s", &stdout)
		}
	})

	t.Run("pick_first uses one backend", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if code := run(t.Context(), []string{"--targets", targets, "--calls", "9", "--policy", "pick_first"}, &stdout, &stderr, noEnv); code != 0 {
			t.Fatalf("exit status %d; stderr:\n%s", code, &stderr)
		}
		if got := counts(stdout.String()); len(got) != 1 {
			t.Errorf("counts %v, want one backend; output:\n%s", got, &stdout)
		}
	})

	t.Run("a NOT_SERVING backend gets no calls", func(t *testing.T) {
		up, _ := serve(t)
		draining, hs := serve(t)
		hs.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), []string{"--targets", up + "," + draining, "--calls", "10", "--warmup=false"}, &stdout, &stderr, noEnv)
		if code != 0 {
			t.Fatalf("exit status %d; stderr:\n%s", code, &stderr)
		}
		if got := counts(stdout.String()); got[up] != 10 || len(got) != 1 {
			t.Errorf("counts %v, want all 10 calls to %s", got, up)
		}
	})

	t.Run("TLS and token", func(t *testing.T) {
		pki := testpki.New(t)
		a, _ := serve(t, grpc.Creds(credentials.NewTLS(pki.ServerTLS(true))))
		b, _ := serve(t, grpc.Creds(credentials.NewTLS(pki.ServerTLS(true))))
		var stdout, stderr bytes.Buffer
		env := func(k string) string {
			if k == "IDC_TOKEN" {
				return "tok"
			}
			return ""
		}
		args := []string{"--targets", a + "," + b, "--calls", "4", "--ca", pki.CAFile, "--cert", pki.ClientCert, "--key", pki.ClientKey}
		if code := run(t.Context(), args, &stdout, &stderr, env); code != 0 {
			t.Fatalf("exit status %d; stderr:\n%s", code, &stderr)
		}
		if got := counts(stdout.String()); got[a] != 2 || got[b] != 2 {
			t.Errorf("counts %v, want 2 calls to each of %s and %s", got, a, b)
		}
	})

	t.Run("usage errors", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{nil, "--targets is required"},
			{[]string{"--targets", "127.0.0.1"}, `target "127.0.0.1" is not host:port`},
			{[]string{"--targets", addrs[0] + "," + addrs[0]}, "listed twice"},
			{[]string{"--targets", targets, "--calls", "0"}, "--calls must be at least 1"},
			{[]string{"--targets", targets, "--policy", "bogus"}, `unknown load-balancing policy "bogus"`},
			{[]string{"--targets", targets, "extra"}, "unexpected arguments"},
		} {
			var stdout, stderr bytes.Buffer
			if code := run(t.Context(), tc.args, &stdout, &stderr, noEnv); code != 2 {
				t.Errorf("%q: exit status %d, want 2", tc.args, code)
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("%q: stderr lacks %q:\n%s", tc.args, tc.want, &stderr)
			}
		}
	})

	t.Run("failed calls", func(t *testing.T) {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		dead := lis.Addr().String()
		_ = lis.Close()
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), []string{"--targets", dead, "--calls", "2", "--warmup=false", "--retry", "1"}, &stdout, &stderr, noEnv)
		if code != 1 || !strings.Contains(stdout.String(), "2 failed") {
			t.Errorf("exit status %d, output:\n%s\nwant 1 and 2 failed calls", code, &stdout)
		}
	})
}
