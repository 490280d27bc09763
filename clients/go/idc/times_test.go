package idc_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
	"github.com/idcrpc/idc/clients/go/idc"
)

// The wire times below were computed with Python's zoneinfo, independently
// of Go: 2020-07-01 09:30 Asia/Shanghai is 1593567000, 09:35 is 1593567300,
// and 2019-11-05 09:30 America/New_York (EST, UTC-5) is 1572964200.
const (
	shanghai0930 = 1593567000
	shanghai0935 = 1593567300
	newYork0930  = 1572964200
)

func TestMACDRowsTimes(t *testing.T) {
	resp := &idcv1.GetMACDResponse{
		Bars: &idcv1.Bars{
			Dates: []int32{18444, 18444}, Times: []int64{shanghai0930, shanghai0935},
			Open: []float64{1, 2}, High: []float64{3, 4}, Low: []float64{0.5, 1}, Close: []float64{2, 3}, Volume: []float64{5, 6},
			Interval: idcv1.Interval_INTERVAL_5_MINUTES, TimeZone: "Asia/Shanghai",
		},
		Macd: []float64{0.1, 0.2}, Signal: []float64{0.1, 0.1}, Histogram: []float64{0, 0.1},
	}
	rows, err := idc.MACDRows(resp)
	if err != nil {
		t.Fatalf("MACDRows: %v", err)
	}
	for i, want := range []string{"2020-07-01 09:30 +0800", "2020-07-01 09:35 +0800"} {
		if got := rows[i].Time.Format("2006-01-02 15:04 -0700"); got != want {
			t.Errorf("row %d time = %s, want %s", i, got, want)
		}
		if got := rows[i].Time.Location().String(); got != "Asia/Shanghai" {
			t.Errorf("row %d zone = %s, want Asia/Shanghai", i, got)
		}
		if got := rows[i].Date.Format(time.DateOnly); got != "2020-07-01" {
			t.Errorf("row %d date = %s, want 2020-07-01", i, got)
		}
	}

	t.Run("daily bars without times are 00:00 in the zone", func(t *testing.T) {
		r := proto.CloneOf(resp)
		r.Bars.Times, r.Bars.Interval = nil, idcv1.Interval_INTERVAL_1_DAY
		rows, err := idc.MACDRows(r)
		if err != nil {
			t.Fatalf("MACDRows: %v", err)
		}
		if got := rows[0].Time.Format(time.RFC3339); got != "2020-07-01T00:00:00+08:00" {
			t.Errorf("time = %s, want 2020-07-01T00:00:00+08:00", got)
		}
	})
	t.Run("times that do not match the dates", func(t *testing.T) {
		r := proto.CloneOf(resp)
		r.Bars.Times = r.Bars.Times[:1]
		if _, err := idc.MACDRows(r); err == nil || !strings.Contains(err.Error(), "1 times, want one per date (2)") {
			t.Errorf("MACDRows = %v, want an error about the times", err)
		}
	})
	t.Run("an unknown time zone", func(t *testing.T) {
		r := proto.CloneOf(resp)
		r.Bars.TimeZone = "Mars/Olympus"
		if _, err := idc.MACDRows(r); err == nil || !strings.Contains(err.Error(), `time zone "Mars/Olympus"`) {
			t.Errorf("MACDRows = %v, want an error naming the zone", err)
		}
	})
}

func TestIndicatorFrameTimes(t *testing.T) {
	resp := &idcv1.ComputeIndicatorsResponse{
		Dates: []int32{18205}, Times: []int64{newYork0930}, Interval: idcv1.Interval_INTERVAL_1_MINUTE,
		TimeZone: "America/New_York", Adjustment: idcv1.Adjustment_ADJUSTMENT_AS_STORED,
		Series: []*idcv1.Series{{Name: "sma", Values: []float64{3080.5}}},
	}
	f, err := idc.IndicatorFrame(resp)
	if err != nil {
		t.Fatalf("IndicatorFrame: %v", err)
	}
	if got := f.Times[0].Format("2006-01-02 15:04 MST"); got != "2019-11-05 09:30 EST" {
		t.Errorf("time = %s, want 2019-11-05 09:30 EST", got)
	}
	if f.Interval != idcv1.Interval_INTERVAL_1_MINUTE || f.TimeZone != "America/New_York" || f.Adjustment != idcv1.Adjustment_ADJUSTMENT_AS_STORED {
		t.Errorf("frame = %+v, want the response's interval, zone and adjustment", f)
	}
}

