package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
	"github.com/idcrpc/idc/clients/go/internal/testpki"
)

// serveSecured starts the fake server on a free local port, over TLS when
// tlsConfig is not nil, answering UNAUTHENTICATED to calls without
// "authorization: Bearer tok".
func serveSecured(t *testing.T, tlsConfig *tls.Config) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	auth := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		if got := md.Get("authorization"); len(got) != 1 || got[0] != "Bearer tok" {
			return nil, status.Error(codes.Unauthenticated, "missing or wrong bearer token")
		}
		return handler(ctx, req)
	}
	opts := []grpc.ServerOption{grpc.UnaryInterceptor(auth)}
	if tlsConfig != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(tlsConfig)))
	}
	srv := grpc.NewServer(opts...)
	idcv1.RegisterIndicatorServiceServer(srv, &fakeServer{})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

func TestConnectionFlags(t *testing.T) {
	pki := testpki.New(t)
	tlsAddr := serveSecured(t, pki.ServerTLS(false))
	mtlsAddr := serveSecured(t, pki.ServerTLS(true))
	plainAddr := serveSecured(t, nil)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("tok\nignored\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		env    string // IDC_TOKEN
		args   []string
		code   int
		stderr string
	}{
		{"TLS and token from IDC_TOKEN", "tok", []string{"--target", tlsAddr, "--ca", pki.CAFile}, 0, ""},
		{"TLS and token file", "", []string{"--target", tlsAddr, "--ca", pki.CAFile, "--token-file", tokenFile}, 0, ""},
		{"no token", "", []string{"--target", tlsAddr, "--ca", pki.CAFile}, int(codes.Unauthenticated), "missing or wrong bearer token"},
		{"wrong token", "nope", []string{"--target", tlsAddr, "--ca", pki.CAFile}, int(codes.Unauthenticated), "error: UNAUTHENTICATED: missing or wrong bearer token"},
		{"wrong CA", "tok", []string{"--target", tlsAddr, "--ca", pki.OtherCAFile, "--retry", "1"}, int(codes.Unavailable), "certificate"},
		{"mutual TLS", "tok", []string{"--target", mtlsAddr, "--ca", pki.CAFile, "--cert", pki.ClientCert, "--key", pki.ClientKey}, 0, ""},
		{"mutual TLS without a certificate", "tok", []string{"--target", mtlsAddr, "--ca", pki.CAFile}, int(codes.Unavailable), ""},
		{"token over plaintext refused", "tok", []string{"--target", plainAddr}, 2, "needs TLS"},
		{"token over plaintext allowed", "tok", []string{"--target", plainAddr, "--insecure-token"}, 0, ""},
		{"cert without key", "", []string{"--target", tlsAddr, "--ca", pki.CAFile, "--cert", pki.ClientCert}, 2, "--cert and --key go together"},
		{"missing CA file", "", []string{"--target", tlsAddr, "--ca", filepath.Join(t.TempDir(), "none.pem")}, 2, "read CA file"},
		{"missing token file", "", []string{"--target", tlsAddr, "--ca", pki.CAFile, "--token-file", filepath.Join(t.TempDir(), "none")}, 2, "--token-file"},
		{"keepalive below 10s", "", []string{"--target", tlsAddr, "--keepalive", "5s"}, 2, "below the server's minimum"},
		{"keepalive", "tok", []string{"--target", tlsAddr, "--ca", pki.CAFile, "--keepalive", "30s"}, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("IDC_TOKEN", tc.env)
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), append([]string{"symbols"}, tc.args...), &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit status %d, want %d; stderr:\n%s", code, tc.code, &stderr)
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, &stderr)
			}
			if tc.code == 0 && !strings.Contains(stdout.String(), "SPY") {
				t.Errorf("stdout lacks the symbols:\n%s", &stdout)
			}
			if strings.Contains(stderr.String(), "nope") {
				t.Errorf("stderr repeats the token:\n%s", &stderr)
			}
		})
	}
}
