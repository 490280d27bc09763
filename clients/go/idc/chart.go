package idc

import idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"

// ChartQuery selects the bars, panels, overlays and image of a chart. Its
// zero value asks for the server's defaults: the default symbol's whole
// history with a volume and a MACD(12, 26, 9) panel, a 1200x800 PNG at 100
// dpi, light theme, Western colours and 64 KiB chunks. Turn it into a
// request with [ChartQuery.Request]; build the panels with [VolumePanel],
// [MACDPanel], [RSIPanel] and [KDJPanel], and the overlays with
// [SMAOverlay], [EMAOverlay] and [BollingerOverlay]:
//
//	q := idc.ChartQuery{
//		Symbol:   "SPY",
//		Start:    "2023-01-01",
//		Panels:   []*idcv1.ChartPanel{idc.VolumePanel(), idc.MACDPanel(0, 0, 0), idc.RSIPanel(14)},
//		Overlays: []*idcv1.ChartOverlay{idc.SMAOverlay(20), idc.BollingerOverlay(20, 2)},
//		Format:   idcv1.ImageFormat_IMAGE_FORMAT_SVG,
//		Theme:    idcv1.Theme_THEME_DARK,
//	}
//	req, err := q.Request()
//	...
//	img, err := c.GetChart(ctx, req)
type ChartQuery struct {
	// Symbol names the series, e.g. "SPY"; case-insensitive. Empty means
	// the server's default symbol. Set Symbol or Bars, not
	// both (see [ErrSymbolAndBars]).
	Symbol string
	// Bars, when not nil, are the client's own bars (see [BarsFromRows]),
	// sent as inline_bars instead of Symbol.
	Bars *idcv1.Bars
	// Start is the start of the window, inclusive, as in [MACDQuery]: a
	// day "YYYY-MM-DD" or a time in the exchange's zone
	// "YYYY-MM-DDTHH:MM[:SS]". Empty means the first available bar.
	Start string
	// End is the end of the window, inclusive, as in [MACDQuery]. Empty
	// means the last available bar.
	End string
	// Convention selects TA-Lib's or 通达信's formulas for every indicator;
	// the zero value means the server's default.
	Convention idcv1.Convention
	// Interval is the bar length to draw, as in [MACDQuery]; the zero
	// value means 1 day. Intraday bars are drawn without gaps for breaks
	// and nights.
	Interval idcv1.Interval
	// Adjustment is the price adjustment, as in [MACDQuery]; the zero
	// value means the prices as stored.
	Adjustment idcv1.Adjustment
	// Panels are drawn below the price panel, top to bottom, at most 6.
	// Empty means a volume panel and a MACD(12, 26, 9) panel.
	Panels []*idcv1.ChartPanel
	// Overlays are drawn over the price panel, at most 8.
	Overlays []*idcv1.ChartOverlay
	// Format is the image encoding; the zero value means PNG.
	Format idcv1.ImageFormat
	// Width is the image width in pixels, 200-8000; 0 means 1200.
	Width int32
	// Height is the image height in pixels, 200-8000; 0 means 800. Width *
	// Height may not exceed the server's pixel limit (16,000,000 by
	// default).
	Height int32
	// DPI is the resolution, 50-600; 0 means 100. Pixel sizes stay as
	// requested: a higher DPI makes text and lines larger.
	DPI int32
	// Theme is light or dark; the zero value means light.
	Theme idcv1.Theme
	// Scheme says which colour means up; the zero value means Western (up
	// in green).
	Scheme idcv1.ColorScheme
	// ChunkSize is the largest chunk of the stream in bytes, 1024-1048576;
	// 0 means 65536.
	ChunkSize int32
	// PriceScale is the price panel's y scale; the zero value means auto:
	// log when the window's prices span a factor of 3 or more, else linear.
	PriceScale idcv1.PriceScale
}

