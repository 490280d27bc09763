package idc_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
	"github.com/idcrpc/idc/clients/go/idc"
)

// The contract of bars of every interval (issue 13): the bundled minute
// symbols, resampling checked against an aggregation computed here from the
// finer bars the server returns, adjustments checked by hand, and paging.

// storedAt returns the bundled symbol stored at interval iv in time zone
// zone, found through ListSymbols (so that the test does not hang on the
// symbol's name), and fails the test when there is none.
func storedAt(t *testing.T, c *idc.Client, iv idcv1.Interval, zone string) *idcv1.SymbolInfo {
	t.Helper()
	resp, err := c.ListSymbols(t.Context())
	if err != nil {
		t.Fatalf("ListSymbols: %v", err)
	}
	for _, s := range resp.GetSymbols() {
		if s.GetInterval() == iv && s.GetTimeZone() == zone {
			return s
		}
	}
	t.Fatalf("no bundled symbol stored at %s in %s among %v", idc.IntervalName(iv), zone, resp.GetSymbols())
	return nil
}

func TestContractIntraday(t *testing.T) {
	c := contractClient(t)
	minute := idcv1.Interval_INTERVAL_1_MINUTE

	t.Run("Shanghai minutes start at 09:30 and skip the lunch break", func(t *testing.T) {
		sh := storedAt(t, c, minute, "Asia/Shanghai")
		resp, rows := getRows(t, c, idc.MACDQuery{Symbol: sh.GetSymbol(), Interval: minute, Start: "2020-07-01", End: "2020-07-01"})
		if got := resp.GetBars().GetInterval(); got != minute {
			t.Errorf("interval = %v, want 1 minute", got)
		}
		if len(rows) != 240 {
			t.Fatalf("%d bars on 2020-07-01, want 240 (4 hours of minutes)", len(rows))
		}
		// The vendor stamps each bar with its end (09:31); the server serves starts.
		// Its first row: 09:31, open 2991.18, close 2990.43, high 2991.5, low 2990.34, vol 720858300.
		first := rows[0]
		if got := first.Time.Format("2006-01-02 15:04 -0700 MST"); got != "2020-07-01 09:30 +0800 CST" {
			t.Errorf("first bar starts %s, want 2020-07-01 09:30 +0800 CST", got)
		}
		if first.Time.Location().String() != "Asia/Shanghai" {
			t.Errorf("zone = %v, want Asia/Shanghai", first.Time.Location())
		}
		if first.Open != 2991.18 || first.High != 2991.5 || first.Low != 2990.34 || first.Close != 2990.43 || first.Volume != 720858300 {
			t.Errorf("first bar = %+v, want the file's 09:31 row", first)
		}
		clock := func(i int) string { return rows[i].Time.Format("15:04") }
		if clock(119) != "11:29" || clock(120) != "13:00" || clock(239) != "14:59" {
			t.Errorf("bars 119, 120 and 239 start at %s, %s and %s; want 11:29, 13:00 and 14:59", clock(119), clock(120), clock(239))
		}
		for i, r := range rows {
			if r.Date.Format(time.DateOnly) != "2020-07-01" {
				t.Fatalf("bar %d has trading day %v, want 2020-07-01", i, r.Date)
			}
		}
	})

	t.Run("New York minutes start at 09:30 EST", func(t *testing.T) {
		ny := storedAt(t, c, minute, "America/New_York")
		_, rows := getRows(t, c, idc.MACDQuery{Symbol: ny.GetSymbol(), Interval: minute, Start: "2019-11-05T09:30", End: "2019-11-05T09:31"})
		if len(rows) != 2 {
			t.Fatalf("%d bars from 09:30 to 09:31, want 2 (both ends inclusive)", len(rows))
		}
		if got := rows[0].Time.Format("2006-01-02 15:04 MST"); got != "2019-11-05 09:30 EST" {
			t.Errorf("first bar starts %s, want 2019-11-05 09:30 EST", got)
		}
		// The file's first row: 11/5/2019 9:30,3080.8,3080.49,3081.47,3080.3,0 (open, close, high, low).
		if r := rows[0]; r.Open != 3080.8 || r.Close != 3080.49 || r.High != 3081.47 || r.Low != 3080.3 {
			t.Errorf("first bar = %+v, want the file's 9:30 row", r)
		}
	})

	t.Run("a daily symbol is not served finer than it is stored", func(t *testing.T) {
		_, err := c.GetMACD(t.Context(), must(idc.MACDQuery{Symbol: "SPY", Interval: idcv1.Interval_INTERVAL_5_MINUTES}.Request()))
		wantCode(t, err, codes.FailedPrecondition, "")
		if msg := status.Convert(err).Message(); !strings.Contains(msg, "interval") || !strings.Contains(msg, "SPY") {
			t.Errorf("message %q names neither the field nor the symbol", msg)
		}
	})
}

