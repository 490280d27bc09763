package idc_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"image/png"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
	"github.com/idcrpc/idc/clients/go/idc"
)

// The catalogue's contract: every value is checked against a computation
// of the test's own from the bars (GetMACD's closes, highs and lows), with
// the definition the entry documents.

// closeTo reports whether got is want to within 1e-9 of want's magnitude
// (at least 1e-9): TA-Lib's and NumPy's running sums are no more precise.
func closeTo(got, want float64) bool {
	return math.Abs(got-want) <= 1e-9*math.Max(1, math.Abs(want))
}

// spyBars returns SPY's whole history as rows.
func spyBars(t *testing.T, c *idc.Client, symbol, end string) []idc.MACDRow {
	t.Helper()
	_, rows := getRows(t, c, idc.MACDQuery{Symbol: symbol, End: end})
	return rows
}

func TestContractListIndicators(t *testing.T) {
	c := contractClient(t)
	entries, err := c.ListIndicators(t.Context(), "")
	if err != nil {
		t.Fatalf("ListIndicators: %v", err)
	}
	names := map[string]idc.Entry{}
	count := map[string]int{}
	for i, e := range entries {
		names[e.Name] = e
		count[e.Namespace]++
		if i > 0 && entries[i-1].Name >= e.Name {
			t.Errorf("entries not sorted by name: %s before %s", entries[i-1].Name, e.Name)
		}
	}
	// TA-Lib 0.6 has 158 functions; the 通达信 files are at least the 18.
	if count["talib"] < 150 || count["tdx"] < 18 || count["idc"] != 6 || count["example"] != 2 {
		t.Errorf("entries per namespace = %v, want >= 150 talib, >= 18 tdx, 6 idc, 2 example", count)
	}
	adx, ok := names["talib.ADX"]
	if !ok {
		t.Fatalf("talib.ADX is not listed")
	}
	p, ok := adx.Param("timeperiod")
	if !ok || p.Type != idcv1.ParameterType_PARAMETER_TYPE_INT || p.Default != 14 || !slices.Equal(adx.Inputs, []string{"high", "low", "close"}) {
		t.Errorf("talib.ADX timeperiod = %+v (%v), inputs %v; want an INT defaulting to 14 over high, low, close", p, ok, adx.Inputs)
	}
	if w, ok := adx.WarmUp(idcv1.Convention_CONVENTION_TALIB); !ok || w != 27 { // talib.ADX_Lookback(14) = 2 * 14 - 1
		t.Errorf("talib.ADX warm-up = %d, %v; want 27", w, ok)
	}
	if o, ok := names["talib.CDLHAMMER"].Output("integer"); !ok || o.Kind != idcv1.OutputKind_OUTPUT_KIND_SIGNAL {
		t.Errorf("talib.CDLHAMMER output = %+v, %v; want the signal integer", o, ok)
	}
	z, ok := names["example.ZSCORE"]
	if !ok || z.Group != "Statistics" || len(z.Outputs) != 1 || z.Outputs[0].Kind != idcv1.OutputKind_OUTPUT_KIND_UNITLESS {
		t.Errorf("example.ZSCORE = %+v, %v; want the plugin's z-score", z, ok)
	}
	if m := names["tdx.MACD"]; !strings.Contains(m.Formula, "DIF:") || m.Conventions[0] != idcv1.Convention_CONVENTION_TDX {
		t.Errorf("tdx.MACD = %+v; want its formula text under CONVENTION_TDX", m)
	}

	only, err := c.ListIndicators(t.Context(), "EXAMPLE")
	if err != nil || len(only) != 2 || only[0].Name != "example.DONCHIAN" || only[1].Name != "example.ZSCORE" {
		t.Errorf("ListIndicators(EXAMPLE) = %v, %v; want the plugin's two entries", only, err)
	}
}

