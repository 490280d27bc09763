package idc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/balancer"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	_ "google.golang.org/grpc/health" // registers client-side health checking for WithHealthCheck
	"google.golang.org/grpc/keepalive"
)

// services lists the fully qualified names of the gRPC services an idc
// server offers, which the retry policy covers: the idc.v1 API and the
// article's legacy idc package.
var services = []string{
	"idc.v1.IndicatorService",
	"idc.v1.IndicatorGraphService",
	"idc.Indicator",
	"idc.IndicatorGraph",
}

// DefaultRetryAttempts is the number of attempts, the first call included,
// that a [Client] makes for a call failing with UNAVAILABLE unless
// [WithRetry] changes it.
const DefaultRetryAttempts = 3

// maxRetryAttempts is gRPC's upper limit on retryPolicy.maxAttempts;
// larger values are treated as this one.
const maxRetryAttempts = 5

// MinKeepaliveTime is the shortest keepalive ping interval [WithKeepalive]
// accepts. gRPC raises shorter intervals to it, and an idc server closes
// the connection of a client that pings more often (GOAWAY
// ENHANCE_YOUR_CALM, "too_many_pings").
const MinKeepaliveTime = 10 * time.Second

// DefaultMaxReceiveBytes is the largest response message a [Client]
// accepts unless [WithDialOptions] sets grpc.MaxCallRecvMsgSize. gRPC's
// own default, 4 MiB, would refuse a GetMACD response of more than about
// 60,000 bars (about 68 bytes a bar); this is the Python client's limit.
const DefaultMaxReceiveBytes = 256 << 20

// Option configures a [Client] in [Dial].
type Option func(*config)

type config struct {
	// transport returns the transport credentials; nil means plaintext.
	transport     func() (credentials.TransportCredentials, error)
	token         string
	tokenSet      bool
	insecureToken bool
	timeout       time.Duration
	retryAttempts int
	keepalive     *keepalive.ClientParameters
	lbPolicy      string
	healthService *string
	dialOptions   []grpc.DialOption
}

func newConfig(opts []Option) config {
	cfg := config{timeout: DefaultTimeout, retryAttempts: DefaultRetryAttempts}
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}

// WithTransportCredentials makes the client use creds, for example TLS
// credentials from google.golang.org/grpc/credentials, instead of an
// insecure (plaintext) connection. [WithTLS] and [WithTLSFiles] are
// shortcuts for TLS.
func WithTransportCredentials(creds credentials.TransportCredentials) Option {
	return func(c *config) {
		c.transport = func() (credentials.TransportCredentials, error) { return creds, nil }
	}
}

// WithInsecure makes the client use a plaintext connection without
// transport security. This is the default.
func WithInsecure() Option {
	return func(c *config) { c.transport = nil }
}

// WithTLS makes the client connect over TLS with tlsConfig, which may be
// nil: the server's certificate is then checked against the system's root
// CAs. Set tlsConfig.RootCAs to trust a private CA, and
// tlsConfig.Certificates (or GetClientCertificate) to present a client
// certificate to a server that requires one (mutual TLS, the server's
// --tls-client-ca). When tlsConfig.ServerName is empty, the certificate
// must match the host of the target. WithTLS copies tlsConfig, so changing
// it later has no effect.
func WithTLS(tlsConfig *tls.Config) Option {
	var cfg *tls.Config
	if tlsConfig != nil {
		cfg = tlsConfig.Clone()
	}
	return func(c *config) {
		c.transport = func() (credentials.TransportCredentials, error) { return credentials.NewTLS(cfg), nil }
	}
}

// WithTLSFiles makes the client connect over TLS with PEM files, which
// [Dial] reads once:
//
//   - caFile holds the CA certificates that may sign the server's
//     certificate, such as a private CA; empty means the system's root CAs.
//   - certFile and keyFile hold a client certificate and its private key,
//     presented to a server that requires client certificates (mutual TLS,
//     the server's --tls-client-ca). Give both or neither.
//
// [Dial] fails when a file cannot be read or parsed. Use [WithTLS] for more
// control, e.g. certificates that are rotated without dialing again.
func WithTLSFiles(caFile, certFile, keyFile string) Option {
	return func(c *config) {
		c.transport = func() (credentials.TransportCredentials, error) {
			cfg, err := tlsConfigFromFiles(caFile, certFile, keyFile)
			if err != nil {
				return nil, err
			}
			return credentials.NewTLS(cfg), nil
		}
	}
}

func tlsConfigFromFiles(caFile, certFile, keyFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", caFile)
		}
		cfg.RootCAs = pool
	}
	switch {
	case certFile != "" && keyFile != "":
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("load client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	case certFile != "" || keyFile != "":
		return nil, errors.New("a client certificate needs both a certificate file and a key file")
	}
	return cfg, nil
}

