// Command idc-lb-demo shows client-side load balancing with the idc Go
// client: it dials several idc servers as one target, makes a number of
// GetMACD calls with a load-balancing policy (round_robin by default), and
// prints how many calls each backend answered, as told by the peer address
// of each call.
//
// Usage:
//
//	idc-lb-demo --targets 127.0.0.1:50051,127.0.0.1:50052,127.0.0.1:50053 [--calls 30] [flags]
//
// For example, with three local servers:
//
//	idc-server --port 50051 & idc-server --port 50052 & idc-server --port 50053 &
//	go run ./cmd/idc-lb-demo --targets 127.0.0.1:50051,127.0.0.1:50052,127.0.0.1:50053
//
// The targets are handed to gRPC through a manual resolver
// (google.golang.org/grpc/resolver/manual); in production a DNS name with
// one address per server ("dns:///idc.internal:50051", e.g. a headless
// Kubernetes service) does the same with [idc.Dial] alone. With
// round_robin, unless --warmup=false, calls that are not counted first go
// out until every target has answered once, so that the counted calls see
// every backend connected and each gets the same share. With
// --health-check (the default), backends whose gRPC health service reports
// NOT_SERVING, such as a server draining after SIGTERM, get no calls.
//
// The connection flags of the idc command (--ca, --cert, --key,
// --token-file or IDC_TOKEN, --timeout, --retry, --keepalive) work here
// too. The exit status is 0 when every counted call succeeded, 1 when one
// failed, and 2 for usage errors.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"text/tabwriter"

	"google.golang.org/grpc"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"

	"github.com/idcrpc/idc/clients/go/idc"
	"github.com/idcrpc/idc/clients/go/internal/dialflags"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run executes the command line args and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("idc-lb-demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	targets := fs.String("targets", "", "comma-separated server addresses `host:port,...` (required)")
	calls := fs.Int("calls", 30, "number of counted GetMACD calls")
	symbol := fs.String("symbol", "SPY", "symbol of the GetMACD calls")
	policy := fs.String("policy", "round_robin", "load-balancing policy: round_robin or pick_first")
	healthCheck := fs.Bool("health-check", true, "send no calls to backends whose health service reports NOT_SERVING")
	warmup := fs.Bool("warmup", true, "with round_robin, call until every target has answered once before counting")
	conn := dialflags.Register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	addrs, err := parseTargets(*targets)
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if err == nil && *calls < 1 {
		err = errors.New("--calls must be at least 1")
	}
	if err != nil {
		fmt.Fprintf(stderr, "idc-lb-demo: %v\n", err)
		fs.Usage()
		return 2
	}

	opts, err := conn.Options(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "idc-lb-demo: %v\n", err)
		return 2
	}
	opts = append(opts, idc.WithLoadBalancing(*policy))
	if *healthCheck {
		opts = append(opts, idc.WithHealthCheck(""))
	}
	target, dialOpt := staticTarget(addrs)
	client, err := idc.Dial(target, append(opts, idc.WithDialOptions(dialOpt))...)
	if err != nil {
		fmt.Fprintf(stderr, "idc-lb-demo: %v\n", err)
		return 2
	}
	defer client.Close()

	req, err := idc.MACDQuery{Symbol: *symbol}.Request()
	if err != nil {
		fmt.Fprintf(stderr, "idc-lb-demo: %v\n", err)
		return 2
	}
	call := func() (string, error) {
		var p peer.Peer
		if _, err := client.GetMACD(ctx, req, grpc.Peer(&p)); err != nil {
			return "", err
		}
		return p.Addr.String(), nil
	}

	if *warmup && *policy == "round_robin" {
		n, err := warmUp(call, len(addrs), 20*len(addrs)+100)
		if err != nil {
			fmt.Fprintf(stderr, "idc-lb-demo: warm-up: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "warm-up: %d calls until all %d targets answered\n", n, len(addrs))
	}

	counts := map[string]int{}
	failed := 0
	for range *calls {
		addr, err := call()
		if err != nil {
			failed++
			fmt.Fprintf(stderr, "idc-lb-demo: %v\n", err)
			if ctx.Err() != nil {
				break
			}
			continue
		}
		counts[addr]++
	}

	fmt.Fprintf(stdout, "%d calls with %s over %d targets: %d failed, %d backends answered\n", *calls, *policy, len(addrs), failed, len(counts))
	tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', tabwriter.AlignRight)
	peers := make([]string, 0, len(counts))
	for a := range counts {
		peers = append(peers, a)
	}
	slices.Sort(peers)
	for _, a := range peers {
		fmt.Fprintf(tw, "%s\t%d\t\n", a, counts[a])
	}
	_ = tw.Flush()
	if failed > 0 {
		return 1
	}
	return 0
}

// parseTargets splits a comma-separated list of host:port addresses.
func parseTargets(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("--targets is required")
	}
	var addrs []string
	for a := range strings.SplitSeq(s, ",") {
		a = strings.TrimSpace(a)
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			return nil, fmt.Errorf("target %q is not host:port", a)
		}
		if slices.Contains(addrs, a) {
			return nil, fmt.Errorf("target %q is listed twice", a)
		}
		addrs = append(addrs, a)
	}
	return addrs, nil
}

// staticTarget returns a target and the dial option with a manual
// resolver that resolves it to addrs. Each address keeps its host as the
// TLS server name, so that server certificates are checked against it.
func staticTarget(addrs []string) (string, grpc.DialOption) {
	r := manual.NewBuilderWithScheme("idc-static")
	var state resolver.State
	for _, a := range addrs {
		host, _, _ := net.SplitHostPort(a)
		state.Addresses = append(state.Addresses, resolver.Address{Addr: a, ServerName: host})
	}
	r.InitialState(state)
	return r.Scheme() + ":///idc", grpc.WithResolvers(r)
}

// warmUp calls until want distinct backends have answered and returns the
// number of calls, failing after limit calls or on the first error.
func warmUp(call func() (string, error), want, limit int) (int, error) {
	seen := map[string]bool{}
	for n := 1; n <= limit; n++ {
		addr, err := call()
		if err != nil {
			return n, err
		}
		seen[addr] = true
		if len(seen) >= want {
			return n, nil
		}
	}
	return limit, fmt.Errorf("only %d of %d targets answered in %d calls", len(seen), want, limit)
}