func TestContractDescribeIndicator(t *testing.T) {
	c := contractClient(t)
	d, err := c.DescribeIndicator(t.Context(), idc.Labeled("slow", idc.Fn("TALIB.sma", idc.Params{"timeperiod": 50})), idcv1.Convention_CONVENTION_UNSPECIFIED)
	if err != nil {
		t.Fatalf("DescribeIndicator: %v", err)
	}
	if d.Entry.Name != "talib.SMA" || d.WarmUpBars != 49 || d.Params["timeperiod"] != 50 || !slices.Equal(d.SeriesNames, []string{"slow"}) {
		t.Errorf("description = %+v; want talib.SMA, 49 warm-up bars, timeperiod 50, series slow", d)
	}
	_, err = c.DescribeIndicator(t.Context(), idc.Fn("talib.NOPE", nil), idcv1.Convention_CONVENTION_UNSPECIFIED)
	wantCode(t, err, codes.InvalidArgument, "spec.name")
	// A bare local name that two namespaces have (idc.sma, talib.SMA) is ambiguous.
	_, err = c.DescribeIndicator(t.Context(), idc.Fn("SMA", nil), idcv1.Convention_CONVENTION_UNSPECIFIED)
	wantCode(t, err, codes.InvalidArgument, "spec.name")
	_, err = c.DescribeIndicator(t.Context(), idc.Fn("talib.SMA", idc.Params{"timeperiod": 0}), idcv1.Convention_CONVENTION_UNSPECIFIED)
	wantCode(t, err, codes.InvalidArgument, "spec.params.timeperiod")
}

// TestContractPlugin computes the example plugin's entries by name and
// checks them against the definitions in its declaration.
func TestContractPlugin(t *testing.T) {
	c := contractClient(t)
	rows := spyBars(t, c, "SPY", "")
	q := idc.IndicatorQuery{Symbol: "SPY", Indicators: []*idcv1.IndicatorSpec{
		idc.Fn("example.ZSCORE", idc.Params{"timeperiod": 10}),
		idc.Labeled("dc", idc.Fn("example.DONCHIAN", nil)),
	}}
	resp, f := computeFrame(t, c, q)
	if !slices.Equal(f.Names, []string{"zscore", "dc.upper", "dc.middle", "dc.lower"}) || len(f.Dates) != len(rows) {
		t.Fatalf("series %v over %d dates; want zscore, dc.upper, dc.middle, dc.lower over %d", f.Names, len(f.Dates), len(rows))
	}
	if first := resp.GetSeries()[0].GetFirstValidIndex(); first != 9 {
		t.Errorf("zscore first_valid_index = %d, want 9", first)
	}
	if k := f.Kinds["dc.upper"]; k != idcv1.OutputKind_OUTPUT_KIND_PRICE {
		t.Errorf("dc.upper kind = %v, want price", k)
	}
	for i := len(rows) - 300; i < len(rows); i++ {
		var sum, squares float64
		for _, r := range rows[i-9 : i+1] {
			sum += r.Close
		}
		mean := sum / 10
		for _, r := range rows[i-9 : i+1] {
			squares += (r.Close - mean) * (r.Close - mean)
		}
		want := (rows[i].Close - mean) / math.Sqrt(squares/10)
		if got := f.Columns["zscore"][i]; !closeTo(got, want) {
			t.Errorf("%s: zscore = %v, want %v", rows[i].Date.Format(time.DateOnly), got, want)
		}
		upper, lower := math.Inf(-1), math.Inf(1)
		for _, r := range rows[i-19 : i+1] {
			upper, lower = math.Max(upper, r.High), math.Min(lower, r.Low)
		}
		if f.Columns["dc.upper"][i] != upper || f.Columns["dc.lower"][i] != lower || !closeTo(f.Columns["dc.middle"][i], (upper+lower)/2) {
			t.Errorf("%s: donchian = %v %v %v, want %v %v %v", rows[i].Date.Format(time.DateOnly),
				f.Columns["dc.upper"][i], f.Columns["dc.middle"][i], f.Columns["dc.lower"][i], upper, (upper+lower)/2, lower)
		}
	}
}

