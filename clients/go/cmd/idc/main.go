// Command idc is an example client of the idc indicator service.
//
// Usage:
//
//	idc macd       [flags]   print the bars and MACD values as a table
//	idc graph      [flags]   save the MACD chart to a file
//	idc chart      [flags]   save a chart with panels and overlays to a file
//	idc indicators [flags]   print indicators as a table, one column per series
//	idc symbols    [flags]   list the server's symbols
//	idc catalogue  [flags] [NAME]  list the indicator catalogue, or describe one entry
//	idc screen     [flags]   list the symbols for which a condition holds (选股)
//
// For example:
//
//	go run ./cmd/idc macd --target localhost:50051 --symbol SPY --start 2023-01-01 --end 2023-12-31 --convention tdx
//	go run ./cmd/idc graph --symbol SPY --start 2023-01-01 --end 2023-12-31 --width 1200 --height 800 -o macd.png
//	go run ./cmd/idc chart --symbol SPY --start 2023-01-01 --end 2023-12-31 --panels volume,macd,rsi,kdj --sma 20 --boll 20 --format svg --theme dark -o spy.svg
//	go run ./cmd/idc indicators --symbol SPY --start 2024-01-01 --end 2024-03-31 --sma 20 --ema 12 --rsi 14 --boll 20 --kdj 9 --macd
//	go run ./cmd/idc symbols --prefix 000
//	go run ./cmd/idc macd --symbol 000001.SH-1MIN --interval 5m --start 2020-07-01T09:30 --end 2020-07-01
//	go run ./cmd/idc indicators --bars my-bars.csv --adjust forward --sma 20
//	go run ./cmd/idc catalogue --namespace talib
//	go run ./cmd/idc catalogue talib.ADX --param timeperiod=20
//	go run ./cmd/idc indicators --symbol SPY --fn ADX:timeperiod=14 --fn sma50=talib.SMA:timeperiod=50
//	go run ./cmd/idc indicators --symbol 000001.SH --formula "DIF:EMA(C,12)-EMA(C,26); DEA:EMA(DIF,9);"
//	go run ./cmd/idc screen --formula "C>MA(C,20)" --symbols SPY,AAPL --date 2024-03-28
//	go run ./cmd/idc chart --symbol SPY --panel-fn talib.ADX --overlay-fn talib.SAR --overlay-fn talib.CDLHAMMER
//
// macd, indicators and chart take --interval (1m 5m 15m 30m 1h 1d 1w 1mo)
// and --adjust (as-stored none forward backward); intraday tables print
// each bar's start in the exchange's time zone. macd, graph, chart and
// indicators take --bars FILE, a CSV of daily bars read as the Python
// client reads it.
//
// Every command takes the connection flags: --target (default IDC_TARGET,
// else localhost:50051; --addr and IDC_ADDR are deprecated spellings),
// --timeout, --retry and --keepalive, and for a secured server --tls
// (system root CAs) or --ca FILE, --cert FILE and --key FILE (mutual TLS),
// and a bearer token from the IDC_TOKEN environment variable or
// --token-file FILE, sent only over TLS unless --insecure-token is given:
//
//	IDC_TOKEN=secret1 go run ./cmd/idc symbols --target idc.example.com:443 --ca ca.pem --cert client.pem --key client-key.pem
//
// The Python client's idc-client command takes the same flags and prints
// the same tables (clients/CLI.md describes both). Run "idc <command> -h"
// for the flags of a command. On error, idc prints one line saying what
// went wrong and what to do ("error: NOT_FOUND: ...", then any request
// fields at fault) and exits with the gRPC status code as its exit status
// (2 for usage errors and errors without a status).
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
	"github.com/idcrpc/idc/clients/go/idc"
	"github.com/idcrpc/idc/clients/go/internal/dialflags"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: idc <command> [flags]

commands:
  macd        print the bars and MACD values as a table
  graph       save the MACD chart to a file
  chart       save a chart with panels and overlays to a file
  indicators  print indicators as a table, one column per series
  symbols     list the server's symbols
  catalogue   list the indicator catalogue, or describe one entry
  screen      list the symbols for which a condition holds

