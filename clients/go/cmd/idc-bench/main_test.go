package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/proto"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
	"github.com/idcrpc/idc/clients/go/internal/testenv"
)

func TestPercentile(t *testing.T) {
	ms := func(vs ...int) []time.Duration {
		out := make([]time.Duration, len(vs))
		for i, v := range vs {
			out[i] = time.Duration(v) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	for _, tc := range []struct {
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 0, 7 * time.Millisecond},
		{ms(7), 50, 7 * time.Millisecond},
		{ms(7), 100, 7 * time.Millisecond},
		{ms(1, 2, 3), 50, 2 * time.Millisecond},
		{ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 90, 9 * time.Millisecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 91, 10 * time.Millisecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
		{ms(hundred...), 0, 1 * time.Millisecond},
		{ms(hundred...), 50, 50 * time.Millisecond},
		{ms(hundred...), 90, 90 * time.Millisecond},
		{ms(hundred...), 99, 99 * time.Millisecond},
		{ms(hundred...), 99.5, 100 * time.Millisecond},
		{ms(hundred...), 100, 100 * time.Millisecond},
		{ms(hundred...), 150, 100 * time.Millisecond},
	} {
		if got := percentile(tc.sorted, tc.p); got != tc.want {
			t.Errorf("percentile(%d values, %v) = %v, want %v", len(tc.sorted), tc.p, got, tc.want)
		}
	}
}

func TestLatencySummary(t *testing.T) {
	d := []time.Duration{4 * time.Millisecond, 1 * time.Millisecond, 3 * time.Millisecond, 2 * time.Millisecond}
	got := latencySummary(d)
	want := latencyStats{Mean: 2.5, P50: 2, P90: 4, P99: 4, Max: 4}
	if got != want {
		t.Errorf("latencySummary = %+v, want %+v", got, want)
	}
	if (latencySummary(nil) != latencyStats{}) {
		t.Errorf("latencySummary(nil) is not zero")
	}
}

func TestSyntheticBars(t *testing.T) {
	const n = 20000
	b := syntheticBars(n, barsSeed)
	for name, l := range map[string]int{
		"dates": len(b.Dates), "open": len(b.Open), "high": len(b.High),
		"low": len(b.Low), "close": len(b.Close), "volume": len(b.Volume),
	} {
		if l != n {
			t.Fatalf("%d %s, want %d", l, name, n)
		}
	}
	if b.Dates[0] != firstEpochDay || b.Close[0] != 100 {
		t.Errorf("first bar: date %d close %v, want %d and 100", b.Dates[0], b.Close[0], firstEpochDay)
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	for i := range n {
		if i > 0 && b.Dates[i] != b.Dates[i-1]+1 {
			t.Fatalf("bar %d: date %d after %d, want consecutive days", i, b.Dates[i], b.Dates[i-1])
		}
		o, h, l, c, v := b.Open[i], b.High[i], b.Low[i], b.Close[i], b.Volume[i]
		if !finite(o) || !finite(h) || !finite(l) || !finite(c) || !finite(v) {
			t.Fatalf("bar %d: not finite: %v %v %v %v %v", i, o, h, l, c, v)
		}
		if h < max(o, c) || l > min(o, c) || l <= 0 || v <= 0 {
			t.Fatalf("bar %d: open %v high %v low %v close %v volume %v", i, o, h, l, c, v)
		}
	}
	if !proto.Equal(b, syntheticBars(n, barsSeed)) {
		t.Error("the same seed gave different bars")
	}
	if slices.Equal(b.Close, syntheticBars(n, barsSeed+1).Close) {
		t.Error("another seed gave the same closes")
	}
}

func TestCheckMACD(t *testing.T) {
	resp := func(bars, first, values int) *idcv1.GetMACDResponse {
		return &idcv1.GetMACDResponse{
			Bars:            &idcv1.Bars{Dates: make([]int32, bars)},
			FirstValidIndex: int32(first),
			Macd:            make([]float64, values),
			Signal:          make([]float64, values),
			Histogram:       make([]float64, values),
		}
	}
	if err := checkMACD(resp(100, 33, 67)); err != nil {
		t.Errorf("valid response: %v", err)
	}
	if err := checkMACD(resp(5, 5, 0)); err != nil {
		t.Errorf("valid response without MACD values: %v", err)
	}
	for _, r := range []*idcv1.GetMACDResponse{resp(0, 0, 0), resp(100, 33, 66), resp(100, 0, 67), resp(10, 11, 0), {}} {
		if checkMACD(r) == nil {
			t.Errorf("no error for %d bars, first_valid_index %d, %d values", len(r.GetBars().GetDates()), r.GetFirstValidIndex(), len(r.GetMacd()))
		}
	}
	r := resp(100, 33, 67)
	r.Histogram = r.Histogram[1:]
	if checkMACD(r) == nil {
		t.Error("no error for a short histogram")
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "-addr is required"},
		{[]string{"-addr", "localhost"}, "not host:port"},
		{[]string{"-addr", "localhost:1", "-rpc", "graph"}, `-rpc "graph"`},
		{[]string{"-addr", "localhost:1", "-concurrency", "0"}, "-concurrency must be at least 1"},
		{[]string{"-addr", "localhost:1", "-connections", "0"}, "-connections must be at least 1"},
		{[]string{"-addr", "localhost:1", "-concurrency", "2", "-connections", "3"}, "some would stay unused"},
		{[]string{"-addr", "localhost:1", "-duration", "0s"}, "-duration must be positive"},
		{[]string{"-addr", "localhost:1", "-warmup", "-1s"}, "-warmup may not be negative"},
		{[]string{"-addr", "localhost:1", "-timeout", "0s"}, "-timeout must be positive"},
		{[]string{"-addr", "localhost:1", "-inline-bars", "-5"}, "-inline-bars may not be negative"},
		{[]string{"-addr", "localhost:1", "-inline-bars", "5", "-symbol", "AAPL"}, "exclude each other"},
		{[]string{"-addr", "localhost:1", "-width", "0"}, "-width and -height"},
		{[]string{"-addr", "localhost:1", "-chunk-bytes", "-1"}, "-chunk-bytes"},
		{[]string{"-addr", "localhost:1", "extra"}, "unexpected arguments"},
		{[]string{"-addr", "localhost:1", "-bogus"}, "flag provided but not defined"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(t.Context(), tc.args, &stdout, &stderr); code != exitUsage {
			t.Errorf("%q: exit status %d, want %d", tc.args, code, exitUsage)
		}
		if !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%q: stderr lacks %q:\n%s", tc.args, tc.want, &stderr)
		}
		if stdout.Len() > 0 {
			t.Errorf("%q: stdout is not empty:\n%s", tc.args, &stdout)
		}
	}
}

func TestUnreachable(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := lis.Addr().String()
	_ = lis.Close()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"-addr", dead, "-duration", "100ms", "-warmup", "0s"}, &stdout, &stderr)
	if code != exitUnreachable || stdout.Len() > 0 || !strings.Contains(stderr.String(), "cannot reach the server") {
		t.Errorf("exit status %d, stdout %q, stderr %q; want %d, nothing and a message", code, &stdout, &stderr, exitUnreachable)
	}
}

