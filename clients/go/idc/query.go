package idc

import idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"

// MACDQuery selects bars and MACD periods. Its zero value asks for the
// server's defaults: the default symbol, its whole history, periods 12/26/9.
// Turn it into a request with [MACDQuery.Request] or
// [MACDQuery.GraphRequest].
type MACDQuery struct {
	// Symbol names the series, e.g. "SPY", "AAPL" or "000001.SH";
	// case-insensitive. Empty means the server's default symbol.
	Symbol string
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
}

// Request returns the IndicatorService.GetMACD request for q.
func (q MACDQuery) Request() *idcv1.GetMACDRequest {
	req := &idcv1.GetMACDRequest{
		StartDate:  q.Start,
		EndDate:    q.End,
		Parameters: q.parameters(),
	}
	if q.Symbol != "" {
		req.Source = &idcv1.GetMACDRequest_Symbol{Symbol: q.Symbol}
	}
	return req
}

// GraphRequest returns the IndicatorGraphService.GetMACDGraph request for
// q and an image of width x height pixels. Zero sizes mean the server's
// defaults, 1200 x 800.
func (q MACDQuery) GraphRequest(width, height int32) *idcv1.GetMACDGraphRequest {
	req := &idcv1.GetMACDGraphRequest{
		StartDate:  q.Start,
		EndDate:    q.End,
		Parameters: q.parameters(),
		WidthPx:    width,
		HeightPx:   height,
	}
	if q.Symbol != "" {
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
