// Package dialflags defines the command-line flags with which the idc
// commands choose how to connect: TLS files, bearer token, deadline,
// retries and keepalive. They turn into [idc.Option] values.
package dialflags

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/idcrpc/idc/clients/go/idc"
)

// TokenEnv is the environment variable a command reads its bearer token
// from when --token-file is not given. A token is never a flag, so that it
// does not show up in process listings.
const TokenEnv = "IDC_TOKEN"

// Flags holds the connection flags.
type Flags struct {
	TLS           bool
	CAFile        string
	CertFile      string
	KeyFile       string
	TokenFile     string
	InsecureToken bool
	Timeout       time.Duration
	Retry         int
	Keepalive     time.Duration
}

// Register defines the connection flags on fs.
func Register(fs *flag.FlagSet) *Flags {
	f := &Flags{}
	fs.BoolVar(&f.TLS, "tls", false, "connect over TLS, trusting the system's root CAs (implied by --ca, --cert and --key)")
	fs.StringVar(&f.CAFile, "ca", "", "PEM `file` of the CA that signed the server's certificate; implies --tls")
	fs.StringVar(&f.CertFile, "cert", "", "PEM `file` of the client certificate, for servers requiring mutual TLS; needs --key")
	fs.StringVar(&f.KeyFile, "key", "", "PEM `file` of the client certificate's private key; needs --cert")
	fs.StringVar(&f.TokenFile, "token-file", "", "`file` whose first line is the bearer token to send; "+TokenEnv+" sets the token otherwise")
	fs.BoolVar(&f.InsecureToken, "insecure-token", false, "allow sending the token without TLS (local servers only)")
	f.Timeout = idc.DefaultTimeout
	fs.Func("timeout", "deadline of each call: seconds (30, 2.5) or a duration (30s, 1m) (default 30s)", durationFlag(&f.Timeout))
	fs.IntVar(&f.Retry, "retry", idc.DefaultRetryAttempts, "attempts per call on UNAVAILABLE; 1 turns retries off")
	fs.DurationVar(&f.Keepalive, "keepalive", 0, "ping the server after this long without activity (at least 10s); 0 is off")
	return f
}

// durationFlag returns a flag.Func parser that stores a duration given as
// seconds ("30", "2.5") or in Go's notation ("30s", "1m30s"), as the
// Python client's --timeout takes it too.
func durationFlag(p *time.Duration) func(string) error {
	return func(s string) error {
		if secs, err := strconv.ParseFloat(s, 64); err == nil {
			if math.IsNaN(secs) || math.IsInf(secs, 0) {
				return errors.New("want seconds or a duration such as 30s")
			}
			*p = time.Duration(secs * float64(time.Second))
			return nil
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return errors.New("want seconds or a duration such as 30s")
		}
		*p = d
		return nil
	}
}

// Options returns the client options the flags select, reading the token
// from --token-file or getenv(TokenEnv).
func (f *Flags) Options(getenv func(string) string) ([]idc.Option, error) {
	opts := []idc.Option{idc.WithTimeout(f.Timeout), idc.WithRetry(f.Retry)}
	if (f.CertFile == "") != (f.KeyFile == "") {
		return nil, errors.New("--cert and --key go together")
	}
	secure := f.TLS || f.CAFile != "" || f.CertFile != ""
	if secure {
		opts = append(opts, idc.WithTLSFiles(f.CAFile, f.CertFile, f.KeyFile))
	}
	token := getenv(TokenEnv)
	if f.TokenFile != "" {
		data, err := os.ReadFile(f.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("--token-file: %w", err)
		}
		token, _, _ = strings.Cut(string(data), "\n")
		if token = strings.TrimSpace(token); token == "" {
			return nil, fmt.Errorf("--token-file: %s has an empty first line", f.TokenFile)
		}
	}
	if token != "" {
		if !secure && !f.InsecureToken {
			return nil, errors.New("a bearer token needs TLS: add --tls or --ca, or --insecure-token for a server on this host")
		}
		opts = append(opts, idc.WithToken(token))
		if f.InsecureToken {
			opts = append(opts, idc.WithInsecureToken())
		}
	}
	if f.Keepalive != 0 {
		if f.Keepalive < idc.MinKeepaliveTime {
			return nil, fmt.Errorf("--keepalive %v is below the server's minimum of %v", f.Keepalive, idc.MinKeepaliveTime)
		}
		opts = append(opts, idc.WithKeepalive(f.Keepalive, 0))
	}
	return opts, nil
}
