package idc_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
	"github.com/idcrpc/idc/clients/go/idc"
)

func TestChartBuilders(t *testing.T) {
	cases := []struct {
		name      string
		got, want proto.Message
	}{
		{"VolumePanel", idc.VolumePanel(), &idcv1.ChartPanel{Kind: &idcv1.ChartPanel_Volume{Volume: &idcv1.VolumeParameters{}}}},
		{"MACDPanel", idc.MACDPanel(5, 35, 5), &idcv1.ChartPanel{Kind: &idcv1.ChartPanel_Macd{Macd: &idcv1.MACDParameters{FastPeriod: 5, SlowPeriod: 35, SignalPeriod: 5}}}},
		{"MACDPanel defaults", idc.MACDPanel(0, 0, 0), &idcv1.ChartPanel{Kind: &idcv1.ChartPanel_Macd{Macd: &idcv1.MACDParameters{}}}},
		{"RSIPanel", idc.RSIPanel(6), &idcv1.ChartPanel{Kind: &idcv1.ChartPanel_Rsi{Rsi: &idcv1.RSIParameters{Period: 6}}}},
		{"KDJPanel", idc.KDJPanel(9, 3, 4), &idcv1.ChartPanel{Kind: &idcv1.ChartPanel_Kdj{Kdj: &idcv1.KDJParameters{Period: 9, KPeriod: 3, DPeriod: 4}}}},
		{"SMAOverlay", idc.SMAOverlay(20), &idcv1.ChartOverlay{Kind: &idcv1.ChartOverlay_Sma{Sma: &idcv1.SMAParameters{Period: 20}}}},
		{"EMAOverlay", idc.EMAOverlay(12), &idcv1.ChartOverlay{Kind: &idcv1.ChartOverlay_Ema{Ema: &idcv1.EMAParameters{Period: 12}}}},
		{"BollingerOverlay", idc.BollingerOverlay(20, 2.5), &idcv1.ChartOverlay{Kind: &idcv1.ChartOverlay_Boll{Boll: &idcv1.BollingerParameters{Period: 20, K: 2.5}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !proto.Equal(tc.got, tc.want) {
				t.Errorf("got %v, want %v", tc.got, tc.want)
			}
		})
	}

	t.Run("a volume panel is set even without parameters", func(t *testing.T) {
		// An empty VolumeParameters must still select the oneof on the
		// wire, or the server would see a panel with nothing set.
		b, err := proto.Marshal(idc.VolumePanel())
		if err != nil {
			t.Fatal(err)
		}
		var back idcv1.ChartPanel
		if err := proto.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if back.GetVolume() == nil {
			t.Errorf("VolumePanel does not survive the wire: %v", &back)
		}
	})
}

func TestChartQuery(t *testing.T) {
	t.Run("zero query is the empty request", func(t *testing.T) {
		if req := must((idc.ChartQuery{}).Request()); !proto.Equal(req, &idcv1.GetChartRequest{}) {
			t.Errorf("Request() = %v, want an empty request", req)
		}
	})

	t.Run("every field", func(t *testing.T) {
		panels := []*idcv1.ChartPanel{idc.VolumePanel(), idc.RSIPanel(14)}
		overlays := []*idcv1.ChartOverlay{idc.SMAOverlay(20), idc.BollingerOverlay(20, 2)}
		q := idc.ChartQuery{
			Symbol: "SPY", Start: "2023-01-01", End: "2023-12-31", Convention: idcv1.Convention_CONVENTION_TDX,
			Panels: panels, Overlays: overlays, Format: idcv1.ImageFormat_IMAGE_FORMAT_SVG,
			Width: 1000, Height: 700, DPI: 120, Theme: idcv1.Theme_THEME_DARK, Scheme: idcv1.ColorScheme_COLOR_SCHEME_CN,
			ChunkSize: 4096, PriceScale: idcv1.PriceScale_PRICE_SCALE_LOG,
		}
		want := &idcv1.GetChartRequest{
			Source:    &idcv1.GetChartRequest_Symbol{Symbol: "SPY"},
			StartDate: "2023-01-01", EndDate: "2023-12-31", Convention: idcv1.Convention_CONVENTION_TDX,
			Panels: panels, Overlays: overlays, Format: idcv1.ImageFormat_IMAGE_FORMAT_SVG,
			WidthPx: 1000, HeightPx: 700, Dpi: 120, Theme: idcv1.Theme_THEME_DARK, ColorScheme: idcv1.ColorScheme_COLOR_SCHEME_CN,
			ChunkSizeBytes: 4096, PriceScale: idcv1.PriceScale_PRICE_SCALE_LOG,
		}
		if req := must(q.Request()); !proto.Equal(req, want) {
			t.Errorf("Request() = %v, want %v", req, want)
		}
	})

	t.Run("inline bars", func(t *testing.T) {
		bars := &idcv1.Bars{Dates: []int32{19720}, Open: []float64{1}, High: []float64{2}, Low: []float64{0.5}, Close: []float64{1.5}, Volume: []float64{10}}
		req := must(idc.ChartQuery{Bars: bars}.Request())
		if req.GetInlineBars() != bars || req.GetSymbol() != "" {
			t.Errorf("Request() = %v, want the inline bars and no symbol", req)
		}
	})
}

func TestGetChart(t *testing.T) {
	data := testImage()
	good := chunked(data, 64<<10)
	sum := sha256.Sum256(data)

	t.Run("good image", func(t *testing.T) {
		reqs := make(chan *idcv1.GetChartRequest, 1)
		c := newClient(t, nil, &fakeGraph{msgs: good, chartReqs: reqs})
		q := idc.ChartQuery{Symbol: "SPY", Panels: []*idcv1.ChartPanel{idc.VolumePanel()}, Format: idcv1.ImageFormat_IMAGE_FORMAT_WEBP, DPI: 100}
		img, err := c.GetChart(t.Context(), must(q.Request()))
		if err != nil {
			t.Fatalf("GetChart: %v", err)
		}
		if got := <-reqs; !proto.Equal(got, must(q.Request())) {
			t.Errorf("server got %v, want %v", got, must(q.Request()))
		}
		if !bytes.Equal(img.Data, data) || !bytes.Equal(img.SHA256, sum[:]) || img.Size != int64(len(data)) {
			t.Errorf("got %d bytes with sha256 %x, want the %d sent bytes with %x", len(img.Data), img.SHA256, len(data), sum)
		}
		if img.MediaType != "image/png" || img.Width != 800 || img.Height != 600 || img.DPI != 100 {
			t.Errorf("got %s %dx%d at %d dpi, want image/png 800x600 at 100 dpi", img.MediaType, img.Width, img.Height, img.DPI)
		}
	})

	t.Run("nil request is empty", func(t *testing.T) {
		reqs := make(chan *idcv1.GetChartRequest, 1)
		c := newClient(t, nil, &fakeGraph{msgs: good, chartReqs: reqs})
		if _, err := c.GetChart(t.Context(), nil); err != nil {
			t.Fatalf("GetChart: %v", err)
		}
		if got := <-reqs; !proto.Equal(got, &idcv1.GetChartRequest{}) {
			t.Errorf("server got %v, want an empty request", got)
		}
	})

	t.Run("write to writer", func(t *testing.T) {
		c := newClient(t, nil, &fakeGraph{msgs: good})
		var w bytes.Buffer
		img, err := c.WriteChart(t.Context(), nil, &w)
		if err != nil {
			t.Fatalf("WriteChart: %v", err)
		}
		if !bytes.Equal(w.Bytes(), data) || img.Data != nil || img.Size != int64(len(data)) || img.DPI != 100 {
			t.Errorf("writer got %d bytes; Image = {Data: %d bytes, Size: %d, DPI: %d}", w.Len(), len(img.Data), img.Size, img.DPI)
		}
	})

	t.Run("sha mismatch", func(t *testing.T) {
		bad := sha256.Sum256([]byte("something else"))
		msgs := append([]*idcv1.GetMACDGraphResponse{metadataMsg("image/png", int64(len(data)), bad[:], 800, 600)}, good[1:]...)
		c := newClient(t, nil, &fakeGraph{msgs: msgs})
		_, err := c.GetChart(t.Context(), nil)
		if !errors.Is(err, idc.ErrIntegrity) || status.Code(err) != codes.DataLoss {
			t.Errorf("err = %v, want ErrIntegrity with DATA_LOSS", err)
		}
	})

	t.Run("chunk before metadata", func(t *testing.T) {
		msgs := append([]*idcv1.GetMACDGraphResponse{chunkMsg(data[:10])}, good...)
		c := newClient(t, nil, &fakeGraph{msgs: msgs})
		_, err := c.GetChart(t.Context(), nil)
		if !errors.Is(err, idc.ErrProtocol) || status.Code(err) != codes.Internal {
			t.Errorf("err = %v, want ErrProtocol with INTERNAL", err)
		}
	})

	t.Run("server error keeps its status", func(t *testing.T) {
		c := newClient(t, nil, &fakeGraph{msgs: good[:2], err: status.Error(codes.InvalidArgument, "panels[0]: no panel")})
		_, err := c.GetChart(t.Context(), nil)
		if status.Code(err) != codes.InvalidArgument || errors.Is(err, idc.ErrIntegrity) {
			t.Errorf("err = %v, want the server's INVALID_ARGUMENT", err)
		}
	})

	t.Run("the stream gets the deadline", func(t *testing.T) {
		got := make(chan time.Duration, 1)
		g := &fakeGraph{msgs: good, onCall: func(ctx context.Context) {
			if d, ok := ctx.Deadline(); ok {
				got <- time.Until(d)
			} else {
				got <- -1
			}
		}}
		c := newClient(t, nil, g, idc.WithTimeout(4*time.Second))
		if _, err := c.GetChart(t.Context(), nil); err != nil {
			t.Fatalf("GetChart: %v", err)
		}
		if d := <-got; d < time.Second || d > 4*time.Second {
			t.Errorf("server saw %v left before the deadline, want 1s to 4s", d)
		}
	})

	t.Run("expiry gives DEADLINE_EXCEEDED", func(t *testing.T) {
		g := &fakeGraph{onCall: func(ctx context.Context) { <-ctx.Done() }, err: status.Error(codes.DeadlineExceeded, "too slow")}
		c := newClient(t, nil, g, idc.WithTimeout(50*time.Millisecond))
		_, err := c.GetChart(t.Context(), nil)
		if got := status.Code(err); got != codes.DeadlineExceeded {
			t.Errorf("status.Code = %v (%v), want DeadlineExceeded", got, err)
		}
	})
}
