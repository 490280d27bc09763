package idc

import (
	"errors"
	"time"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
)

// MACDQuery selects bars, MACD periods and a convention. Its zero value asks
// for the server's defaults: the default symbol, its whole history, periods
// 12/26/9, and the default convention. Turn it into a request with
// [MACDQuery.Request] or [MACDQuery.GraphRequest].
type MACDQuery struct {
	// Symbol names the series, e.g. "SPY", "AAPL" or "000001.SH";
	// case-insensitive. Empty means the server's default symbol. Set
	// Symbol or Bars, not both (see [ErrSymbolAndBars]).
	Symbol string
	// Bars, when not nil, are the client's own bars (see [BarsFromRows]
	// and [TimedBarsFromRows]),
	// sent as inline_bars instead of Symbol. The MACD is computed over all
	// of them and then cut to the window.
	Bars *idcv1.Bars
	// Start is the start of the window, inclusive: a day as "YYYY-MM-DD"
	// (its 00:00) or a time in the exchange's time zone as
	// "YYYY-MM-DDTHH:MM" or "YYYY-MM-DDTHH:MM:SS" (see [WindowTime]); the
	// window holds the bars that start at or after it. Empty means the
	// first available bar.
	Start string
	// End is the end of the window, inclusive, in the same forms: the
	// bars that start at or before it, and for a day every bar of that
	// trading day. Empty means the last available bar.
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
	// Interval is the bar length to serve, e.g. INTERVAL_5_MINUTES (see
	// [ParseInterval]); the zero value means 1 day. A symbol is served at
	// its stored interval or any coarser one, aggregated by the server.
	Interval idcv1.Interval
	// Adjustment selects the split and dividend adjustment, e.g.
	// ADJUSTMENT_FORWARD (前复权, see [ParseAdjustment]); the zero value
	// means the prices as stored.
	Adjustment idcv1.Adjustment
}

// Request returns the IndicatorService.GetMACD request for q, or
// [ErrSymbolAndBars] when q sets both Symbol and Bars.
func (q MACDQuery) Request() (*idcv1.GetMACDRequest, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	req := &idcv1.GetMACDRequest{
		StartDate:  q.Start,
		EndDate:    q.End,
		Parameters: q.parameters(),
		Convention: q.Convention,
		Interval:   q.Interval,
		Adjustment: q.Adjustment,
	}
	switch {
	case q.Bars != nil:
		req.Source = &idcv1.GetMACDRequest_InlineBars{InlineBars: q.Bars}
	case q.Symbol != "":
		req.Source = &idcv1.GetMACDRequest_Symbol{Symbol: q.Symbol}
	}
	return req, nil
}

// GraphRequest returns the IndicatorGraphService.GetMACDGraph request for
// q and an image of width x height pixels. Zero sizes mean the server's
// defaults, 1200 x 800. It returns [ErrSymbolAndBars] when q sets both
// Symbol and Bars, and [ErrGraphIsDaily] when q sets an Interval or an
// Adjustment, which GetMACDGraph does not take.
func (q MACDQuery) GraphRequest(width, height int32) (*idcv1.GetMACDGraphRequest, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	if q.Interval != idcv1.Interval_INTERVAL_UNSPECIFIED || q.Adjustment != idcv1.Adjustment_ADJUSTMENT_UNSPECIFIED {
		return nil, ErrGraphIsDaily
	}
	req := &idcv1.GetMACDGraphRequest{
		StartDate:  q.Start,
		EndDate:    q.End,
		Parameters: q.parameters(),
		WidthPx:    width,
		HeightPx:   height,
		Convention: q.Convention,
	}
	switch {
	case q.Bars != nil:
		req.Source = &idcv1.GetMACDGraphRequest_InlineBars{InlineBars: q.Bars}
	case q.Symbol != "":
		req.Source = &idcv1.GetMACDGraphRequest_Symbol{Symbol: q.Symbol}
	}
	return req, nil
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
	// Bars, when not nil, are the client's own bars (see [BarsFromRows]
	// and [TimedBarsFromRows]),
	// sent as inline_bars instead of Symbol.
	Bars *idcv1.Bars
	// Start is the start of the window, inclusive: a day as "YYYY-MM-DD"
	// (its 00:00) or a time in the exchange's time zone as
	// "YYYY-MM-DDTHH:MM" or "YYYY-MM-DDTHH:MM:SS" (see [WindowTime]); the
	// window holds the bars that start at or after it. Empty means the
	// first available bar.
	Start string
	// End is the end of the window, inclusive, in the same forms: the
	// bars that start at or before it, and for a day every bar of that
	// trading day. Empty means the last available bar.
	End string
	// Convention applies to every indicator; the zero value means the
	// server's default.
	Convention idcv1.Convention
	// Interval is the bar length to serve, e.g. INTERVAL_5_MINUTES (see
	// [ParseInterval]); the zero value means 1 day. A symbol is served at
	// its stored interval or any coarser one, aggregated by the server.
	Interval idcv1.Interval
	// Adjustment selects the split and dividend adjustment, e.g.
	// ADJUSTMENT_FORWARD (前复权, see [ParseAdjustment]); the zero value
	// means the prices as stored.
	Adjustment idcv1.Adjustment
	// Indicators lists the indicators to compute, 1 to 32 of them. Their
	// labels must be unique.
	Indicators []*idcv1.IndicatorSpec
}

