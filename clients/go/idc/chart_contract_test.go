package idc_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
	"github.com/idcrpc/idc/clients/go/idc"
	"github.com/idcrpc/idc/clients/go/internal/testenv"
)

// Contract tests of IndicatorGraphService.GetChart and the chunk size of
// GetMACDGraph; like the others they run only when IDC_ADDR is set.

var (
	pngFormat  = idcv1.ImageFormat_IMAGE_FORMAT_PNG
	svgFormat  = idcv1.ImageFormat_IMAGE_FORMAT_SVG
	jpegFormat = idcv1.ImageFormat_IMAGE_FORMAT_JPEG
	webpFormat = idcv1.ImageFormat_IMAGE_FORMAT_WEBP
)

// allPanels and someOverlays are the panels and overlays of the 2023 chart.
func allPanels() []*idcv1.ChartPanel {
	return []*idcv1.ChartPanel{idc.VolumePanel(), idc.MACDPanel(0, 0, 0), idc.RSIPanel(0), idc.KDJPanel(0, 0, 0)}
}

func someOverlays() []*idcv1.ChartOverlay {
	return []*idcv1.ChartOverlay{idc.SMAOverlay(20), idc.BollingerOverlay(20, 0)}
}

// spy2023 is SPY's 2023 chart with every panel, an SMA(20) and Bollinger
// Bands, in format at width x height pixels and dpi.
func spy2023(format idcv1.ImageFormat, width, height, dpi int32) idc.ChartQuery {
	return idc.ChartQuery{
		Symbol: "SPY", Start: "2023-01-01", End: "2023-12-31",
		Panels: allPanels(), Overlays: someOverlays(),
		Format: format, Width: width, Height: height, DPI: dpi,
	}
}

func getChart(t *testing.T, c *idc.Client, req *idcv1.GetChartRequest) *idc.Image {
	t.Helper()
	img, err := c.GetChart(t.Context(), req)
	if err != nil {
		t.Fatalf("GetChart(%v): %v", req, err)
	}
	if len(img.Data) == 0 || int64(len(img.Data)) != img.Size {
		t.Fatalf("got %d bytes, size %d", len(img.Data), img.Size)
	}
	if sum := sha256.Sum256(img.Data); !bytes.Equal(sum[:], img.SHA256) {
		t.Fatalf("sha256 of the data %x != verified digest %x", sum, img.SHA256)
	}
	return img
}

// checkMeta fails t unless img has the media type, size and dpi.
func checkMeta(t *testing.T, img *idc.Image, media string, width, height, dpi int) {
	t.Helper()
	if img.MediaType != media || img.Width != width || img.Height != height || img.DPI != dpi {
		t.Errorf("metadata = %s %dx%d at %d dpi, want %s %dx%d at %d dpi",
			img.MediaType, img.Width, img.Height, img.DPI, media, width, height, dpi)
	}
}

// pngPixelsPerMetre returns the resolution in the pHYs chunk of a PNG file,
// and false when it has none in metres.
func pngPixelsPerMetre(data []byte) (x, y uint32, ok bool) {
	const signature = "\x89PNG\r\n\x1a\n"
	if !bytes.HasPrefix(data, []byte(signature)) {
		return 0, 0, false
	}
	for p := len(signature); p+8 <= len(data); {
		n := int(binary.BigEndian.Uint32(data[p:]))
		typ := string(data[p+4 : p+8])
		if p+8+n > len(data) {
			return 0, 0, false
		}
		body := data[p+8 : p+8+n]
		if typ == "pHYs" && n == 9 && body[8] == 1 {
			return binary.BigEndian.Uint32(body), binary.BigEndian.Uint32(body[4:]), true
		}
		if typ == "IDAT" || typ == "IEND" {
			return 0, 0, false // pHYs must come before the image data
		}
		p += 12 + n
	}
	return 0, 0, false
}