// aggregate groups rows by key, in order, into bars as traders expect:
// open first, high max, low min, close last, volume sum. It returns the
// bars and the first row of each group.
func aggregate(rows []idc.MACDRow, key func(idc.MACDRow) string) (bars []idc.MACDRow, firsts []idc.MACDRow) {
	var last string
	for i, r := range rows {
		k := key(r)
		if i == 0 || k != last {
			bars, firsts = append(bars, r), append(firsts, r)
			last = k
			continue
		}
		b := &bars[len(bars)-1]
		b.High, b.Low = math.Max(b.High, r.High), math.Min(b.Low, r.Low)
		b.Close, b.Volume, b.Date = r.Close, b.Volume+r.Volume, r.Date
	}
	return bars, firsts
}

func sameBar(t *testing.T, what string, got, want idc.MACDRow) {
	t.Helper()
	if got.Open != want.Open || got.High != want.High || got.Low != want.Low || got.Close != want.Close ||
		math.Abs(got.Volume-want.Volume) > 1e-9*math.Abs(want.Volume) {
		t.Errorf("%s = %.4f/%.4f/%.4f/%.4f vol %.0f, want %.4f/%.4f/%.4f/%.4f vol %.0f", what,
			got.Open, got.High, got.Low, got.Close, got.Volume, want.Open, want.High, want.Low, want.Close, want.Volume)
	}
}

func TestContractResampled(t *testing.T) {
	c := contractClient(t)

	t.Run("5-minute bars of the Shanghai minutes", func(t *testing.T) {
		sh := storedAt(t, c, idcv1.Interval_INTERVAL_1_MINUTE, "Asia/Shanghai")
		_, minutes := getRows(t, c, idc.MACDQuery{Symbol: sh.GetSymbol(), Interval: idcv1.Interval_INTERVAL_1_MINUTE})
		resp, fives := getRows(t, c, idc.MACDQuery{Symbol: sh.GetSymbol(), Interval: idcv1.Interval_INTERVAL_5_MINUTES})
		if got := resp.GetBars().GetInterval(); got != idcv1.Interval_INTERVAL_5_MINUTES {
			t.Errorf("interval = %v, want 5 minutes", got)
		}
		// Both sessions (09:30, 13:00) open on a multiple of 5 minutes, so a
		// bar's 5-minute bucket is its local clock rounded down.
		want, firsts := aggregate(minutes, func(r idc.MACDRow) string {
			return r.Time.Truncate(5 * time.Minute).Format(time.DateTime)
		})
		if len(fives) != len(want) || len(fives) != 11*48 {
			t.Fatalf("%d bars of 5 minutes, want %d computed from %d minutes (11 days of 48)", len(fives), len(want), len(minutes))
		}
		for i := range want {
			if !fives[i].Time.Equal(firsts[i].Time) {
				t.Fatalf("bar %d starts %v, want %v (its first minute's start)", i, fives[i].Time, firsts[i].Time)
			}
			sameBar(t, fives[i].Time.Format("bar 2006-01-02 15:04"), fives[i], want[i])
		}
		for _, r := range fives {
			if clock := r.Time.Format("15:04"); clock >= "11:30" && clock < "13:00" {
				t.Errorf("a bar in the lunch break, at %s", r.Time)
			}
		}
	})

	t.Run("weekly bars of SPY's days", func(t *testing.T) {
		q := idc.MACDQuery{Symbol: "SPY", Start: "2023-01-02", End: "2023-12-31"}
		_, days := getRows(t, c, q)
		q.Interval = idcv1.Interval_INTERVAL_1_WEEK
		resp, weeks := getRows(t, c, q)
		if resp.GetBars().GetTimeZone() != "America/New_York" {
			t.Errorf("time zone = %q, want America/New_York", resp.GetBars().GetTimeZone())
		}
		want, firsts := aggregate(days, func(r idc.MACDRow) string {
			y, w := r.Date.ISOWeek() // Monday to Sunday, as 通达信's weeks
			return fmt.Sprintf("%d-W%02d", y, w)
		})
		if len(weeks) != len(want) || len(weeks) != 52 {
			t.Fatalf("%d weekly bars, want %d computed from %d days (52 weeks of 2023)", len(weeks), len(want), len(days))
		}
		for i := range want {
			// A weekly bar is dated by its last trading day and starts at 00:00 of its Monday.
			if !weeks[i].Date.Equal(want[i].Date) {
				t.Errorf("week %d is dated %v, want its last trading day %v", i, weeks[i].Date, want[i].Date)
			}
			monday := firsts[i].Time.AddDate(0, 0, -int((firsts[i].Time.Weekday()+6)%7))
			if got := weeks[i].Time.Format(time.DateTime + " MST"); got != monday.Format(time.DateOnly)+" 00:00:00 "+monday.Format("MST") {
				t.Errorf("week %d starts %s, want 00:00 of Monday %s", i, got, monday.Format(time.DateOnly))
			}
			sameBar(t, weeks[i].Date.Format("week ending 2006-01-02"), weeks[i], want[i])
		}
	})
}

