package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
	"github.com/idcrpc/idc/clients/go/idc"
)

var png = []byte("\x89PNG\r\n\x1a\nnot really a png")

// fakeServer serves fixed data and records the last request it got.
type fakeServer struct {
	idcv1.UnimplementedIndicatorServiceServer
	idcv1.UnimplementedIndicatorGraphServiceServer
	mu   sync.Mutex
	last proto.Message
}

func (s *fakeServer) record(req proto.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = req
}

func (s *fakeServer) lastRequest() proto.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// used is the convention a response reports for the requested c.
func used(c idcv1.Convention) idcv1.Convention {
	if c == idcv1.Convention_CONVENTION_UNSPECIFIED {
		return idcv1.Convention_CONVENTION_TALIB
	}
	return c
}

func (s *fakeServer) GetMACD(_ context.Context, req *idcv1.GetMACDRequest) (*idcv1.GetMACDResponse, error) {
	s.record(req)
	if req.GetSymbol() == "WARM" { // two bars, the first a warm-up bar
		return &idcv1.GetMACDResponse{
			Symbol:     "WARM",
			Parameters: &idcv1.MACDParameters{FastPeriod: 12, SlowPeriod: 26, SignalPeriod: 9},
			Bars: &idcv1.Bars{
				Dates: []int32{19719, 19720}, Open: []float64{1, 2}, High: []float64{3, 4},
				Low: []float64{0.5, 1.5}, Close: []float64{2, 3}, Volume: []float64{100, 200},
			},
			Convention: used(req.GetConvention()), FirstValidIndex: 1,
			Macd: []float64{0.125}, Signal: []float64{0.0625}, Histogram: []float64{0.0625},
		}, nil
	}
	if req.GetSymbol() == "NOPE" {
		return nil, status.Error(codes.NotFound, "symbol: unknown symbol 'NOPE'")
	}
	if req.GetSymbol() == "MIN" { // two 5-minute bars of a Shanghai morning, 09:30 and 09:35
		return &idcv1.GetMACDResponse{
			Symbol:     "MIN",
			Parameters: &idcv1.MACDParameters{FastPeriod: 12, SlowPeriod: 26, SignalPeriod: 9},
			Bars: &idcv1.Bars{
				Dates: []int32{18444, 18444}, Times: []int64{1593567000, 1593567300},
				Open: []float64{2991.18, 2990.32}, High: []float64{2991.5, 2990.32}, Low: []float64{2990.34, 2986.78},
				Close: []float64{2990.43, 2986.91}, Volume: []float64{720858300, 311297200},
				Interval: req.GetInterval(), TimeZone: "Asia/Shanghai",
			},
			Convention: used(req.GetConvention()), Adjustment: req.GetAdjustment(),
			Macd: []float64{0, -0.5}, Signal: []float64{0, -0.1}, Histogram: []float64{0, -0.4},
		}, nil
	}
	if req.GetStartDate() == "2023-13-01" {
		st, _ := status.New(codes.InvalidArgument, "start_date: bad").WithDetails(&errdetails.BadRequest{
			FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "start_date", Description: "not a date"}},
		})
		return nil, st.Err()
	}
	return &idcv1.GetMACDResponse{
		Symbol:     "SPY",
		Parameters: &idcv1.MACDParameters{FastPeriod: 12, SlowPeriod: 26, SignalPeriod: 9},
		Bars: &idcv1.Bars{
			Dates: []int32{19720}, Open: []float64{463.7283}, High: []float64{464.2539},
			Low: []float64{460.6238}, Close: []float64{462.58}, Volume: []float64{122283100},
		},
		Macd: []float64{7.4880921771}, Signal: []float64{7.5222453641}, Histogram: []float64{-0.034153187},
		Convention: used(req.GetConvention()),
	}, nil
}