// fakeServer answers GetMACD with MACD columns for the request's inline
// bars, or for 100 bars, and notes the address of every client.
type fakeServer struct {
	idcv1.UnimplementedIndicatorServiceServer
	broken bool // answer with one MACD value too few

	mu        sync.Mutex
	peers     map[string]bool
	inlineLen int
}

func (s *fakeServer) GetMACD(ctx context.Context, req *idcv1.GetMACDRequest) (*idcv1.GetMACDResponse, error) {
	n := 100
	s.mu.Lock()
	if p, ok := peer.FromContext(ctx); ok {
		s.peers[p.Addr.String()] = true
	}
	if b := req.GetInlineBars(); b != nil {
		n = len(b.GetDates())
		s.inlineLen = n
	}
	s.mu.Unlock()
	values := n - 33
	if s.broken {
		values--
	}
	return &idcv1.GetMACDResponse{
		Bars:            &idcv1.Bars{Dates: make([]int32, n)},
		FirstValidIndex: 33,
		Macd:            make([]float64, values),
		Signal:          make([]float64, values),
		Histogram:       make([]float64, values),
	}, nil
}

// seen returns the number of client addresses and the number of inline
// bars of the last request with them. Handlers of calls canceled at the
// end of a run may still be running.
func (s *fakeServer) seen() (peers, inlineLen int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.peers), s.inlineLen
}

