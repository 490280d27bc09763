package idc_test

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // TestEpochDay's time zones, on machines without zoneinfo

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
	"github.com/idcrpc/idc/clients/go/idc"
)

func TestDateFromEpochDay(t *testing.T) {
	cases := []struct {
		days int32
		want string
	}{
		{0, "1970-01-01"},
		{1, "1970-01-02"},
		{-1, "1969-12-31"},
		{19358, "2023-01-01"},
		{19360, "2023-01-03"},
		{19720, "2023-12-29"}, // bars.proto's comment says 19722, which is 2023-12-31
		{19781, "2024-02-28"},
		{19782, "2024-02-29"},
		{19783, "2024-03-01"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			got := idc.DateFromEpochDay(tc.days)
			if s := got.Format(time.DateOnly); s != tc.want {
				t.Errorf("DateFromEpochDay(%d) = %s, want %s", tc.days, s, tc.want)
			}
			if got.Location() != time.UTC || got.Hour() != 0 || got.Minute() != 0 || got.Second() != 0 || got.Nanosecond() != 0 {
				t.Errorf("DateFromEpochDay(%d) = %v, want midnight UTC", tc.days, got)
			}
		})
	}
}

func macdResponse() *idcv1.GetMACDResponse {
	return &idcv1.GetMACDResponse{
		Symbol:     "SPY",
		Parameters: &idcv1.MACDParameters{FastPeriod: 12, SlowPeriod: 26, SignalPeriod: 9},
		Bars: &idcv1.Bars{
			Dates:  []int32{19719, 19720},
			Open:   []float64{1, 2},
			High:   []float64{3, 4},
			Low:    []float64{5, 6},
			Close:  []float64{7, 8},
			Volume: []float64{9, 10},
		},
		Macd:      []float64{0.5, 0.75},
		Signal:    []float64{0.25, 0.5},
		Histogram: []float64{0.25, 0.25},
	}
}

func TestMACDRows(t *testing.T) {
	t.Run("converts columns to rows", func(t *testing.T) {
		rows, err := idc.MACDRows(macdResponse())
		if err != nil {
			t.Fatalf("MACDRows: %v", err)
		}
		want := []idc.MACDRow{
			{Date: time.Date(2023, 12, 28, 0, 0, 0, 0, time.UTC), Open: 1, High: 3, Low: 5, Close: 7, Volume: 9, Valid: true, MACD: 0.5, Signal: 0.25, Histogram: 0.25},
			{Date: time.Date(2023, 12, 29, 0, 0, 0, 0, time.UTC), Open: 2, High: 4, Low: 6, Close: 8, Volume: 10, Valid: true, MACD: 0.75, Signal: 0.5, Histogram: 0.25},
		}
		if len(rows) != len(want) {
			t.Fatalf("got %d rows, want %d", len(rows), len(want))
		}
		for i := range want {
			if !rows[i].Date.Equal(want[i].Date) || rows[i].Date.Location() != time.UTC {
				t.Errorf("row %d date = %v, want %v", i, rows[i].Date, want[i].Date)
			}
			// A response without times and time zone (an older server):
			// the time is the date's 00:00 UTC.
			if !rows[i].Time.Equal(want[i].Date) || rows[i].Time.Location() != time.UTC {
				t.Errorf("row %d time = %v, want %v", i, rows[i].Time, want[i].Date)
			}
			r, w := rows[i], want[i]
			r.Date, w.Date, r.Time = time.Time{}, time.Time{}, time.Time{}
			if r != w {
				t.Errorf("row %d = %+v, want %+v", i, r, w)
			}
		}
	})

	t.Run("empty and nil responses give no rows", func(t *testing.T) {
		for _, resp := range []*idcv1.GetMACDResponse{nil, {}, {Bars: &idcv1.Bars{}}} {
			rows, err := idc.MACDRows(resp)
			if err != nil || len(rows) != 0 {
				t.Errorf("MACDRows(%v) = %v, %v; want no rows and no error", resp, rows, err)
			}
		}
	})

	mismatches := []struct {
		column string
		mutate func(*idcv1.GetMACDResponse)
	}{
		{"open", func(r *idcv1.GetMACDResponse) { r.Bars.Open = r.Bars.Open[:1] }},
		{"high", func(r *idcv1.GetMACDResponse) { r.Bars.High = append(r.Bars.High, 1) }},
		{"low", func(r *idcv1.GetMACDResponse) { r.Bars.Low = nil }},
		{"close", func(r *idcv1.GetMACDResponse) { r.Bars.Close = r.Bars.Close[:1] }},
		{"volume", func(r *idcv1.GetMACDResponse) { r.Bars.Volume = r.Bars.Volume[:0] }},
		{"macd", func(r *idcv1.GetMACDResponse) { r.Macd = r.Macd[:1] }},
		{"signal", func(r *idcv1.GetMACDResponse) { r.Signal = append(r.Signal, 0) }},
		{"histogram", func(r *idcv1.GetMACDResponse) { r.Histogram = nil }},
		{"open", func(r *idcv1.GetMACDResponse) { r.Bars.Dates = append(r.Bars.Dates, 19723) }}, // extra date
		{"macd", func(r *idcv1.GetMACDResponse) { r.Bars = nil }},                               // columns but no bars
		{"macd", func(r *idcv1.GetMACDResponse) { r.FirstValidIndex = 1 }},                      // columns not cut
		{"signal", func(r *idcv1.GetMACDResponse) { r.FirstValidIndex = 1; r.Macd = r.Macd[1:] }},
	}
	for _, tc := range mismatches {
		t.Run("mismatched "+tc.column, func(t *testing.T) {
			resp := macdResponse()
			tc.mutate(resp)
			rows, err := idc.MACDRows(resp)
			if err == nil {
				t.Fatalf("MACDRows returned %d rows, want an error", len(rows))
			}
			if rows != nil {
				t.Errorf("MACDRows returned rows %v with the error", rows)
			}
			if !strings.Contains(err.Error(), "column "+tc.column) {
				t.Errorf("error %q does not name column %s", err, tc.column)
			}
		})
	}
}