// ComputeIndicators names the series as the real server does, over two
// dates. Series of SMAs start at the second date; values are 100 * spec
// index + 10 * output index + date index + 0.25.
func (s *fakeServer) ComputeIndicators(_ context.Context, req *idcv1.ComputeIndicatorsRequest) (*idcv1.ComputeIndicatorsResponse, error) {
	s.record(req)
	if req.GetSymbol() == "NOPE" {
		return nil, status.Error(codes.NotFound, "symbol: unknown symbol 'NOPE'")
	}
	resp := &idcv1.ComputeIndicatorsResponse{Symbol: "SPY", Convention: used(req.GetConvention()), Dates: []int32{19719, 19720}}
	if req.GetInterval() == idcv1.Interval_INTERVAL_1_HOUR { // two hours of a New York session, 09:30 and 10:30
		resp.Symbol, resp.Dates, resp.Times = "SP500", []int32{18205, 18205}, []int64{1572964200, 1572967800}
		resp.Interval, resp.TimeZone, resp.Adjustment = req.GetInterval(), "America/New_York", idcv1.Adjustment_ADJUSTMENT_AS_STORED
	}
	for i, spec := range req.GetIndicators() {
		var name string
		outputs := []string{""}
		switch spec.GetParameters().(type) {
		case *idcv1.IndicatorSpec_Sma:
			name = "sma"
		case *idcv1.IndicatorSpec_Ema:
			name = "ema"
		case *idcv1.IndicatorSpec_Rsi:
			name = "rsi"
		case *idcv1.IndicatorSpec_Macd:
			name, outputs = "macd", []string{"macd", "signal", "histogram"}
		case *idcv1.IndicatorSpec_Boll:
			name, outputs = "boll", []string{"upper", "middle", "lower"}
		case *idcv1.IndicatorSpec_Kdj:
			name, outputs = "kdj", []string{"k", "d", "j"}
		case nil: // a catalogue entry by name, or a formula with outputs DIF and DEA
			switch {
			case spec.GetName() != "":
				name = strings.ToLower(spec.GetName()[strings.LastIndex(spec.GetName(), ".")+1:])
			case spec.GetFormula() != "":
				name, outputs = "formula", []string{"DIF", "DEA"}
			default:
				return nil, status.Errorf(codes.InvalidArgument, "indicators[%d]: no indicator", i)
			}
		default:
			return nil, status.Errorf(codes.InvalidArgument, "indicators[%d]: no indicator", i)
		}
		label := cmp.Or(spec.GetLabel(), name)
		for j, o := range outputs {
			series := &idcv1.Series{Name: label}
			if o != "" {
				series.Name += "." + o
			}
			if name == "sma" {
				series.FirstValidIndex = 1
			}
			for d := int(series.FirstValidIndex); d < len(resp.Dates); d++ {
				series.Values = append(series.Values, float64(100*i+10*j+d)+0.25)
			}
			resp.Series = append(resp.Series, series)
		}
	}
	return resp, nil
}

// ListSymbols serves two symbols one a page, so that the symbols command
// must follow next_page_token, filtered by the request's prefix.
func (s *fakeServer) ListSymbols(_ context.Context, req *idcv1.ListSymbolsRequest) (*idcv1.ListSymbolsResponse, error) {
	s.record(req)
	all := []*idcv1.SymbolInfo{
		{
			Symbol: "000001.SH", FirstDate: "2010-01-04", LastDate: "2026-06-16", BarCount: 3993,
			State: idcv1.SymbolState_SYMBOL_STATE_READY, PriceAdjustment: idcv1.PriceAdjustment_PRICE_ADJUSTMENT_NOT_NEEDED,
			Interval: idcv1.Interval_INTERVAL_1_DAY, TimeZone: "Asia/Shanghai",
		},
		{
			Symbol: "SPY", FirstDate: "1993-01-29", LastDate: "2026-03-27", BarCount: 8347,
			State: idcv1.SymbolState_SYMBOL_STATE_READY, PriceAdjustment: idcv1.PriceAdjustment_PRICE_ADJUSTMENT_SPLITS_AND_DIVIDENDS,
			Interval: idcv1.Interval_INTERVAL_1_DAY, TimeZone: "America/New_York",
		},
	}
	var match []*idcv1.SymbolInfo
	for _, info := range all {
		if strings.HasPrefix(info.GetSymbol(), strings.ToUpper(req.GetPrefix())) {
			match = append(match, info)
		}
	}
	resp := &idcv1.ListSymbolsResponse{DefaultSymbol: "SPY"}
	start := 0
	if req.GetPageToken() == "second" {
		start = 1
	}
	if start < len(match) {
		resp.Symbols = match[start : start+1]
	}
	if start+1 < len(match) {
		resp.NextPageToken = "second"
	}
	return resp, nil
}