// jfifDensity returns the density of the JFIF APP0 segment of a JPEG file
// when it is in dots per inch.
func jfifDensity(data []byte) (x, y uint16, ok bool) {
	if len(data) < 20 || data[0] != 0xFF || data[1] != 0xD8 || data[2] != 0xFF || data[3] != 0xE0 {
		return 0, 0, false
	}
	seg := data[6:]
	if !bytes.HasPrefix(seg, []byte("JFIF\x00")) || seg[7] != 1 {
		return 0, 0, false
	}
	return binary.BigEndian.Uint16(seg[8:]), binary.BigEndian.Uint16(seg[10:]), true
}

// webpLossless checks that data is a RIFF WebP file whose image is one
// lossless (VP8L) bitstream, and returns its size.
func webpLossless(data []byte) (width, height int, err error) {
	if len(data) < 12 || string(data[:4]) != "RIFF" || string(data[8:12]) != "WEBP" {
		return 0, 0, errors.New("no RIFF WEBP header")
	}
	if n := binary.LittleEndian.Uint32(data[4:]); int(n) != len(data)-8 {
		return 0, 0, fmt.Errorf("RIFF size %d, want %d", n, len(data)-8)
	}
	for p := 12; p+8 <= len(data); {
		typ := string(data[p : p+4])
		n := int(binary.LittleEndian.Uint32(data[p+4:]))
		if p+8+n > len(data) {
			return 0, 0, fmt.Errorf("chunk %q runs past the end", typ)
		}
		body := data[p+8 : p+8+n]
		switch typ {
		case "VP8 ":
			return 0, 0, errors.New("lossy VP8 bitstream, want lossless VP8L")
		case "VP8L":
			if n < 5 || body[0] != 0x2F {
				return 0, 0, errors.New("bad VP8L signature")
			}
			bits := binary.LittleEndian.Uint32(body[1:])
			return int(bits&0x3FFF) + 1, int(bits>>14&0x3FFF) + 1, nil
		}
		p += 8 + n + n%2
	}
	return 0, 0, errors.New("no VP8L chunk")
}

// svgRoot parses data as XML to its end and returns the local name of its
// root element.
func svgRoot(data []byte) (string, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	root := ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			if root == "" {
				return "", errors.New("no element")
			}
			return root, nil
		}
		if err != nil {
			return "", err
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
}

// chartChunks calls GetChart through the generated stub and returns the
// metadata and the length of each chunk, checking that they add up.
func chartChunks(t *testing.T, c *idc.Client, req *idcv1.GetChartRequest) (*idcv1.ImageMetadata, []int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	stream, err := idcv1.NewIndicatorGraphServiceClient(c.Conn()).GetChart(ctx, req)
	if err != nil {
		t.Fatalf("GetChart: %v", err)
	}
	return collectChunks(t, stream.Recv)
}

func collectChunks[M interface {
	GetMetadata() *idcv1.ImageMetadata
	GetChunk() []byte
}](t *testing.T, recv func() (M, error)) (*idcv1.ImageMetadata, []int) {
	t.Helper()
	var meta *idcv1.ImageMetadata
	var sizes []int
	hash := sha256.New()
	var total int64
	for {
		msg, err := recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		if m := msg.GetMetadata(); m != nil {
			if meta != nil || len(sizes) > 0 {
				t.Fatalf("metadata after the first message")
			}
			meta = m
			continue
		}
		if meta == nil {
			t.Fatalf("chunk before the metadata")
		}
		sizes = append(sizes, len(msg.GetChunk()))
		total += int64(len(msg.GetChunk()))
		hash.Write(msg.GetChunk())
	}
	if meta == nil || total != meta.GetSizeBytes() || !bytes.Equal(hash.Sum(nil), meta.GetSha256()) {
		t.Fatalf("chunks of %d bytes do not match the metadata %v", total, meta)
	}
	return meta, sizes
}