// splitBars are five days with a 2-for-1 split before the third and a cash
// dividend before the fifth, as traded, with tushare-style cumulative
// factors (price * factor is the 后复权 price).
func splitBars() *idcv1.Bars {
	b := idc.BarsFromRows([]idc.Bar{
		{Date: date("2024-01-02"), Open: 99, High: 101, Low: 98, Close: 100, Volume: 1000},
		{Date: date("2024-01-03"), Open: 100, High: 103, Low: 99, Close: 102, Volume: 1100},
		{Date: date("2024-01-04"), Open: 50, High: 52, Low: 49.5, Close: 51, Volume: 2400},
		{Date: date("2024-01-05"), Open: 51, High: 53, Low: 50, Close: 52, Volume: 2000},
		{Date: date("2024-01-08"), Open: 50, High: 51, Low: 49, Close: 50.5, Volume: 2100},
	})
	b.AdjustmentFactors = []float64{1, 1, 2, 2, 2.04}
	return b
}

// Hand-computed closes: 前复权 (forward) is close * factor / 2.04, 后复权
// (backward) close * factor / 1.
var (
	forwardCloses  = []float64{100 / 2.04, 102 / 2.04, 102 / 2.04, 104 / 2.04, 50.5}
	backwardCloses = []float64{100, 102, 102, 104, 103.02}
	tradedCloses   = []float64{100, 102, 51, 52, 50.5}
)

func closesOf(rows []idc.MACDRow) []float64 {
	out := make([]float64, len(rows))
	for i, r := range rows {
		out[i] = r.Close
	}
	return out
}

func near(got, want []float64) bool {
	return slices.EqualFunc(got, want, func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) })
}

