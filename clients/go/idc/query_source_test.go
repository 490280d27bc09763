package idc

import (
	"errors"
	"testing"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
)

// TestSymbolAndBarsTogetherAreAnError checks that a query naming a symbol
// and carrying bars is refused, as the Python client refuses symbol= with
// bars=, instead of silently sending one of them.
func TestSymbolAndBarsTogetherAreAnError(t *testing.T) {
	bars := BarsFromRows([]Bar{{Open: 1, High: 2, Low: 0.5, Close: 1.5, Volume: 10}})
	builders := map[string]struct {
		validate func() error
		request  func()
	}{
		"MACDQuery.Request": {
			MACDQuery{Symbol: "SPY", Bars: bars}.Validate,
			func() { MACDQuery{Symbol: "SPY", Bars: bars}.Request() },
		},
		"MACDQuery.GraphRequest": {
			MACDQuery{Symbol: "SPY", Bars: bars}.Validate,
			func() { MACDQuery{Symbol: "SPY", Bars: bars}.GraphRequest(0, 0) },
		},
		"IndicatorQuery.Request": {
			IndicatorQuery{Symbol: "SPY", Bars: bars}.Validate,
			func() { IndicatorQuery{Symbol: "SPY", Bars: bars}.Request() },
		},
		"ChartQuery.Request": {
			ChartQuery{Symbol: "SPY", Bars: bars}.Validate,
			func() { ChartQuery{Symbol: "SPY", Bars: bars}.Request() },
		},
	}
	for name, b := range builders {
		t.Run(name, func(t *testing.T) {
			if err := b.validate(); !errors.Is(err, ErrSymbolAndBars) {
				t.Errorf("Validate() = %v, want ErrSymbolAndBars", err)
			}
			defer func() {
				if r := recover(); r != ErrSymbolAndBars {
					t.Errorf("panic value = %v, want ErrSymbolAndBars", r)
				}
			}()
			b.request()
			t.Errorf("no panic")
		})
	}
	t.Run("one source is fine", func(t *testing.T) {
		for _, q := range []MACDQuery{{Symbol: "SPY"}, {Bars: bars}, {}} {
			if err := q.Validate(); err != nil {
				t.Errorf("%+v: Validate() = %v", q, err)
			}
		}
		if got := (MACDQuery{Bars: bars}).Request().GetInlineBars(); got != bars {
			t.Errorf("inline bars = %v, want the query's", got)
		}
		if got := (ChartQuery{Symbol: "AAPL"}).Request().GetSource(); got.(*idcv1.GetChartRequest_Symbol).Symbol != "AAPL" {
			t.Errorf("source = %v, want symbol AAPL", got)
		}
	})
}
