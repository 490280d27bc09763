// Command idc-bench drives load against an idc server with the Go client
// and prints one JSON object that sums it up, for a benchmark harness to
// parse and compare with other clients.
//
// Usage:
//
//	idc-bench -addr HOST:PORT [-rpc macd|indicators|chart] [flags]
//
// For example, 8 goroutines calling GetMACD back to back over one
// connection for 3 seconds, after 1 second of warm-up:
//
//	go run ./cmd/idc-bench -addr 127.0.0.1:50051 -rpc macd -symbol SPY -start 2015-01-01 -end 2024-12-31 -concurrency 8 -duration 3s
//
// and charts of 100,000 synthetic bars sent inline, over 2 connections,
// after a warm-up long enough for the first render:
//
//	go run ./cmd/idc-bench -addr 127.0.0.1:50051 -rpc chart -inline-bars 100000 -concurrency 4 -connections 2 -warmup 15s
//
// The RPCs are:
//
//   - macd: idc.v1.IndicatorService/GetMACD with the default periods.
//   - indicators: idc.v1.IndicatorService/ComputeIndicators with SMA(20),
//     EMA(20), MACD(12, 26, 9), RSI(14) and Bollinger(20, 2).
//   - chart: idc.v1.IndicatorGraphService/GetChart with a volume and a
//     MACD panel, as a PNG of -width x -height pixels streamed in chunks of
//     -chunk-bytes, read whole into memory. Every call asks for the same
//     chart, so a server with a render cache (idc-server's
//     --render-cache-bytes) renders it once and then serves it from the
//     cache, and calls in flight together share one render. With
//     -distinct, each request is one pixel wider than the last, over a
//     cycle of 100, so the server renders every one.
//
// The bars come from -symbol, -start and -end, or, with -inline-bars N,
// are N synthetic daily bars sent in every request: a random walk of the
// close from 100, always the same for the same N. The request is built
// once, before any call.
//
// -concurrency goroutines each make calls back to back; goroutine i uses
// connection i % -connections, each connection being its own client and
// TCP connection. Calls that end in the -warmup period are not recorded;
// those that end in the following -duration are. Connections are plaintext
// and calls are not retried, so that every failure shows. Before the
// warm-up, every connection must reach the server: otherwise idc-bench
// exits with status 1 and no output. Bad flags exit with status 2.
//
// The output is one line of JSON, for example:
//
//	{"client":"go","rpc":"macd","concurrency":8,"connections":1,"requests":12345,"errors":0,"seconds":3.0001,
//	 "throughput_rps":4114.86,"latency_ms":{"mean":1.94,"p50":1.9,"p90":2.3,"p99":3.1,"max":9.9},
//	 "cpu_seconds":1.23,"response_bytes":123456789,"first_error":""}
//
// where requests counts the successful calls that ended in the measured
// window of the given seconds and errors the failed ones: a gRPC error, or
// a response that does not add up (no bars, MACD columns not as long as
// the bars from first_valid_index on, an indicator series not as long as
// the dates from its first_valid_index on, an empty image). first_error
// is the text of the first failure. throughput_rps is requests / seconds,
// and latency_ms the mean, nearest-rank percentiles and maximum of the
// durations of the successful calls, in milliseconds. cpu_seconds is the
// user and system CPU time this process used in the window, and
// response_bytes the size of the successful responses: the encoded
// message for macd and indicators, the image for chart. Failed calls do
// not stop the run, and the exit status is then 0 too.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/signal"
	"time"
)

// Exit statuses.
const (
	exitOK          = 0
	exitUnreachable = 1 // the server could not be reached, or the run was interrupted
	exitUsage       = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line args and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	res, err := bench(ctx, opts)
	if err != nil {
		fmt.Fprintf(stderr, "idc-bench: %v\n", err)
		return exitUnreachable
	}
	if err := json.NewEncoder(stdout).Encode(res); err != nil {
		fmt.Fprintf(stderr, "idc-bench: write result: %v\n", err)
		return exitUnreachable
	}
	return exitOK
}

