package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
	"github.com/idcrpc/idc/clients/go/idc"
)

// The RPCs idc-bench can call.
const (
	rpcMACD       = "macd"
	rpcIndicators = "indicators"
	rpcChart      = "chart"
)

// defaultMaxRecvBytes is the largest response message accepted by default,
// the same as the Python client's: gRPC's own default of 4 MiB refuses a
// GetMACD response of more than about 60,000 bars.
const defaultMaxRecvBytes = 256 << 20

// firstEpochDay is the date of the first synthetic bar, in days since
// 1970-01-01 (2997-05-19).
const firstEpochDay = 10000

// barsSeed seeds the random walk of the synthetic bars.
const barsSeed = 1

// options configures a run.
type options struct {
	Addr          string
	RPC           string // rpcMACD, rpcIndicators or rpcChart
	Symbol        string // ignored when InlineBars > 0
	Start, End    string // "YYYY-MM-DD" or empty, passed on as they are
	InlineBars    int    // > 0: send this many synthetic bars instead of Symbol
	Width, Height int    // chart size in pixels
	ChunkBytes    int    // largest chart chunk; 0 is the server's default
	Distinct      bool   // make every chart request different, so that each one is rendered
	Concurrency   int    // goroutines making calls
	Connections   int    // clients, each with its own connection
	Duration      time.Duration
	Warmup        time.Duration
	Timeout       time.Duration // deadline of each call
	MaxRecvBytes  int
}

// result is the summary printed as JSON.
type result struct {
	Client        string       `json:"client"`
	RPC           string       `json:"rpc"`
	Concurrency   int          `json:"concurrency"`
	Connections   int          `json:"connections"`
	Requests      int          `json:"requests"`
	Errors        int          `json:"errors"`
	Seconds       float64      `json:"seconds"`
	ThroughputRPS float64      `json:"throughput_rps"`
	LatencyMS     latencyStats `json:"latency_ms"`
	CPUSeconds    float64      `json:"cpu_seconds"`
	ResponseBytes int64        `json:"response_bytes"`
	FirstError    string       `json:"first_error"`
}

// latencyStats summarizes call durations, in milliseconds.
type latencyStats struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

// caller makes one call with c and returns the size of the response, or
// an error when the call failed or its response does not add up.
type caller func(ctx context.Context, c *idc.Client) (int64, error)

// failing is the caller of a request that could not be built: every call
// fails with err.
func failing(err error) caller {
	return func(context.Context, *idc.Client) (int64, error) { return 0, err }
}

// newCaller builds the request that o describes, once, and returns the
// function calling it.
func newCaller(o options) caller {
	var bars *idcv1.Bars
	symbol := o.Symbol
	if o.InlineBars > 0 {
		bars, symbol = syntheticBars(o.InlineBars, barsSeed), "" // a query takes one source
	}
	switch o.RPC {
	case rpcIndicators:
		req, err := idc.IndicatorQuery{
			Symbol: symbol, Bars: bars, Start: o.Start, End: o.End,
			Indicators: []*idcv1.IndicatorSpec{
				idc.SMA(20), idc.EMA(20), idc.MACD(12, 26, 9), idc.RSI(14), idc.Bollinger(20, 2),
			},
		}.Request()
		if err != nil {
			return failing(err)
		}
		return func(ctx context.Context, c *idc.Client) (int64, error) {
			resp, err := c.ComputeIndicators(ctx, req)
			if err != nil {
				return 0, err
			}
			if err := checkIndicators(resp, 9); err != nil {
				return 0, err
			}
			return int64(proto.Size(resp)), nil
		}
	case rpcChart:
		query := idc.ChartQuery{
			Symbol: symbol, Bars: bars, Start: o.Start, End: o.End,
			Panels: []*idcv1.ChartPanel{idc.VolumePanel(), idc.MACDPanel(12, 26, 9)},
			Format: idcv1.ImageFormat_IMAGE_FORMAT_PNG,
			Width:  int32(o.Width), Height: int32(o.Height), ChunkSize: int32(o.ChunkBytes),
		}
		req, err := query.Request()
		if err != nil {
			return failing(err)
		}
		var calls atomic.Int64
		return func(ctx context.Context, c *idc.Client) (int64, error) {
			req := req
			if o.Distinct {
				// One pixel wider on each call, over a cycle of 100: neither the
				// server's render cache nor its sharing of identical renders in
				// flight can save a render, and the work stays the same.
				q := query
				q.Width += int32(calls.Add(1) % 100)
				distinct, err := q.Request()
				if err != nil {
					return 0, err
				}
				req = distinct
			}
			img, err := c.GetChart(ctx, req)
			if err != nil {
				return 0, err
			}
			if len(img.Data) == 0 {
				return 0, errors.New("get chart: empty image")
			}
			return int64(len(img.Data)), nil
		}
	default:
		req, err := idc.MACDQuery{Symbol: symbol, Bars: bars, Start: o.Start, End: o.End}.Request()
		if err != nil {
			return failing(err)
		}
		return func(ctx context.Context, c *idc.Client) (int64, error) {
			resp, err := c.GetMACD(ctx, req)
			if err != nil {
				return 0, err
			}
			if err := checkMACD(resp); err != nil {
				return 0, err
			}
			return int64(proto.Size(resp)), nil
		}
	}
}