func (s *fakeServer) GetMACDGraph(req *idcv1.GetMACDGraphRequest, stream grpc.ServerStreamingServer[idcv1.GetMACDGraphResponse]) error {
	s.record(req)
	sum := sha256.Sum256(png)
	if req.GetWidthPx() == 666 { // a corrupt image
		sum[0]++
	}
	if err := stream.Send(&idcv1.GetMACDGraphResponse{Payload: &idcv1.GetMACDGraphResponse_Metadata{Metadata: &idcv1.ImageMetadata{
		MediaType: "image/png", SizeBytes: int64(len(png)), Sha256: sum[:], WidthPx: req.GetWidthPx(), HeightPx: req.GetHeightPx(),
	}}}); err != nil {
		return err
	}
	return stream.Send(&idcv1.GetMACDGraphResponse{Payload: &idcv1.GetMACDGraphResponse_Chunk{Chunk: png}})
}

// GetChart streams png as the requested format, announcing the requested
// size and dpi (100 when 0). A width of 666 corrupts the digest, and a dpi
// of 10 gets INVALID_ARGUMENT naming the field "dpi".
func (s *fakeServer) GetChart(req *idcv1.GetChartRequest, stream grpc.ServerStreamingServer[idcv1.GetChartResponse]) error {
	s.record(req)
	if req.GetDpi() == 10 {
		st, _ := status.New(codes.InvalidArgument, "dpi: must be 50-600").WithDetails(&errdetails.BadRequest{
			FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "dpi", Description: "must be 50-600, got 10"}},
		})
		return st.Err()
	}
	sum := sha256.Sum256(png)
	if req.GetWidthPx() == 666 {
		sum[0]++
	}
	media := map[idcv1.ImageFormat]string{
		idcv1.ImageFormat_IMAGE_FORMAT_SVG: "image/svg+xml", idcv1.ImageFormat_IMAGE_FORMAT_JPEG: "image/jpeg", idcv1.ImageFormat_IMAGE_FORMAT_WEBP: "image/webp",
	}[req.GetFormat()]
	if err := stream.Send(&idcv1.GetChartResponse{Payload: &idcv1.GetChartResponse_Metadata{Metadata: &idcv1.ImageMetadata{
		MediaType: cmp.Or(media, "image/png"), SizeBytes: int64(len(png)), Sha256: sum[:],
		WidthPx: cmp.Or(req.GetWidthPx(), 1200), HeightPx: cmp.Or(req.GetHeightPx(), 800), Dpi: cmp.Or(req.GetDpi(), 100),
	}}}); err != nil {
		return err
	}
	return stream.Send(&idcv1.GetChartResponse{Payload: &idcv1.GetChartResponse_Chunk{Chunk: png}})
}

// serve starts the fake server on a free local port and returns its address.
func serve(t *testing.T) (string, *fakeServer) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	fake := &fakeServer{}
	srv := grpc.NewServer()
	idcv1.RegisterIndicatorServiceServer(srv, fake)
	idcv1.RegisterIndicatorGraphServiceServer(srv, fake)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String(), fake
}

