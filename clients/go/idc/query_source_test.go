package idc

import (
	"errors"
	"testing"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
)

// TestSymbolAndBarsTogetherAreAnError checks that a query naming a symbol
// and carrying bars is refused with an error, as the Python client refuses
// symbol= with bars=, instead of silently sending one of them or panicking.
func TestSymbolAndBarsTogetherAreAnError(t *testing.T) {
	bars := BarsFromRows([]Bar{{Open: 1, High: 2, Low: 0.5, Close: 1.5, Volume: 10}})
	builders := map[string]struct {
		validate func() error
		request  func() (any, error)
	}{
		"MACDQuery.Request": {
			MACDQuery{Symbol: "SPY", Bars: bars}.Validate,
			func() (any, error) { return MACDQuery{Symbol: "SPY", Bars: bars}.Request() },
		},
		"MACDQuery.GraphRequest": {
			MACDQuery{Symbol: "SPY", Bars: bars}.Validate,
			func() (any, error) { return MACDQuery{Symbol: "SPY", Bars: bars}.GraphRequest(0, 0) },
		},
		"IndicatorQuery.Request": {
			IndicatorQuery{Symbol: "SPY", Bars: bars}.Validate,
			func() (any, error) { return IndicatorQuery{Symbol: "SPY", Bars: bars}.Request() },
		},
		"ChartQuery.Request": {
			ChartQuery{Symbol: "SPY", Bars: bars}.Validate,
			func() (any, error) { return ChartQuery{Symbol: "SPY", Bars: bars}.Request() },
		},
	}
	for name, b := range builders {
		t.Run(name, func(t *testing.T) {
			if err := b.validate(); !errors.Is(err, ErrSymbolAndBars) {
				t.Errorf("Validate() = %v, want ErrSymbolAndBars", err)
			}
			req, err := b.request()
			if !errors.Is(err, ErrSymbolAndBars) {
				t.Errorf("error = %v, want ErrSymbolAndBars", err)
			}
			switch r := req.(type) {
			case *idcv1.GetMACDRequest:
				if r != nil {
					t.Errorf("request = %v, want nil", r)
				}
			case *idcv1.GetMACDGraphRequest:
				if r != nil {
					t.Errorf("request = %v, want nil", r)
				}
			case *idcv1.ComputeIndicatorsRequest:
				if r != nil {
					t.Errorf("request = %v, want nil", r)
				}
			case *idcv1.GetChartRequest:
				if r != nil {
					t.Errorf("request = %v, want nil", r)
				}
			}
		})
	}
	t.Run("one source is fine", func(t *testing.T) {
		for _, q := range []MACDQuery{{Symbol: "SPY"}, {Bars: bars}, {}} {
			if err := q.Validate(); err != nil {
				t.Errorf("%+v: Validate() = %v", q, err)
			}
		}
		req, err := MACDQuery{Bars: bars}.Request()
		if err != nil || req.GetInlineBars() != bars {
			t.Errorf("Request() = %v, %v; want the query's inline bars", req, err)
		}
		creq, err := ChartQuery{Symbol: "AAPL"}.Request()
		if err != nil || creq.GetSymbol() != "AAPL" {
			t.Errorf("Request() = %v, %v; want symbol AAPL", creq, err)
		}
	})
}

// TestGraphRequestIsDaily checks that GraphRequest refuses what
// GetMACDGraph cannot carry instead of dropping it.
func TestGraphRequestIsDaily(t *testing.T) {
	for _, q := range []MACDQuery{
		{Interval: idcv1.Interval_INTERVAL_5_MINUTES},
		{Adjustment: idcv1.Adjustment_ADJUSTMENT_FORWARD},
	} {
		if req, err := q.GraphRequest(0, 0); !errors.Is(err, ErrGraphIsDaily) || req != nil {
			t.Errorf("%+v: GraphRequest() = %v, %v; want ErrGraphIsDaily", q, req, err)
		}
	}
}
