package idc_test

import (
	"bytes"
	"crypto/sha256"
	"image/png"
	"math"
	"os"
	"slices"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
	"github.com/idcrpc/idc/clients/go/idc"
)

// The contract tests call a real idc server, serving its bundled data, at
// the address in IDC_ADDR, e.g. IDC_ADDR=localhost:50051 go test ./...

const tolerance = 1e-6

func contractClient(t *testing.T) *idc.Client {
	t.Helper()
	addr := os.Getenv("IDC_ADDR")
	if addr == "" {
		t.Skip("contract tests need a running idc server: set IDC_ADDR=host:port to run them")
	}
	c, err := idc.Dial(addr, idc.WithTimeout(time.Minute))
	if err != nil {
		t.Fatalf("Dial(%q): %v", addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func getRows(t *testing.T, c *idc.Client, q idc.MACDQuery) (*idcv1.GetMACDResponse, []idc.MACDRow) {
	t.Helper()
	resp, err := c.GetMACD(t.Context(), q.Request())
	if err != nil {
		t.Fatalf("GetMACD(%+v): %v", q, err)
	}
	rows, err := idc.MACDRows(resp)
	if err != nil {
		t.Fatalf("MACDRows: %v", err)
	}
	return resp, rows
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

	known := []struct {
		symbol       string
		macd, signal float64
	}{
		{"SPY", 7.4880921771, 7.5222453641},
		{"000001.SH", -22.8746222612, -27.6650371902},
	}
	for _, k := range known {
		t.Run("known values "+k.symbol, func(t *testing.T) {
			resp, rows := getRows(t, c, idc.MACDQuery{Symbol: k.symbol, Start: "2023-12-29", End: "2023-12-29"})
			if resp.GetSymbol() != k.symbol {
				t.Errorf("symbol = %q, want %q", resp.GetSymbol(), k.symbol)
			}
			if len(rows) != 1 {
				t.Fatalf("got %d rows, want 1", len(rows))
			}
			r := rows[0]
			if !r.Date.Equal(date("2023-12-29")) {
				t.Errorf("date = %v, want 2023-12-29", r.Date)
			}
			if math.Abs(r.MACD-k.macd) > tolerance {
				t.Errorf("macd = %.10f, want %.10f", r.MACD, k.macd)
			}
			if math.Abs(r.Signal-k.signal) > tolerance {
				t.Errorf("signal = %.10f, want %.10f", r.Signal, k.signal)
			}
			if math.Abs(r.Histogram-(r.MACD-r.Signal)) > 1e-9 {
				t.Errorf("histogram = %.10f, want macd - signal = %.10f", r.Histogram, r.MACD-r.Signal)
			}
		})
	}

	t.Run("value does not depend on the window start", func(t *testing.T) {
		_, rows := getRows(t, c, idc.MACDQuery{Symbol: "SPY", Start: "2023-12-01", End: "2023-12-31"})
		last := rows[len(rows)-1]
		if !last.Date.Equal(date("2023-12-29")) || math.Abs(last.MACD-7.4880921771) > tolerance || math.Abs(last.Signal-7.5222453641) > tolerance {
			t.Errorf("last row = %+v, want 2023-12-29 macd 7.4880921771 signal 7.5222453641", last)
		}
	})

	t.Run("symbol is case-insensitive", func(t *testing.T) {
		resp, rows := getRows(t, c, idc.MACDQuery{Symbol: "spy", Start: "2023-12-29", End: "2023-12-29"})
		if resp.GetSymbol() != "SPY" || len(rows) != 1 || math.Abs(rows[0].MACD-7.4880921771) > tolerance {
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
		if i < 0 || math.Abs(rows[i].MACD-7.4880921771) > tolerance {
			t.Errorf("the whole history lacks SPY's 2023-12-29 macd 7.4880921771")
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
		img, err := c.GetMACDGraph(t.Context(), q.GraphRequest(800, 600))
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
		img, err := c.WriteMACDGraph(t.Context(), q.GraphRequest(640, 480), &buf)
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
		{"malformed start_date", macd(idc.MACDQuery{Start: "2023-13-01"}.Request()), codes.InvalidArgument, "start_date"},
		{"end before start", macd(idc.MACDQuery{Start: "2023-12-31", End: "2023-01-01"}.Request()), codes.InvalidArgument, "end_date"},
		{"unknown symbol", macd(idc.MACDQuery{Symbol: "NOPE"}.Request()), codes.NotFound, ""},
		{"weekend window", macd(idc.MACDQuery{Symbol: "SPY", Start: "2023-01-07", End: "2023-01-08"}.Request()), codes.NotFound, ""},
		{"negative fast_period", macd(idc.MACDQuery{Fast: -1}.Request()), codes.InvalidArgument, "parameters.fast_period"},
		{"fast_period not below slow_period", macd(idc.MACDQuery{Fast: 26, Slow: 12}.Request()), codes.InvalidArgument, "parameters.fast_period"},
		{"graph width_px too small", graph(idc.MACDQuery{}.GraphRequest(50, 0)), codes.InvalidArgument, "width_px"},
		{"graph malformed start_date", graph(idc.MACDQuery{Start: "2023-13-01"}.GraphRequest(0, 0)), codes.InvalidArgument, "start_date"},
		{"graph unknown symbol", graph(idc.MACDQuery{Symbol: "NOPE"}.GraphRequest(0, 0)), codes.NotFound, ""},
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
		if len(rows) != 1 || math.Abs(rows[0].MACD-7.4880921771) > tolerance {
			t.Errorf("rows = %+v, want SPY's 2023-12-29 row", rows)
		}
		if _, err := c.GetMACDGraph(t.Context(), idc.MACDQuery{}.GraphRequest(400, 300)); err != nil {
			t.Errorf("GetMACDGraph: %v", err)
		}
	})
}