func TestContractGetChart(t *testing.T) {
	c := contractClient(t)

	t.Run("SPY 2023 all panels 1000x700 PNG at 120 dpi", func(t *testing.T) {
		img := getChart(t, c, must(spy2023(pngFormat, 1000, 700, 120).Request()))
		checkMeta(t, img, "image/png", 1000, 700, 120)
		decoded, err := png.Decode(bytes.NewReader(img.Data))
		if err != nil {
			t.Fatalf("png.Decode: %v", err)
		}
		if b := decoded.Bounds(); b.Dx() != 1000 || b.Dy() != 700 {
			t.Errorf("decoded PNG is %dx%d, want 1000x700", b.Dx(), b.Dy())
		}
		want := uint32(math.Round(120 / 0.0254)) // 4724 pixels per metre
		if x, y, ok := pngPixelsPerMetre(img.Data); !ok || x < want-1 || x > want+1 || y < want-1 || y > want+1 {
			t.Errorf("pHYs = %d x %d pixels per metre (found %v), want %d (120 dpi)", x, y, ok, want)
		}
	})

	t.Run("empty request gives a 1200x800 PNG at 100 dpi", func(t *testing.T) {
		img := getChart(t, c, &idcv1.GetChartRequest{})
		checkMeta(t, img, "image/png", 1200, 800, 100)
		decoded, err := png.Decode(bytes.NewReader(img.Data))
		if err != nil {
			t.Fatalf("png.Decode: %v", err)
		}
		if b := decoded.Bounds(); b.Dx() != 1200 || b.Dy() != 800 {
			t.Errorf("decoded PNG is %dx%d, want 1200x800", b.Dx(), b.Dy())
		}
	})

	t.Run("nil request is the empty request", func(t *testing.T) {
		img, err := c.GetChart(t.Context(), nil)
		if err != nil {
			t.Fatalf("GetChart: %v", err)
		}
		checkMeta(t, img, "image/png", 1200, 800, 100)
	})

	t.Run("SVG", func(t *testing.T) {
		img := getChart(t, c, must(spy2023(svgFormat, 1000, 700, 0).Request()))
		if img.MediaType != "image/svg+xml" {
			t.Errorf("media type = %q, want image/svg+xml", img.MediaType)
		}
		if root, err := svgRoot(img.Data); err != nil || root != "svg" {
			t.Errorf("the SVG parses to root %q, %v; want svg", root, err)
		}
	})

	t.Run("JPEG", func(t *testing.T) {
		img := getChart(t, c, must(spy2023(jpegFormat, 900, 600, 150).Request()))
		checkMeta(t, img, "image/jpeg", 900, 600, 150)
		decoded, err := jpeg.Decode(bytes.NewReader(img.Data))
		if err != nil {
			t.Fatalf("jpeg.Decode: %v", err)
		}
		if b := decoded.Bounds(); b.Dx() != 900 || b.Dy() != 600 {
			t.Errorf("decoded JPEG is %dx%d, want 900x600", b.Dx(), b.Dy())
		}
		if x, y, ok := jfifDensity(img.Data); !ok || x != 150 || y != 150 {
			t.Errorf("JFIF density = %d x %d dpi (found %v), want 150", x, y, ok)
		}
	})

	t.Run("WebP", func(t *testing.T) {
		img := getChart(t, c, must(spy2023(webpFormat, 800, 500, 0).Request()))
		checkMeta(t, img, "image/webp", 800, 500, 100)
		if w, h, err := webpLossless(img.Data); err != nil || w != 800 || h != 500 {
			t.Errorf("WebP is %dx%d (%v), want a lossless 800x500 image", w, h, err)
		}
	})

	t.Run("inline bars", func(t *testing.T) {
		img := getChart(t, c, must(idc.ChartQuery{Bars: syntheticBars(60), Panels: allPanels(), Overlays: someOverlays(), Width: 400, Height: 300}.Request()))
		checkMeta(t, img, "image/png", 400, 300, 100)
	})

	t.Run("write to a writer", func(t *testing.T) {
		var buf bytes.Buffer
		img, err := c.WriteChart(t.Context(), must(spy2023(pngFormat, 640, 480, 0).Request()), &buf)
		if err != nil {
			t.Fatalf("WriteChart: %v", err)
		}
		if sum := sha256.Sum256(buf.Bytes()); !bytes.Equal(sum[:], img.SHA256) || int64(buf.Len()) != img.Size {
			t.Errorf("writer got %d bytes with sha256 %x, Image says %d with %x", buf.Len(), sum, img.Size, img.SHA256)
		}
	})

	t.Run("identical requests give identical bytes", func(t *testing.T) {
		q := spy2023(pngFormat, 800, 600, 0)
		first := getChart(t, c, must(q.Request()))
		second := getChart(t, c, must(q.Request()))
		if !bytes.Equal(first.Data, second.Data) {
			t.Errorf("two identical requests gave different images (%x, %x)", first.SHA256, second.SHA256)
		}
	})

	t.Run("dark differs from light", func(t *testing.T) {
		q := spy2023(pngFormat, 800, 600, 0)
		q.Theme = idcv1.Theme_THEME_LIGHT
		light := getChart(t, c, must(q.Request()))
		q.Theme = idcv1.Theme_THEME_DARK
		dark := getChart(t, c, must(q.Request()))
		if bytes.Equal(light.Data, dark.Data) {
			t.Errorf("THEME_DARK gave the same image as THEME_LIGHT")
		}
	})

	t.Run("CN colours differ from Western", func(t *testing.T) {
		q := spy2023(pngFormat, 800, 600, 0)
		western := getChart(t, c, must(q.Request()))
		q.Scheme = idcv1.ColorScheme_COLOR_SCHEME_CN
		cn := getChart(t, c, must(q.Request()))
		if bytes.Equal(western.Data, cn.Data) {
			t.Errorf("COLOR_SCHEME_CN gave the same image as the default")
		}
	})
}