// parseFlags parses args into options. It reports errors, and the usage
// for -h, on stderr; the error is flag.ErrHelp for -h.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("idc-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := options{}
	fs.StringVar(&o.Addr, "addr", "", "server address `host:port` (required)")
	fs.StringVar(&o.RPC, "rpc", rpcMACD, "RPC to call: `macd|indicators|chart`")
	fs.StringVar(&o.Symbol, "symbol", "SPY", "symbol of the bars; not with -inline-bars")
	fs.StringVar(&o.Start, "start", "", "first day `YYYY-MM-DD`, inclusive (default: first bar)")
	fs.StringVar(&o.End, "end", "", "last day `YYYY-MM-DD`, inclusive (default: last bar)")
	fs.IntVar(&o.InlineBars, "inline-bars", 0, "send `N` synthetic daily bars inline instead of a symbol's; 0 is off")
	fs.IntVar(&o.Width, "width", 1200, "chart width in pixels")
	fs.IntVar(&o.Height, "height", 800, "chart height in pixels")
	fs.IntVar(&o.ChunkBytes, "chunk-bytes", 0, "largest chart chunk in bytes; 0 is the server's default")
	fs.BoolVar(&o.Distinct, "distinct", false, "chart: make every request a pixel wider than the last (over a cycle of 100), so the server renders each one")
	fs.IntVar(&o.Concurrency, "concurrency", 1, "goroutines making calls back to back")
	fs.IntVar(&o.Connections, "connections", 1, "separate connections, shared round robin by the goroutines")
	fs.DurationVar(&o.Duration, "duration", 5*time.Second, "measured time")
	fs.DurationVar(&o.Warmup, "warmup", time.Second, "time of calls before the measured time, not recorded")
	fs.DurationVar(&o.Timeout, "timeout", 30*time.Second, "deadline of each call")
	fs.IntVar(&o.MaxRecvBytes, "max-recv-bytes", defaultMaxRecvBytes, "largest response message accepted, in bytes")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	err := o.validate()
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if err == nil && o.InlineBars > 0 && set["symbol"] {
		err = errors.New("-symbol and -inline-bars exclude each other")
	}
	if err != nil {
		fmt.Fprintf(stderr, "idc-bench: %v\n", err)
		fs.Usage()
		return o, err
	}
	return o, nil
}

// validate checks options that the server does not check itself.
func (o options) validate() error {
	if o.Addr == "" {
		return errors.New("-addr is required")
	}
	if _, port, err := net.SplitHostPort(o.Addr); err != nil || port == "" {
		return fmt.Errorf("-addr %q is not host:port", o.Addr)
	}
	switch o.RPC {
	case rpcMACD, rpcIndicators, rpcChart:
	default:
		return fmt.Errorf("-rpc %q is not macd, indicators or chart", o.RPC)
	}
	switch {
	case o.InlineBars < 0:
		return errors.New("-inline-bars may not be negative")
	case o.Width < 1 || o.Height < 1 || o.Width > math.MaxInt32 || o.Height > math.MaxInt32:
		return errors.New("-width and -height must be positive 32-bit integers")
	case o.ChunkBytes < 0 || o.ChunkBytes > math.MaxInt32:
		return errors.New("-chunk-bytes must be a non-negative 32-bit integer")
	case o.Concurrency < 1:
		return errors.New("-concurrency must be at least 1")
	case o.Connections < 1:
		return errors.New("-connections must be at least 1")
	case o.Connections > o.Concurrency:
		return fmt.Errorf("-connections %d is more than -concurrency %d: some would stay unused", o.Connections, o.Concurrency)
	case o.Duration <= 0:
		return errors.New("-duration must be positive")
	case o.Warmup < 0:
		return errors.New("-warmup may not be negative")
	case o.Timeout <= 0:
		return errors.New("-timeout must be positive")
	case o.MaxRecvBytes < 1:
		return errors.New("-max-recv-bytes must be positive")
	}
	return nil
}
