// Command idc is an example client of the idc indicator service.
//
// Usage:
//
//	idc macd  [flags]   print the bars and MACD values as a table
//	idc graph [flags]   save the MACD chart to a file
//
// For example:
//
//	go run ./cmd/idc macd --addr localhost:50051 --symbol SPY --start 2023-01-01 --end 2023-12-31
//	go run ./cmd/idc graph --symbol SPY --start 2023-01-01 --end 2023-12-31 --width 1200 --height 800 -o macd.png
//
// Run "idc macd -h" or "idc graph -h" for the flags. On error, idc prints it
// to stderr and exits with the gRPC status code as its exit status (2 for
// usage errors and errors without a status).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"text/tabwriter"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/idcrpc/idc/clients/go/idc"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: idc <command> [flags]

commands:
  macd    print the bars and MACD values as a table
  graph   save the MACD chart to a file

Run "idc <command> -h" for the flags of a command.
`

// run executes the command line args and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var cmd func(context.Context, []string, io.Writer, io.Writer) error
	switch args[0] {
	case "macd":
		cmd = runMACD
	case "graph":
		cmd = runGraph
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "idc: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	err := cmd(ctx, args[1:], stdout, stderr)
	return exitStatus(err, stderr)
}

// errUsage marks command-line errors, already reported by the flag set.
var errUsage = errors.New("usage error")

// exitStatus reports err on stderr and maps it to an exit status: 0 for
// none, the gRPC status code when err has one, else 2.
func exitStatus(err error, stderr io.Writer) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	fmt.Fprintf(stderr, "idc: %v\n", err)
	for _, v := range idc.FieldViolations(err) {
		fmt.Fprintf(stderr, "  field %s: %s\n", v.GetField(), v.GetDescription())
	}
	st, ok := status.FromError(err)
	if !ok || st.Code() == codes.OK {
		return 2
	}
	fmt.Fprintf(stderr, "  status: %s (%d)\n", st.Code(), st.Code())
	return int(st.Code())
}

// common holds the flags both commands take.
type common struct {
	addr    string
	timeout time.Duration
	query   idc.MACDQuery
}

func commonFlags(name string, stderr io.Writer) (*flag.FlagSet, *common) {
	fs := flag.NewFlagSet("idc "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &common{}
	fs.StringVar(&c.addr, "addr", envOr("IDC_ADDR", "localhost:50051"), "server address host:port; IDC_ADDR sets the default")
	fs.DurationVar(&c.timeout, "timeout", idc.DefaultTimeout, "deadline of the call")
	fs.StringVar(&c.query.Symbol, "symbol", "", `symbol, e.g. SPY, AAPL or 000001.SH (default: the server's)`)
	fs.StringVar(&c.query.Start, "start", "", "first day YYYY-MM-DD, inclusive (default: first bar)")
	fs.StringVar(&c.query.End, "end", "", "last day YYYY-MM-DD, inclusive (default: last bar)")
	fs.Func("fast", "fast EMA period (default 12)", int32Flag(&c.query.Fast))
	fs.Func("slow", "slow EMA period (default 26)", int32Flag(&c.query.Slow))
	fs.Func("signal", "signal EMA period (default 9)", int32Flag(&c.query.Signal))
	return fs, c
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected arguments %q\n", fs.Name(), fs.Args())
		fs.Usage()
		return errUsage
	}
	return nil
}

func (c *common) dial() (*idc.Client, error) {
	return idc.Dial(c.addr, idc.WithTimeout(c.timeout))
}

func runMACD(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, c := commonFlags("macd", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	client, err := c.dial()
	if err != nil {
		return err
	}
	defer client.Close()

	resp, err := client.GetMACD(ctx, c.query.Request())
	if err != nil {
		return err
	}
	rows, err := idc.MACDRows(resp)
	if err != nil {
		return err
	}
	p := resp.GetParameters()
	fmt.Fprintf(stdout, "%s MACD(%d,%d,%d), %d bars\n", resp.GetSymbol(), p.GetFastPeriod(), p.GetSlowPeriod(), p.GetSignalPeriod(), len(rows))
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "date\topen\thigh\tlow\tclose\tvolume\tmacd\tsignal\thistogram\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t%.4f\t%.4f\t%.0f\t%.6f\t%.6f\t%.6f\t\n",
			r.Date.Format(time.DateOnly), r.Open, r.High, r.Low, r.Close, r.Volume, r.MACD, r.Signal, r.Histogram)
	}
	return tw.Flush()
}

func runGraph(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, c := commonFlags("graph", stderr)
	var width, height int32
	fs.Func("width", "image width in pixels, 200-4000 (default 1200)", int32Flag(&width))
	fs.Func("height", "image height in pixels, 200-4000 (default 800)", int32Flag(&height))
	out := fs.String("o", "macd.png", "output file")
	if err := parse(fs, args); err != nil {
		return err
	}
	client, err := c.dial()
	if err != nil {
		return err
	}
	defer client.Close()

	// Write to a temporary file beside the output and rename it only once
	// the image is verified, so a failed call never leaves a bad file.
	tmp, err := os.CreateTemp(filepath.Dir(*out), ".idc-graph-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", *out, err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	img, err := client.WriteMACDGraph(ctx, c.query.GraphRequest(width, height), tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", *out, err)
	}
	if err := os.Rename(tmp.Name(), *out); err != nil {
		return fmt.Errorf("write %s: %w", *out, err)
	}
	fmt.Fprintf(stdout, "wrote %s: %s %dx%d, %d bytes, sha256 %x\n", *out, img.MediaType, img.Width, img.Height, img.Size, img.SHA256)
	return nil
}

// int32Flag returns a flag.Func parser that stores an int32.
func int32Flag(p *int32) func(string) error {
	return func(s string) error {
		v, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return errors.New("not a 32-bit integer")
		}
		*p = int32(v)
		return nil
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
