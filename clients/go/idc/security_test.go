package idc_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/grpc/status"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
	"github.com/idcrpc/idc/clients/go/idc"
	"github.com/idcrpc/idc/clients/go/internal/testpki"
)

// goBackend is an in-process idc server on 127.0.0.1 whose GetMACD
// answers with the symbol "OK" and which records the metadata of every
// call.
type goBackend struct {
	addr   string
	health *health.Server

	mu  sync.Mutex
	mds []metadata.MD
}

// startBackend serves a goBackend, over TLS when tlsConfig is not nil.
func startBackend(t *testing.T, tlsConfig *tls.Config) *goBackend {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &goBackend{addr: lis.Addr().String(), health: health.NewServer()}
	opts := []grpc.ServerOption{grpc.UnaryInterceptor(b.record)}
	if tlsConfig != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(tlsConfig)))
	}
	srv := grpc.NewServer(opts...)
	idcv1.RegisterIndicatorServiceServer(srv, &fakeMACD{handle: func(context.Context, *idcv1.GetMACDRequest) (*idcv1.GetMACDResponse, error) {
		return &idcv1.GetMACDResponse{Symbol: "OK"}, nil
	}})
	healthpb.RegisterHealthServer(srv, b.health)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return b
}

func (b *goBackend) record(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	b.mu.Lock()
	b.mds = append(b.mds, md)
	b.mu.Unlock()
	return handler(ctx, req)
}

// lastMD returns the metadata of the last call.
func (b *goBackend) lastMD(t *testing.T) metadata.MD {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.mds) == 0 {
		t.Fatal("the server saw no call")
	}
	return b.mds[len(b.mds)-1]
}

func dial(t *testing.T, target string, opts ...idc.Option) *idc.Client {
	t.Helper()
	c, err := idc.Dial(target, opts...)
	if err != nil {
		t.Fatalf("Dial(%q): %v", target, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// dialAll dials every address in addrs as one target, through a manual
// resolver, the way cmd/idc-lb-demo does.
func dialAll(t *testing.T, addrs []string, opts ...idc.Option) *idc.Client {
	t.Helper()
	r := manual.NewBuilderWithScheme("idc-test")
	state := resolver.State{}
	for _, a := range addrs {
		state.Addresses = append(state.Addresses, resolver.Address{Addr: a})
	}
	r.InitialState(state)
	return dial(t, r.Scheme()+":///idc", append(opts, idc.WithDialOptions(grpc.WithResolvers(r)))...)
}

// macd calls GetMACD and returns the address of the backend that answered.
func macd(ctx context.Context, c *idc.Client) (string, error) {
	var p peer.Peer
	_, err := c.GetMACD(ctx, &idcv1.GetMACDRequest{}, grpc.Peer(&p))
	if err != nil {
		return "", err
	}
	return p.Addr.String(), nil
}

// wantFailure checks that err has code and a message containing each of
// parts.
func wantFailure(t *testing.T, err error, code codes.Code, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("call succeeded, want %s", code)
	}
	if got := status.Code(err); got != code {
		t.Errorf("code = %s, want %s (error: %v)", got, code, err)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q lacks %q", err, p)
		}
	}
}

func TestTLS(t *testing.T) {
	pki := testpki.New(t)
	tlsServer := startBackend(t, pki.ServerTLS(false))
	mtlsServer := startBackend(t, pki.ServerTLS(true))

	t.Run("server certificate signed by the CA", func(t *testing.T) {
		c := dial(t, tlsServer.addr, idc.WithTLSFiles(pki.CAFile, "", ""))
		if _, err := macd(t.Context(), c); err != nil {
			t.Fatalf("GetMACD: %v", err)
		}
	})

	t.Run("WithTLS with a root pool", func(t *testing.T) {
		pool := x509.NewCertPool()
		pool.AddCert(pki.CA())
		c := dial(t, tlsServer.addr, idc.WithTLS(&tls.Config{RootCAs: pool}))
		if _, err := macd(t.Context(), c); err != nil {
			t.Fatalf("GetMACD: %v", err)
		}
	})

	t.Run("wrong CA", func(t *testing.T) {
		c := dial(t, tlsServer.addr, idc.WithTLSFiles(pki.OtherCAFile, "", ""))
		_, err := macd(t.Context(), c)
		wantFailure(t, err, codes.Unavailable, "get macd:", "certificate")
	})

	t.Run("system roots do not trust a private CA", func(t *testing.T) {
		c := dial(t, tlsServer.addr, idc.WithTLS(nil))
		_, err := macd(t.Context(), c)
		wantFailure(t, err, codes.Unavailable, "certificate")
	})

	t.Run("plaintext client", func(t *testing.T) {
		c := dial(t, tlsServer.addr)
		_, err := macd(t.Context(), c)
		wantFailure(t, err, codes.Unavailable)
	})

	t.Run("mTLS with the client certificate", func(t *testing.T) {
		c := dial(t, mtlsServer.addr, idc.WithTLSFiles(pki.CAFile, pki.ClientCert, pki.ClientKey))
		if _, err := macd(t.Context(), c); err != nil {
			t.Fatalf("GetMACD: %v", err)
		}
	})

	t.Run("mTLS without a client certificate", func(t *testing.T) {
		c := dial(t, mtlsServer.addr, idc.WithTLSFiles(pki.CAFile, "", ""))
		_, err := macd(t.Context(), c)
		// Under TLS 1.3 the server rejects the client after the client's
		// side of the handshake is done, so the client sees either the
		// server's "certificate required" alert or a broken connection.
		wantFailure(t, err, codes.Unavailable)
	})

	t.Run("mTLS with a client certificate of another CA", func(t *testing.T) {
		c := dial(t, mtlsServer.addr, idc.WithTLSFiles(pki.CAFile, pki.OtherClientCert, pki.OtherClientKey))
		_, err := macd(t.Context(), c)
		wantFailure(t, err, codes.Unavailable)
	})

	t.Run("bad files fail Dial", func(t *testing.T) {
		notPEM := filepath.Join(t.TempDir(), "not.pem")
		if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
			t.Fatal(err)
		}
		missing := filepath.Join(t.TempDir(), "missing.pem")
		for _, tc := range []struct {
			name, ca, cert, key, want string
			is                        error
		}{
			{"missing CA file", missing, "", "", "read CA file", fs.ErrNotExist},
			{"CA file without PEM", notPEM, "", "", "holds no PEM certificate", nil},
			{"certificate without key", pki.CAFile, pki.ClientCert, "", "both a certificate file and a key file", nil},
			{"key without certificate", pki.CAFile, "", pki.ClientKey, "both a certificate file and a key file", nil},
			{"missing key file", pki.CAFile, pki.ClientCert, missing, "load client certificate", fs.ErrNotExist},
			{"key of another certificate", pki.CAFile, pki.ClientCert, pki.OtherClientKey, "load client certificate", nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := idc.Dial(tlsServer.addr, idc.WithTLSFiles(tc.ca, tc.cert, tc.key))
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("Dial error = %v, want %q", err, tc.want)
				}
				if tc.is != nil && !errors.Is(err, tc.is) {
					t.Errorf("Dial error %v does not match %v", err, tc.is)
				}
			})
		}
	})
}