Run "idc <command> -h" for the flags of a command.
`

// run executes the command line args and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var cmd func(context.Context, *flag.FlagSet, *connection, []string, io.Writer) error
	switch args[0] {
	case "macd":
		cmd = runMACD
	case "graph":
		cmd = runGraph
	case "chart":
		cmd = runChart
	case "indicators":
		cmd = runIndicators
	case "symbols":
		cmd = runSymbols
	case "catalogue":
		cmd = runCatalogue
	case "screen":
		cmd = runScreen
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "idc: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	fs, conn := newFlagSet(args[0], stderr)
	err := cmd(ctx, fs, conn, args[1:], stdout)
	return exitStatus(err, conn, stderr)
}

// errUsage marks command-line errors, already reported by the flag set.
var errUsage = errors.New("usage error")

// exitStatus reports err on stderr and maps it to an exit status: 0 for
// none, the gRPC status code when err has one, else 2.
func exitStatus(err error, conn *connection, stderr io.Writer) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return dialflags.ExitUsage
	}
	lines, code := conn.flags.Report(err, conn.target)
	for _, line := range lines {
		fmt.Fprintln(stderr, line)
	}
	return code
}

// connection holds the flags every command takes.
type connection struct {
	target string
	flags  *dialflags.Flags
}

// DefaultTarget is the server a command calls when neither --target nor
// IDC_TARGET names one.
const DefaultTarget = "localhost:50051"

func newFlagSet(name string, stderr io.Writer) (*flag.FlagSet, *connection) {
	fs := flag.NewFlagSet("idc "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &connection{}
	def := cmp.Or(os.Getenv("IDC_TARGET"), os.Getenv("IDC_ADDR"), DefaultTarget)
	fs.StringVar(&c.target, "target", def, "server `address` host:port or a gRPC target such as dns:///host:port; IDC_TARGET sets the default")
	fs.StringVar(&c.target, "addr", def, "deprecated spelling of --target (and IDC_ADDR of IDC_TARGET)")
	c.flags = dialflags.Register(fs)
	return fs, c
}

func (c *connection) dial() (*idc.Client, error) {
	opts, err := c.flags.Options(os.Getenv)
	if err != nil {
		return nil, err
	}
	return idc.Dial(c.target, opts...)
}

// selection holds the flags that select bars and the convention.
type selection struct {
	symbol, barsFile, start, end string
	convention                   idcv1.Convention
	interval                     idcv1.Interval
	adjustment                   idcv1.Adjustment
	// bars are the bars of barsFile, read by source.
	bars *idcv1.Bars
}

func selectionFlags(fs *flag.FlagSet) *selection {
	s := &selection{}
	fs.StringVar(&s.symbol, "symbol", "", `symbol, e.g. SPY, AAPL or 000001.SH (default: the server's)`)
	fs.StringVar(&s.barsFile, "bars", "", "send your own daily bars instead: a CSV `file` with columns date, open, high, low, close, "+
		"volume, spelled as --data-dir accepts them (e.g. a Yahoo Finance download or a 通达信 export)")
	fs.StringVar(&s.start, "start", "", "start YYYY-MM-DD or YYYY-MM-DDTHH:MM in the exchange's time zone, inclusive (default: first bar)")
	fs.StringVar(&s.end, "end", "", "end YYYY-MM-DD (the whole day) or YYYY-MM-DDTHH:MM, inclusive (default: last bar)")
	fs.Func("convention", "indicator formulas: `talib|tdx`, TA-Lib's or 通达信's (default: the server's)", conventionFlag(&s.convention))
	return s
}

// barFlags adds --interval and --adjust to fs, for the commands whose RPC
// takes them (not graph: GetMACDGraph draws the bars as stored).
func barFlags(fs *flag.FlagSet, s *selection) {
	fs.Func("interval", "bar length: `1m|5m|15m|30m|1h|1d|1w|1mo`, aggregated by the server from finer stored bars (default 1d)",
		choiceFlag(&s.interval, intervalChoices, "1m, 5m, 15m, 30m, 1h, 1d, 1w or 1mo"))
	fs.Func("adjust", "split and dividend adjustment: `as-stored|none|forward|backward` (forward is 前复权, backward 后复权; default as-stored)",
		choiceFlag(&s.adjustment, adjustChoices, "as-stored, none, forward or backward"))
}