func TestRun(t *testing.T) {
	addr, fake := serve(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "macd.png")
	sum := sha256.Sum256(png)

	cases := []struct {
		name       string
		args       []string
		code       int
		stdout     []string // substrings, with runs of spaces in a line as one
		stderr     []string
		wantOutput bool
		request    proto.Message // the request the server must get last, if any
	}{
		{"no command", nil, 2, nil, []string{"usage: idc", "indicators", "chart", "symbols"}, false, nil},
		{"help", []string{"help"}, 0, []string{"usage: idc"}, nil, false, nil},
		{"unknown command", []string{"bogus"}, 2, nil, []string{`unknown command "bogus"`}, false, nil},
		{"bad flag", []string{"macd", "--fast", "x"}, 2, nil, []string{"-fast", "not a 32-bit integer"}, false, nil},
		{"bad convention", []string{"macd", "--convention", "bogus"}, 2, nil, []string{"-convention", "want talib or tdx"}, false, nil},
		{"extra argument", []string{"macd", "--target", addr, "SPY"}, 2, nil, []string{"unexpected arguments"}, false, nil},
		{"flag help", []string{"graph", "-h"}, 0, nil, []string{"-width", "-height", "-o", "-convention talib|tdx"}, false, nil},
		{
			"macd table", []string{"macd", "--target", addr, "--symbol", "SPY", "--start", "2023-12-29", "--end", "2023-12-29"}, 0,
			[]string{"SPY MACD(12,26,9), 1 bars, convention talib\n", "date", "histogram", "2023-12-29", "462.5800", "122283100", "7.488092", "7.522245", "-0.034153"}, nil, false,
			&idcv1.GetMACDRequest{Source: &idcv1.GetMACDRequest_Symbol{Symbol: "SPY"}, StartDate: "2023-12-29", EndDate: "2023-12-29"},
		},
		{
			"macd convention", []string{"macd", "--target", addr, "--convention", "TDX", "--slow", "30"}, 0,
			[]string{"SPY MACD(12,26,9), 1 bars, convention tdx\n"}, nil, false,
			&idcv1.GetMACDRequest{Convention: idcv1.Convention_CONVENTION_TDX, Parameters: &idcv1.MACDParameters{SlowPeriod: 30}},
		},
		{
			"macd warm-up rows are blank", []string{"macd", "--target", addr, "--symbol", "WARM"}, 0,
			[]string{"WARM MACD(12,26,9), 2 bars, convention talib, 1 warm-up bars without MACD\n", "0.125000"}, nil, false, nil,
		},
		{"macd not found", []string{"macd", "--target", addr, "--symbol", "NOPE"}, int(codes.NotFound), nil, []string{"error: NOT_FOUND: symbol: unknown symbol 'NOPE'\n"}, false, nil},
		{"deprecated --addr", []string{"macd", "--addr", addr, "--symbol", "NOPE"}, int(codes.NotFound), nil, []string{"error: NOT_FOUND: symbol: unknown symbol 'NOPE'\n"}, false, nil},
		{
			"macd invalid argument", []string{"macd", "--target", addr, "--start", "2023-13-01"}, int(codes.InvalidArgument),
			nil, []string{"error: INVALID_ARGUMENT: start_date: bad\n  start_date: not a date\n"}, false, nil,
		},
		{
			"graph", []string{"graph", "--target", addr, "--width", "800", "--height", "600", "-o", out}, 0,
			[]string{"wrote " + out, "image/png 800x600", fmt.Sprintf("%d bytes", len(png)), fmt.Sprintf("%x", sum)}, nil, true,
			&idcv1.GetMACDGraphRequest{WidthPx: 800, HeightPx: 600},
		},
		{
			"graph convention", []string{"graph", "--target", addr, "--convention", "tdx", "--symbol", "AAPL", "-o", out}, 0,
			[]string{"wrote " + out}, nil, true,
			&idcv1.GetMACDGraphRequest{Source: &idcv1.GetMACDGraphRequest_Symbol{Symbol: "AAPL"}, Convention: idcv1.Convention_CONVENTION_TDX},
		},
		{"graph corrupt", []string{"graph", "--target", addr, "--width", "666", "-o", out}, int(codes.DataLoss), nil, []string{"error: DATA_LOSS: get macd graph: idc: image integrity check failed"}, false, nil},
		{
			"graph chunk size", []string{"graph", "--target", addr, "--chunk-size", "4096", "-o", out}, 0,
			[]string{"wrote " + out}, nil, true, &idcv1.GetMACDGraphRequest{ChunkSizeBytes: 4096},
		},
		{
			"chart flag help", []string{"chart", "-h"}, 0, nil,
			[]string{"-panels list", "-sma N", "-ema N", "-boll N", "-format png|svg|jpeg|webp", "-theme light|dark", "-scheme western|cn", "-price-scale auto|linear|log", "-dpi N", "-chunk-size bytes", "-o file"},
			false, nil,
		},
		{
			"chart defaults", []string{"chart", "--target", addr, "-o", out}, 0,
			[]string{"wrote " + out + ": image/png 1200x800 at 100 dpi", fmt.Sprintf("%d bytes", len(png)), fmt.Sprintf("%x", sum)}, nil, true,
			&idcv1.GetChartRequest{},
		},
		{
			"chart every flag", []string{
				"chart", "--target", addr, "--symbol", "SPY", "--start", "2023-01-01", "--end", "2023-12-31", "--convention", "tdx",
				"--panels", "volume,MACD", "--panels", "rsi,kdj", "--fast", "5", "--sma", "20", "--ema", "12", "--boll", "20", "--boll-k", "2.5", "--sma", "5",
				"--format", "SVG", "--theme", "dark", "--scheme", "cn", "--price-scale", "LOG", "--width", "1000", "--height", "700", "--dpi", "120", "--chunk-size", "1024", "-o", out,
			}, 0,
			[]string{"wrote " + out + ": image/svg+xml 1000x700 at 120 dpi"}, nil, true,
			must(idc.ChartQuery{
				Symbol: "SPY", Start: "2023-01-01", End: "2023-12-31", Convention: idcv1.Convention_CONVENTION_TDX,
				Panels:   []*idcv1.ChartPanel{idc.VolumePanel(), idc.MACDPanel(5, 0, 0), idc.RSIPanel(0), idc.KDJPanel(0, 0, 0)},
				Overlays: []*idcv1.ChartOverlay{idc.SMAOverlay(20), idc.EMAOverlay(12), idc.BollingerOverlay(20, 2.5), idc.SMAOverlay(5)},
				Format:   idcv1.ImageFormat_IMAGE_FORMAT_SVG, Theme: idcv1.Theme_THEME_DARK, Scheme: idcv1.ColorScheme_COLOR_SCHEME_CN,
				Width: 1000, Height: 700, DPI: 120, ChunkSize: 1024, PriceScale: idcv1.PriceScale_PRICE_SCALE_LOG,
			}.Request()),
		},
		{"chart corrupt", []string{"chart", "--target", addr, "--width", "666", "-o", out}, int(codes.DataLoss), nil, []string{"error: DATA_LOSS: get chart: idc: image integrity check failed"}, false, nil},
		{
			"chart invalid argument", []string{"chart", "--target", addr, "--dpi", "10", "-o", out}, int(codes.InvalidArgument),
			nil, []string{"error: INVALID_ARGUMENT: dpi: must be 50-600\n  dpi: must be 50-600, got 10\n"}, false, nil,
		},
		{"chart bad panel", []string{"chart", "--panels", "volume,candles"}, 2, nil, []string{"-panels", `unknown panel "candles"`}, false, nil},
		{"chart bad format", []string{"chart", "--format", "gif"}, 2, nil, []string{"-format", "want png, svg, jpeg or webp"}, false, nil},
		{"chart bad theme", []string{"chart", "--theme", "blue"}, 2, nil, []string{"-theme", "want light or dark"}, false, nil},
		{"chart bad scheme", []string{"chart", "--scheme", "us"}, 2, nil, []string{"-scheme", "want western or cn"}, false, nil},
		{"chart bad price scale", []string{"chart", "--price-scale", "ln"}, 2, nil, []string{"-price-scale", "want auto, linear or log"}, false, nil},
		{"chart bad period", []string{"chart", "--sma", "x"}, 2, nil, []string{"-sma", "not a 32-bit integer"}, false, nil},
		{
			"indicators", []string{
				"indicators", "--target", addr, "--symbol", "SPY", "--start", "2023-12-28", "--end", "2023-12-29", "--convention", "tdx",
				"--sma", "20", "--ema", "12", "--rsi", "14", "--boll", "20", "--kdj", "9", "--macd", "--sma", "5", "--fast", "5", "--boll-k", "2.5",
			}, 0,
			[]string{
				"SPY, 2 bars, convention tdx\n",
				"\ndate sma20 ema12 rsi14 boll20.upper boll20.middle boll20.lower kdj9.k kdj9.d kdj9.j macd.macd macd.signal macd.histogram sma5\n",
				"2023-12-28", "2023-12-29", "100.2500", "521.2500", "601.2500",
			},
			nil, false,
			&idcv1.ComputeIndicatorsRequest{
				Source:    &idcv1.ComputeIndicatorsRequest_Symbol{Symbol: "SPY"},
				StartDate: "2023-12-28", EndDate: "2023-12-29", Convention: idcv1.Convention_CONVENTION_TDX,
				Indicators: []*idcv1.IndicatorSpec{
					idc.Labeled("sma20", idc.SMA(20)), idc.Labeled("ema12", idc.EMA(12)), idc.Labeled("rsi14", idc.RSI(14)),
					idc.Labeled("boll20", idc.Bollinger(20, 2.5)), idc.Labeled("kdj9", idc.KDJ(9, 0, 0)), idc.MACD(5, 0, 0),
					idc.Labeled("sma5", idc.SMA(5)),
				},
			},
		},
		{
			"indicators default labels", []string{"indicators", "--target", addr, "--sma", "0", "--macd=true", "--macd=false"}, 0,
			[]string{"\ndate sma macd.macd macd.signal macd.histogram\n"}, nil, false,
			&idcv1.ComputeIndicatorsRequest{Indicators: []*idcv1.IndicatorSpec{idc.SMA(0), idc.MACD(0, 0, 0)}},
		},
		{
			"indicators macd with periods", []string{"indicators", "--target", addr, "--macd=5,35,5", "--macd", "--fast", "6"}, 0,
			[]string{"\ndate macd_5_35_5.macd macd_5_35_5.signal macd_5_35_5.histogram macd.macd macd.signal macd.histogram\n"}, nil, false,
			&idcv1.ComputeIndicatorsRequest{Indicators: []*idcv1.IndicatorSpec{idc.Labeled("macd_5_35_5", idc.MACD(5, 35, 5)), idc.MACD(6, 0, 0)}},
		},
		{"indicators bad macd", []string{"indicators", "--macd=5,35"}, 2, nil, []string{"want FAST,SLOW,SIGNAL"}, false, nil},
		{"indicators without any", []string{"indicators", "--target", addr, "--symbol", "SPY"}, 2, nil, []string{"no indicators", "-sma N"}, false, nil},
		{"indicators bad period", []string{"indicators", "--sma", "x"}, 2, nil, []string{"-sma", "not a 32-bit integer"}, false, nil},
		{
			"indicators not found", []string{"indicators", "--target", addr, "--symbol", "NOPE", "--rsi", "14"}, int(codes.NotFound),
			nil, []string{"error: NOT_FOUND: symbol: unknown symbol 'NOPE'\n"}, false, nil,
		},
		{
			"symbols", []string{"symbols", "--target", addr}, 0,
			[]string{"symbol first last bars state adjusted interval time_zone\n" +
				"000001.SH 2010-01-04 2026-06-16 3993 ready not-needed 1d Asia/Shanghai\n" +
				"SPY 1993-01-29 2026-03-27 8347 ready splits+dividends 1d America/New_York\ndefault symbol: SPY\n"},
			nil, false, &idcv1.ListSymbolsRequest{PageToken: "second"},
		},
		{
			"symbols with a prefix", []string{"symbols", "--target", addr, "--prefix", "spy"}, 0,
			[]string{"time_zone\nSPY 1993-01-29 2026-03-27 8347 ready splits+dividends 1d America/New_York\ndefault symbol: SPY\n"},
			nil, false, &idcv1.ListSymbolsRequest{Prefix: "spy"},
		},
		{
			"symbols with a prefix nothing has", []string{"symbols", "--target", addr, "--prefix", "X"}, 0,
			[]string{"symbol first last bars state adjusted interval time_zone\ndefault symbol: SPY\n"},
			nil, false, &idcv1.ListSymbolsRequest{Prefix: "X"},
		},
		{
			"symbols csv", []string{"symbols", "--target", addr, "--csv"}, 0,
			[]string{"symbol,first,last,bars,state,adjusted,interval,time_zone\n" +
				"000001.SH,2010-01-04,2026-06-16,3993,ready,not-needed,1d,Asia/Shanghai\nSPY,1993-01-29,2026-03-27,8347,ready,splits+dividends,1d,America/New_York\n"},
			nil, false, nil,
		},
		{
			"macd intraday prints times in the exchange's zone",
			[]string{"macd", "--target", addr, "--symbol", "MIN", "--interval", "5m", "--adjust", "forward", "--start", "2020-07-01T09:30", "--end", "2020-07-01"}, 0,
			[]string{
				"MIN MACD(12,26,9), 2 bars of 5m in Asia/Shanghai, convention talib, adjustment forward\n",
				"\ntime open high low close volume macd signal histogram\n2020-07-01 09:30 2991.1800",
				"\n2020-07-01 09:35 2990.3200 2990.3200 2986.7800 2986.9100 311297200 -0.500000",
			}, nil, false,
			&idcv1.GetMACDRequest{
				Source: &idcv1.GetMACDRequest_Symbol{Symbol: "MIN"}, StartDate: "2020-07-01T09:30", EndDate: "2020-07-01",
				Interval: idcv1.Interval_INTERVAL_5_MINUTES, Adjustment: idcv1.Adjustment_ADJUSTMENT_FORWARD,
			},
		},
		{
			"macd weekly prints dates", []string{"macd", "--target", addr, "--symbol", "MIN", "--interval", "1W", "--adjust", "as-stored", "--csv"}, 0,
			[]string{"date,open,high,low,close,volume,macd,signal,histogram\n2020-07-01,2991.18,"}, nil, false,
			&idcv1.GetMACDRequest{
				Source:   &idcv1.GetMACDRequest_Symbol{Symbol: "MIN"},
				Interval: idcv1.Interval_INTERVAL_1_WEEK, Adjustment: idcv1.Adjustment_ADJUSTMENT_AS_STORED,
			},
		},
		{
			"indicators intraday", []string{"indicators", "--target", addr, "--interval", "1h", "--adjust", "backward", "--sma", "2"}, 0,
			[]string{"SP500, 2 bars of 1h in America/New_York, convention talib\n", "\ntime sma2\n2019-11-05 09:30\n2019-11-05 10:30 1.2500\n"}, nil, false,
			&idcv1.ComputeIndicatorsRequest{
				Interval: idcv1.Interval_INTERVAL_1_HOUR, Adjustment: idcv1.Adjustment_ADJUSTMENT_BACKWARD,
				Indicators: []*idcv1.IndicatorSpec{idc.Labeled("sma2", idc.SMA(2))},
			},
		},
		{
			"chart interval and adjustment", []string{"chart", "--target", addr, "--interval", "15m", "--adjust", "none", "-o", out}, 0,
			[]string{"wrote " + out}, nil, true,
			&idcv1.GetChartRequest{Interval: idcv1.Interval_INTERVAL_15_MINUTES, Adjustment: idcv1.Adjustment_ADJUSTMENT_NONE},
		},
		{"bad interval", []string{"macd", "--interval", "2m"}, 2, nil, []string{"-interval", "want 1m, 5m, 15m, 30m, 1h, 1d, 1w or 1mo"}, false, nil},
		{"bad adjustment", []string{"indicators", "--adjust", "qfq", "--sma", "5"}, 2, nil, []string{"-adjust", "want as-stored, none, forward or backward"}, false, nil},
		{"graph takes no interval", []string{"graph", "--interval", "5m"}, 2, nil, []string{"flag provided but not defined: -interval"}, false, nil},
		{
			"macd csv has full precision", []string{"macd", "--target", addr, "--csv"}, 0,
			[]string{"date,open,high,low,close,volume,macd,signal,histogram\n2023-12-29,463.7283,464.2539,460.6238,462.58,122283100,7.4880921771,7.5222453641,-0.034153187\n"},
			nil, false, nil,
		},
		{
			"indicators csv leaves warm-up cells empty", []string{"indicators", "--target", addr, "--sma", "20", "--rsi", "14", "--csv"}, 0,
			[]string{"date,sma20,rsi14\n2023-12-28,,100.25\n2023-12-29,1.25,101.25\n"}, nil, false, nil,
		},
		{"timeout in seconds", []string{"symbols", "--target", addr, "--timeout", "2.5"}, 0, []string{"default symbol: SPY"}, nil, false, nil},
		{"timeout as a duration", []string{"symbols", "--target", addr, "--timeout", "1m"}, 0, []string{"default symbol: SPY"}, nil, false, nil},
		{"bad timeout", []string{"symbols", "--timeout", "soon"}, 2, nil, []string{"-timeout", "want seconds or a duration"}, false, nil},
		{"symbols extra argument", []string{"symbols", "--target", addr, "SPY"}, 2, nil, []string{"unexpected arguments"}, false, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_ = os.Remove(out)
			fake.record(nil)
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit status = %d, want %d\nstderr: %s", code, tc.code, stderr.String())
			}
			for _, s := range tc.stdout {
				if !strings.Contains(squeeze(stdout.String()), s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout.String())
				}
			}
			for _, s := range tc.stderr {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr.String())
				}
			}
			got, err := os.ReadFile(out)
			if tc.wantOutput && !bytes.Equal(got, png) {
				t.Errorf("output file = %q, %v; want the image", got, err)
			}
			if !tc.wantOutput && err == nil {
				t.Errorf("output file exists, want none")
			}
			if entries, _ := os.ReadDir(dir); len(entries) > 1 || (len(entries) == 1 && entries[0].Name() != "macd.png") {
				t.Errorf("temporary files left in the output folder: %v", entries)
			}
			if tc.request != nil {
				if got := fake.lastRequest(); !proto.Equal(got, tc.request) {
					t.Errorf("server got request %v, want %v", got, tc.request)
				}
			}
		})
	}
}

