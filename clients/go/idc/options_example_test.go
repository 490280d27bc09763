package idc_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/idcrpc/idc/clients/go/idc"
)

// A server started with --tls-cert, --tls-key and --tls-client-ca, and
// with bearer tokens, wants the CA that signed its certificate, a client
// certificate, and a token.
func ExampleWithTLSFiles() {
	c, err := idc.Dial("idc.example.com:443",
		idc.WithTLSFiles("ca.pem", "client.pem", "client-key.pem"), // "", "" without mTLS
		idc.WithToken(os.Getenv("IDC_TOKEN")),
	)
	if err != nil {
		log.Fatal(err) // e.g. an unreadable file
	}
	defer c.Close()

	symbols, err := c.ListSymbols(context.Background())
	if err != nil {
		log.Fatal(err) // UNAVAILABLE for a certificate error, UNAUTHENTICATED for a bad token
	}
	fmt.Println(symbols.GetDefaultSymbol())
}

// WithTLS takes a tls.Config for anything WithTLSFiles does not cover, such
// as a client certificate reloaded from disk when it is renewed.
func ExampleWithTLS() {
	caPEM, err := os.ReadFile("ca.pem")
	if err != nil {
		log.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	c, err := idc.Dial("idc.example.com:443", idc.WithTLS(&tls.Config{
		RootCAs: roots,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			cert, err := tls.LoadX509KeyPair("client.pem", "client-key.pem")
			return &cert, err
		},
	}))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
}

// A token goes only over TLS, unless WithInsecureToken allows plaintext,
// e.g. for a server on the same host started with IDC_AUTH_TOKENS=secret1.
func ExampleWithToken() {
	c, err := idc.Dial("localhost:50051", idc.WithToken("secret1"), idc.WithInsecureToken())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
}

// round_robin spreads calls over every address a DNS name resolves to,
// e.g. a headless Kubernetes service with one address per server pod, and
// WithHealthCheck skips pods that report NOT_SERVING while they drain.
// Calls failing with UNAVAILABLE, for instance on a pod that just went
// away, are retried on another one (see WithRetry).
func ExampleWithLoadBalancing() {
	c, err := idc.Dial("dns:///idc.default.svc.cluster.local:50051",
		idc.WithLoadBalancing("round_robin"),
		idc.WithHealthCheck(""),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
}

// Retries on UNAVAILABLE are on by default, with 3 attempts; WithRetry
// changes the number, and WithRetry(1) turns them off. All attempts share
// the call's deadline.
func ExampleWithRetry() {
	c, err := idc.Dial("localhost:50051", idc.WithRetry(5), idc.WithTimeout(10*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
}

// Keepalive pings find connections that a NAT or load balancer dropped
// silently before a call needs them. The server permits a ping every 10 s
// or more.
func ExampleWithKeepalive() {
	c, err := idc.Dial("idc.example.com:443",
		idc.WithTLSFiles("", "", ""), // the system's root CAs
		idc.WithKeepalive(30*time.Second, 10*time.Second),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
}