func TestToken(t *testing.T) {
	pki := testpki.New(t)
	tlsServer := startBackend(t, pki.ServerTLS(false))
	plainServer := startBackend(t, nil)
	const token = "s3cret-token.abc_DEF~+/="

	t.Run("sent over TLS", func(t *testing.T) {
		c := dial(t, tlsServer.addr, idc.WithTLSFiles(pki.CAFile, "", ""), idc.WithToken(token))
		if _, err := macd(t.Context(), c); err != nil {
			t.Fatalf("GetMACD: %v", err)
		}
		if got := tlsServer.lastMD(t).Get("authorization"); len(got) != 1 || got[0] != "Bearer "+token {
			t.Errorf("authorization = %q, want [%q]", got, "Bearer "+token)
		}
	})

	t.Run("no token, no header", func(t *testing.T) {
		c := dial(t, tlsServer.addr, idc.WithTLSFiles(pki.CAFile, "", ""))
		if _, err := macd(t.Context(), c); err != nil {
			t.Fatalf("GetMACD: %v", err)
		}
		if got := tlsServer.lastMD(t).Get("authorization"); got != nil {
			t.Errorf("authorization = %q, want none", got)
		}
	})

	t.Run("refused over plaintext", func(t *testing.T) {
		_, err := idc.Dial(plainServer.addr, idc.WithToken(token))
		if err == nil || !strings.Contains(err.Error(), "WithInsecureToken") {
			t.Fatalf("Dial error = %v, want a hint at WithInsecureToken", err)
		}
		if strings.Contains(err.Error(), token) {
			t.Errorf("Dial error %q contains the token", err)
		}
	})

	t.Run("sent over plaintext with WithInsecureToken", func(t *testing.T) {
		c := dial(t, plainServer.addr, idc.WithToken(token), idc.WithInsecureToken())
		if _, err := macd(t.Context(), c); err != nil {
			t.Fatalf("GetMACD: %v", err)
		}
		if got := plainServer.lastMD(t).Get("authorization"); len(got) != 1 || got[0] != "Bearer "+token {
			t.Errorf("authorization = %q, want [%q]", got, "Bearer "+token)
		}
	})

	t.Run("refused when a dial option removes TLS", func(t *testing.T) {
		_, err := idc.Dial(plainServer.addr, idc.WithTLSFiles(pki.CAFile, "", ""), idc.WithToken(token),
			idc.WithDialOptions(grpc.WithTransportCredentials(insecure.NewCredentials())))
		if err == nil {
			t.Fatal("Dial succeeded, want an error: the token would travel in plaintext")
		}
	})

	t.Run("invalid tokens", func(t *testing.T) {
		for _, bad := range []string{"", "two words", "line\nbreak", "tab\there", "caf\u00e9", "del\x7f"} {
			_, err := idc.Dial(tlsServer.addr, idc.WithTLSFiles(pki.CAFile, "", ""), idc.WithToken(bad))
			if err == nil {
				t.Errorf("WithToken(%q): Dial succeeded, want an error", bad)
				continue
			}
			if bad != "" && strings.Contains(err.Error(), bad) {
				t.Errorf("WithToken(%q): error %q contains the token", bad, err)
			}
		}
	})
}