// warmUpResponse has four bars whose MACD columns start at bar 2.
func warmUpResponse() *idcv1.GetMACDResponse {
	return &idcv1.GetMACDResponse{
		Bars: &idcv1.Bars{
			Dates:  []int32{19717, 19718, 19719, 19720},
			Open:   []float64{1, 2, 3, 4},
			High:   []float64{2, 3, 4, 5},
			Low:    []float64{0.5, 1.5, 2.5, 3.5},
			Close:  []float64{1.5, 2.5, 3.5, 4.5},
			Volume: []float64{10, 20, 30, 40},
		},
		Convention:      idcv1.Convention_CONVENTION_TALIB,
		FirstValidIndex: 2,
		Macd:            []float64{0.3, 0.4},
		Signal:          []float64{0.1, 0.2},
		Histogram:       []float64{0.2, 0.2},
	}
}

func TestMACDRowsFirstValidIndex(t *testing.T) {
	t.Run("warm-up rows are NaN and not valid", func(t *testing.T) {
		rows, err := idc.MACDRows(warmUpResponse())
		if err != nil {
			t.Fatalf("MACDRows: %v", err)
		}
		if len(rows) != 4 {
			t.Fatalf("got %d rows, want 4", len(rows))
		}
		for i, r := range rows[:2] {
			if r.Valid || !math.IsNaN(r.MACD) || !math.IsNaN(r.Signal) || !math.IsNaN(r.Histogram) {
				t.Errorf("warm-up row %d = %+v, want Valid false and NaN MACD, Signal, Histogram", i, r)
			}
			if r.Close != 1.5+float64(i) || r.Volume != 10*float64(i+1) {
				t.Errorf("warm-up row %d lost its bar: %+v", i, r)
			}
		}
		want := []struct{ macd, signal, hist float64 }{{0.3, 0.1, 0.2}, {0.4, 0.2, 0.2}}
		for k, w := range want {
			r := rows[2+k]
			if !r.Valid || r.MACD != w.macd || r.Signal != w.signal || r.Histogram != w.hist {
				t.Errorf("row %d = %+v, want valid with macd %v signal %v histogram %v", 2+k, r, w.macd, w.signal, w.hist)
			}
		}
		if got := rows[3].Date.Format(time.DateOnly); got != "2023-12-29" {
			t.Errorf("last date = %s, want 2023-12-29", got)
		}
	})

	t.Run("all warm-up", func(t *testing.T) {
		resp := warmUpResponse()
		resp.FirstValidIndex = 4
		resp.Macd, resp.Signal, resp.Histogram = nil, nil, nil
		rows, err := idc.MACDRows(resp)
		if err != nil {
			t.Fatalf("MACDRows: %v", err)
		}
		if len(rows) != 4 || slices.ContainsFunc(rows, func(r idc.MACDRow) bool { return r.Valid || !math.IsNaN(r.MACD) }) {
			t.Errorf("rows = %+v, want 4 warm-up rows", rows)
		}
	})

	for _, fvi := range []int32{-1, 5, math.MaxInt32} {
		t.Run(fmt.Sprintf("first_valid_index %d out of range", fvi), func(t *testing.T) {
			resp := warmUpResponse()
			resp.FirstValidIndex = fvi
			rows, err := idc.MACDRows(resp)
			if err == nil || rows != nil {
				t.Fatalf("MACDRows = %d rows, %v; want an error", len(rows), err)
			}
			if !strings.Contains(err.Error(), "first_valid_index") {
				t.Errorf("error %q does not name first_valid_index", err)
			}
		})
	}

	t.Run("columns one per date despite a first_valid_index", func(t *testing.T) {
		resp := warmUpResponse()
		resp.Macd = []float64{0, 0, 0.3, 0.4}
		if _, err := idc.MACDRows(resp); err == nil || !strings.Contains(err.Error(), "column macd has 4 values") {
			t.Errorf("err = %v, want one about column macd", err)
		}
	})
}