// Request returns the IndicatorGraphService.GetChart request for q. The
// request shares q's Bars, Panels and Overlays rather than copying them.
// It returns [ErrSymbolAndBars] when q sets both Symbol and Bars.
func (q ChartQuery) Request() (*idcv1.GetChartRequest, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	req := &idcv1.GetChartRequest{
		StartDate:      q.Start,
		EndDate:        q.End,
		Convention:     q.Convention,
		Panels:         q.Panels,
		Overlays:       q.Overlays,
		Format:         q.Format,
		WidthPx:        q.Width,
		HeightPx:       q.Height,
		Dpi:            q.DPI,
		Theme:          q.Theme,
		ColorScheme:    q.Scheme,
		ChunkSizeBytes: q.ChunkSize,
		PriceScale:     q.PriceScale,
		Interval:       q.Interval,
		Adjustment:     q.Adjustment,
	}
	switch {
	case q.Bars != nil:
		req.Source = &idcv1.GetChartRequest_InlineBars{InlineBars: q.Bars}
	case q.Symbol != "":
		req.Source = &idcv1.GetChartRequest_Symbol{Symbol: q.Symbol}
	}
	return req, nil
}

// VolumePanel returns a panel of volume bars, coloured by whether the day
// closed up or down.
func VolumePanel() *idcv1.ChartPanel {
	return &idcv1.ChartPanel{Kind: &idcv1.ChartPanel_Volume{Volume: &idcv1.VolumeParameters{}}}
}

// MACDPanel returns a MACD panel with the given EMA periods (0 means 12, 26
// and 9): the MACD and signal lines and the histogram bars.
func MACDPanel(fast, slow, signal int32) *idcv1.ChartPanel {
	return &idcv1.ChartPanel{Kind: &idcv1.ChartPanel_Macd{Macd: &idcv1.MACDParameters{
		FastPeriod: fast, SlowPeriod: slow, SignalPeriod: signal,
	}}}
}

// RSIPanel returns an RSI panel over period bars (0 means 14), with 30 and
// 70 guide lines.
func RSIPanel(period int32) *idcv1.ChartPanel {
	return &idcv1.ChartPanel{Kind: &idcv1.ChartPanel_Rsi{Rsi: &idcv1.RSIParameters{Period: period}}}
}

// KDJPanel returns a KDJ panel with an RSV window of period bars and K and
// D smoothing periods k and d (0 means 9, 3 and 3), with 20 and 80 guide
// lines; set GetKdj().Seed on the result to choose the seed.
func KDJPanel(period, k, d int32) *idcv1.ChartPanel {
	return &idcv1.ChartPanel{Kind: &idcv1.ChartPanel_Kdj{Kdj: &idcv1.KDJParameters{Period: period, KPeriod: k, DPeriod: d}}}
}

// SMAOverlay returns a simple moving average line over period bars (0
// means 20), drawn over the price panel.
func SMAOverlay(period int32) *idcv1.ChartOverlay {
	return &idcv1.ChartOverlay{Kind: &idcv1.ChartOverlay_Sma{Sma: &idcv1.SMAParameters{Period: period}}}
}

// EMAOverlay returns an exponential moving average line with span period
// (0 means 20), drawn over the price panel.
func EMAOverlay(period int32) *idcv1.ChartOverlay {
	return &idcv1.ChartOverlay{Kind: &idcv1.ChartOverlay_Ema{Ema: &idcv1.EMAParameters{Period: period}}}
}

// BollingerOverlay returns Bollinger Bands over period bars (0 means 20), k
// standard deviations wide (0 means 2), drawn over the price panel as the
// middle line and a shaded band; set GetBoll().StdDev on the result to
// choose the standard deviation.
func BollingerOverlay(period int32, k float64) *idcv1.ChartOverlay {
	return &idcv1.ChartOverlay{Kind: &idcv1.ChartOverlay_Boll{Boll: &idcv1.BollingerParameters{Period: period, K: k}}}
}