// checkMACD reports a GetMACD response without bars or whose MACD columns
// do not hold one value per bar from first_valid_index on.
func checkMACD(resp *idcv1.GetMACDResponse) error {
	n := len(resp.GetBars().GetDates())
	if n == 0 {
		return errors.New("get macd: response has no bars")
	}
	first := int(resp.GetFirstValidIndex())
	if first < 0 || first > n {
		return fmt.Errorf("get macd: first_valid_index %d is outside 0 to %d bars", first, n)
	}
	for _, col := range []struct {
		name   string
		values []float64
	}{{"macd", resp.GetMacd()}, {"signal", resp.GetSignal()}, {"histogram", resp.GetHistogram()}} {
		if len(col.values) != n-first {
			return fmt.Errorf("get macd: %d %s values, want bars - first_valid_index = %d - %d", len(col.values), col.name, n, first)
		}
	}
	return nil
}

// checkIndicators reports a ComputeIndicators response without dates, with
// other than series series, or with a series that does not hold one value
// per date from its first_valid_index on.
func checkIndicators(resp *idcv1.ComputeIndicatorsResponse, series int) error {
	n := len(resp.GetDates())
	if n == 0 {
		return errors.New("compute indicators: response has no dates")
	}
	if got := len(resp.GetSeries()); got != series {
		return fmt.Errorf("compute indicators: %d series, want %d", got, series)
	}
	for _, s := range resp.GetSeries() {
		first := int(s.GetFirstValidIndex())
		if first < 0 || first > n || len(s.GetValues()) != n-first {
			return fmt.Errorf("compute indicators: series %q has %d values and first_valid_index %d, for %d dates",
				s.GetName(), len(s.GetValues()), first, n)
		}
	}
	return nil
}

// syntheticBars returns n daily bars on consecutive days from
// firstEpochDay: a random walk of the close from 100, seeded with seed,
// with each day's open near the previous close and the high and low a
// little beyond the open and close.
func syntheticBars(n int, seed uint64) *idcv1.Bars {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	b := &idcv1.Bars{
		Dates:  make([]int32, n),
		Open:   make([]float64, n),
		High:   make([]float64, n),
		Low:    make([]float64, n),
		Close:  make([]float64, n),
		Volume: make([]float64, n),
	}
	prev := 100.0
	for i := range n {
		open, closing := prev, 100.0
		if i > 0 {
			open = prev * (1 + 0.002*r.NormFloat64())
			// A geometric walk stays positive however long it runs.
			closing = prev * math.Exp(0.01*r.NormFloat64())
		}
		b.Dates[i] = int32(firstEpochDay + i)
		b.Open[i] = open
		b.Close[i] = closing
		b.High[i] = max(open, closing) * (1 + 0.01*r.Float64())
		b.Low[i] = min(open, closing) * (1 - 0.01*r.Float64())
		b.Volume[i] = 1e6 * (0.5 + r.Float64())
		prev = closing
	}
	return b
}

// dial creates o.Connections clients. Each [idc.Dial] creates its own
// grpc.ClientConn, and grpc-go never shares transports between ClientConns,
// so each client has its own TCP connection.
func dial(o options) ([]*idc.Client, error) {
	clients := make([]*idc.Client, 0, o.Connections)
	for range o.Connections {
		c, err := idc.Dial(o.Addr,
			idc.WithInsecure(),
			idc.WithRetry(1),
			idc.WithTimeout(o.Timeout),
			idc.WithDialOptions(grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(o.MaxRecvBytes))),
		)
		if err != nil {
			closeAll(clients)
			return nil, err
		}
		clients = append(clients, c)
	}
	return clients, nil
}

func closeAll(clients []*idc.Client) {
	for _, c := range clients {
		_ = c.Close()
	}
}

// probe connects every client by calling ListSymbols, and fails when one
// cannot reach the server. A server that answers with an error, such as
// UNIMPLEMENTED, counts as reached.
func probe(ctx context.Context, clients []*idc.Client) error {
	for i, c := range clients {
		_, err := c.ListSymbols(ctx)
		if code := status.Code(err); code == codes.Unavailable || code == codes.DeadlineExceeded || code == codes.Canceled {
			return fmt.Errorf("cannot reach the server with connection %d: %w", i+1, err)
		}
	}
	return nil
}