func TestTimedBarsFromRows(t *testing.T) {
	loc, err := idc.Location("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	rows := []idc.Bar{
		{Time: time.Date(2020, 7, 1, 9, 30, 0, 0, loc), Open: 1, High: 2, Low: 0.5, Close: 1.5, Volume: 10},
		{Time: time.Date(2020, 7, 1, 1, 35, 0, 0, time.UTC), Open: 2, High: 3, Low: 1, Close: 2.5, Volume: 20}, // 09:35 in Shanghai
	}
	b, err := idc.TimedBarsFromRows(rows, idcv1.Interval_INTERVAL_5_MINUTES, "Asia/Shanghai")
	if err != nil {
		t.Fatalf("TimedBarsFromRows: %v", err)
	}
	want := &idcv1.Bars{
		Times: []int64{shanghai0930, shanghai0935}, Open: []float64{1, 2}, High: []float64{2, 3}, Low: []float64{0.5, 1},
		Close: []float64{1.5, 2.5}, Volume: []float64{10, 20}, Interval: idcv1.Interval_INTERVAL_5_MINUTES, TimeZone: "Asia/Shanghai",
	}
	if !proto.Equal(b, want) {
		t.Errorf("TimedBarsFromRows = %v, want %v", b, want)
	}
	if _, err := idc.TimedBarsFromRows(rows, idcv1.Interval_INTERVAL_UNSPECIFIED, "UTC"); err == nil || !strings.Contains(err.Error(), "interval") {
		t.Errorf("unspecified interval: err = %v, want an error naming the interval", err)
	}
	if _, err := idc.TimedBarsFromRows(rows, idcv1.Interval_INTERVAL_1_MINUTE, "Nowhere/Town"); err == nil || !strings.Contains(err.Error(), `"Nowhere/Town"`) {
		t.Errorf("unknown zone: err = %v, want an error naming the zone", err)
	}
}

func TestIntervalAndAdjustmentNames(t *testing.T) {
	intervals := map[string]idcv1.Interval{
		"1m": idcv1.Interval_INTERVAL_1_MINUTE, "5m": idcv1.Interval_INTERVAL_5_MINUTES, "15m": idcv1.Interval_INTERVAL_15_MINUTES,
		"30m": idcv1.Interval_INTERVAL_30_MINUTES, "1h": idcv1.Interval_INTERVAL_1_HOUR, "1d": idcv1.Interval_INTERVAL_1_DAY,
		"1w": idcv1.Interval_INTERVAL_1_WEEK, "1mo": idcv1.Interval_INTERVAL_1_MONTH,
	}
	for name, want := range intervals {
		for _, spelling := range []string{name, strings.ToUpper(name), want.String()} {
			if got, err := idc.ParseInterval(spelling); err != nil || got != want {
				t.Errorf("ParseInterval(%q) = %v, %v; want %v", spelling, got, err, want)
			}
		}
		if got := idc.IntervalName(want); got != name {
			t.Errorf("IntervalName(%v) = %q, want %q", want, got, name)
		}
		intraday := name != "1d" && name != "1w" && name != "1mo"
		if got := idc.Intraday(want); got != intraday {
			t.Errorf("Intraday(%v) = %v, want %v", want, got, intraday)
		}
	}
	if _, err := idc.ParseInterval("2m"); err == nil || !strings.Contains(err.Error(), `"2m"`) {
		t.Errorf("ParseInterval(2m) = %v, want an error", err)
	}
	adjustments := map[string]idcv1.Adjustment{
		"as-stored": idcv1.Adjustment_ADJUSTMENT_AS_STORED, "none": idcv1.Adjustment_ADJUSTMENT_NONE,
		"forward": idcv1.Adjustment_ADJUSTMENT_FORWARD, "qfq": idcv1.Adjustment_ADJUSTMENT_FORWARD,
		"backward": idcv1.Adjustment_ADJUSTMENT_BACKWARD, "HFQ": idcv1.Adjustment_ADJUSTMENT_BACKWARD,
		"ADJUSTMENT_NONE": idcv1.Adjustment_ADJUSTMENT_NONE, "": idcv1.Adjustment_ADJUSTMENT_UNSPECIFIED,
	}
	for name, want := range adjustments {
		if got, err := idc.ParseAdjustment(name); err != nil || got != want {
			t.Errorf("ParseAdjustment(%q) = %v, %v; want %v", name, got, err, want)
		}
	}
	if got := idc.AdjustmentName(idcv1.Adjustment_ADJUSTMENT_UNSPECIFIED); got != "as-stored" {
		t.Errorf("AdjustmentName(unspecified) = %q, want as-stored", got)
	}
	if _, err := idc.ParseAdjustment("split"); err == nil {
		t.Errorf("ParseAdjustment(split) succeeded")
	}
}