// serveFake starts s on a free local port and returns its address.
func serveFake(t *testing.T, s *fakeServer) string {
	t.Helper()
	s.peers = map[string]bool{}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	idcv1.RegisterIndicatorServiceServer(srv, s)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

func fakeOptions(addr string) options {
	return options{
		Addr: addr, RPC: rpcMACD, Symbol: "SPY", Width: 1200, Height: 800,
		Concurrency: 6, Connections: 3,
		Duration: 300 * time.Millisecond, Warmup: 100 * time.Millisecond, Timeout: 5 * time.Second,
		MaxRecvBytes: defaultMaxRecvBytes,
	}
}

func TestBenchFake(t *testing.T) {
	t.Run("separate connections", func(t *testing.T) {
		s := &fakeServer{}
		res, err := bench(t.Context(), fakeOptions(serveFake(t, s)))
		if err != nil {
			t.Fatal(err)
		}
		if res.Requests == 0 || res.Errors != 0 || res.FirstError != "" || res.ResponseBytes == 0 {
			t.Errorf("result %+v, want requests and response bytes, no errors", res)
		}
		if res.Client != "go" || res.RPC != rpcMACD || res.Concurrency != 6 || res.Connections != 3 {
			t.Errorf("result %+v does not echo the options", res)
		}
		if res.Seconds < 0.3 || res.Seconds > 0.5 {
			t.Errorf("seconds %v, want about 0.3", res.Seconds)
		}
		// ListSymbols is unimplemented, so only GetMACD notes peers.
		if peers, _ := s.seen(); peers != 3 {
			t.Errorf("calls came from %d client addresses, want 3", peers)
		}
	})

	t.Run("inline bars", func(t *testing.T) {
		s := &fakeServer{}
		o := fakeOptions(serveFake(t, s))
		o.InlineBars, o.Concurrency, o.Connections = 5000, 2, 1
		res, err := bench(t.Context(), o)
		if err != nil {
			t.Fatal(err)
		}
		if res.Requests == 0 || res.Errors != 0 {
			t.Errorf("result %+v, want requests and no errors", res)
		}
		if _, n := s.seen(); n != 5000 {
			t.Errorf("server got %d inline bars, want 5000", n)
		}
	})

	t.Run("responses that do not add up are errors", func(t *testing.T) {
		o := fakeOptions(serveFake(t, &fakeServer{broken: true}))
		res, err := bench(t.Context(), o)
		if err != nil {
			t.Fatal(err)
		}
		if res.Requests != 0 || res.Errors == 0 || res.ResponseBytes != 0 || (res.LatencyMS != latencyStats{}) {
			t.Errorf("result %+v, want every request to fail", res)
		}
		if !strings.Contains(res.FirstError, "66 macd values") {
			t.Errorf("first error %q does not name the MACD length", res.FirstError)
		}
	})
}

// startServer starts the idc-server in IDC_SERVER_BIN on a free local port
// and returns its address once it accepts connections (see internal/testenv
// for an unset IDC_SERVER_BIN). The server is killed when the test ends.
func startServer(t *testing.T) string {
	t.Helper()
	bin := testenv.Require(t, "IDC_SERVER_BIN", "the idc-server executable")
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	_ = lis.Close()
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "--host", "127.0.0.1", "--port", port)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "IDC_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var out bytes.Buffer // written by the process's output copier, read after Wait
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start idc-server: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("idc-server output:\n%s", &out)
		}
	})
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = conn.Close()
			return addr
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("idc-server exited before listening on %s: %v", addr, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("idc-server did not listen on %s within 2 minutes", addr)
	return ""
}