func TestContractChunkSize(t *testing.T) {
	c := contractClient(t)

	t.Run("1024", func(t *testing.T) {
		q := spy2023(pngFormat, 800, 600, 0)
		q.ChunkSize = 1024
		_, sizes := chartChunks(t, c, must(q.Request()))
		if len(sizes) < 2 {
			t.Errorf("got %d chunks, want more than 1", len(sizes))
		}
		for i, n := range sizes {
			if n < 1 || n > 1024 {
				t.Errorf("chunk %d has %d bytes, want 1 to 1024", i, n)
			}
		}
	})

	t.Run("0 means 64 KiB", func(t *testing.T) {
		meta, sizes := chartChunks(t, c, must(spy2023(pngFormat, 2000, 1400, 0).Request()))
		for i, n := range sizes {
			if n < 1 || n > 65536 {
				t.Errorf("chunk %d has %d bytes, want 1 to 65536", i, n)
			}
		}
		if meta.GetSizeBytes() > 65536 && len(sizes) < 2 {
			t.Errorf("a %d-byte image came in %d chunk", meta.GetSizeBytes(), len(sizes))
		}
	})

	t.Run("GetMACDGraph 4096", func(t *testing.T) {
		req := must(idc.MACDQuery{Symbol: "SPY", Start: "2023-01-01", End: "2023-12-31"}.GraphRequest(800, 600))
		req.ChunkSizeBytes = 4096
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		stream, err := idcv1.NewIndicatorGraphServiceClient(c.Conn()).GetMACDGraph(ctx, req)
		if err != nil {
			t.Fatalf("GetMACDGraph: %v", err)
		}
		_, sizes := collectChunks(t, stream.Recv)
		if len(sizes) < 2 {
			t.Errorf("got %d chunks, want more than 1", len(sizes))
		}
		for i, n := range sizes {
			if n < 1 || n > 4096 {
				t.Errorf("chunk %d has %d bytes, want 1 to 4096", i, n)
			}
		}
		// The client reassembles the same request.
		if img, err := c.GetMACDGraph(t.Context(), req); err != nil || img.Width != 800 || img.Height != 600 {
			t.Errorf("GetMACDGraph with chunk_size_bytes 4096 = %v, %v; want an 800x600 image", img, err)
		}
	})
}