// TestContractFormulaAndTalib computes a 通达信 formula and a TA-Lib entry
// by name over SPY's whole history and checks every bar against the test's
// own EMA (seeded with the first close, as 通达信 does) and weighted moving
// average (TA-Lib's WMA: weights 1 to n, the newest heaviest).
func TestContractFormulaAndTalib(t *testing.T) {
	c := contractClient(t)
	rows := spyBars(t, c, "SPY", "")
	q := idc.IndicatorQuery{Symbol: "SPY", Indicators: []*idcv1.IndicatorSpec{
		idc.Formula("// param: N = 12, 2..100, the fast span\nDIF:EMA(C,N)-EMA(C,26); UP:DIF>0;", idc.Params{"N": 10}),
		idc.Fn("talib.WMA", idc.Params{"timeperiod": 5}),
	}}
	resp, f := computeFrame(t, c, q)
	if !slices.Equal(f.Names, []string{"formula.DIF", "formula.UP", "wma"}) {
		t.Fatalf("series = %v, want formula.DIF, formula.UP, wma", f.Names)
	}
	if resp.GetSeries()[0].GetFirstValidIndex() != 0 || resp.GetSeries()[2].GetFirstValidIndex() != 4 {
		t.Errorf("first valid = %d and %d, want 0 (通达信 EMA) and 4 (talib.WMA(5))",
			resp.GetSeries()[0].GetFirstValidIndex(), resp.GetSeries()[2].GetFirstValidIndex())
	}
	if f.Kinds["formula.UP"] != idcv1.OutputKind_OUTPUT_KIND_SIGNAL || f.Kinds["wma"] != idcv1.OutputKind_OUTPUT_KIND_PRICE {
		t.Errorf("kinds = %v, want formula.UP a signal and wma a price", f.Kinds)
	}
	fast, slow := rows[0].Close, rows[0].Close
	for i, r := range rows {
		if i > 0 {
			fast = (2*r.Close + 9*fast) / 11
			slow = (2*r.Close + 25*slow) / 27
		}
		dif := fast - slow
		if got := f.Columns["formula.DIF"][i]; math.Abs(got-dif) > 1e-9*r.Close {
			t.Fatalf("%s: DIF = %v, want %v", r.Date.Format(time.DateOnly), got, dif)
		}
		if up := f.Columns["formula.UP"][i]; (up == 1) != (dif > 0) || (up != 0 && up != 1) {
			t.Fatalf("%s: UP = %v with DIF %v", r.Date.Format(time.DateOnly), up, dif)
		}
		if i >= 4 {
			var wma float64
			for k := range 5 {
				wma += float64(k+1) * rows[i-4+k].Close
			}
			if got := f.Columns["wma"][i]; !closeTo(got, wma/15) {
				t.Fatalf("%s: wma = %v, want %v", r.Date.Format(time.DateOnly), got, wma/15)
			}
		}
	}
}

// TestContractScreen screens every bundled symbol with a formula and
// checks the matches and values against the closes.
func TestContractScreen(t *testing.T) {
	c := contractClient(t)
	daily := []string{"000001.SH", "AAPL", "SPY"} // the bundled daily symbols (the 1-minute ones have days too few for MA20)
	q := idc.ScreenQuery{Condition: idc.Formula("UP:C>MA(C,20); MA20:MA(C,20);", nil), Symbols: daily, Date: "2024-03-28"}
	resp, err := c.Screen(t.Context(), q.Request())
	if err != nil {
		t.Fatalf("Screen: %v", err)
	}
	if resp.GetOutput() != "UP" || resp.GetEvaluatedCount() != 3 || len(resp.GetSkipped()) != 0 {
		t.Fatalf("output %q, %d evaluated, skipped %v; want UP and the 3 bundled symbols", resp.GetOutput(), resp.GetEvaluatedCount(), resp.GetSkipped())
	}
	matches, names := idc.ScreenRows(resp)
	if len(matches) > 0 && !slices.Equal(names, []string{"formula.MA20", "formula.UP"}) {
		t.Errorf("value names = %v", names)
	}
	var want []string
	for _, symbol := range daily {
		rows := spyBars(t, c, symbol, q.Date)
		last := rows[len(rows)-1]
		var sum float64
		for _, r := range rows[len(rows)-20:] {
			sum += r.Close
		}
		ma := sum / 20
		i := slices.IndexFunc(matches, func(m idc.ScreenRow) bool { return m.Symbol == symbol })
		if last.Close > ma {
			want = append(want, symbol)
			if i < 0 {
				continue
			}
			m := matches[i]
			if !m.Date.Equal(last.Date) || !closeTo(m.Values["formula.MA20"], ma) || m.Values["formula.UP"] != 1 {
				t.Errorf("%s: match %+v, want the bar of %s with MA20 %v", symbol, m, last.Date.Format(time.DateOnly), ma)
			}
		}
	}
	var got []string
	for _, m := range matches {
		got = append(got, m.Symbol)
	}
	if !slices.Equal(got, want) {
		t.Errorf("matches = %v, want %v (close above its 20-bar mean on the last bar by 2024-03-28)", got, want)
	}

	// A TA-Lib pattern over a named list: every symbol evaluated, skipped or not.
	resp, err = c.Screen(t.Context(), idc.ScreenQuery{Condition: idc.Fn("talib.CDLHAMMER", nil), Symbols: []string{"spy", "AAPL"}}.Request())
	if err != nil {
		t.Fatalf("Screen(CDLHAMMER): %v", err)
	}
	if resp.GetOutput() != "integer" || int(resp.GetEvaluatedCount())+len(resp.GetSkipped()) != 2 {
		t.Errorf("Screen(CDLHAMMER) = %v; want output integer over 2 symbols", resp)
	}
	_, err = c.Screen(t.Context(), idc.ScreenQuery{Condition: idc.Fn("tdx.KDJ", nil)}.Request())
	wantCode(t, err, codes.InvalidArgument, "output")

	// Weekly and forward-adjusted: the index (which needs no adjustment) is
	// screened on its weekly bars, timed at 00:00 of a Monday in Shanghai;
	// SPY, stored adjusted without factors, is skipped.
	resp, err = c.Screen(t.Context(), idc.ScreenQuery{
		Condition: idc.Formula("D:C-MA(C,20);", nil), Symbols: []string{"SPY", "000001.SH"},
		Interval: idcv1.Interval_INTERVAL_1_WEEK, Adjustment: idcv1.Adjustment_ADJUSTMENT_FORWARD,
	}.Request())
	if err != nil {
		t.Fatalf("Screen(weekly, forward): %v", err)
	}
	if resp.GetEvaluatedCount() != 1 || len(resp.GetSkipped()) != 1 || resp.GetSkipped()[0].GetSymbol() != "SPY" {
		t.Fatalf("Screen(weekly, forward) = %v; want 000001.SH evaluated and SPY skipped", resp)
	}
	weekly, _ := idc.ScreenRows(resp)
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	if len(weekly) != 1 {
		t.Fatalf("weekly matches = %v, want 000001.SH", weekly)
	}
	if start := weekly[0].Time.In(shanghai); start.Weekday() != time.Monday || start.Hour() != 0 || start.Minute() != 0 {
		t.Errorf("weekly bar starts %v, want 00:00 of a Monday in Asia/Shanghai", start)
	}
}