// intervalChoices and adjustChoices are the values of --interval and
// --adjust, as the Python idc-client spells them.
var (
	intervalChoices = map[string]idcv1.Interval{
		"1m": idcv1.Interval_INTERVAL_1_MINUTE, "5m": idcv1.Interval_INTERVAL_5_MINUTES,
		"15m": idcv1.Interval_INTERVAL_15_MINUTES, "30m": idcv1.Interval_INTERVAL_30_MINUTES,
		"1h": idcv1.Interval_INTERVAL_1_HOUR, "1d": idcv1.Interval_INTERVAL_1_DAY,
		"1w": idcv1.Interval_INTERVAL_1_WEEK, "1mo": idcv1.Interval_INTERVAL_1_MONTH,
	}
	adjustChoices = map[string]idcv1.Adjustment{
		"as-stored": idcv1.Adjustment_ADJUSTMENT_AS_STORED, "none": idcv1.Adjustment_ADJUSTMENT_NONE,
		"forward": idcv1.Adjustment_ADJUSTMENT_FORWARD, "backward": idcv1.Adjustment_ADJUSTMENT_BACKWARD,
	}
)

// source reads the --bars file, if any, into s.bars; --symbol with --bars
// is a usage error.
func (s *selection) source(fs *flag.FlagSet) error {
	if s.barsFile == "" {
		return nil
	}
	if s.symbol != "" {
		fmt.Fprintf(fs.Output(), "%s: --symbol and --bars are exclusive: name a symbol or send bars\n", fs.Name())
		fs.Usage()
		return errUsage
	}
	bars, err := readBarsFile(s.barsFile)
	if err != nil {
		return err
	}
	s.bars = bars
	return nil
}

