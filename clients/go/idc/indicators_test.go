package idc_test

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
	"github.com/idcrpc/idc/clients/go/idc"
)

func TestSpecBuilders(t *testing.T) {
	cases := []struct {
		name string
		got  *idcv1.IndicatorSpec
		want *idcv1.IndicatorSpec
	}{
		{"SMA", idc.SMA(20), &idcv1.IndicatorSpec{Parameters: &idcv1.IndicatorSpec_Sma{Sma: &idcv1.SMAParameters{Period: 20}}}},
		{"EMA", idc.EMA(12), &idcv1.IndicatorSpec{Parameters: &idcv1.IndicatorSpec_Ema{Ema: &idcv1.EMAParameters{Period: 12}}}},
		{"MACD", idc.MACD(5, 35, 5), &idcv1.IndicatorSpec{Parameters: &idcv1.IndicatorSpec_Macd{Macd: &idcv1.MACDParameters{FastPeriod: 5, SlowPeriod: 35, SignalPeriod: 5}}}},
		{"RSI", idc.RSI(6), &idcv1.IndicatorSpec{Parameters: &idcv1.IndicatorSpec_Rsi{Rsi: &idcv1.RSIParameters{Period: 6}}}},
		{"Bollinger", idc.Bollinger(20, 2.5), &idcv1.IndicatorSpec{Parameters: &idcv1.IndicatorSpec_Boll{Boll: &idcv1.BollingerParameters{Period: 20, K: 2.5}}}},
		{"KDJ", idc.KDJ(9, 3, 4), &idcv1.IndicatorSpec{Parameters: &idcv1.IndicatorSpec_Kdj{Kdj: &idcv1.KDJParameters{Period: 9, KPeriod: 3, DPeriod: 4}}}},
		{"zero values are the defaults", idc.MACD(0, 0, 0), &idcv1.IndicatorSpec{Parameters: &idcv1.IndicatorSpec_Macd{Macd: &idcv1.MACDParameters{}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !proto.Equal(tc.got, tc.want) {
				t.Errorf("got %v, want %v", tc.got, tc.want)
			}
		})
	}

	t.Run("Labeled copies", func(t *testing.T) {
		base := idc.SMA(20)
		l := idc.Labeled("sma20", base)
		if l.GetLabel() != "sma20" || l.GetSma().GetPeriod() != 20 {
			t.Errorf("Labeled = %v, want sma20 with period 20", l)
		}
		if base.GetLabel() != "" {
			t.Errorf("Labeled changed its argument: %v", base)
		}
		l.GetSma().Period = 5
		if base.GetSma().GetPeriod() != 20 {
			t.Errorf("Labeled's result shares parameters with its argument")
		}
		if n := idc.Labeled("x", nil); n.GetLabel() != "x" || n.GetParameters() != nil {
			t.Errorf("Labeled(x, nil) = %v, want only the label", n)
		}
	})
}

func TestIndicatorQuery(t *testing.T) {
	specs := []*idcv1.IndicatorSpec{idc.SMA(20), idc.RSI(14)}
	t.Run("zero query", func(t *testing.T) {
		req := must(idc.IndicatorQuery{}.Request())
		if !proto.Equal(req, &idcv1.ComputeIndicatorsRequest{}) {
			t.Errorf("Request() = %v, want an empty request", req)
		}
	})
	t.Run("symbol", func(t *testing.T) {
		q := idc.IndicatorQuery{Symbol: "SPY", Start: "2023-01-01", End: "2023-12-31", Convention: idcv1.Convention_CONVENTION_TDX, Indicators: specs}
		want := &idcv1.ComputeIndicatorsRequest{
			Source:    &idcv1.ComputeIndicatorsRequest_Symbol{Symbol: "SPY"},
			StartDate: "2023-01-01", EndDate: "2023-12-31",
			Convention: idcv1.Convention_CONVENTION_TDX, Indicators: specs,
		}
		if req := must(q.Request()); !proto.Equal(req, want) {
			t.Errorf("Request() = %v, want %v", req, want)
		}
	})
	t.Run("inline bars", func(t *testing.T) {
		bars := idc.BarsFromRows([]idc.Bar{{Date: date("2023-12-29"), Open: 1, High: 1, Low: 1, Close: 1, Volume: 1}})
		req := must(idc.IndicatorQuery{Bars: bars, Indicators: specs}.Request())
		if req.GetInlineBars() != bars || req.GetSymbol() != "" || len(req.GetIndicators()) != 2 {
			t.Errorf("Request() = %v, want the inline bars", req)
		}
	})
}

func frameResponse() *idcv1.ComputeIndicatorsResponse {
	return &idcv1.ComputeIndicatorsResponse{
		Symbol:     "SPY",
		Convention: idcv1.Convention_CONVENTION_TALIB,
		Dates:      []int32{19717, 19718, 19719, 19720},
		Series: []*idcv1.Series{
			{Name: "sma3", FirstValidIndex: 2, Values: []float64{2, 3}},
			{Name: "macd.macd", Values: []float64{0.1, 0.2, 0.3, 0.4}},
			{Name: "rsi", FirstValidIndex: 4},
		},
	}
}

// sameFloats compares with NaN equal to NaN.
func sameFloats(a, b []float64) bool {
	return slices.EqualFunc(a, b, func(x, y float64) bool { return x == y || (math.IsNaN(x) && math.IsNaN(y)) })
}

func TestIndicatorFrame(t *testing.T) {
	t.Run("pads warm-up bars with NaN", func(t *testing.T) {
		f, err := idc.IndicatorFrame(frameResponse())
		if err != nil {
			t.Fatalf("IndicatorFrame: %v", err)
		}
		if want := []string{"sma3", "macd.macd", "rsi"}; !slices.Equal(f.Names, want) {
			t.Errorf("Names = %v, want %v", f.Names, want)
		}
		if len(f.Dates) != 4 || !f.Dates[0].Equal(date("2023-12-26")) || !f.Dates[3].Equal(date("2023-12-29")) || f.Dates[3].Location() != time.UTC {
			t.Errorf("Dates = %v, want 2023-12-26 to 2023-12-29 UTC", f.Dates)
		}
		nan := math.NaN()
		want := map[string][]float64{
			"sma3":      {nan, nan, 2, 3},
			"macd.macd": {0.1, 0.2, 0.3, 0.4},
			"rsi":       {nan, nan, nan, nan},
		}
		if len(f.Columns) != len(want) {
			t.Errorf("Columns has %d entries, want %d", len(f.Columns), len(want))
		}
		for name, w := range want {
			if got := f.Columns[name]; !sameFloats(got, w) {
				t.Errorf("Columns[%q] = %v, want %v", name, got, w)
			}
		}
	})

	t.Run("empty and nil responses give an empty frame", func(t *testing.T) {
		for _, resp := range []*idcv1.ComputeIndicatorsResponse{nil, {}} {
			f, err := idc.IndicatorFrame(resp)
			if err != nil || len(f.Dates) != 0 || len(f.Names) != 0 || f.Columns == nil || len(f.Columns) != 0 {
				t.Errorf("IndicatorFrame(%v) = %+v, %v; want an empty frame", resp, f, err)
			}
		}
	})

	bad := []struct {
		name   string
		mutate func(*idcv1.ComputeIndicatorsResponse)
		text   string
	}{
		{"too few values", func(r *idcv1.ComputeIndicatorsResponse) { r.Series[0].Values = r.Series[0].Values[:1] }, `series "sma3" has 1 values`},
		{"values not cut", func(r *idcv1.ComputeIndicatorsResponse) { r.Series[0].Values = []float64{0, 0, 2, 3} }, `series "sma3" has 4 values`},
		{"too many values", func(r *idcv1.ComputeIndicatorsResponse) { r.Series[2].Values = []float64{1} }, `series "rsi" has 1 values`},
		{"an extra date", func(r *idcv1.ComputeIndicatorsResponse) { r.Dates = append(r.Dates, 19721) }, `series "sma3" has 2 values`},
		{"negative first_valid_index", func(r *idcv1.ComputeIndicatorsResponse) { r.Series[1].FirstValidIndex = -1 }, `"macd.macd": first_valid_index -1`},
		{"first_valid_index past the end", func(r *idcv1.ComputeIndicatorsResponse) { r.Series[2].FirstValidIndex = 5 }, `"rsi": first_valid_index 5`},
		{"duplicate name", func(r *idcv1.ComputeIndicatorsResponse) { r.Series[2].Name = "sma3" }, `series 2 has the same name "sma3"`},
		{"no name", func(r *idcv1.ComputeIndicatorsResponse) { r.Series[1].Name = "" }, "series 1 has no name"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			resp := frameResponse()
			tc.mutate(resp)
			f, err := idc.IndicatorFrame(resp)
			if err == nil || f != nil {
				t.Fatalf("IndicatorFrame = %+v, %v; want an error", f, err)
			}
			if !strings.HasPrefix(err.Error(), "indicator frame: ") || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q lacks the prefix %q or the text %q", err, "indicator frame: ", tc.text)
			}
		})
	}
}