// TestTableLayout checks the exact text of a table: the first column
// aligned left, the others right, two spaces between columns. The Python
// client's idc-client prints the same bytes (clients/CLI.md).
func TestTableLayout(t *testing.T) {
	addr, _ := serve(t)
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"symbols", "--target", addr}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit status %d: %s", code, &stderr)
	}
	want := "" +
		"symbol          first        last  bars  state          adjusted  interval         time_zone\n" +
		"000001.SH  2010-01-04  2026-06-16  3993  ready        not-needed        1d     Asia/Shanghai\n" +
		"SPY        1993-01-29  2026-03-27  8347  ready  splits+dividends        1d  America/New_York\n" +
		"default symbol: SPY\n"
	if got := stdout.String(); got != want {
		t.Errorf("stdout =\n%s\nwant\n%s", got, want)
	}
}

// squeeze trims each line of s and turns its runs of spaces into one, so
// that tests need not depend on column widths.
func squeeze(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return strings.Join(lines, "\n")
}

// TestWarmUpRowsAreBlank checks that the warm-up rows of the macd and
// indicators tables have no value in the columns without one.
func TestWarmUpRowsAreBlank(t *testing.T) {
	addr, _ := serve(t)
	cases := []struct {
		name   string
		args   []string
		fields []int // the number of fields of the two data rows
	}{
		{"macd", []string{"macd", "--target", addr, "--symbol", "WARM"}, []int{6, 9}},
		{"indicators", []string{"indicators", "--target", addr, "--sma", "20", "--rsi", "14", "--sma", "5"}, []int{2, 4}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(t.Context(), tc.args, &stdout, &stderr); code != 0 {
				t.Fatalf("exit status %d: %s", code, stderr.String())
			}
			lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
			if len(lines) != 4 {
				t.Fatalf("got %d lines, want a title, a header and 2 rows:\n%s", len(lines), stdout.String())
			}
			for i, want := range tc.fields {
				if got := len(strings.Fields(lines[2+i])); got != want {
					t.Errorf("row %d has %d fields, want %d:\n%s", i, got, want, stdout.String())
				}
			}
		})
	}
}

// TestChartDefaultOutput checks that chart names its output file after the
// format when -o is not given.
func TestChartDefaultOutput(t *testing.T) {
	addr, _ := serve(t)
	t.Chdir(t.TempDir())
	for format, name := range map[string]string{"": "chart.png", "svg": "chart.svg", "jpeg": "chart.jpg", "webp": "chart.webp"} {
		args := []string{"chart", "--target", addr}
		if format != "" {
			args = append(args, "--format", format)
		}
		var stdout, stderr bytes.Buffer
		if code := run(t.Context(), args, &stdout, &stderr); code != 0 {
			t.Fatalf("%v: exit status %d: %s", args, code, stderr.String())
		}
		if got, err := os.ReadFile(name); err != nil || !bytes.Equal(got, png) {
			t.Errorf("%v: %s = %q, %v; want the image", args, name, got, err)
		}
		if !strings.HasPrefix(stdout.String(), "wrote "+name+": ") {
			t.Errorf("%v: stdout = %q, want it to name %s", args, stdout.String(), name)
		}
	}
}
