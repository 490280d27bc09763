package idc

import (
	"errors"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
)

// MACDQuery selects bars, MACD periods and a convention. Its zero value asks
// for the server's defaults: the default symbol, its whole history, periods
// 12/26/9, and the default convention. Turn it into a request with
// [MACDQuery.Request] or [MACDQuery.GraphRequest].
type MACDQuery struct {
	// Symbol names the series, e.g. "SPY", "AAPL" or "000001.SH";
	// case-insensitive. Empty means the server's default symbol. Set Symbol or Bars,
	// not both (see [ErrSymbolAndBars]).
	Symbol string
	// Bars, when not nil, are the client's own bars (see [BarsFromRows]),
	// sent as inline_bars instead of Symbol. The MACD is computed over all
	// of them and then cut to the window.
	Bars *idcv1.Bars
	// Start is the first calendar day, inclusive, as "YYYY-MM-DD". Empty
	// means the first available bar.
	Start string
	// End is the last calendar day, inclusive, as "YYYY-MM-DD". Empty means
	// the last available bar.
	End string
	// Fast is the fast EMA period; 0 means 12.
	Fast int32
	// Slow is the slow EMA period; 0 means 26.
	Slow int32
	// Signal is the signal EMA period; 0 means 9.
	Signal int32
	// Convention selects TA-Lib's (CONVENTION_TALIB) or 通达信's
	// (CONVENTION_TDX) formulas; CONVENTION_UNSPECIFIED, the zero value,
	// means the server's default.
	Convention idcv1.Convention
}

// Request returns the IndicatorService.GetMACD request for q.
// It panics with [ErrSymbolAndBars] when q sets both Symbol and Bars.
func (q MACDQuery) Request() *idcv1.GetMACDRequest {
	req := &idcv1.GetMACDRequest{
		StartDate:  q.Start,
		EndDate:    q.End,
		Parameters: q.parameters(),
		Convention: q.Convention,
	}
	q.mustHaveOneSource()
	switch {
	case q.Bars != nil:
		req.Source = &idcv1.GetMACDRequest_InlineBars{InlineBars: q.Bars}
	case q.Symbol != "":
		req.Source = &idcv1.GetMACDRequest_Symbol{Symbol: q.Symbol}
	}
	return req
}

// GraphRequest returns the IndicatorGraphService.GetMACDGraph request for
// q and an image of width x height pixels. Zero sizes mean the server's
// defaults, 1200 x 800.
// It panics with [ErrSymbolAndBars] when q sets both Symbol and Bars.
func (q MACDQuery) GraphRequest(width, height int32) *idcv1.GetMACDGraphRequest {
	req := &idcv1.GetMACDGraphRequest{
		StartDate:  q.Start,
		EndDate:    q.End,
		Parameters: q.parameters(),
		WidthPx:    width,
		HeightPx:   height,
		Convention: q.Convention,
	}
	q.mustHaveOneSource()
	switch {
	case q.Bars != nil:
		req.Source = &idcv1.GetMACDGraphRequest_InlineBars{InlineBars: q.Bars}
	case q.Symbol != "":
		req.Source = &idcv1.GetMACDGraphRequest_Symbol{Symbol: q.Symbol}
	}
	return req
}

// parameters returns nil when every period is left at its default.
func (q MACDQuery) parameters() *idcv1.MACDParameters {
	if q.Fast == 0 && q.Slow == 0 && q.Signal == 0 {
		return nil
	}
	return &idcv1.MACDParameters{FastPeriod: q.Fast, SlowPeriod: q.Slow, SignalPeriod: q.Signal}
}

// IndicatorQuery selects bars, a convention and the indicators to compute
// over them. Turn it into a request with [IndicatorQuery.Request]; build
// the indicators with [SMA], [EMA], [MACD], [RSI], [Bollinger], [KDJ] and
// [Labeled].
type IndicatorQuery struct {
	// Symbol names the series; case-insensitive. Empty means the server's
	// default symbol. Set Symbol or Bars, not
	// both (see [ErrSymbolAndBars]).
	Symbol string
	// Bars, when not nil, are the client's own bars (see [BarsFromRows]),
	// sent as inline_bars instead of Symbol.
	Bars *idcv1.Bars
	// Start is the first calendar day, inclusive, as "YYYY-MM-DD". Empty
	// means the first available bar.
	Start string
	// End is the last calendar day, inclusive, as "YYYY-MM-DD". Empty means
	// the last available bar.
	End string
	// Convention applies to every indicator; the zero value means the
	// server's default.
	Convention idcv1.Convention
	// Indicators lists the indicators to compute, 1 to 32 of them. Their
	// labels must be unique.
	Indicators []*idcv1.IndicatorSpec
}

// Request returns the IndicatorService.ComputeIndicators request for q. The
// request shares q's Bars and Indicators rather than copying them.
// It panics with [ErrSymbolAndBars] when q sets both Symbol and Bars.
func (q IndicatorQuery) Request() *idcv1.ComputeIndicatorsRequest {
	req := &idcv1.ComputeIndicatorsRequest{
		StartDate:  q.Start,
		EndDate:    q.End,
		Convention: q.Convention,
		Indicators: q.Indicators,
	}
	q.mustHaveOneSource()
	switch {
	case q.Bars != nil:
		req.Source = &idcv1.ComputeIndicatorsRequest_InlineBars{InlineBars: q.Bars}
	case q.Symbol != "":
		req.Source = &idcv1.ComputeIndicatorsRequest_Symbol{Symbol: q.Symbol}
	}
	return req
}

// ErrSymbolAndBars is the error of a query that sets both Symbol and Bars:
// a request carries one source of bars, and the client does not choose one
// for you. [MACDQuery.Validate], [IndicatorQuery.Validate] and
// [ChartQuery.Validate] return it; the Request methods panic with it, as
// for any other programming error.
var ErrSymbolAndBars = errors.New("idc: the query sets both Symbol and Bars; set one of them")

// Validate returns [ErrSymbolAndBars] when q sets both Symbol and Bars. The
// server checks everything else.
func (q MACDQuery) Validate() error { return oneSource(q.Symbol, q.Bars) }

// Validate returns [ErrSymbolAndBars] when q sets both Symbol and Bars. The
// server checks everything else.
func (q IndicatorQuery) Validate() error { return oneSource(q.Symbol, q.Bars) }

// Validate returns [ErrSymbolAndBars] when q sets both Symbol and Bars. The
// server checks everything else.
func (q ChartQuery) Validate() error { return oneSource(q.Symbol, q.Bars) }

func (q MACDQuery) mustHaveOneSource()      { mustHaveOneSource(q.Validate()) }
func (q IndicatorQuery) mustHaveOneSource() { mustHaveOneSource(q.Validate()) }
func (q ChartQuery) mustHaveOneSource()     { mustHaveOneSource(q.Validate()) }

func oneSource(symbol string, bars *idcv1.Bars) error {
	if symbol != "" && bars != nil {
		return ErrSymbolAndBars
	}
	return nil
}

func mustHaveOneSource(err error) {
	if err != nil {
		panic(err)
	}
}