func TestQueriesCarryIntervalAndAdjustment(t *testing.T) {
	iv, adj := idcv1.Interval_INTERVAL_1_WEEK, idcv1.Adjustment_ADJUSTMENT_BACKWARD
	m := must(idc.MACDQuery{Symbol: "AAPL", Start: "2020-07-01T09:30", Interval: iv, Adjustment: adj}.Request())
	if m.GetInterval() != iv || m.GetAdjustment() != adj || m.GetStartDate() != "2020-07-01T09:30" {
		t.Errorf("MACDQuery.Request() = %v", m)
	}
	i := must(idc.IndicatorQuery{Interval: iv, Adjustment: adj}.Request())
	if i.GetInterval() != iv || i.GetAdjustment() != adj {
		t.Errorf("IndicatorQuery.Request() = %v", i)
	}
	c := must(idc.ChartQuery{Interval: iv, Adjustment: adj}.Request())
	if c.GetInterval() != iv || c.GetAdjustment() != adj {
		t.Errorf("ChartQuery.Request() = %v", c)
	}
	loc, _ := idc.Location("America/New_York")
	if got := idc.WindowTime(time.Unix(newYork0930, 0).In(loc)); got != "2019-11-05T09:30:00" {
		t.Errorf("WindowTime = %q, want 2019-11-05T09:30:00", got)
	}
}

// pagedSymbols is a ListSymbols that serves names in pages of at most
// size, filtered by prefix, with the index of the next symbol as token.
func pagedSymbols(names []string, size int, requests *[]*idcv1.ListSymbolsRequest) func(context.Context, *idcv1.ListSymbolsRequest) (*idcv1.ListSymbolsResponse, error) {
	return func(_ context.Context, req *idcv1.ListSymbolsRequest) (*idcv1.ListSymbolsResponse, error) {
		*requests = append(*requests, proto.CloneOf(req))
		var match []string
		for _, n := range names {
			if strings.HasPrefix(n, req.GetPrefix()) {
				match = append(match, n)
			}
		}
		start := 0
		if req.GetPageToken() != "" {
			var err error
			if start, err = strconv.Atoi(req.GetPageToken()); err != nil {
				return nil, status.Error(codes.InvalidArgument, "page_token: not ours")
			}
		}
		n := size
		if req.GetPageSize() > 0 {
			n = min(n, int(req.GetPageSize()))
		}
		end := min(start+n, len(match))
		resp := &idcv1.ListSymbolsResponse{DefaultSymbol: "SPY"}
		for _, s := range match[start:end] {
			resp.Symbols = append(resp.Symbols, &idcv1.SymbolInfo{Symbol: s, Interval: idcv1.Interval_INTERVAL_1_DAY, TimeZone: "America/New_York"})
		}
		if end < len(match) {
			resp.NextPageToken = strconv.Itoa(end)
		}
		return resp, nil
	}
}