func TestContractAdjusted(t *testing.T) {
	c := contractClient(t)

	t.Run("inline bars with factors", func(t *testing.T) {
		for _, tc := range []struct {
			adjustment, applied idcv1.Adjustment
			closes              []float64
		}{
			{idcv1.Adjustment_ADJUSTMENT_UNSPECIFIED, idcv1.Adjustment_ADJUSTMENT_AS_STORED, tradedCloses},
			{idcv1.Adjustment_ADJUSTMENT_NONE, idcv1.Adjustment_ADJUSTMENT_NONE, tradedCloses},
			{idcv1.Adjustment_ADJUSTMENT_FORWARD, idcv1.Adjustment_ADJUSTMENT_FORWARD, forwardCloses},
			{idcv1.Adjustment_ADJUSTMENT_BACKWARD, idcv1.Adjustment_ADJUSTMENT_BACKWARD, backwardCloses},
		} {
			t.Run(idc.AdjustmentName(tc.adjustment), func(t *testing.T) {
				resp, rows := getRows(t, c, idc.MACDQuery{Bars: splitBars(), Adjustment: tc.adjustment, Fast: 2, Slow: 3, Signal: 2})
				if resp.GetAdjustment() != tc.applied {
					t.Errorf("adjustment applied = %v, want %v", resp.GetAdjustment(), tc.applied)
				}
				if got := closesOf(rows); !near(got, tc.closes) {
					t.Errorf("closes = %v, want %v", got, tc.closes)
				}
				// Open, high and low scale alike; volumes are as stored.
				scale := tc.closes[2] / tradedCloses[2]
				if r := rows[2]; math.Abs(r.Open-50*scale) > 1e-9 || math.Abs(r.High-52*scale) > 1e-9 || math.Abs(r.Low-49.5*scale) > 1e-9 || r.Volume != 2400 {
					t.Errorf("bar 2 = %+v, want open, high, low scaled by %g and volume 2400", r, scale)
				}
			})
		}
	})

	t.Run("a stored symbol with factors", func(t *testing.T) {
		bin := requireServer(t, "--data-dir")
		dir := t.TempDir()
		csv := "date,open,high,low,close,volume,factor\n" +
			"2024-01-02,99,101,98,100,1000,1\n2024-01-03,100,103,99,102,1100,1\n2024-01-04,50,52,49.5,51,2400,2\n" +
			"2024-01-05,51,53,50,52,2000,2\n2024-01-08,50,51,49,50.5,2100,2.04\n"
		if err := os.WriteFile(filepath.Join(dir, "SPLIT.csv"), []byte(csv), 0o644); err != nil {
			t.Fatal(err)
		}
		s := startServer(t, bin, nil, "--data-dir", dir)
		s.wait(t)
		own, err := idc.Dial(s.addr, idc.WithTimeout(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		defer own.Close()
		var info *idcv1.SymbolInfo
		for i, err := range own.Symbols(t.Context(), &idcv1.ListSymbolsRequest{Prefix: "split"}) {
			if err != nil {
				t.Fatal(err)
			}
			if i.GetSymbol() == "SPLIT" {
				info = i
			}
		}
		if info == nil || !slices.Contains(info.GetAdjustments(), idcv1.Adjustment_ADJUSTMENT_FORWARD) {
			t.Fatalf("SPLIT is listed as %v, want it with the forward adjustment", info)
		}
		for adj, want := range map[idcv1.Adjustment][]float64{
			idcv1.Adjustment_ADJUSTMENT_FORWARD:  forwardCloses,
			idcv1.Adjustment_ADJUSTMENT_BACKWARD: backwardCloses,
			idcv1.Adjustment_ADJUSTMENT_NONE:     tradedCloses,
		} {
			_, rows := getRows(t, own, idc.MACDQuery{Symbol: "SPLIT", Adjustment: adj, Fast: 2, Slow: 3, Signal: 2})
			if got := closesOf(rows); !near(got, want) {
				t.Errorf("%s closes = %v, want %v", idc.AdjustmentName(adj), got, want)
			}
		}
	})

	t.Run("as stored by default", func(t *testing.T) {
		resp, err := c.ComputeIndicators(t.Context(), must(idc.IndicatorQuery{Symbol: "SPY", Start: "2023-12-29", Indicators: []*idcv1.IndicatorSpec{idc.SMA(5)}}.Request()))
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetAdjustment() != idcv1.Adjustment_ADJUSTMENT_AS_STORED {
			t.Errorf("adjustment = %v, want AS_STORED", resp.GetAdjustment())
		}
	})

	t.Run("a symbol without factors says so", func(t *testing.T) {
		_, err := c.GetMACD(t.Context(), must(idc.MACDQuery{Symbol: "AAPL", Adjustment: idcv1.Adjustment_ADJUSTMENT_FORWARD}.Request()))
		wantCode(t, err, codes.FailedPrecondition, "")
		if msg := status.Convert(err).Message(); !strings.Contains(msg, "AAPL") {
			t.Errorf("message %q does not name the symbol", msg)
		}
	})

	t.Run("an index needs no adjustment and is served as stored", func(t *testing.T) {
		q := idc.MACDQuery{Symbol: "000001.SH", Start: "2023-12-29", End: "2023-12-29"}
		_, stored := getRows(t, c, q)
		q.Adjustment = idcv1.Adjustment_ADJUSTMENT_FORWARD
		_, forward := getRows(t, c, q)
		if len(stored) != 1 || len(forward) != 1 || stored[0].Close != forward[0].Close {
			t.Errorf("forward %v, want the stored bars %v", forward, stored)
		}
	})
}

func TestContractSymbolPaging(t *testing.T) {
	c := contractClient(t)
	all, err := c.ListSymbols(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range all.GetSymbols() {
		names = append(names, s.GetSymbol())
	}
	if len(names) < 5 {
		t.Fatalf("ListSymbols = %v, want at least SPY, AAPL, 000001.SH and the two minute symbols", names)
	}

	t.Run("page size 1 walks every symbol", func(t *testing.T) {
		var walked []string
		pages := 0
		for page, err := range c.SymbolPages(t.Context(), &idcv1.ListSymbolsRequest{PageSize: 1}) {
			if err != nil {
				t.Fatal(err)
			}
			pages++
			if len(page.GetSymbols()) != 1 {
				t.Fatalf("page %d has %d symbols, want 1", pages, len(page.GetSymbols()))
			}
			if page.GetDefaultSymbol() != all.GetDefaultSymbol() {
				t.Errorf("page %d names default %q, want %q", pages, page.GetDefaultSymbol(), all.GetDefaultSymbol())
			}
			walked = append(walked, page.GetSymbols()[0].GetSymbol())
		}
		if !slices.Equal(walked, names) || pages != len(names) {
			t.Errorf("walked %v in %d pages, want %v", walked, pages, names)
		}
	})

	t.Run("a prefix keeps its symbols, case-insensitive", func(t *testing.T) {
		var got []string
		for s, err := range c.Symbols(t.Context(), &idcv1.ListSymbolsRequest{Prefix: "spy", PageSize: 1}) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, s.GetSymbol())
		}
		want := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return !strings.HasPrefix(strings.ToUpper(n), "SPY") })
		if !slices.Equal(got, want) || len(got) == 0 {
			t.Errorf("prefix spy = %v, want %v", got, want)
		}
	})

	t.Run("a bad page token is INVALID_ARGUMENT", func(t *testing.T) {
		_, err := c.ListSymbolsPage(t.Context(), &idcv1.ListSymbolsRequest{PageToken: "not-a-token"})
		wantCode(t, err, codes.InvalidArgument, "")
		if msg := status.Convert(err).Message(); !strings.Contains(msg, "page_token") {
			t.Errorf("message %q does not name page_token", msg)
		}
	})

	t.Run("entries say their intervals, adjustments and zone", func(t *testing.T) {
		for _, s := range all.GetSymbols() {
			if s.GetSymbol() != "SPY" {
				continue
			}
			want := []idcv1.Interval{idcv1.Interval_INTERVAL_1_DAY, idcv1.Interval_INTERVAL_1_WEEK, idcv1.Interval_INTERVAL_1_MONTH}
			if s.GetInterval() != idcv1.Interval_INTERVAL_1_DAY || !slices.Equal(s.GetIntervals(), want) || s.GetTimeZone() != "America/New_York" {
				t.Errorf("SPY = %v, want 1 day, served at 1d/1w/1mo, in America/New_York", s)
			}
			if !slices.Contains(s.GetAdjustments(), idcv1.Adjustment_ADJUSTMENT_AS_STORED) {
				t.Errorf("SPY adjustments = %v, want AS_STORED among them", s.GetAdjustments())
			}
		}
		sh := storedAt(t, c, idcv1.Interval_INTERVAL_1_MINUTE, "Asia/Shanghai")
		if len(sh.GetIntervals()) != 8 || sh.GetIntervals()[0] != idcv1.Interval_INTERVAL_1_MINUTE {
			t.Errorf("%s intervals = %v, want all eight from 1 minute", sh.GetSymbol(), sh.GetIntervals())
		}
	})
}