func TestEpochDay(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatalf("time zone data: %v", err) // embedded by time/tzdata, so never missing
	}
	cases := []struct {
		t    time.Time
		want int32
	}{
		{time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), 0},
		{time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC), -1},
		{time.Date(2023, 12, 29, 0, 0, 0, 0, time.UTC), 19720},
		{time.Date(2023, 12, 29, 23, 59, 59, 999999999, time.UTC), 19720},
		{time.Date(2023, 12, 29, 9, 30, 0, 0, ny), 19720}, // 14:30 UTC
		{time.Date(2023, 12, 29, 20, 0, 0, 0, ny), 19721}, // 01:00 UTC the next day
		{time.Date(1900, 3, 1, 0, 0, 0, 0, time.UTC), -25508},
	}
	for _, tc := range cases {
		if got := idc.EpochDay(tc.t); got != tc.want {
			t.Errorf("EpochDay(%v) = %d, want %d", tc.t, got, tc.want)
		}
	}
	for _, d := range []int32{-25508, -1, 0, 1, 19720, 19782, 2932896} {
		if got := idc.EpochDay(idc.DateFromEpochDay(d)); got != d {
			t.Errorf("EpochDay(DateFromEpochDay(%d)) = %d", d, got)
		}
	}
}

func TestBarsFromRows(t *testing.T) {
	in := []idc.Bar{
		{Date: date("2023-12-27"), Open: 1, High: 2, Low: 0.5, Close: 1.5, Volume: 100},
		{Date: date("2023-12-28"), Open: 1.5, High: 2.5, Low: 1, Close: 2, Volume: 200},
		{Date: date("2023-12-29").Add(15 * time.Hour), Open: 2, High: 3, Low: 1.5, Close: 2.5, Volume: 300},
	}
	b := idc.BarsFromRows(in)
	if want := []int32{19718, 19719, 19720}; !slices.Equal(b.GetDates(), want) {
		t.Errorf("dates = %v, want %v", b.GetDates(), want)
	}

	// Round trip: the bars as a GetMACD response give the rows back.
	rows, err := idc.MACDRows(&idcv1.GetMACDResponse{Bars: b, FirstValidIndex: int32(len(in))})
	if err != nil {
		t.Fatalf("MACDRows: %v", err)
	}
	if len(rows) != len(in) {
		t.Fatalf("got %d rows, want %d", len(rows), len(in))
	}
	for i, r := range rows {
		w := in[i]
		y, m, d := w.Date.Date()
		if !r.Date.Equal(time.Date(y, m, d, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("row %d date = %v, want %v's calendar date", i, r.Date, w.Date)
		}
		if r.Open != w.Open || r.High != w.High || r.Low != w.Low || r.Close != w.Close || r.Volume != w.Volume {
			t.Errorf("row %d = %+v, want the bar %+v", i, r, w)
		}
	}

	empty := idc.BarsFromRows(nil)
	if empty == nil || len(empty.GetDates()) != 0 || len(empty.GetClose()) != 0 {
		t.Errorf("BarsFromRows(nil) = %v, want an empty Bars", empty)
	}
}

func TestMACDQuery(t *testing.T) {
	t.Run("zero query is an empty request", func(t *testing.T) {
		req := must(idc.MACDQuery{}.Request())
		if req.GetSource() != nil || req.GetParameters() != nil || req.GetStartDate() != "" || req.GetEndDate() != "" {
			t.Errorf("Request() = %v, want an empty request", req)
		}
		g := must(idc.MACDQuery{}.GraphRequest(0, 0))
		if g.GetSource() != nil || g.GetParameters() != nil || g.GetWidthPx() != 0 || g.GetHeightPx() != 0 {
			t.Errorf("GraphRequest(0, 0) = %v, want an empty request", g)
		}
	})

	t.Run("fields are copied", func(t *testing.T) {
		q := idc.MACDQuery{Symbol: "SPY", Start: "2023-01-01", End: "2023-12-31", Fast: 5, Slow: 35, Signal: 5}
		req := must(q.Request())
		if _, ok := req.GetSource().(*idcv1.GetMACDRequest_Symbol); !ok || req.GetSymbol() != "SPY" ||
			req.GetStartDate() != "2023-01-01" || req.GetEndDate() != "2023-12-31" ||
			req.GetParameters().GetFastPeriod() != 5 || req.GetParameters().GetSlowPeriod() != 35 || req.GetParameters().GetSignalPeriod() != 5 {
			t.Errorf("Request() = %v", req)
		}
		g := must(q.GraphRequest(1200, 800))
		if g.GetSymbol() != "SPY" || g.GetStartDate() != "2023-01-01" || g.GetEndDate() != "2023-12-31" ||
			g.GetParameters().GetSlowPeriod() != 35 || g.GetWidthPx() != 1200 || g.GetHeightPx() != 800 {
			t.Errorf("GraphRequest(1200, 800) = %v", g)
		}
	})

	t.Run("convention and inline bars", func(t *testing.T) {
		bars := idc.BarsFromRows([]idc.Bar{{Date: date("2023-12-29"), Open: 1, High: 1, Low: 1, Close: 1, Volume: 1}})
		q := idc.MACDQuery{Bars: bars, Convention: idcv1.Convention_CONVENTION_TDX}
		req := must(q.Request())
		if req.GetInlineBars() != bars || req.GetSymbol() != "" || req.GetConvention() != idcv1.Convention_CONVENTION_TDX {
			t.Errorf("Request() = %v, want the inline bars, and TDX", req)
		}
		g := must(q.GraphRequest(0, 0))
		if g.GetInlineBars() != bars || g.GetSymbol() != "" || g.GetConvention() != idcv1.Convention_CONVENTION_TDX {
			t.Errorf("GraphRequest() = %v, want the inline bars, and TDX", g)
		}
		q.Bars, q.Symbol = nil, "SPY"
		if req := must(q.Request()); req.GetSymbol() != "SPY" || req.GetInlineBars() != nil {
			t.Errorf("Request() without bars = %v, want symbol SPY", req)
		}
	})

	t.Run("one period set keeps the others zero", func(t *testing.T) {
		p := must(idc.MACDQuery{Signal: 4}.Request()).GetParameters()
		if p.GetFastPeriod() != 0 || p.GetSlowPeriod() != 0 || p.GetSignalPeriod() != 4 {
			t.Errorf("parameters = %v, want only signal_period 4", p)
		}
	})
}