// Request returns the IndicatorService.ComputeIndicators request for q. The
// request shares q's Bars and Indicators rather than copying them. It
// returns [ErrSymbolAndBars] when q sets both Symbol and Bars.
func (q IndicatorQuery) Request() (*idcv1.ComputeIndicatorsRequest, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	req := &idcv1.ComputeIndicatorsRequest{
		StartDate:  q.Start,
		EndDate:    q.End,
		Convention: q.Convention,
		Indicators: q.Indicators,
		Interval:   q.Interval,
		Adjustment: q.Adjustment,
	}
	switch {
	case q.Bars != nil:
		req.Source = &idcv1.ComputeIndicatorsRequest_InlineBars{InlineBars: q.Bars}
	case q.Symbol != "":
		req.Source = &idcv1.ComputeIndicatorsRequest_Symbol{Symbol: q.Symbol}
	}
	return req, nil
}

// ErrSymbolAndBars is the error of a query that sets both Symbol and Bars:
// a request carries one source of bars, and the client does not choose one
// for you. The queries' Validate and Request methods return it.
var ErrSymbolAndBars = errors.New("idc: the query sets both Symbol and Bars; set one of them")

// ErrGraphIsDaily is the error of [MACDQuery.GraphRequest] for a query with
// an Interval or an Adjustment: GetMACDGraph draws the bars as stored, as
// in the article. Draw other intervals and adjustments with [ChartQuery]
// and a [MACDPanel].
var ErrGraphIsDaily = errors.New("idc: GetMACDGraph takes no interval or adjustment; use ChartQuery with a MACD panel")

// Validate returns [ErrSymbolAndBars] when q sets both Symbol and Bars. The
// server checks everything else.
func (q MACDQuery) Validate() error { return oneSource(q.Symbol, q.Bars) }

// Validate returns [ErrSymbolAndBars] when q sets both Symbol and Bars. The
// server checks everything else.
func (q IndicatorQuery) Validate() error { return oneSource(q.Symbol, q.Bars) }

// Validate returns [ErrSymbolAndBars] when q sets both Symbol and Bars. The
// server checks everything else.
func (q ChartQuery) Validate() error { return oneSource(q.Symbol, q.Bars) }

func oneSource(symbol string, bars *idcv1.Bars) error {
	if symbol != "" && bars != nil {
		return ErrSymbolAndBars
	}
	return nil
}

// WindowTime formats t for a query's Start or End as a time in the
// exchange's time zone, "YYYY-MM-DDTHH:MM:SS": convert t to that zone first
// (t.In(loc), with loc from [Location] and the symbol's time_zone), since
// the server reads the text in the exchange's zone.
func WindowTime(t time.Time) string {
	return t.Format("2006-01-02T15:04:05")
}
