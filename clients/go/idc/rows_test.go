package idc_test

import (
	"strings"
	"testing"
	"time"

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
			{Date: time.Date(2023, 12, 28, 0, 0, 0, 0, time.UTC), Open: 1, High: 3, Low: 5, Close: 7, Volume: 9, MACD: 0.5, Signal: 0.25, Histogram: 0.25},
			{Date: time.Date(2023, 12, 29, 0, 0, 0, 0, time.UTC), Open: 2, High: 4, Low: 6, Close: 8, Volume: 10, MACD: 0.75, Signal: 0.5, Histogram: 0.25},
		}
		if len(rows) != len(want) {
			t.Fatalf("got %d rows, want %d", len(rows), len(want))
		}
		for i := range want {
			if !rows[i].Date.Equal(want[i].Date) || rows[i].Date.Location() != time.UTC {
				t.Errorf("row %d date = %v, want %v", i, rows[i].Date, want[i].Date)
			}
			r, w := rows[i], want[i]
			r.Date, w.Date = time.Time{}, time.Time{}
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

func TestMACDQuery(t *testing.T) {
	t.Run("zero query is an empty request", func(t *testing.T) {
		req := idc.MACDQuery{}.Request()
		if req.GetSource() != nil || req.GetParameters() != nil || req.GetStartDate() != "" || req.GetEndDate() != "" {
			t.Errorf("Request() = %v, want an empty request", req)
		}
		g := idc.MACDQuery{}.GraphRequest(0, 0)
		if g.GetSource() != nil || g.GetParameters() != nil || g.GetWidthPx() != 0 || g.GetHeightPx() != 0 {
			t.Errorf("GraphRequest(0, 0) = %v, want an empty request", g)
		}
	})

	t.Run("fields are copied", func(t *testing.T) {
		q := idc.MACDQuery{Symbol: "SPY", Start: "2023-01-01", End: "2023-12-31", Fast: 5, Slow: 35, Signal: 5}
		req := q.Request()
		if _, ok := req.GetSource().(*idcv1.GetMACDRequest_Symbol); !ok || req.GetSymbol() != "SPY" ||
			req.GetStartDate() != "2023-01-01" || req.GetEndDate() != "2023-12-31" ||
			req.GetParameters().GetFastPeriod() != 5 || req.GetParameters().GetSlowPeriod() != 35 || req.GetParameters().GetSignalPeriod() != 5 {
			t.Errorf("Request() = %v", req)
		}
		g := q.GraphRequest(1200, 800)
		if g.GetSymbol() != "SPY" || g.GetStartDate() != "2023-01-01" || g.GetEndDate() != "2023-12-31" ||
			g.GetParameters().GetSlowPeriod() != 35 || g.GetWidthPx() != 1200 || g.GetHeightPx() != 800 {
			t.Errorf("GraphRequest(1200, 800) = %v", g)
		}
	})

	t.Run("one period set keeps the others zero", func(t *testing.T) {
		p := idc.MACDQuery{Signal: 4}.Request().GetParameters()
		if p.GetFastPeriod() != 0 || p.GetSlowPeriod() != 0 || p.GetSignalPeriod() != 4 {
			t.Errorf("parameters = %v, want only signal_period 4", p)
		}
	})
}
