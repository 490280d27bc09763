package idc_test

import (
	"bytes"
	"crypto/sha256"
	"image/png"
	"math"
	"slices"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
	"github.com/idcrpc/idc/clients/go/idc"
	"github.com/idcrpc/idc/clients/go/internal/testenv"
)

// The contract tests call a real idc server, serving its bundled data, at
// the address in IDC_ADDR, e.g. IDC_ADDR=localhost:50051 go test ./...
// `nox -s contract` sets it (and IDC_CONTRACT, so that a missing one fails:
// see internal/testenv).

const tolerance = 1e-6

func contractClient(t *testing.T) *idc.Client {
	t.Helper()
	addr := testenv.Require(t, "IDC_ADDR", "the host:port of a running idc server")
	c, err := idc.Dial(addr, idc.WithTimeout(time.Minute))
	if err != nil {
		t.Fatalf("Dial(%q): %v", addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func getRows(t *testing.T, c *idc.Client, q idc.MACDQuery) (*idcv1.GetMACDResponse, []idc.MACDRow) {
	t.Helper()
	resp, err := c.GetMACD(t.Context(), must(q.Request()))
	if err != nil {
		t.Fatalf("GetMACD(%+v): %v", q, err)
	}
	rows, err := idc.MACDRows(resp)
	if err != nil {
		t.Fatalf("MACDRows: %v", err)
	}
	return resp, rows
}

// TestContractLargeResponse fetches a GetMACD response larger than gRPC's
// default 4 MiB receive limit, which DefaultMaxReceiveBytes lifts.
func TestContractLargeResponse(t *testing.T) {
	c := contractClient(t)
	const n = 80_000
	rows := make([]idc.Bar, n)
	day := time.Date(1800, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range rows {
		price := 100 + float64(i%500)/10
		rows[i] = idc.Bar{Date: day.AddDate(0, 0, i), Open: price, High: price + 1, Low: price - 1, Close: price, Volume: 1000}
	}
	query := idc.MACDQuery{Bars: idc.BarsFromRows(rows), Convention: idcv1.Convention_CONVENTION_TALIB}
	resp, err := c.GetMACD(t.Context(), must(query.Request()))
	if err != nil {
		t.Fatalf("GetMACD of %d inline bars: %v", n, err) // not the query: it would print every bar
	}
	if size := proto.Size(resp); size <= 4<<20 {
		t.Fatalf("response is %d bytes; the test needs more than 4 MiB", size)
	}
	if got := len(resp.GetBars().GetDates()); got != n || resp.GetFirstValidIndex() != 33 {
		t.Fatalf("got %d bars, first valid index %d; want %d and 33", got, resp.GetFirstValidIndex(), n)
	}
}

func date(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestContractGetMACD(t *testing.T) {
	c := contractClient(t)

	// The default convention's reference values from the shared expectations.
	for _, k := range expected(t).MACD {
		if k.Convention != expected(t).DefaultConvention {
			continue
		}
		t.Run("known values "+k.Symbol, func(t *testing.T) {
			resp, rows := getRows(t, c, idc.MACDQuery{Symbol: k.Symbol, Start: k.Date, End: k.Date})
			if resp.GetSymbol() != k.Symbol {
				t.Errorf("symbol = %q, want %q", resp.GetSymbol(), k.Symbol)
			}
			if len(rows) != 1 {
				t.Fatalf("got %d rows, want 1", len(rows))
			}
			r := rows[0]
			if !r.Date.Equal(date(k.Date)) {
				t.Errorf("date = %v, want %s", r.Date, k.Date)
			}
			if math.Abs(r.MACD-k.MACD) > tolerance {
				t.Errorf("macd = %.10f, want %.10f", r.MACD, k.MACD)
			}
			if math.Abs(r.Signal-k.Signal) > tolerance {
				t.Errorf("signal = %.10f, want %.10f", r.Signal, k.Signal)
			}
			if math.Abs(r.Histogram-(r.MACD-r.Signal)) > 1e-9 {
				t.Errorf("histogram = %.10f, want macd - signal = %.10f", r.Histogram, r.MACD-r.Signal)
			}
		})
	}

	t.Run("value does not depend on the window start", func(t *testing.T) {
		_, rows := getRows(t, c, idc.MACDQuery{Symbol: "SPY", Start: "2023-12-01", End: "2023-12-31"})
		last := rows[len(rows)-1]
		if !last.Date.Equal(date("2023-12-29")) || math.Abs(last.MACD-spyReference(t).MACD) > tolerance || math.Abs(last.Signal-spyReference(t).Signal) > tolerance {
			t.Errorf("last row = %+v, want 2023-12-29 macd %v signal %v", last, spyReference(t).MACD, spyReference(t).Signal)
		}
	})

	t.Run("symbol is case-insensitive", func(t *testing.T) {
		resp, rows := getRows(t, c, idc.MACDQuery{Symbol: "spy", Start: "2023-12-29", End: "2023-12-29"})
		if resp.GetSymbol() != "SPY" || len(rows) != 1 || math.Abs(rows[0].MACD-spyReference(t).MACD) > tolerance {
			t.Errorf("got symbol %q and rows %+v, want SPY's 2023-12-29 row", resp.GetSymbol(), rows)
		}
	})

	t.Run("empty request uses the defaults", func(t *testing.T) {
		resp, err := c.GetMACD(t.Context(), &idcv1.GetMACDRequest{})
		if err != nil {
			t.Fatalf("GetMACD: %v", err)
		}
		if resp.GetSymbol() != "SPY" {
			t.Errorf("symbol = %q, want SPY", resp.GetSymbol())
		}
		p := resp.GetParameters()
		if p.GetFastPeriod() != 12 || p.GetSlowPeriod() != 26 || p.GetSignalPeriod() != 9 {
			t.Errorf("parameters = %v, want 12/26/9", p)
		}
		rows, err := idc.MACDRows(resp)
		if err != nil {
			t.Fatalf("MACDRows: %v", err)
		}
		if len(rows) == 0 {
			t.Fatal("no rows")
		}
		i := slices.IndexFunc(rows, func(r idc.MACDRow) bool { return r.Date.Equal(date("2023-12-29")) })
		if i < 0 || math.Abs(rows[i].MACD-spyReference(t).MACD) > tolerance {
			t.Errorf("the whole history lacks SPY's 2023-12-29 macd %v", spyReference(t).MACD)
		}
	})

	t.Run("2023 window", func(t *testing.T) {
		_, rows := getRows(t, c, idc.MACDQuery{Symbol: "SPY", Start: "2023-01-01", End: "2023-12-31"})
		if len(rows) != 250 {
			t.Errorf("got %d bars, want 250", len(rows))
		}
		if len(rows) == 0 {
			t.FailNow()
		}
		if first := rows[0].Date; !first.Equal(date("2023-01-03")) {
			t.Errorf("first date = %s, want 2023-01-03", first.Format(time.DateOnly))
		}
		if last := rows[len(rows)-1].Date; !last.Equal(date("2023-12-29")) {
			t.Errorf("last date = %s, want 2023-12-29", last.Format(time.DateOnly))
		}
		for i, r := range rows {
			if i > 0 && !r.Date.After(rows[i-1].Date) {
				t.Errorf("row %d date %v is not after %v", i, r.Date, rows[i-1].Date)
			}
			if math.Abs(r.Histogram-(r.MACD-r.Signal)) > 1e-9 {
				t.Errorf("row %d histogram %v != macd - signal %v", i, r.Histogram, r.MACD-r.Signal)
			}
			if r.Low > r.High || r.Close <= 0 || r.Volume <= 0 {
				t.Errorf("row %d is not a plausible bar: %+v", i, r)
			}
		}
	})

	t.Run("echoes the parameters used", func(t *testing.T) {
		resp, _ := getRows(t, c, idc.MACDQuery{Symbol: "SPY", Start: "2023-12-01", End: "2023-12-31", Fast: 5})
		p := resp.GetParameters()
		if p.GetFastPeriod() != 5 || p.GetSlowPeriod() != 26 || p.GetSignalPeriod() != 9 {
			t.Errorf("parameters = %v, want 5/26/9", p)
		}
	})
}

func TestContractGetMACDGraph(t *testing.T) {
	c := contractClient(t)

	check := func(t *testing.T, img *idc.Image, width, height int) {
		t.Helper()
		if img.MediaType != "image/png" {
			t.Errorf("media type = %q, want image/png", img.MediaType)
		}
		if len(img.Data) == 0 || int64(len(img.Data)) != img.Size {
			t.Fatalf("got %d bytes, size %d", len(img.Data), img.Size)
		}
		if sum := sha256.Sum256(img.Data); !bytes.Equal(sum[:], img.SHA256) {
			t.Errorf("sha256 of the data %x != verified digest %x", sum, img.SHA256)
		}
		if img.Width != width || img.Height != height {
			t.Errorf("metadata size = %dx%d, want %dx%d", img.Width, img.Height, width, height)
		}
		decoded, err := png.Decode(bytes.NewReader(img.Data))
		if err != nil {
			t.Fatalf("png.Decode: %v", err)
		}
		if b := decoded.Bounds(); b.Dx() != width || b.Dy() != height {
			t.Errorf("decoded PNG is %dx%d, want %dx%d", b.Dx(), b.Dy(), width, height)
		}
	}

	t.Run("800x600", func(t *testing.T) {
		q := idc.MACDQuery{Symbol: "SPY", Start: "2023-01-01", End: "2023-12-31"}
		img, err := c.GetMACDGraph(t.Context(), must(q.GraphRequest(800, 600)))
		if err != nil {
			t.Fatalf("GetMACDGraph: %v", err)
		}
		check(t, img, 800, 600)
	})

	t.Run("empty request gives the default 1200x800", func(t *testing.T) {
		img, err := c.GetMACDGraph(t.Context(), &idcv1.GetMACDGraphRequest{})
		if err != nil {
			t.Fatalf("GetMACDGraph: %v", err)
		}
		check(t, img, 1200, 800)
	})

	t.Run("write to a writer", func(t *testing.T) {
		var buf bytes.Buffer
		q := idc.MACDQuery{Symbol: "000001.SH", Start: "2023-06-01", End: "2023-12-31"}
		img, err := c.WriteMACDGraph(t.Context(), must(q.GraphRequest(640, 480)), &buf)
		if err != nil {
			t.Fatalf("WriteMACDGraph: %v", err)
		}
		img.Data = buf.Bytes()
		check(t, img, 640, 480)
	})
}

func TestContractErrors(t *testing.T) {
	c := contractClient(t)

	macd := func(req *idcv1.GetMACDRequest) func() error {
		return func() error { _, err := c.GetMACD(t.Context(), req); return err }
	}
	graph := func(req *idcv1.GetMACDGraphRequest) func() error {
		return func() error { _, err := c.GetMACDGraph(t.Context(), req); return err }
	}
	cases := []struct {
		name  string
		call  func() error
		code  codes.Code
		field string // the field a BadRequest violation must name, if any
	}{
		{"malformed start_date", macd(must(idc.MACDQuery{Start: "2023-13-01"}.Request())), codes.InvalidArgument, "start_date"},
		{"end before start", macd(must(idc.MACDQuery{Start: "2023-12-31", End: "2023-01-01"}.Request())), codes.InvalidArgument, "end_date"},
		{"unknown symbol", macd(must(idc.MACDQuery{Symbol: "NOPE"}.Request())), codes.NotFound, ""},
		{"weekend window", macd(must(idc.MACDQuery{Symbol: "SPY", Start: "2023-01-07", End: "2023-01-08"}.Request())), codes.NotFound, ""},
		{"negative fast_period", macd(must(idc.MACDQuery{Fast: -1}.Request())), codes.InvalidArgument, "parameters.fast_period"},
		{"fast_period not below slow_period", macd(must(idc.MACDQuery{Fast: 26, Slow: 12}.Request())), codes.InvalidArgument, "parameters.fast_period"},
		{"graph width_px too small", graph(must(idc.MACDQuery{}.GraphRequest(50, 0))), codes.InvalidArgument, "width_px"},
		{"graph malformed start_date", graph(must(idc.MACDQuery{Start: "2023-13-01"}.GraphRequest(0, 0))), codes.InvalidArgument, "start_date"},
		{"graph unknown symbol", graph(must(idc.MACDQuery{Symbol: "NOPE"}.GraphRequest(0, 0))), codes.NotFound, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if got := status.Code(err); got != tc.code {
				t.Fatalf("status.Code = %v, want %v (error: %v)", got, tc.code, err)
			}
			if tc.field == "" {
				return
			}
			fv := idc.FieldViolations(err)
			if !slices.ContainsFunc(fv, func(v *errdetails.BadRequest_FieldViolation) bool { return v.GetField() == tc.field }) {
				t.Errorf("FieldViolations = %v, want one naming %q (error: %v)", fv, tc.field, err)
			}
		})
	}

	t.Run("a normal call still succeeds", func(t *testing.T) {
		_, rows := getRows(t, c, idc.MACDQuery{Symbol: "SPY", Start: "2023-12-29", End: "2023-12-29"})
		if len(rows) != 1 || math.Abs(rows[0].MACD-spyReference(t).MACD) > tolerance {
			t.Errorf("rows = %+v, want SPY's 2023-12-29 row", rows)
		}
		if _, err := c.GetMACDGraph(t.Context(), must(idc.MACDQuery{}.GraphRequest(400, 300))); err != nil {
			t.Errorf("GetMACDGraph: %v", err)
		}
	})
}

// exact is the tolerance of values that two computations must agree on to
// rounding error.
const exact = 1e-9

var (
	talib = idcv1.Convention_CONVENTION_TALIB
	tdx   = idcv1.Convention_CONVENTION_TDX
)

// wantCode fails t unless err has the gRPC code and, when field is not
// empty, a BadRequest field violation naming field.
func wantCode(t *testing.T, err error, code codes.Code, field string) {
	t.Helper()
	if got := status.Code(err); got != code {
		t.Fatalf("status.Code = %v, want %v (error: %v)", got, code, err)
	}
	if field == "" {
		return
	}
	fv := idc.FieldViolations(err)
	if !slices.ContainsFunc(fv, func(v *errdetails.BadRequest_FieldViolation) bool { return v.GetField() == field }) {
		t.Errorf("FieldViolations = %v, want one naming %q (error: %v)", fv, field, err)
	}
}

func TestContractListSymbols(t *testing.T) {
	c := contractClient(t)
	resp, err := c.ListSymbols(t.Context())
	if err != nil {
		t.Fatalf("ListSymbols: %v", err)
	}

	t.Run("bundled symbols", func(t *testing.T) {
		want := expected(t).Symbols.List
		got := resp.GetSymbols()
		if len(got) != len(want) {
			t.Fatalf("got %d symbols %v, want %d", len(got), got, len(want))
		}
		for i, w := range want {
			s := got[i]
			if s.GetSymbol() != w.Symbol || s.GetBarCount() != w.BarCount {
				t.Errorf("symbol %d = %s with %d bars, want %s with %d", i, s.GetSymbol(), s.GetBarCount(), w.Symbol, w.BarCount)
			}
			first, err1 := time.Parse(time.DateOnly, s.GetFirstDate())
			last, err2 := time.Parse(time.DateOnly, s.GetLastDate())
			if err1 != nil || err2 != nil || first.After(last) {
				t.Errorf("%s dates %q..%q are not YYYY-MM-DD in order", s.GetSymbol(), s.GetFirstDate(), s.GetLastDate())
			}
		}
	})

	t.Run("SPY dates and default symbol", func(t *testing.T) {
		i := slices.IndexFunc(resp.GetSymbols(), func(s *idcv1.SymbolInfo) bool { return s.GetSymbol() == "SPY" })
		if i < 0 {
			t.Fatal("no SPY")
		}
		spy := resp.GetSymbols()[i]
		if spy.GetFirstDate() != "1993-01-29" || spy.GetLastDate() != "2026-03-27" {
			t.Errorf("SPY dates = %s..%s, want 1993-01-29..2026-03-27", spy.GetFirstDate(), spy.GetLastDate())
		}
		if resp.GetDefaultSymbol() != "SPY" {
			t.Errorf("default_symbol = %q, want SPY", resp.GetDefaultSymbol())
		}
	})

	t.Run("agrees with GetMACD", func(t *testing.T) {
		for _, s := range resp.GetSymbols() {
			_, rows := getRows(t, c, idc.MACDQuery{Symbol: s.GetSymbol(), Interval: s.GetInterval()}) // as stored
			if len(rows) != int(s.GetBarCount()) {
				t.Errorf("%s: GetMACD gives %d bars, ListSymbols %d", s.GetSymbol(), len(rows), s.GetBarCount())
				continue
			}
			if f, l := rows[0].Date.Format(time.DateOnly), rows[len(rows)-1].Date.Format(time.DateOnly); f != s.GetFirstDate() || l != s.GetLastDate() {
				t.Errorf("%s: GetMACD covers %s..%s, ListSymbols %s..%s", s.GetSymbol(), f, l, s.GetFirstDate(), s.GetLastDate())
			}
		}
	})
}

func TestContractConvention(t *testing.T) {
	c := contractClient(t)

	t.Run("TALIB whole history has 33 warm-up bars", func(t *testing.T) {
		resp, rows := getRows(t, c, idc.MACDQuery{Symbol: "SPY", Convention: talib})
		if resp.GetConvention() != talib {
			t.Errorf("convention = %v, want TALIB", resp.GetConvention())
		}
		if n := len(resp.GetBars().GetDates()); n != 8347 {
			t.Errorf("got %d bars, want 8347", n)
		}
		if resp.GetFirstValidIndex() != 33 || len(resp.GetMacd()) != 8347-33 {
			t.Errorf("first_valid_index = %d with %d macd values, want 33 with %d", resp.GetFirstValidIndex(), len(resp.GetMacd()), 8347-33)
		}
		if len(rows) > 33 && (rows[32].Valid || !math.IsNaN(rows[32].MACD) || !rows[33].Valid) {
			t.Errorf("rows 32 and 33 = %+v, %+v; want the first valid row at 33", rows[32], rows[33])
		}
	})

	t.Run("TDX whole history has no warm-up bars", func(t *testing.T) {
		resp, _ := getRows(t, c, idc.MACDQuery{Symbol: "SPY", Convention: tdx})
		if resp.GetConvention() != tdx {
			t.Errorf("convention = %v, want TDX", resp.GetConvention())
		}
		if resp.GetFirstValidIndex() != 0 || len(resp.GetMacd()) != 8347 {
			t.Errorf("first_valid_index = %d with %d macd values, want 0 with 8347", resp.GetFirstValidIndex(), len(resp.GetMacd()))
		}
	})

	t.Run("unspecified reports the convention used", func(t *testing.T) {
		resp, _ := getRows(t, c, idc.MACDQuery{Symbol: "SPY", Start: "2023-12-29", End: "2023-12-29"})
		if resp.GetConvention() == idcv1.Convention_CONVENTION_UNSPECIFIED {
			t.Errorf("convention = UNSPECIFIED, want the one used")
		}
	})

	type knownQuery struct {
		name                    string
		q                       idc.MACDQuery
		macd, signal, histogram float64
	}
	var known []knownQuery
	for _, k := range expected(t).MACD {
		q := idc.MACDQuery{Symbol: k.Symbol, Start: k.Date, End: k.Date, Convention: conventionNamed(t, k.Convention)}
		known = append(known, knownQuery{k.Name, q, k.MACD, k.Signal, k.Histogram})
	}
	for _, k := range known {
		t.Run("known values "+k.name, func(t *testing.T) {
			resp, rows := getRows(t, c, k.q)
			if len(rows) != 1 || !rows[0].Valid {
				t.Fatalf("rows = %+v, want one valid row", rows)
			}
			r := rows[0]
			if r.Date.Format(time.DateOnly) != k.q.Start {
				t.Errorf("date = %s, want %s", r.Date.Format(time.DateOnly), k.q.Start)
			}
			if resp.GetConvention() != k.q.Convention {
				t.Errorf("convention = %v, want %v", resp.GetConvention(), k.q.Convention)
			}
			if math.Abs(r.MACD-k.macd) > tolerance || math.Abs(r.Signal-k.signal) > tolerance || math.Abs(r.Histogram-k.histogram) > tolerance {
				t.Errorf("macd, signal, histogram = %.10f, %.10f, %.10f; want %.10f, %.10f, %.10f",
					r.MACD, r.Signal, r.Histogram, k.macd, k.signal, k.histogram)
			}
			factor := 1.0
			if k.q.Convention == tdx {
				factor = 2 // 通达信's MACD bar
			}
			if math.Abs(r.Histogram-factor*(r.MACD-r.Signal)) > exact {
				t.Errorf("histogram %.10f != %v * (macd - signal) = %.10f", r.Histogram, factor, factor*(r.MACD-r.Signal))
			}
		})
	}

	t.Run("TDX histogram is twice macd - signal over a year", func(t *testing.T) {
		_, rows := getRows(t, c, idc.MACDQuery{Symbol: "000001.SH", Start: "2025-01-01", End: "2025-12-31", Convention: tdx})
		for _, r := range rows {
			if !r.Valid || math.Abs(r.Histogram-2*(r.MACD-r.Signal)) > exact {
				t.Fatalf("row %+v: histogram is not 2 * (macd - signal)", r)
			}
		}
	})

	// The window is cut from the values over the whole series, so a window
	// that starts inside the warm-up has a smaller first_valid_index and
	// the same values.
	t.Run("window inside the warm-up", func(t *testing.T) {
		whole, all := getRows(t, c, idc.MACDQuery{Symbol: "SPY", Convention: talib})
		if whole.GetFirstValidIndex() != 33 || len(all) < 60 {
			t.Fatalf("first_valid_index %d over %d bars, want 33", whole.GetFirstValidIndex(), len(all))
		}
		day := func(i int) string { return all[i].Date.Format(time.DateOnly) }

		resp, rows := getRows(t, c, idc.MACDQuery{Symbol: "SPY", Start: day(5), End: day(50), Convention: talib})
		if resp.GetFirstValidIndex() != 28 || len(rows) != 46 {
			t.Fatalf("window of bars 5-50: first_valid_index %d over %d bars, want 28 over 46", resp.GetFirstValidIndex(), len(rows))
		}
		for k, r := range rows {
			w := all[5+k]
			if !r.Date.Equal(w.Date) || r.Valid != w.Valid {
				t.Fatalf("row %d = %+v, want %+v", k, r, w)
			}
			if r.Valid && (math.Abs(r.MACD-w.MACD) > exact || math.Abs(r.Signal-w.Signal) > exact || math.Abs(r.Histogram-w.Histogram) > exact) {
				t.Errorf("row %d (%s) = %v %v %v, whole history has %v %v %v", k, day(5+k), r.MACD, r.Signal, r.Histogram, w.MACD, w.Signal, w.Histogram)
			}
		}

		resp, rows = getRows(t, c, idc.MACDQuery{Symbol: "SPY", End: day(9), Convention: talib})
		if resp.GetFirstValidIndex() != 10 || len(rows) != 10 || len(resp.GetMacd()) != 0 {
			t.Errorf("window of bars 0-9: first_valid_index %d over %d bars with %d macd values, want 10 over 10 with 0",
				resp.GetFirstValidIndex(), len(rows), len(resp.GetMacd()))
		}
	})
}

// indicatorSpecs are the indicators of the 2023 ComputeIndicators checks,
// and indicatorNames their series names.
var (
	indicatorSpecs = func() []*idcv1.IndicatorSpec {
		return []*idcv1.IndicatorSpec{
			idc.Labeled("sma20", idc.SMA(20)), idc.EMA(0), idc.MACD(0, 0, 0), idc.RSI(0), idc.Bollinger(0, 0), idc.KDJ(0, 0, 0),
		}
	}
	indicatorNames = []string{
		"sma20", "ema", "macd.macd", "macd.signal", "macd.histogram", "rsi",
		"boll.upper", "boll.middle", "boll.lower", "kdj.k", "kdj.d", "kdj.j",
	}
)

func computeFrame(t *testing.T, c *idc.Client, q idc.IndicatorQuery) (*idcv1.ComputeIndicatorsResponse, *idc.Frame) {
	t.Helper()
	resp, err := c.ComputeIndicators(t.Context(), must(q.Request()))
	if err != nil {
		t.Fatalf("ComputeIndicators: %v", err)
	}
	f, err := idc.IndicatorFrame(resp)
	if err != nil {
		t.Fatalf("IndicatorFrame: %v", err)
	}
	return resp, f
}

func TestContractComputeIndicators(t *testing.T) {
	c := contractClient(t)

	for _, conv := range []idcv1.Convention{talib, tdx} {
		t.Run("SPY 2023 "+conv.String(), func(t *testing.T) {
			q := idc.IndicatorQuery{Symbol: "SPY", Start: "2023-01-01", End: "2023-12-31", Convention: conv, Indicators: indicatorSpecs()}
			resp, f := computeFrame(t, c, q)
			if resp.GetSymbol() != "SPY" || resp.GetConvention() != conv {
				t.Errorf("symbol, convention = %q, %v; want SPY, %v", resp.GetSymbol(), resp.GetConvention(), conv)
			}
			if !slices.Equal(f.Names, indicatorNames) {
				t.Fatalf("series names = %v, want %v", f.Names, indicatorNames)
			}
			if len(f.Dates) != 250 || !f.Dates[0].Equal(date("2023-01-03")) || !f.Dates[249].Equal(date("2023-12-29")) {
				t.Fatalf("got %d dates, want 250 from 2023-01-03 to 2023-12-29", len(f.Dates))
			}
			for _, s := range resp.GetSeries() {
				if s.GetFirstValidIndex() != 0 {
					t.Errorf("series %s starts at %d, want 0: 2023 is long after the warm-up", s.GetName(), s.GetFirstValidIndex())
				}
			}

			// The same window from GetMACD gives the closes and the MACD.
			mresp, rows := getRows(t, c, idc.MACDQuery{Symbol: "SPY", Start: "2023-01-01", End: "2023-12-31", Convention: conv})
			if mresp.GetConvention() != conv || len(rows) != len(f.Dates) {
				t.Fatalf("GetMACD: %v with %d rows, want %v with %d", mresp.GetConvention(), len(rows), conv, len(f.Dates))
			}
			col := f.Columns
			for i, r := range rows {
				if !r.Date.Equal(f.Dates[i]) {
					t.Fatalf("date %d: GetMACD %v, ComputeIndicators %v", i, r.Date, f.Dates[i])
				}
				if math.Abs(col["macd.macd"][i]-r.MACD) > exact || math.Abs(col["macd.signal"][i]-r.Signal) > exact ||
					math.Abs(col["macd.histogram"][i]-r.Histogram) > exact {
					t.Errorf("%s: macd.* = %v %v %v, GetMACD %v %v %v", r.Date.Format(time.DateOnly),
						col["macd.macd"][i], col["macd.signal"][i], col["macd.histogram"][i], r.MACD, r.Signal, r.Histogram)
				}
				if i > 0 { // EMA(20) recurrence with alpha = 2 / 21
					want := col["ema"][i-1] + 2.0/21*(r.Close-col["ema"][i-1])
					if math.Abs(col["ema"][i]-want) > exact {
						t.Errorf("%s: ema = %v, want %v from the previous ema and the close", r.Date.Format(time.DateOnly), col["ema"][i], want)
					}
				}
				if math.Abs(col["boll.middle"][i]-col["sma20"][i]) > exact {
					t.Errorf("%s: boll.middle %v != sma20 %v", r.Date.Format(time.DateOnly), col["boll.middle"][i], col["sma20"][i])
				}
				if !(col["boll.upper"][i] >= col["boll.middle"][i] && col["boll.middle"][i] >= col["boll.lower"][i]) {
					t.Errorf("%s: bands not in order: %v %v %v", r.Date.Format(time.DateOnly), col["boll.upper"][i], col["boll.middle"][i], col["boll.lower"][i])
				}
				for _, name := range []string{"rsi", "kdj.k", "kdj.d"} {
					if v := col[name][i]; !(v >= 0 && v <= 100) {
						t.Errorf("%s: %s = %v, want 0-100", r.Date.Format(time.DateOnly), name, v)
					}
				}
				if j := col["kdj.j"][i]; math.Abs(j-(3*col["kdj.k"][i]-2*col["kdj.d"][i])) > exact {
					t.Errorf("%s: kdj.j = %v, want 3K - 2D", r.Date.Format(time.DateOnly), j)
				}
			}
		})
	}

	t.Run("sma20 is the mean of the last 20 closes", func(t *testing.T) {
		_, f := computeFrame(t, c, idc.IndicatorQuery{Symbol: "SPY", Start: "2023-12-29", End: "2023-12-29", Indicators: indicatorSpecs()[:1]})
		if len(f.Dates) != 1 || !f.Dates[0].Equal(date("2023-12-29")) {
			t.Fatalf("dates = %v, want 2023-12-29", f.Dates)
		}
		_, rows := getRows(t, c, idc.MACDQuery{Symbol: "SPY", Start: "2023-11-01", End: "2023-12-29"})
		if len(rows) < 20 {
			t.Fatalf("got %d closes, want at least 20", len(rows))
		}
		var sum float64
		for _, r := range rows[len(rows)-20:] {
			sum += r.Close
		}
		if got, want := f.Columns["sma20"][0], sum/20; math.Abs(got-want) > exact {
			t.Errorf("sma20 on 2023-12-29 = %.12f, want %.12f", got, want)
		}
	})

	t.Run("TALIB warm-up of each indicator", func(t *testing.T) {
		q := idc.IndicatorQuery{Symbol: "SPY", End: "1993-12-31", Convention: talib, Indicators: indicatorSpecs()}
		resp, f := computeFrame(t, c, q)
		want := map[string]int32{
			"sma20": 19, "ema": 19, "macd.macd": 33, "macd.signal": 33, "macd.histogram": 33, "rsi": 14,
			"boll.upper": 19, "boll.middle": 19, "boll.lower": 19, "kdj.k": 8, "kdj.d": 8, "kdj.j": 8,
		}
		for _, s := range resp.GetSeries() {
			if w, ok := want[s.GetName()]; !ok || s.GetFirstValidIndex() != w {
				t.Errorf("series %s starts at %d, want %d", s.GetName(), s.GetFirstValidIndex(), w)
			}
		}
		if v := f.Columns["sma20"]; len(v) < 20 || !math.IsNaN(v[18]) || math.IsNaN(v[19]) {
			t.Errorf("sma20 column is not NaN up to bar 18 and a value from bar 19")
		}
	})
}

func TestContractInlineBars(t *testing.T) {
	c := contractClient(t)
	whole, _ := getRows(t, c, idc.MACDQuery{Symbol: "SPY", Convention: talib})
	all := whole.GetBars()

	// cut returns SPY's bars from start to end, inclusive.
	cut := func(start, end string) *idcv1.Bars {
		from, to := idc.EpochDay(date(start)), idc.EpochDay(date(end))
		i, _ := slices.BinarySearch(all.GetDates(), from)
		j, _ := slices.BinarySearch(all.GetDates(), to+1)
		return &idcv1.Bars{
			Dates: all.GetDates()[i:j], Open: all.GetOpen()[i:j], High: all.GetHigh()[i:j],
			Low: all.GetLow()[i:j], Close: all.GetClose()[i:j], Volume: all.GetVolume()[i:j],
		}
	}
	sameMACD := func(t *testing.T, got, want []idc.MACDRow) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("got %d rows, want %d", len(got), len(want))
		}
		for i := range got {
			g, w := got[i], want[i]
			if !g.Date.Equal(w.Date) || g.Valid != w.Valid || g.Close != w.Close {
				t.Fatalf("row %d = %+v, want %+v", i, g, w)
			}
			if w.Valid && (math.Abs(g.MACD-w.MACD) > exact || math.Abs(g.Signal-w.Signal) > exact || math.Abs(g.Histogram-w.Histogram) > exact) {
				t.Errorf("%s: %v %v %v, want %v %v %v", g.Date.Format(time.DateOnly), g.MACD, g.Signal, g.Histogram, w.MACD, w.Signal, w.Histogram)
			}
		}
	}

	for _, conv := range []idcv1.Convention{talib, tdx} {
		t.Run("whole history inline equals the symbol "+conv.String(), func(t *testing.T) {
			q := idc.MACDQuery{Symbol: "SPY", Start: "2015-01-01", End: "2023-12-31", Convention: conv}
			sresp, want := getRows(t, c, q)
			q.Symbol, q.Bars = "", all // a query takes one source
			iresp, got := getRows(t, c, q)
			if iresp.GetSymbol() != "" {
				t.Errorf("symbol = %q, want empty for inline bars", iresp.GetSymbol())
			}
			if iresp.GetFirstValidIndex() != sresp.GetFirstValidIndex() || iresp.GetConvention() != conv {
				t.Errorf("first_valid_index, convention = %d, %v; want %d, %v", iresp.GetFirstValidIndex(), iresp.GetConvention(), sresp.GetFirstValidIndex(), conv)
			}
			sameMACD(t, got, want)
		})
	}

	t.Run("2015-2023 inline bars converge to the symbol's values", func(t *testing.T) {
		bars := cut("2015-01-01", "2023-12-31")
		iresp, got := getRows(t, c, idc.MACDQuery{Bars: bars, Convention: talib})
		if len(got) != len(bars.GetDates()) || iresp.GetFirstValidIndex() != 33 {
			t.Fatalf("got %d rows from %d inline bars, first_valid_index %d; want all, 33", len(got), len(bars.GetDates()), iresp.GetFirstValidIndex())
		}
		_, want := getRows(t, c, idc.MACDQuery{Symbol: "SPY", Start: "2023-12-01", End: "2023-12-31", Convention: talib})
		sameMACD(t, got[len(got)-len(want):], want)
	})

	t.Run("inline bars from rows", func(t *testing.T) {
		_, rows := getRows(t, c, idc.MACDQuery{Symbol: "SPY", Start: "2015-01-01", End: "2023-12-31"})
		in := make([]idc.Bar, len(rows))
		for i, r := range rows {
			in[i] = idc.Bar{Date: r.Date, Open: r.Open, High: r.High, Low: r.Low, Close: r.Close, Volume: r.Volume}
		}
		_, got := getRows(t, c, idc.MACDQuery{Bars: idc.BarsFromRows(in), Start: "2023-12-29", Convention: talib})
		if len(got) != 1 || !got[0].Valid || math.Abs(got[0].MACD-spyReference(t).MACD) > tolerance || math.Abs(got[0].Signal-spyReference(t).Signal) > tolerance {
			t.Errorf("rows = %+v, want SPY's 2023-12-29 macd %v signal %v", got, spyReference(t).MACD, spyReference(t).Signal)
		}
	})

	t.Run("ComputeIndicators on inline bars", func(t *testing.T) {
		bars := cut("2023-01-01", "2023-12-31")
		q := idc.IndicatorQuery{Bars: bars, Convention: talib, Indicators: []*idcv1.IndicatorSpec{idc.Labeled("sma20", idc.SMA(20)), idc.RSI(14)}}
		resp, f := computeFrame(t, c, q)
		if resp.GetSymbol() != "" {
			t.Errorf("symbol = %q, want empty for inline bars", resp.GetSymbol())
		}
		if !slices.Equal(resp.GetDates(), bars.GetDates()) {
			t.Fatalf("dates differ from the inline bars'")
		}
		if !slices.Equal(f.Names, []string{"sma20", "rsi"}) {
			t.Fatalf("names = %v, want [sma20 rsi]", f.Names)
		}
		if s := resp.GetSeries(); s[0].GetFirstValidIndex() != 19 || s[1].GetFirstValidIndex() != 14 {
			t.Errorf("first_valid_index = %d, %d; want 19, 14", s[0].GetFirstValidIndex(), s[1].GetFirstValidIndex())
		}
		closes := bars.GetClose()
		for i := 19; i < len(closes); i++ {
			var sum float64
			for _, v := range closes[i-19 : i+1] {
				sum += v
			}
			if got := f.Columns["sma20"][i]; math.Abs(got-sum/20) > exact {
				t.Errorf("bar %d: sma20 = %v, want %v", i, got, sum/20)
			}
		}
	})

	t.Run("graph of inline bars", func(t *testing.T) {
		img, err := c.GetMACDGraph(t.Context(), must(idc.MACDQuery{Bars: cut("2023-01-01", "2023-12-31")}.GraphRequest(400, 300)))
		if err != nil {
			t.Fatalf("GetMACDGraph: %v", err)
		}
		if _, err := png.Decode(bytes.NewReader(img.Data)); err != nil || img.Width != 400 || img.Height != 300 {
			t.Errorf("got a %dx%d image (%v), want a 400x300 PNG", img.Width, img.Height, err)
		}
	})
}

// syntheticBars returns n daily bars that pass the server's checks.
func syntheticBars(n int) *idcv1.Bars {
	rows := make([]idc.Bar, n)
	for i := range rows {
		p := 100 + 10*math.Sin(float64(i)/5)
		rows[i] = idc.Bar{Date: date("2020-01-01").AddDate(0, 0, i), Open: p, High: p + 1, Low: p - 1, Close: p + 0.5, Volume: 1000 + float64(i)}
	}
	return idc.BarsFromRows(rows)
}

func TestContractInvalidInputs(t *testing.T) {
	c := contractClient(t)

	// Each request source is tried with GetMACD, GetMACDGraph and
	// ComputeIndicators.
	badBars := []struct {
		name   string
		mutate func(*idcv1.Bars)
		field  string
	}{
		{"NaN close", func(b *idcv1.Bars) { b.Close[5] = math.NaN() }, "inline_bars.close"},
		{"short volume", func(b *idcv1.Bars) { b.Volume = b.Volume[:len(b.Volume)-1] }, "inline_bars.volume"},
		{"dates not increasing", func(b *idcv1.Bars) { b.Dates[10] = b.Dates[9] }, "inline_bars.dates"},
		{"high below low", func(b *idcv1.Bars) { b.High[3] = b.Low[3] - 1 }, "inline_bars.high"},
	}
	for _, tc := range badBars {
		bars := syntheticBars(40)
		tc.mutate(bars)
		t.Run(tc.name+" GetMACD", func(t *testing.T) {
			_, err := c.GetMACD(t.Context(), must(idc.MACDQuery{Bars: bars}.Request()))
			wantCode(t, err, codes.InvalidArgument, tc.field)
		})
		t.Run(tc.name+" GetMACDGraph", func(t *testing.T) {
			_, err := c.GetMACDGraph(t.Context(), must(idc.MACDQuery{Bars: bars}.GraphRequest(0, 0)))
			wantCode(t, err, codes.InvalidArgument, tc.field)
		})
		t.Run(tc.name+" ComputeIndicators", func(t *testing.T) {
			_, err := c.ComputeIndicators(t.Context(), must(idc.IndicatorQuery{Bars: bars, Indicators: []*idcv1.IndicatorSpec{idc.SMA(5)}}.Request()))
			wantCode(t, err, codes.InvalidArgument, tc.field)
		})
	}

	compute := func(q idc.IndicatorQuery) func() error {
		return func() error { _, err := c.ComputeIndicators(t.Context(), must(q.Request())); return err }
	}
	spy := func(specs ...*idcv1.IndicatorSpec) idc.IndicatorQuery {
		return idc.IndicatorQuery{Symbol: "SPY", Start: "2023-01-01", End: "2023-12-31", Indicators: specs}
	}
	stdDev9 := idc.Bollinger(20, 2)
	stdDev9.GetBoll().StdDev = idcv1.StdDev(9)
	badConvention := spy(idc.SMA(20))
	badConvention.Convention = idcv1.Convention(7)
	tenBars := idc.IndicatorQuery{Bars: syntheticBars(10), Indicators: []*idcv1.IndicatorSpec{idc.SMA(50)}}
	cases := []struct {
		name  string
		call  func() error
		code  codes.Code
		field string
	}{
		{"no indicators", compute(spy()), codes.InvalidArgument, "indicators"},
		{"nil request", func() error { _, err := c.ComputeIndicators(t.Context(), nil); return err }, codes.InvalidArgument, "indicators"},
		{"spec with nothing set", compute(spy(&idcv1.IndicatorSpec{})), codes.InvalidArgument, "indicators[0]"},
		{"sma period -1", compute(spy(idc.SMA(-1))), codes.InvalidArgument, "indicators[0].sma.period"},
		{"macd fast not below slow", compute(spy(idc.MACD(26, 12, 0))), codes.InvalidArgument, "indicators[0].macd.fast_period"},
		{"boll k -1", compute(spy(idc.Bollinger(20, -1))), codes.InvalidArgument, "indicators[0].boll.k"},
		{"boll std_dev 9", compute(spy(stdDev9)), codes.InvalidArgument, "indicators[0].boll.std_dev"},
		{"sma period longer than the inline bars", compute(tenBars), codes.InvalidArgument, "indicators[0].sma.period"},
		{"rsi period as long as the inline bars in the second spec", compute(idc.IndicatorQuery{
			Bars: syntheticBars(10), Indicators: []*idcv1.IndicatorSpec{idc.SMA(2), idc.RSI(10)},
		}), codes.InvalidArgument, "indicators[1].rsi.period"},
		{"rsi period in the second spec", compute(spy(idc.SMA(20), idc.RSI(-3))), codes.InvalidArgument, "indicators[1].rsi.period"},
		{"unknown convention", compute(badConvention), codes.InvalidArgument, "convention"},
		{"unknown convention GetMACD", func() error {
			_, err := c.GetMACD(t.Context(), must(idc.MACDQuery{Convention: idcv1.Convention(7)}.Request()))
			return err
		}, codes.InvalidArgument, "convention"},
		{"unknown convention GetMACDGraph", func() error {
			_, err := c.GetMACDGraph(t.Context(), must(idc.MACDQuery{Convention: idcv1.Convention(7)}.GraphRequest(0, 0)))
			return err
		}, codes.InvalidArgument, "convention"},
		{"duplicate labels", compute(spy(idc.Labeled("x", idc.SMA(5)), idc.Labeled("x", idc.EMA(5)))), codes.InvalidArgument, "indicators[1].label"},
		{"duplicate default labels", compute(spy(idc.SMA(5), idc.SMA(20))), codes.InvalidArgument, "indicators[1].label"},
		{"bad label", compute(spy(idc.Labeled("Bad-Label", idc.SMA(5)))), codes.InvalidArgument, "indicators[0].label"},
		{"GetMACD slow period longer than 20 inline bars", func() error {
			_, err := c.GetMACD(t.Context(), must(idc.MACDQuery{Bars: syntheticBars(20)}.Request()))
			return err
		}, codes.InvalidArgument, "parameters.slow_period"},
		{"GetMACDGraph slow period longer than 20 inline bars", func() error {
			_, err := c.GetMACDGraph(t.Context(), must(idc.MACDQuery{Bars: syntheticBars(20)}.GraphRequest(0, 0)))
			return err
		}, codes.InvalidArgument, "parameters.slow_period"},
		{"malformed start_date", compute(idc.IndicatorQuery{Start: "2023-02-30", Indicators: []*idcv1.IndicatorSpec{idc.SMA(5)}}), codes.InvalidArgument, "start_date"},
		{"unknown symbol", compute(idc.IndicatorQuery{Symbol: "NOPE", Indicators: []*idcv1.IndicatorSpec{idc.SMA(5)}}), codes.NotFound, ""},
		{"weekend window", compute(idc.IndicatorQuery{Symbol: "SPY", Start: "2023-01-07", End: "2023-01-08", Indicators: []*idcv1.IndicatorSpec{idc.SMA(5)}}), codes.NotFound, ""},
		{"window outside the inline bars", compute(idc.IndicatorQuery{Bars: syntheticBars(40), Start: "2024-01-01", Indicators: []*idcv1.IndicatorSpec{idc.SMA(5)}}), codes.NotFound, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, tc.call(), tc.code, tc.field)
		})
	}

	t.Run("a normal call still succeeds", func(t *testing.T) {
		_, f := computeFrame(t, c, spy(indicatorSpecs()...))
		if len(f.Dates) != 250 || !slices.Equal(f.Names, indicatorNames) {
			t.Errorf("got %d dates and names %v, want 250 and %v", len(f.Dates), f.Names, indicatorNames)
		}
		if _, rows := getRows(t, c, idc.MACDQuery{Symbol: "SPY", Start: "2023-12-29", End: "2023-12-29"}); len(rows) != 1 || math.Abs(rows[0].MACD-spyReference(t).MACD) > tolerance {
			t.Errorf("rows = %+v, want SPY's 2023-12-29 row", rows)
		}
		if resp, err := c.ListSymbols(t.Context()); err != nil || len(resp.GetSymbols()) != len(expected(t).Symbols.List) {
			t.Errorf("ListSymbols = %v, %v; want the %d bundled symbols", resp, err, len(expected(t).Symbols.List))
		}
	})
}