// WithToken makes every call send the metadata "authorization: Bearer
// token", which an idc server started with --auth-token-file or
// IDC_AUTH_TOKENS requires (it answers UNAUTHENTICATED without a valid
// token; health checks are exempt).
//
// A bearer token lets anyone who reads it call the server, so by default
// it is only sent over a secure transport: [Dial] fails unless [WithTLS],
// [WithTLSFiles] or secure [WithTransportCredentials] is also given. Add
// [WithInsecureToken] to send it over plaintext, e.g. to a local test
// server. [Dial] also fails for an empty token or one with characters a
// header value cannot hold; its errors never contain the token.
func WithToken(token string) Option {
	return func(c *config) { c.token, c.tokenSet = token, true }
}

// WithInsecureToken lets [WithToken] send its token over a plaintext
// connection, where anyone on the network path can read it. Use it only
// for a server on the same host (tests, development) or behind a trusted
// proxy that adds transport security.
func WithInsecureToken() Option {
	return func(c *config) { c.insecureToken = true }
}

// WithTimeout sets the default per-call deadline, used when the caller's
// context has no earlier deadline. A zero or negative d turns the default
// deadline off, so only the caller's context limits a call.
func WithTimeout(d time.Duration) Option {
	return func(c *config) { c.timeout = d }
}

// WithRetry sets how many times in all a call failing with UNAVAILABLE
// (server unreachable, restarting or draining, connection lost) is
// attempted; the default is [DefaultRetryAttempts]. A maxAttempts of 1 or
// less turns retries off; gRPC treats more than 5 as 5.
//
// The retry policy covers every idc service: idc.v1.IndicatorService,
// idc.v1.IndicatorGraphService and the legacy idc.Indicator and
// idc.IndicatorGraph. Retries wait an exponential backoff with jitter,
// starting at 0.1 s and capped at 1 s, and all attempts share the call's
// deadline. Retry throttling stops retrying while most calls on the
// connection fail (tokens 10, ratio 0.1). All idc RPCs are read-only, so a
// retry cannot do anything twice; a streamed chart is only retried before
// its first message arrives, so the client never sees a chunk twice, and a
// request larger than gRPC's retry buffer (256 KiB, e.g. many inline bars)
// is not retried. Other status codes, such as UNAUTHENTICATED or
// RESOURCE_EXHAUSTED, are never retried.
func WithRetry(maxAttempts int) Option {
	return func(c *config) { c.retryAttempts = maxAttempts }
}

// WithKeepalive makes the client ping the server after time without
// activity, also when no call is in flight, and close the connection when
// a ping gets no answer within timeout (a zero timeout means gRPC's 20 s).
// It detects dead connections, e.g. behind NAT or load balancers that drop
// idle connections silently, before a call needs them. Keepalive is off by
// default.
//
// time must be at least [MinKeepaliveTime] (10 s): an idc server permits
// pings every 10 s or more and closes the connection of a client that
// pings more often, so [Dial] rejects a shorter positive time. Zero or
// negative time turns keepalive off.
func WithKeepalive(time, timeout time.Duration) Option {
	return func(c *config) {
		if time <= 0 {
			c.keepalive = nil
			return
		}
		c.keepalive = &keepalive.ClientParameters{Time: time, Timeout: timeout, PermitWithoutStream: true}
	}
}

// WithLoadBalancing sets the client-side load-balancing policy, such as
// "round_robin", which spreads calls over every address the target
// resolves to (e.g. a DNS name with several A records, "dns:///idc:50051",
// or a headless Kubernetes service). The default, "pick_first", sends all
// calls to the first address that connects. [Dial] fails for a policy that
// is not registered with gRPC.
func WithLoadBalancing(policy string) Option {
	return func(c *config) { c.lbPolicy = policy }
}

// WithHealthCheck makes the load balancer watch each backend with the
// standard gRPC health service (grpc.health.v1.Health/Watch) for service,
// e.g. "" for the whole server or "idc.v1.IndicatorService", and send
// calls only to backends that report SERVING. An idc server reports
// NOT_SERVING while it drains after SIGTERM, so with "round_robin" calls
// move to the other backends before it goes away. Backends without a
// health service count as healthy. It has no effect with "pick_first".
func WithHealthCheck(service string) Option {
	return func(c *config) { c.healthService = &service }
}

// WithDialOptions appends gRPC dial options, for example interceptors or a
// custom dialer, to those [Dial] passes to [grpc.NewClient]. They are
// applied last, so they can override the others; for instance
// grpc.WithDefaultServiceConfig replaces the service config built from
// [WithRetry], [WithLoadBalancing] and [WithHealthCheck].
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(c *config) { c.dialOptions = append(c.dialOptions, opts...) }
}