func TestContractChartErrors(t *testing.T) {
	c := contractClient(t)

	chart := func(mutate func(*idcv1.GetChartRequest)) func() error {
		return func() error {
			req := must(spy2023(pngFormat, 800, 600, 0).Request())
			mutate(req)
			_, err := c.GetChart(t.Context(), req)
			return err
		}
	}
	cases := []struct {
		name  string
		call  func() error
		code  codes.Code
		field string
	}{
		{"chunk_size_bytes 100", chart(func(r *idcv1.GetChartRequest) { r.ChunkSizeBytes = 100 }), codes.InvalidArgument, "chunk_size_bytes"},
		{"chunk_size_bytes 2 MiB", chart(func(r *idcv1.GetChartRequest) { r.ChunkSizeBytes = 2 << 20 }), codes.InvalidArgument, "chunk_size_bytes"},
		{"8000x8000 is over the pixel limit", chart(func(r *idcv1.GetChartRequest) { r.WidthPx, r.HeightPx = 8000, 8000 }), codes.InvalidArgument, "width_px"},
		{"width_px 100", chart(func(r *idcv1.GetChartRequest) { r.WidthPx = 100 }), codes.InvalidArgument, "width_px"},
		{"panel with nothing set", chart(func(r *idcv1.GetChartRequest) { r.Panels = []*idcv1.ChartPanel{{}} }), codes.InvalidArgument, "panels[0]"},
		{"panels[1].rsi.period -1", chart(func(r *idcv1.GetChartRequest) {
			r.Panels = []*idcv1.ChartPanel{idc.VolumePanel(), idc.RSIPanel(-1)}
		}), codes.InvalidArgument, "panels[1].rsi.period"},
		{"overlay with nothing set", chart(func(r *idcv1.GetChartRequest) { r.Overlays = []*idcv1.ChartOverlay{{}} }), codes.InvalidArgument, "overlays[0]"},
		{"format 9", chart(func(r *idcv1.GetChartRequest) { r.Format = 9 }), codes.InvalidArgument, "format"},
		{"theme 9", chart(func(r *idcv1.GetChartRequest) { r.Theme = 9 }), codes.InvalidArgument, "theme"},
		{"color_scheme 9", chart(func(r *idcv1.GetChartRequest) { r.ColorScheme = 9 }), codes.InvalidArgument, "color_scheme"},
		{"convention 7", chart(func(r *idcv1.GetChartRequest) { r.Convention = 7 }), codes.InvalidArgument, "convention"},
		{"dpi 10", chart(func(r *idcv1.GetChartRequest) { r.Dpi = 10 }), codes.InvalidArgument, "dpi"},
		{"malformed start_date", chart(func(r *idcv1.GetChartRequest) { r.StartDate = "2023-13-01" }), codes.InvalidArgument, "start_date"},
		{"unknown symbol", chart(func(r *idcv1.GetChartRequest) { r.Source = &idcv1.GetChartRequest_Symbol{Symbol: "NOPE"} }), codes.NotFound, ""},
		{"weekend window", chart(func(r *idcv1.GetChartRequest) { r.StartDate, r.EndDate = "2023-01-07", "2023-01-08" }), codes.NotFound, ""},
		{"GetMACDGraph chunk_size_bytes 100", func() error {
			req := must(idc.MACDQuery{}.GraphRequest(0, 0))
			req.ChunkSizeBytes = 100
			_, err := c.GetMACDGraph(t.Context(), req)
			return err
		}, codes.InvalidArgument, "chunk_size_bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, tc.call(), tc.code, tc.field)
		})
	}

	t.Run("a normal chart still succeeds", func(t *testing.T) {
		checkMeta(t, getChart(t, c, must(spy2023(pngFormat, 400, 300, 0).Request())), "image/png", 400, 300, 100)
	})
}