// window is the measured period, as offsets from the start of the run.
// Both ends are math.MaxInt64 until set.
type window struct {
	start, end atomic.Int64
}

// tally is what one goroutine recorded in the window.
type tally struct {
	latencies []time.Duration // of the successful calls
	errors    int
	bytes     int64
	firstErr  error
	firstAt   time.Duration // when firstErr ended, from the start of the run
}

// bench runs the load o describes and returns its summary. It fails only
// when the server cannot be reached or ctx ends before the measured
// window does.
func bench(ctx context.Context, o options) (*result, error) {
	call := newCaller(o)
	clients, err := dial(o)
	if err != nil {
		return nil, err
	}
	defer closeAll(clients)
	if err := probe(ctx, clients); err != nil {
		return nil, err
	}

	var win window
	win.start.Store(math.MaxInt64)
	win.end.Store(math.MaxInt64)
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	tallies := make([]tally, o.Concurrency)
	var wg sync.WaitGroup
	base := time.Now()
	for i := range o.Concurrency {
		wg.Go(func() { tallies[i] = worker(loadCtx, call, clients[i%len(clients)], base, &win) })
	}

	interrupted := func() (*result, error) {
		stopLoad()
		wg.Wait()
		return nil, fmt.Errorf("interrupted: %w", context.Cause(ctx))
	}
	if !sleep(ctx, o.Warmup) {
		return interrupted()
	}
	cpu0 := cpuTime()
	t0 := time.Since(base)
	win.start.Store(int64(t0))
	if !sleep(ctx, o.Duration) {
		return interrupted()
	}
	t1 := time.Since(base)
	win.end.Store(int64(t1))
	cpu1 := cpuTime()
	stopLoad()
	wg.Wait()

	res := summarize(tallies, t1-t0)
	res.RPC, res.Concurrency, res.Connections = o.RPC, o.Concurrency, o.Connections
	res.CPUSeconds = (cpu1 - cpu0).Seconds()
	return res, nil
}

// worker makes calls with c until ctx ends or a call ends after the
// window, and returns what it recorded in the window.
func worker(ctx context.Context, call caller, c *idc.Client, base time.Time, win *window) tally {
	var t tally
	for ctx.Err() == nil {
		began := time.Now()
		n, err := call(ctx, c)
		ended := time.Now()
		at := ended.Sub(base)
		if int64(at) >= win.end.Load() {
			break
		}
		if int64(at) < win.start.Load() {
			continue // warm-up
		}
		if err != nil {
			t.errors++
			if t.firstErr == nil {
				t.firstErr, t.firstAt = err, at
			}
			continue
		}
		t.latencies = append(t.latencies, ended.Sub(began))
		t.bytes += n
	}
	return t
}

// sleep waits d and reports whether ctx was still alive then.
func sleep(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// summarize merges the goroutines' tallies of a window of length d into a
// result.
func summarize(tallies []tally, d time.Duration) *result {
	res := &result{Client: "go", Seconds: d.Seconds()}
	var all []time.Duration
	var first *tally
	for i := range tallies {
		t := &tallies[i]
		all = append(all, t.latencies...)
		res.Errors += t.errors
		res.ResponseBytes += t.bytes
		if t.firstErr != nil && (first == nil || t.firstAt < first.firstAt) {
			first = t
		}
	}
	if first != nil {
		res.FirstError = first.firstErr.Error()
	}
	res.Requests = len(all)
	if d > 0 {
		res.ThroughputRPS = float64(res.Requests) / d.Seconds()
	}
	res.LatencyMS = latencySummary(all)
	return res
}

// latencySummary returns the mean, nearest-rank percentiles and maximum of
// durations in milliseconds, all 0 when there are none. It sorts
// durations.
func latencySummary(durations []time.Duration) latencyStats {
	if len(durations) == 0 {
		return latencyStats{}
	}
	slices.Sort(durations)
	var sum time.Duration
	for _, d := range durations {
		sum += d
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return latencyStats{
		Mean: ms(sum) / float64(len(durations)),
		P50:  ms(percentile(durations, 50)),
		P90:  ms(percentile(durations, 90)),
		P99:  ms(percentile(durations, 99)),
		Max:  ms(durations[len(durations)-1]),
	}
}

// percentile returns the nearest-rank p-th percentile of sorted, which
// must be in ascending order: the smallest value that at least p percent
// of the values are at or below. p is clamped to 0-100; an empty sorted
// gives 0.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	// p * n before the division keeps integral ranks exact (90 * 10 / 100
	// is 9, while 0.9 * 10 is 9.000000000000002).
	rank := int(math.Ceil(p * float64(n) / 100))
	return sorted[min(max(rank, 1), n)-1]
}