// TestServer runs each kind of load against a real server. Chart loads warm
// up for 3 s, since a cold render (matplotlib's first figure) takes over a
// second on a busy 2-core machine, and a call that ends in the warm-up is
// not counted.
func TestServer(t *testing.T) {
	addr := startServer(t)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"macd", []string{"-rpc", "macd", "-symbol", "SPY", "-start", "2024-01-01", "-end", "2024-12-31", "-concurrency", "2", "-duration", "1s"}},
		{"indicators", []string{"-rpc", "indicators", "-symbol", "SPY", "-start", "2024-01-01", "-end", "2024-12-31", "-duration", "500ms"}},
		{"chart", []string{"-rpc", "chart", "-symbol", "SPY", "-start", "2024-01-01", "-end", "2024-12-31", "-width", "400", "-height", "300", "-chunk-bytes", "4096", "-warmup", "3s", "-duration", "1s"}},
		{"macd with inline bars", []string{"-rpc", "macd", "-inline-bars", "2000", "-duration", "500ms"}},
		{"distinct charts", []string{"-rpc", "chart", "-symbol", "SPY", "-start", "2024-01-01", "-end", "2024-12-31", "-width", "300", "-height", "200", "-distinct", "-concurrency", "2", "-warmup", "3s", "-duration", "3s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"-addr", addr, "-warmup", "200ms"}, tc.args...)
			if code := run(t.Context(), args, &stdout, &stderr); code != exitOK {
				t.Fatalf("exit status %d; stderr:\n%s", code, &stderr)
			}
			if strings.Count(stdout.String(), "\n") != 1 {
				t.Errorf("output is not one line:\n%s", &stdout)
			}

			var fields map[string]json.RawMessage
			if err := json.Unmarshal(stdout.Bytes(), &fields); err != nil {
				t.Fatalf("output is not a JSON object: %v\n%s", err, &stdout)
			}
			keys := slices.Sorted(func(yield func(string) bool) {
				for k := range fields {
					if !yield(k) {
						return
					}
				}
			})
			want := []string{"client", "concurrency", "connections", "cpu_seconds", "errors", "first_error",
				"latency_ms", "requests", "response_bytes", "rpc", "seconds", "throughput_rps"}
			if !slices.Equal(keys, want) {
				t.Errorf("keys %v, want %v", keys, want)
			}
			var lat map[string]float64
			if err := json.Unmarshal(fields["latency_ms"], &lat); err != nil || len(lat) != 5 {
				t.Errorf("latency_ms %s: %v, want mean, p50, p90, p99 and max", fields["latency_ms"], err)
			}

			var res result
			dec := json.NewDecoder(bytes.NewReader(stdout.Bytes()))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&res); err != nil {
				t.Fatal(err)
			}
			if res.Requests == 0 || res.Errors != 0 || res.FirstError != "" {
				t.Fatalf("%d requests, %d errors (%q); want requests and no errors", res.Requests, res.Errors, res.FirstError)
			}
			if res.Client != "go" || res.RPC != tc.args[1] || res.Connections != 1 {
				t.Errorf("result %+v does not echo the flags", res)
			}
			l := res.LatencyMS
			if !(0 < l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.Max && l.Mean <= l.Max) {
				t.Errorf("latencies %+v are not ordered", l)
			}
			if res.ResponseBytes <= 0 || res.Seconds <= 0 || res.ThroughputRPS <= 0 || res.CPUSeconds < 0 {
				t.Errorf("result %+v lacks bytes, seconds, throughput or CPU time", res)
			}
			if got := float64(res.Requests) / res.Seconds; math.Abs(got-res.ThroughputRPS) > 1e-6*got {
				t.Errorf("throughput %v, want requests / seconds = %v", res.ThroughputRPS, got)
			}
			t.Logf("%s", strings.TrimSpace(stdout.String()))
		})
	}
}