func TestSymbolPaging(t *testing.T) {
	names := []string{"000001.SH", "000300.SH", "AAPL", "SPY", "SPY.MIN"}
	t.Run("ListSymbols fetches every page", func(t *testing.T) {
		var reqs []*idcv1.ListSymbolsRequest
		c := newClient(t, &fakeMACD{list: pagedSymbols(names, 2, &reqs)}, nil)
		resp, err := c.ListSymbols(t.Context())
		if err != nil {
			t.Fatalf("ListSymbols: %v", err)
		}
		var got []string
		for _, s := range resp.GetSymbols() {
			got = append(got, s.GetSymbol())
		}
		if !slices.Equal(got, names) || resp.GetDefaultSymbol() != "SPY" || resp.GetNextPageToken() != "" {
			t.Errorf("ListSymbols = %v, want every symbol in order", resp)
		}
		if tokens := fmt.Sprint(pageTokens(reqs)); tokens != "[ 2 4]" {
			t.Errorf("page tokens sent = %s, want [ 2 4]", tokens)
		}
	})
	t.Run("Symbols walks a prefix one symbol a page", func(t *testing.T) {
		var reqs []*idcv1.ListSymbolsRequest
		c := newClient(t, &fakeMACD{list: pagedSymbols(names, 1000, &reqs)}, nil)
		var got []string
		for info, err := range c.Symbols(t.Context(), &idcv1.ListSymbolsRequest{Prefix: "000", PageSize: 1}) {
			if err != nil {
				t.Fatalf("Symbols: %v", err)
			}
			got = append(got, info.GetSymbol())
		}
		if !slices.Equal(got, []string{"000001.SH", "000300.SH"}) || len(reqs) != 2 {
			t.Errorf("Symbols = %v in %d calls, want the two 000 symbols in 2", got, len(reqs))
		}
		for _, r := range reqs {
			if r.GetPrefix() != "000" || r.GetPageSize() != 1 {
				t.Errorf("request %v lost the prefix or the page size", r)
			}
		}
	})
	t.Run("breaking out of the loop stops fetching", func(t *testing.T) {
		var reqs []*idcv1.ListSymbolsRequest
		c := newClient(t, &fakeMACD{list: pagedSymbols(names, 1, &reqs)}, nil)
		for range c.Symbols(t.Context(), nil) {
			break
		}
		if len(reqs) != 1 {
			t.Errorf("%d calls, want 1", len(reqs))
		}
	})
	t.Run("a failed page is the loop's last item", func(t *testing.T) {
		calls := 0
		c := newClient(t, &fakeMACD{list: func(context.Context, *idcv1.ListSymbolsRequest) (*idcv1.ListSymbolsResponse, error) {
			calls++
			if calls == 2 {
				return nil, status.Error(codes.Unavailable, "draining")
			}
			return &idcv1.ListSymbolsResponse{Symbols: []*idcv1.SymbolInfo{{Symbol: "A"}}, NextPageToken: "next"}, nil
		}}, nil, idc.WithRetry(0))
		var items []string
		var last error
		for info, err := range c.Symbols(t.Context(), nil) {
			items = append(items, info.GetSymbol())
			last = err
		}
		if status.Code(last) != codes.Unavailable || !slices.Equal(items, []string{"A", ""}) {
			t.Errorf("items %v, last error %v; want A then UNAVAILABLE", items, last)
		}
	})
	t.Run("a repeated page token is an error, not a loop", func(t *testing.T) {
		c := newClient(t, &fakeMACD{list: func(context.Context, *idcv1.ListSymbolsRequest) (*idcv1.ListSymbolsResponse, error) {
			return &idcv1.ListSymbolsResponse{Symbols: []*idcv1.SymbolInfo{{Symbol: "A"}}, NextPageToken: "same"}, nil
		}}, nil)
		_, err := c.ListSymbols(t.Context())
		if err == nil || !strings.Contains(err.Error(), `page token "same" twice`) {
			t.Errorf("ListSymbols = %v, want an error about the repeated token", err)
		}
		var withStatus interface{ GRPCStatus() *status.Status }
		if errors.As(err, &withStatus) {
			t.Errorf("error %v has a gRPC status; it is the client's own", err)
		}
	})
}

func pageTokens(reqs []*idcv1.ListSymbolsRequest) []string {
	var tokens []string
	for _, r := range reqs {
		tokens = append(tokens, r.GetPageToken())
	}
	return tokens
}