// renderCounters reads the server's render-cache counters from its
// Prometheus endpoint, IDC_METRICS_URL: renders started (cache misses) and
// renders abandoned.
func renderCounters(t *testing.T) (started, abandoned float64) {
	t.Helper()
	url := testenv.Require(t, "IDC_METRICS_URL", "the /metrics URL of the server in IDC_ADDR")
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s, %v", url, resp.Status, err)
	}
	values := map[string]float64{}
	for line := range strings.SplitSeq(string(body), "\n") {
		if name, value, ok := strings.Cut(line, " "); ok && !strings.HasPrefix(name, "#") {
			if n, err := strconv.ParseFloat(value, 64); err == nil {
				values[name] = n
			}
		}
	}
	const startedName, abandonedName = "idc_chart_cache_misses_total", "idc_chart_renders_abandoned_total"
	for _, name := range []string{startedName, abandonedName} {
		if _, ok := values[name]; !ok {
			t.Fatalf("%s has no %s:\n%s", url, name, body)
		}
	}
	return values[startedName], values[abandonedName]
}

// TestContractChartDeadline checks that a deadline stops the render itself,
// not only the call: once a render has started for a call whose deadline
// then passes, the server's abandoned-render counter must go up. A render
// that ran to the end would never count.
func TestContractChartDeadline(t *testing.T) {
	c := contractClient(t)
	getChart(t, c, must(spy2023(pngFormat, 400, 300, 0).Request())) // a warm connection

	// A large SVG of SPY's whole history with every panel and overlay (about
	// 1.5 s to render on a 2-core machine). A deadline so short that the
	// call ends before its render starts proves nothing, so it doubles
	// until a render has started.
	for deadline := 50 * time.Millisecond; ; deadline *= 2 {
		if deadline > 2*time.Second {
			t.Fatal("no render started before its deadline passed, even with 1.6 s")
		}
		started, abandoned := renderCounters(t)
		// The dpi varies from call to call so that the render cache cannot hold the chart.
		q := idc.ChartQuery{
			Symbol: "SPY", Panels: allPanels(),
			Overlays: []*idcv1.ChartOverlay{idc.SMAOverlay(20), idc.EMAOverlay(12), idc.BollingerOverlay(20, 0)},
			Format:   svgFormat, Width: 8000, Height: 2000, DPI: 60 + rand.Int32N(500),
		}
		ctx, cancel := context.WithTimeout(t.Context(), deadline)
		begin := time.Now()
		_, err := c.GetChart(ctx, must(q.Request()))
		cancel()
		wantCode(t, err, codes.DeadlineExceeded, "")
		if d := time.Since(begin); d > deadline+5*time.Second {
			t.Errorf("the call took %v to fail after a %v deadline", d, deadline)
		}
		if now, _ := renderCounters(t); now == started {
			continue // the call ended before its render started
		}
		// The server notices the deadline at the render's next checkpoint.
		for waited := time.Now(); ; time.Sleep(100 * time.Millisecond) {
			if _, now := renderCounters(t); now > abandoned {
				break
			}
			if time.Since(waited) > time.Minute {
				t.Fatalf("idc_chart_renders_abandoned stayed at %v for a minute after a %v deadline: "+
					"the server rendered the chart to the end", abandoned, deadline)
			}
		}
		break
	}

	img := getChart(t, c, must(spy2023(pngFormat, 400, 300, 0).Request()))
	checkMeta(t, img, "image/png", 400, 300, 100)
}