// svgComments returns the comments of an SVG file, where matplotlib keeps
// the text it draws as paths (legends, tick labels).
func svgComments(t *testing.T, data []byte) []string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	var comments []string
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return comments
		}
		if err != nil {
			t.Fatalf("SVG does not parse: %v", err)
		}
		if c, ok := tok.(xml.Comment); ok {
			comments = append(comments, strings.TrimSpace(string(c)))
		}
	}
}

// TestContractChartOfAnySpec draws catalogue entries and a formula as
// panels and overlays, and checks that each is in the chart's legends.
func TestContractChartOfAnySpec(t *testing.T) {
	c := contractClient(t)
	q := idc.ChartQuery{
		Symbol: "SPY", Start: "2025-01-01", Format: idcv1.ImageFormat_IMAGE_FORMAT_SVG,
		Panels: []*idcv1.ChartPanel{
			idc.IndicatorPanel(idc.Fn("talib.ADX", idc.Params{"timeperiod": 20})),
			idc.IndicatorPanel(idc.Labeled("gap", idc.Formula("GAP:C-MA(C,5);", nil))),
		},
		Overlays: []*idcv1.ChartOverlay{
			idc.IndicatorOverlay(idc.Fn("example.DONCHIAN", nil)),
			idc.IndicatorOverlay(idc.Fn("talib.CDLDOJI", nil)),
		},
	}
	img := getChart(t, c, must(q.Request()))
	checkMeta(t, img, "image/svg+xml", 1200, 800, 100)
	comments := svgComments(t, img.Data)
	for _, legend := range []string{"ADX", "DONCHIAN", "CDLDOJI", "gap"} {
		if !slices.ContainsFunc(comments, func(c string) bool { return strings.HasPrefix(c, legend) }) {
			t.Errorf("no legend starting %q in the chart's text %q", legend, comments)
		}
	}

	q.Format, q.Width, q.Height = idcv1.ImageFormat_IMAGE_FORMAT_PNG, 900, 600
	img = getChart(t, c, must(q.Request()))
	if cfg, err := png.DecodeConfig(bytes.NewReader(img.Data)); err != nil || cfg.Width != 900 || cfg.Height != 600 {
		t.Errorf("PNG decodes to %+v, %v; want 900x600", cfg, err)
	}

	// A percent output is not a price: it belongs in a panel.
	_, err := c.GetChart(t.Context(), must(idc.ChartQuery{Overlays: []*idcv1.ChartOverlay{idc.IndicatorOverlay(idc.Fn("talib.ADX", nil))}}.Request()))
	wantCode(t, err, codes.InvalidArgument, "overlays[0].indicator")
}