// macdFlags adds the MACD period flags to fs and returns the query they and
// sel fill in; call it after parsing.
func macdFlags(fs *flag.FlagSet, sel *selection) func() idc.MACDQuery {
	var fast, slow, signal int32
	fs.Func("fast", "fast EMA period `N` (default 12)", int32Flag(&fast))
	fs.Func("slow", "slow EMA period `N` (default 26)", int32Flag(&slow))
	fs.Func("signal", "signal EMA period `N` (default 9)", int32Flag(&signal))
	return func() idc.MACDQuery {
		return idc.MACDQuery{
			Symbol: sel.symbol, Bars: sel.bars, Start: sel.start, End: sel.end, Convention: sel.convention,
			Interval: sel.interval, Adjustment: sel.adjustment,
			Fast: fast, Slow: slow, Signal: signal,
		}
	}
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

func runMACD(ctx context.Context, fs *flag.FlagSet, conn *connection, args []string, stdout io.Writer) error {
	sel := selectionFlags(fs)
	barFlags(fs, sel)
	query := macdFlags(fs, sel)
	csvOut := fs.Bool("csv", false, "print CSV, with full precision, instead of a table")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := sel.source(fs); err != nil {
		return err
	}
	req, err := query().Request()
	if err != nil {
		return err
	}
	client, err := conn.dial()
	if err != nil {
		return err
	}
	defer client.Close()

	resp, err := client.GetMACD(ctx, req)
	if err != nil {
		return err
	}
	rows, err := idc.MACDRows(resp)
	if err != nil {
		return err
	}
	interval := resp.GetBars().GetInterval()
	t := &table{csv: *csvOut, header: []string{whenHeader(interval), "open", "high", "low", "close", "volume", "macd", "signal", "histogram"}}
	for _, r := range rows {
		t.rows = append(t.rows, []string{
			whenCell(interval, r.Date, r.Time), t.num(r.Open, 4), t.num(r.High, 4), t.num(r.Low, 4), t.num(r.Close, 4),
			t.num(r.Volume, 0), t.num(r.MACD, 6), t.num(r.Signal, 6), t.num(r.Histogram, 6),
		})
	}
	if !t.csv {
		p := resp.GetParameters()
		fmt.Fprintf(stdout, "%s MACD(%d,%d,%d), %d bars%s, convention %s%s", sourceName(resp.GetSymbol()),
			p.GetFastPeriod(), p.GetSlowPeriod(), p.GetSignalPeriod(), len(rows), barsOf(interval, resp.GetBars().GetTimeZone()),
			conventionName(resp.GetConvention()), adjusted(resp.GetAdjustment()))
		if n := resp.GetFirstValidIndex(); n > 0 {
			fmt.Fprintf(stdout, ", %d warm-up bars without MACD", n)
		}
		fmt.Fprintln(stdout)
	}
	return t.write(stdout)
}

func runGraph(ctx context.Context, fs *flag.FlagSet, conn *connection, args []string, stdout io.Writer) error {
	sel := selectionFlags(fs)
	query := macdFlags(fs, sel)
	var width, height int32
	fs.Func("width", "image width in pixels, 200-4000 (default 1200)", int32Flag(&width))
	fs.Func("height", "image height in pixels, 200-4000 (default 800)", int32Flag(&height))
	var chunkSize int32
	fs.Func("chunk-size", "largest chunk of the stream in `bytes`, 1024-1048576 (default 65536)", int32Flag(&chunkSize))
	out := fs.String("o", "macd.png", "output file")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := sel.source(fs); err != nil {
		return err
	}
	req, err := query().GraphRequest(width, height)
	if err != nil {
		return err
	}
	req.ChunkSizeBytes = chunkSize
	client, err := conn.dial()
	if err != nil {
		return err
	}
	defer client.Close()

	img, err := writeVerified(*out, func(w io.Writer) (*idc.Image, error) {
		return client.WriteMACDGraph(ctx, req, w)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %s %dx%d, %d bytes, sha256 %x\n", *out, img.MediaType, img.Width, img.Height, img.Size, img.SHA256)
	return nil
}

// writeVerified calls write with a temporary file beside out and renames
// it to out only once write has returned the verified image, so a failed
// call never leaves a bad file.
func writeVerified(out string, write func(io.Writer) (*idc.Image, error)) (*idc.Image, error) {
	tmp, err := os.CreateTemp(filepath.Dir(out), ".idc-graph-*")
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", out, err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	img, err := write(tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return nil, fmt.Errorf("write %s: %w", out, err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return nil, fmt.Errorf("write %s: %w", out, err)
	}
	return img, nil
}

// chartFormats maps the --format names to image formats, and
// chartExtensions gives each its default file name extension.
var (
	chartFormats = map[string]idcv1.ImageFormat{
		"png":  idcv1.ImageFormat_IMAGE_FORMAT_PNG,
		"svg":  idcv1.ImageFormat_IMAGE_FORMAT_SVG,
		"jpeg": idcv1.ImageFormat_IMAGE_FORMAT_JPEG,
		"webp": idcv1.ImageFormat_IMAGE_FORMAT_WEBP,
	}
	chartExtensions = map[idcv1.ImageFormat]string{
		idcv1.ImageFormat_IMAGE_FORMAT_PNG:  "png",
		idcv1.ImageFormat_IMAGE_FORMAT_SVG:  "svg",
		idcv1.ImageFormat_IMAGE_FORMAT_JPEG: "jpg",
		idcv1.ImageFormat_IMAGE_FORMAT_WEBP: "webp",
	}
	chartThemes = map[string]idcv1.Theme{
		"light": idcv1.Theme_THEME_LIGHT,
		"dark":  idcv1.Theme_THEME_DARK,
	}
	chartPriceScales = map[string]idcv1.PriceScale{
		"auto":   idcv1.PriceScale_PRICE_SCALE_AUTO,
		"linear": idcv1.PriceScale_PRICE_SCALE_LINEAR,
		"log":    idcv1.PriceScale_PRICE_SCALE_LOG,
	}
	chartSchemes = map[string]idcv1.ColorScheme{
		"western": idcv1.ColorScheme_COLOR_SCHEME_WESTERN,
		"cn":      idcv1.ColorScheme_COLOR_SCHEME_CN,
	}
	chartPanels = map[string]func() *idcv1.ChartPanel{
		"volume": idc.VolumePanel,
		"macd":   func() *idcv1.ChartPanel { return idc.MACDPanel(0, 0, 0) },
		"rsi":    func() *idcv1.ChartPanel { return idc.RSIPanel(0) },
		"kdj":    func() *idcv1.ChartPanel { return idc.KDJPanel(0, 0, 0) },
	}
)

// choiceFlag returns a flag.Func parser that stores the value choices maps
// the (case-insensitive) name to.
func choiceFlag[T any](p *T, choices map[string]T, want string) func(string) error {
	return func(s string) error {
		v, ok := choices[strings.ToLower(s)]
		if !ok {
			return errors.New("want " + want)
		}
		*p = v
		return nil
	}
}

// panelsFlag returns a flag.Func parser that appends the panels of a
// comma-separated list such as volume,macd,rsi,kdj, each with its default
// parameters; --fast, --slow and --signal then set those of the MACD panels.
func panelsFlag(p *[]*idcv1.ChartPanel) func(string) error {
	return func(s string) error {
		for _, name := range strings.Split(s, ",") {
			build, ok := chartPanels[strings.ToLower(strings.TrimSpace(name))]
			if !ok {
				return fmt.Errorf("unknown panel %q; want a comma-separated list of volume, macd, rsi, kdj", name)
			}
			*p = append(*p, build())
		}
		return nil
	}
}

// overlayFlag returns a flag.Func parser that appends the overlay build
// returns for a period.
func overlayFlag(p *[]*idcv1.ChartOverlay, build func(int32) *idcv1.ChartOverlay) func(string) error {
	return func(s string) error {
		var period int32
		if err := int32Flag(&period)(s); err != nil {
			return err
		}
		*p = append(*p, build(period))
		return nil
	}
}

func runChart(ctx context.Context, fs *flag.FlagSet, conn *connection, args []string, stdout io.Writer) error {
	sel := selectionFlags(fs)
	barFlags(fs, sel)
	q := idc.ChartQuery{}
	var fast, slow, signal int32
	var bollK float64
	fs.Func("panels", "comma-separated `list` of panels below the price, top to bottom: volume, macd, rsi, kdj "+
		"(repeatable; default volume,macd)", panelsFlag(&q.Panels))
	fs.Func("fast", "fast EMA period `N` of the macd panels (default 12)", int32Flag(&fast))
	fs.Func("slow", "slow EMA period `N` of the macd panels (default 26)", int32Flag(&slow))
	fs.Func("signal", "signal EMA period `N` of the macd panels (default 9)", int32Flag(&signal))
	fs.Func("sma", "overlay a simple moving average over `N` bars (repeatable)", overlayFlag(&q.Overlays, idc.SMAOverlay))
	fs.Func("ema", "overlay an exponential moving average with span `N` (repeatable)", overlayFlag(&q.Overlays, idc.EMAOverlay))
	fs.Func("boll", "overlay Bollinger Bands over `N` bars (repeatable)",
		overlayFlag(&q.Overlays, func(n int32) *idcv1.ChartOverlay { return idc.BollingerOverlay(n, 0) }))
	fs.Float64Var(&bollK, "boll-k", 0, "band width `K` of --boll in standard deviations (default 2)")
	fs.Func("format", "image format: `png|svg|jpeg|webp` (default png)", choiceFlag(&q.Format, chartFormats, "png, svg, jpeg or webp"))
	fs.Func("theme", "theme: `light|dark` (default light)", choiceFlag(&q.Theme, chartThemes, "light or dark"))
	fs.Func("scheme", "colour scheme: `western|cn`, up in green or up in red (default western)", choiceFlag(&q.Scheme, chartSchemes, "western or cn"))
	fs.Func("price-scale", "price axis: `auto|linear|log`; auto is log when prices span a factor of 3 or more (default auto)",
		choiceFlag(&q.PriceScale, chartPriceScales, "auto, linear or log"))
	fs.Func("width", "image width in pixels, 200-8000 (default 1200)", int32Flag(&q.Width))
	fs.Func("height", "image height in pixels, 200-8000 (default 800)", int32Flag(&q.Height))
	fs.Func("dpi", "resolution in dots per inch `N`, 50-600; higher means larger text and lines (default 100)", int32Flag(&q.DPI))
	fs.Func("chunk-size", "largest chunk of the stream in `bytes`, 1024-1048576 (default 65536)", int32Flag(&q.ChunkSize))
	out := fs.String("o", "", "output `file` (default chart.png, chart.svg, chart.jpg or chart.webp by --format)")
	finishSpecs := chartSpecFlags(fs, &q)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := finishSpecs(); err != nil {
		return err
	}
	if err := sel.source(fs); err != nil {
		return err
	}
	for _, p := range q.Panels {
		if m := p.GetMacd(); m != nil {
			m.FastPeriod, m.SlowPeriod, m.SignalPeriod = fast, slow, signal
		}
	}
	for _, o := range q.Overlays {
		if b := o.GetBoll(); b != nil {
			b.K = bollK
		}
	}
	q.Symbol, q.Bars, q.Start, q.End, q.Convention = sel.symbol, sel.bars, sel.start, sel.end, sel.convention
	q.Interval, q.Adjustment = sel.interval, sel.adjustment
	req, err := q.Request()
	if err != nil {
		return err
	}
	if *out == "" {
		ext, ok := chartExtensions[q.Format]
		if !ok {
			ext = "png"
		}
		*out = "chart." + ext
	}
	client, err := conn.dial()
	if err != nil {
		return err
	}
	defer client.Close()

	img, err := writeVerified(*out, func(w io.Writer) (*idc.Image, error) {
		return client.WriteChart(ctx, req, w)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %s %dx%d at %d dpi, %d bytes, sha256 %x\n",
		*out, img.MediaType, img.Width, img.Height, img.DPI, img.Size, img.SHA256)
	return nil
}

// specList is the indicator list of the indicators command, in the order
// of the flags on the command line.
type specList []*idcv1.IndicatorSpec

// periodFlag returns a flag.Func parser that appends the spec build returns
// for the period, labelled name followed by the period (e.g. "sma20"), or
// name's default label for period 0.
func (l *specList) periodFlag(name string, build func(int32) *idcv1.IndicatorSpec) func(string) error {
	return func(s string) error {
		var period int32
		if err := int32Flag(&period)(s); err != nil {
			return err
		}
		spec := build(period)
		if period != 0 {
			spec = idc.Labeled(fmt.Sprintf("%s%d", name, period), spec)
		}
		*l = append(*l, spec)
		return nil
	}
}

// macdSpecFlag is the --macd flag of indicators: a boolean flag that
// appends a MACD labelled "macd" (its periods from --fast, --slow and
// --signal), or with --macd=FAST,SLOW,SIGNAL a MACD with those periods
// labelled "macd_FAST_SLOW_SIGNAL", as the Python client's idc-client does.
type macdSpecFlag struct{ list *specList }

func (f macdSpecFlag) String() string   { return "false" }
func (f macdSpecFlag) IsBoolFlag() bool { return true }

func (f macdSpecFlag) Set(s string) error {
	if on, err := strconv.ParseBool(s); err == nil {
		if on {
			*f.list = append(*f.list, idc.MACD(0, 0, 0))
		}
		return nil
	}
	parts := strings.Split(s, ",")
	var p [3]int32
	if len(parts) != 3 {
		return errors.New("want FAST,SLOW,SIGNAL as three integers")
	}
	for i, part := range parts {
		if err := int32Flag(&p[i])(part); err != nil {
			return errors.New("want FAST,SLOW,SIGNAL as three integers")
		}
	}
	label := fmt.Sprintf("macd_%d_%d_%d", p[0], p[1], p[2])
	*f.list = append(*f.list, idc.Labeled(label, idc.MACD(p[0], p[1], p[2])))
	return nil
}

func runIndicators(ctx context.Context, fs *flag.FlagSet, conn *connection, args []string, stdout io.Writer) error {
	sel := selectionFlags(fs)
	barFlags(fs, sel)
	var specs specList
	var fast, slow, signal int32
	var bollK float64
	fs.Func("sma", "add a simple moving average over `N` bars, column smaN (repeatable)", specs.periodFlag("sma", idc.SMA))
	fs.Func("ema", "add an exponential moving average with span `N`, column emaN (repeatable)", specs.periodFlag("ema", idc.EMA))
	fs.Func("rsi", "add an RSI over `N` bars, column rsiN (repeatable)", specs.periodFlag("rsi", idc.RSI))
	fs.Func("boll", "add Bollinger Bands over `N` bars, columns bollN.upper, .middle, .lower (repeatable)",
		specs.periodFlag("boll", func(n int32) *idcv1.IndicatorSpec { return idc.Bollinger(n, 0) }))
	fs.Func("kdj", "add KDJ with an RSV window of `N` bars, columns kdjN.k, .d, .j (repeatable)",
		specs.periodFlag("kdj", func(n int32) *idcv1.IndicatorSpec { return idc.KDJ(n, 0, 0) }))
	fs.Var(macdSpecFlag{&specs}, "macd",
		"add MACD with the --fast, --slow and --signal periods, columns macd.macd, .signal, .histogram; "+
			"--macd=FAST,SLOW,SIGNAL for other periods, columns macd_FAST_SLOW_SIGNAL.macd, ... (repeatable)")
	fs.Func("fast", "fast EMA period `N` of --macd (default 12)", int32Flag(&fast))
	fs.Func("slow", "slow EMA period `N` of --macd (default 26)", int32Flag(&slow))
	fs.Func("signal", "signal EMA period `N` of --macd (default 9)", int32Flag(&signal))
	fs.Float64Var(&bollK, "boll-k", 0, "band width `K` of --boll in standard deviations (default 2)")
	fs.Func("fn", "add catalogue entry `[LABEL=]NAME[:K=V,...]`, e.g. ADX:timeperiod=14, columns LABEL or LABEL.OUTPUT "+
		"(LABEL defaults to the lower-case local name, adx; repeatable)", specs.fnFlag())
	var ff formulaFlags
	ff.register(fs, "add 通达信 formula `TEXT`, columns formula.NAME per output NAME (once)",
		func(spec *idcv1.IndicatorSpec) { specs = append(specs, spec) })
	csvOut := fs.Bool("csv", false, "print CSV, with full precision, instead of a table")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := ff.finish(fs); err != nil {
		return err
	}
	if len(specs) == 0 {
		fmt.Fprintf(fs.Output(), "%s: no indicators; add at least one of --sma, --ema, --rsi, --boll, --kdj, --macd, --fn, --formula\n", fs.Name())
		fs.Usage()
		return errUsage
	}
	if err := sel.source(fs); err != nil {
		return err
	}
	for _, s := range specs {
		if m := s.GetMacd(); m != nil && s.GetLabel() == "" {
			m.FastPeriod, m.SlowPeriod, m.SignalPeriod = fast, slow, signal
		}
		if b := s.GetBoll(); b != nil {
			b.K = bollK
		}
	}
	client, err := conn.dial()
	if err != nil {
		return err
	}
	defer client.Close()

	req, err := idc.IndicatorQuery{
		Symbol: sel.symbol, Bars: sel.bars, Start: sel.start, End: sel.end, Convention: sel.convention,
		Interval: sel.interval, Adjustment: sel.adjustment, Indicators: specs,
	}.Request()
	if err != nil {
		return err
	}
	resp, err := client.ComputeIndicators(ctx, req)
	if err != nil {
		return err
	}
	f, err := idc.IndicatorFrame(resp)
	if err != nil {
		return err
	}
	t := &table{csv: *csvOut, header: append([]string{whenHeader(f.Interval)}, f.Names...)}
	for i, d := range f.Dates {
		row := []string{whenCell(f.Interval, d, f.Times[i])}
		for _, name := range f.Names {
			row = append(row, t.num(f.Columns[name][i], 4))
		}
		t.rows = append(t.rows, row)
	}
	if !t.csv {
		fmt.Fprintf(stdout, "%s, %d bars%s, convention %s%s\n", sourceName(resp.GetSymbol()), len(f.Dates),
			barsOf(f.Interval, f.TimeZone), conventionName(resp.GetConvention()), adjusted(f.Adjustment))
	}
	return t.write(stdout)
}

func runSymbols(ctx context.Context, fs *flag.FlagSet, conn *connection, args []string, stdout io.Writer) error {
	prefix := fs.String("prefix", "", "list only the symbols that start with `text`, case-insensitive, e.g. 000")
	csvOut := fs.Bool("csv", false, "print CSV instead of a table")
	if err := parse(fs, args); err != nil {
		return err
	}
	client, err := conn.dial()
	if err != nil {
		return err
	}
	defer client.Close()

	t := &table{csv: *csvOut, header: []string{"symbol", "first", "last", "bars", "state", "adjusted", "interval", "time_zone"}}
	var defaultSymbol string
	for page, err := range client.SymbolPages(ctx, &idcv1.ListSymbolsRequest{Prefix: *prefix}) {
		if err != nil {
			return err
		}
		defaultSymbol = page.GetDefaultSymbol()
		for _, info := range page.GetSymbols() {
			t.rows = append(t.rows, []string{
				info.GetSymbol(), info.GetFirstDate(), info.GetLastDate(), strconv.Itoa(int(info.GetBarCount())),
				stateName(info.GetState()), priceAdjustmentName(info.GetPriceAdjustment()),
				idc.IntervalName(info.GetInterval()), info.GetTimeZone(),
			})
		}
	}
	if err := t.write(stdout); err != nil || t.csv {
		return err
	}
	_, err = fmt.Fprintf(stdout, "default symbol: %s\n", defaultSymbol)
	return err
}

// stateName is the symbols table's spelling of a symbol's state.
func stateName(s idcv1.SymbolState) string {
	switch s {
	case idcv1.SymbolState_SYMBOL_STATE_READY:
		return "ready"
	case idcv1.SymbolState_SYMBOL_STATE_INVALID:
		return "invalid"
	}
	return "unknown"
}

// priceAdjustmentName is the symbols table's spelling of how a symbol's
// stored prices are adjusted.
func priceAdjustmentName(p idcv1.PriceAdjustment) string {
	switch p {
	case idcv1.PriceAdjustment_PRICE_ADJUSTMENT_NONE:
		return "none"
	case idcv1.PriceAdjustment_PRICE_ADJUSTMENT_SPLITS:
		return "splits"
	case idcv1.PriceAdjustment_PRICE_ADJUSTMENT_SPLITS_AND_DIVIDENDS:
		return "splits+dividends"
	case idcv1.PriceAdjustment_PRICE_ADJUSTMENT_NOT_NEEDED:
		return "not-needed"
	}
	return "unknown"
}

// whenHeader is the first column's name: "time" for intraday bars, whose
// times tell them apart, else "date".
func whenHeader(iv idcv1.Interval) string {
	if idc.Intraday(iv) {
		return "time"
	}
	return "date"
}

// whenCell is the first column's cell: the bar's start in the exchange's
// time zone for intraday bars ("2020-07-01 09:30"), else its trading day
// (for weekly and monthly bars, the last one they include).
func whenCell(iv idcv1.Interval, date, start time.Time) string {
	if idc.Intraday(iv) {
		return start.Format("2006-01-02 15:04")
	}
	return date.Format(time.DateOnly)
}

// barsOf describes a response's bars after their count: "" for daily bars,
// " of 1w" for weekly, " of 5m in Asia/Shanghai" for intraday ones.
func barsOf(iv idcv1.Interval, zone string) string {
	switch {
	case iv == idcv1.Interval_INTERVAL_UNSPECIFIED || iv == idcv1.Interval_INTERVAL_1_DAY:
		return ""
	case idc.Intraday(iv) && zone != "":
		return fmt.Sprintf(" of %s in %s", idc.IntervalName(iv), zone)
	}
	return " of " + idc.IntervalName(iv)
}

// adjusted names a response's adjustment after its convention, unless the
// prices are as stored: ", adjustment forward".
func adjusted(a idcv1.Adjustment) string {
	if a == idcv1.Adjustment_ADJUSTMENT_UNSPECIFIED || a == idcv1.Adjustment_ADJUSTMENT_AS_STORED {
		return ""
	}
	return ", adjustment " + idc.AdjustmentName(a)
}

// sourceName is how a result's symbol is shown: the symbol, or "(inline
// bars)" for the caller's own bars.
func sourceName(symbol string) string {
	return cmp.Or(symbol, "(inline bars)")
}

// conventionFlag returns a flag.Func parser that stores a convention given
// as talib or tdx.
func conventionFlag(p *idcv1.Convention) func(string) error {
	return func(s string) error {
		switch strings.ToLower(s) {
		case "talib":
			*p = idcv1.Convention_CONVENTION_TALIB
		case "tdx":
			*p = idcv1.Convention_CONVENTION_TDX
		default:
			return errors.New("want talib or tdx")
		}
		return nil
	}
}

// conventionName is the lower-case flag spelling of c, e.g. "talib".
func conventionName(c idcv1.Convention) string {
	return strings.ToLower(strings.TrimPrefix(c.String(), "CONVENTION_"))
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