// grpcDialOptions turns the configuration into gRPC dial options.
func (c *config) grpcDialOptions() ([]grpc.DialOption, error) {
	creds := insecure.NewCredentials()
	if c.transport != nil {
		var err error
		if creds, err = c.transport(); err != nil {
			return nil, fmt.Errorf("transport security: %w", err)
		}
		if creds == nil {
			return nil, errors.New("transport security: nil transport credentials")
		}
	}
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(DefaultMaxReceiveBytes)),
	}

	if c.tokenSet {
		if err := checkToken(c.token); err != nil {
			return nil, err
		}
		secure := creds.Info().SecurityProtocol != "insecure"
		if !secure && !c.insecureToken {
			return nil, errors.New("WithToken needs transport security: add WithTLS or WithTLSFiles, " +
				"or WithInsecureToken to send the token over plaintext")
		}
		opts = append(opts, grpc.WithPerRPCCredentials(bearerToken{token: c.token, requireSecurity: !c.insecureToken}))
	}

	if c.keepalive != nil {
		if c.keepalive.Time < MinKeepaliveTime {
			return nil, fmt.Errorf("keepalive time %v is below the %v the server permits", c.keepalive.Time, MinKeepaliveTime)
		}
		opts = append(opts, grpc.WithKeepaliveParams(*c.keepalive))
	}

	if c.lbPolicy != "" && balancer.Get(c.lbPolicy) == nil {
		return nil, fmt.Errorf("unknown load-balancing policy %q", c.lbPolicy)
	}
	sc, err := c.serviceConfig()
	if err != nil {
		return nil, err
	}
	if sc != "" {
		opts = append(opts, grpc.WithDefaultServiceConfig(sc))
	}
	return append(opts, c.dialOptions...), nil
}

// serviceConfig returns the gRPC service config JSON for the retry,
// load-balancing and health-check options, or "" when there is none.
func (c *config) serviceConfig() (string, error) {
	type name struct {
		Service string `json:"service"`
	}
	type retryPolicy struct {
		MaxAttempts          int      `json:"maxAttempts"`
		InitialBackoff       string   `json:"initialBackoff"`
		MaxBackoff           string   `json:"maxBackoff"`
		BackoffMultiplier    float64  `json:"backoffMultiplier"`
		RetryableStatusCodes []string `json:"retryableStatusCodes"`
	}
	type methodConfig struct {
		Name        []name       `json:"name"`
		RetryPolicy *retryPolicy `json:"retryPolicy,omitempty"`
	}
	type throttling struct {
		MaxTokens  int     `json:"maxTokens"`
		TokenRatio float64 `json:"tokenRatio"`
	}
	type healthCheck struct {
		ServiceName string `json:"serviceName"`
	}
	var sc struct {
		LoadBalancingConfig []map[string]struct{} `json:"loadBalancingConfig,omitempty"`
		MethodConfig        []methodConfig        `json:"methodConfig,omitempty"`
		RetryThrottling     *throttling           `json:"retryThrottling,omitempty"`
		HealthCheckConfig   *healthCheck          `json:"healthCheckConfig,omitempty"`
	}
	if c.lbPolicy != "" {
		sc.LoadBalancingConfig = []map[string]struct{}{{c.lbPolicy: {}}}
	}
	if c.retryAttempts > 1 {
		names := make([]name, len(services))
		for i, s := range services {
			names[i] = name{s}
		}
		sc.MethodConfig = []methodConfig{{Name: names, RetryPolicy: &retryPolicy{
			MaxAttempts:          min(c.retryAttempts, maxRetryAttempts),
			InitialBackoff:       "0.1s",
			MaxBackoff:           "1s",
			BackoffMultiplier:    2,
			RetryableStatusCodes: []string{"UNAVAILABLE"},
		}}}
		sc.RetryThrottling = &throttling{MaxTokens: 10, TokenRatio: 0.1}
	}
	if c.healthService != nil {
		sc.HealthCheckConfig = &healthCheck{ServiceName: *c.healthService}
	}
	if sc.LoadBalancingConfig == nil && sc.MethodConfig == nil && sc.HealthCheckConfig == nil {
		return "", nil
	}
	b, err := json.Marshal(sc)
	if err != nil {
		return "", fmt.Errorf("service config: %w", err)
	}
	return string(b), nil
}

// checkToken reports whether token can be sent as a bearer token in an
// HTTP/2 header value, without repeating the token in the error.
func checkToken(token string) error {
	if token == "" {
		return errors.New("WithToken: empty token")
	}
	for i := 0; i < len(token); i++ {
		if b := token[i]; b <= ' ' || b > '~' {
			return fmt.Errorf("WithToken: token has a space, control or non-ASCII character at byte %d", i)
		}
	}
	return nil
}

// bearerToken is per-RPC credentials sending "authorization: Bearer
// token". With requireSecurity it refuses connections without privacy and
// integrity, even when another dial option replaced the transport
// credentials.
type bearerToken struct {
	token           string
	requireSecurity bool
}

func (b bearerToken) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	if b.requireSecurity {
		ri, _ := credentials.RequestInfoFromContext(ctx)
		if err := credentials.CheckSecurityLevel(ri.AuthInfo, credentials.PrivacyAndIntegrity); err != nil {
			return nil, fmt.Errorf("idc: bearer token not sent over an insecure connection: %w", err)
		}
	}
	return map[string]string{"authorization": "Bearer " + b.token}, nil
}

func (b bearerToken) RequireTransportSecurity() bool { return b.requireSecurity }

// String keeps the token out of logs and error messages that print the
// credentials.
func (b bearerToken) String() string { return "bearer token (redacted)" }
