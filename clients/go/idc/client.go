package idc

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"iter"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
)

// DefaultTimeout is the per-call deadline a [Client] applies when the
// caller's context has no earlier deadline and [WithTimeout] is not used.
const DefaultTimeout = 30 * time.Second

// Client calls the idc.v1 services over one gRPC connection. It is safe for
// concurrent use by multiple goroutines. Create it with [Dial] and release
// it with [Client.Close].
type Client struct {
	conn    *grpc.ClientConn
	ind     idcv1.IndicatorServiceClient
	graph   idcv1.IndicatorGraphServiceClient
	timeout time.Duration
}

// Dial creates a client for the server at target, for example
// "localhost:50051" or "dns:///idc.example.com:443". It uses
// [grpc.NewClient], so it does not wait for the connection: the first call
// connects, and connection errors surface from calls.
func Dial(target string, opts ...Option) (*Client, error) {
	cfg := newConfig(opts)
	dialOpts, err := cfg.grpcDialOptions()
	if err != nil {
		return nil, fmt.Errorf("dial %q: %w", target, err)
	}
	conn, err := grpc.NewClient(target, dialOpts...)
	if err != nil {
		return nil, fmt.Errorf("dial %q: %w", target, err)
	}
	return &Client{
		conn:    conn,
		ind:     idcv1.NewIndicatorServiceClient(conn),
		graph:   idcv1.NewIndicatorGraphServiceClient(conn),
		timeout: cfg.timeout,
	}, nil
}

// Close closes the connection. Calls in flight fail with CANCELED.
func (c *Client) Close() error {
	return c.conn.Close()
}

// Conn returns the underlying connection, for calling other services on the
// same server, such as the article's legacy idc.Indicator service.
func (c *Client) Conn() *grpc.ClientConn {
	return c.conn
}

// callContext returns ctx limited by the client's default timeout. The
// earlier of the two deadlines wins.
func (c *Client) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.timeout)
}

// GetMACD calls IndicatorService.GetMACD. A nil req is the same as an empty
// request: the server's default symbol, its whole history, periods 12/26/9
// and the server's default convention. Use [MACDQuery] to build a request
// and [MACDRows] to read the response, whose MACD columns start at
// first_valid_index.
//
// Errors keep their gRPC status: INVALID_ARGUMENT for a malformed date, end
// before start, a period out of range, an unknown convention or bad inline
// bars (see [FieldViolations]), and NOT_FOUND for an unknown symbol or a
// window without bars.
func (c *Client) GetMACD(ctx context.Context, req *idcv1.GetMACDRequest, opts ...grpc.CallOption) (*idcv1.GetMACDResponse, error) {
	if req == nil {
		req = &idcv1.GetMACDRequest{}
	}
	ctx, cancel := c.callContext(ctx)
	defer cancel()
	resp, err := c.ind.GetMACD(ctx, req, opts...)
	if err != nil {
		return nil, fmt.Errorf("get macd: %w", err)
	}
	return resp, nil
}

// ComputeIndicators calls IndicatorService.ComputeIndicators, which computes
// a list of indicators over one selection of bars. Use [IndicatorQuery] with
// [SMA], [EMA], [MACD], [RSI], [Bollinger], [KDJ] and [Labeled] to build a
// request, and [IndicatorFrame] to read the response. A nil req is the
// same as an empty request, which the server rejects because it lists no
// indicators.
//
// Errors keep their gRPC status: INVALID_ARGUMENT as for [Client.GetMACD],
// plus an empty or too long indicator list, a spec with no indicator, a bad
// or duplicate label, or a parameter out of range, with field paths such as
// "indicators[2].rsi.period" (see [FieldViolations]); NOT_FOUND for an
// unknown symbol or a window without bars.
func (c *Client) ComputeIndicators(ctx context.Context, req *idcv1.ComputeIndicatorsRequest, opts ...grpc.CallOption) (*idcv1.ComputeIndicatorsResponse, error) {
	if req == nil {
		req = &idcv1.ComputeIndicatorsRequest{}
	}
	ctx, cancel := c.callContext(ctx)
	defer cancel()
	resp, err := c.ind.ComputeIndicators(ctx, req, opts...)
	if err != nil {
		return nil, fmt.Errorf("compute indicators: %w", err)
	}
	return resp, nil
}

// ListSymbols lists every symbol the server can serve, sorted, with each
// one's dates, bar count, state, stored interval and price adjustment, the
// intervals and adjustments it can be served at and its time zone, and
// names the default symbol. It calls IndicatorService.ListSymbols once per
// page of 1000 symbols until the last (see [Client.Symbols] to walk them
// one by one, with a prefix) and returns them as one response, whose
// next_page_token is empty. Each page has its own deadline.
func (c *Client) ListSymbols(ctx context.Context, opts ...grpc.CallOption) (*idcv1.ListSymbolsResponse, error) {
	all := &idcv1.ListSymbolsResponse{}
	for page, err := range c.SymbolPages(ctx, nil, opts...) {
		if err != nil {
			return nil, err
		}
		all.Symbols = append(all.Symbols, page.GetSymbols()...)
		all.DefaultSymbol = page.GetDefaultSymbol()
	}
	return all, nil
}

// ListSymbolsPage calls IndicatorService.ListSymbols once, for one page: up
// to req's page_size symbols (0 means 1000) that start with its prefix,
// after its page_token. A nil req asks for the first page of every symbol.
// Errors keep their gRPC status: INVALID_ARGUMENT for a negative page size
// or a page token the server did not make for this prefix.
func (c *Client) ListSymbolsPage(ctx context.Context, req *idcv1.ListSymbolsRequest, opts ...grpc.CallOption) (*idcv1.ListSymbolsResponse, error) {
	if req == nil {
		req = &idcv1.ListSymbolsRequest{}
	}
	ctx, cancel := c.callContext(ctx)
	defer cancel()
	resp, err := c.ind.ListSymbols(ctx, req, opts...)
	if err != nil {
		return nil, fmt.Errorf("list symbols: %w", err)
	}
	return resp, nil
}

// Symbols returns an iterator over the symbols that start with req's
// prefix (case-insensitive; empty means all), in sorted order, fetching
// pages of req's page_size (0 means 1000) as the loop needs them:
//
//	for info, err := range c.Symbols(ctx, &idcv1.ListSymbolsRequest{Prefix: "000"}) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(info.GetSymbol(), idc.IntervalName(info.GetInterval()), info.GetTimeZone())
//	}
//
// A failed page yields its error once and ends the loop. req's page_token
// is where the walk starts; a nil req means every symbol from the first.
func (c *Client) Symbols(ctx context.Context, req *idcv1.ListSymbolsRequest, opts ...grpc.CallOption) iter.Seq2[*idcv1.SymbolInfo, error] {
	return func(yield func(*idcv1.SymbolInfo, error) bool) {
		for page, err := range c.SymbolPages(ctx, req, opts...) {
			if err != nil {
				yield(nil, err)
				return
			}
			for _, info := range page.GetSymbols() {
				if !yield(info, nil) {
					return
				}
			}
		}
	}
}

// SymbolPages returns an iterator over the pages of ListSymbols for req's
// prefix and page size, from its page_token on (nil req: every symbol from
// the first), each page with its own deadline, until the page whose
// next_page_token is empty. A failed page yields its error once and ends
// the loop; so does a server that sends a page token twice, which would
// otherwise loop for ever. Use it rather than [Client.Symbols] to see each
// page's default_symbol.
func (c *Client) SymbolPages(ctx context.Context, req *idcv1.ListSymbolsRequest, opts ...grpc.CallOption) iter.Seq2[*idcv1.ListSymbolsResponse, error] {
	return func(yield func(*idcv1.ListSymbolsResponse, error) bool) {
		next := &idcv1.ListSymbolsRequest{}
		if req != nil {
			next = proto.CloneOf(req)
		}
		seen := map[string]bool{}
		for {
			resp, err := c.ListSymbolsPage(ctx, next, opts...)
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(resp, nil) {
				return
			}
			token := resp.GetNextPageToken()
			if token == "" {
				return
			}
			if seen[token] {
				yield(nil, fmt.Errorf("list symbols: the server sent page token %q twice", token))
				return
			}
			seen[token] = true
			next.PageToken = token
		}
	}
}

// Image is a chart received from IndicatorGraphService.GetChart or
// GetMACDGraph whose size and SHA-256 digest matched the metadata sent
// before it.
type Image struct {
	// MediaType is the IANA media type: "image/png", "image/svg+xml",
	// "image/jpeg" or "image/webp".
	MediaType string
	// Width is the image width in pixels, as announced by the server.
	Width int
	// Height is the image height in pixels, as announced by the server.
	Height int
	// DPI is the resolution in dots per inch, as announced by the server
	// and recorded in PNG, JPEG and WebP files; 0 from a server that does
	// not report it.
	DPI int
	// Data holds the image bytes. It is nil when the image was written to
	// an io.Writer by [Client.WriteChart] or [Client.WriteMACDGraph].
	Data []byte
	// SHA256 is the verified 32-byte SHA-256 digest of the image.
	SHA256 []byte
	// Size is the image length in bytes.
	Size int64
}

// maxPrealloc caps how much memory GetChart and GetMACDGraph reserve up
// front from the size the server announces; larger images still arrive, by
// growing.
const maxPrealloc = 16 << 20

// GetChart calls IndicatorGraphService.GetChart and reassembles the
// streamed chart in memory: a candlestick price panel with the request's
// overlays (SMA, EMA, Bollinger Bands) over one panel per entry of its
// panels (volume, MACD, RSI, KDJ), as PNG, SVG, JPEG or WebP. [ChartQuery]
// builds a request. A nil req is the same as an empty request: the default
// symbol's whole history with volume and MACD panels, a 1200x800 PNG at 100
// dpi, light theme, Western colours.
//
// The stream is checked as for [Client.GetMACDGraph]: an error matching
// [ErrProtocol] or [ErrIntegrity] reports a stream out of order or bytes
// that do not match the metadata. Server errors keep their gRPC status:
// INVALID_ARGUMENT for a bad bar selection, a panel or overlay with nothing
// set or a parameter out of range (e.g. field "panels[1].rsi.period"), an
// image over the server's pixel limit, a chunk size out of range, or an
// unknown format, theme, color scheme or convention (see
// [FieldViolations]); NOT_FOUND for an unknown symbol or a window without
// bars. When ctx ends, the server stops rendering and the call fails with
// CANCELED or DEADLINE_EXCEEDED.
func (c *Client) GetChart(ctx context.Context, req *idcv1.GetChartRequest, opts ...grpc.CallOption) (*Image, error) {
	var buf bytes.Buffer
	img, err := c.receiveChart(ctx, req, &buf, opts)
	if err != nil {
		return nil, err
	}
	img.Data = buf.Bytes()
	return img, nil
}

// WriteChart is like [Client.GetChart] but writes the chunks to w as they
// arrive instead of keeping the image in memory; the returned Image has nil
// Data. As with [Client.WriteMACDGraph], w may have received bytes of an
// image that is then rejected: on error, discard what was written.
func (c *Client) WriteChart(ctx context.Context, req *idcv1.GetChartRequest, w io.Writer, opts ...grpc.CallOption) (*Image, error) {
	return c.receiveChart(ctx, req, w, opts)
}

// GetMACDGraph calls IndicatorGraphService.GetMACDGraph and reassembles the
// streamed chart in memory. A nil req is the same as an empty request.
//
// The stream must start with the metadata and then carry the chunks. An
// error matching [ErrProtocol] reports a stream that breaks this order (no
// metadata, chunks before it, metadata twice); an error matching
// [ErrIntegrity] reports bytes that do not add up to the announced size or
// do not hash to the announced SHA-256. Server errors keep their gRPC
// status as in [Client.GetMACD], plus INVALID_ARGUMENT for an image size or
// chunk size out of range. [MACDQuery.GraphRequest] builds a request; set
// its ChunkSizeBytes to choose the largest chunk (0 means 64 KiB).
func (c *Client) GetMACDGraph(ctx context.Context, req *idcv1.GetMACDGraphRequest, opts ...grpc.CallOption) (*Image, error) {
	var buf bytes.Buffer
	img, err := c.receiveGraph(ctx, req, &buf, opts)
	if err != nil {
		return nil, err
	}
	img.Data = buf.Bytes()
	return img, nil
}

// WriteMACDGraph is like [Client.GetMACDGraph] but writes the chunks to w as
// they arrive instead of keeping the image in memory; the returned Image
// has nil Data. Since the digest can only be checked at the end, w may have
// received some or all bytes of an image that is then rejected: on error,
// discard what was written (for example, write to a temporary file and
// rename it only on success).
func (c *Client) WriteMACDGraph(ctx context.Context, req *idcv1.GetMACDGraphRequest, w io.Writer, opts ...grpc.CallOption) (*Image, error) {
	return c.receiveGraph(ctx, req, w, opts)
}

func (c *Client) receiveGraph(ctx context.Context, req *idcv1.GetMACDGraphRequest, w io.Writer, opts []grpc.CallOption) (*Image, error) {
	if req == nil {
		req = &idcv1.GetMACDGraphRequest{}
	}
	return streamImage(ctx, c, "get macd graph", w, func(ctx context.Context) (func() (*idcv1.GetMACDGraphResponse, error), error) {
		stream, err := c.graph.GetMACDGraph(ctx, req, opts...)
		if err != nil {
			return nil, err
		}
		return stream.Recv, nil
	})
}

func (c *Client) receiveChart(ctx context.Context, req *idcv1.GetChartRequest, w io.Writer, opts []grpc.CallOption) (*Image, error) {
	if req == nil {
		req = &idcv1.GetChartRequest{}
	}
	return streamImage(ctx, c, "get chart", w, func(ctx context.Context) (func() (*idcv1.GetChartResponse, error), error) {
		stream, err := c.graph.GetChart(ctx, req, opts...)
		if err != nil {
			return nil, err
		}
		return stream.Recv, nil
	})
}

// streamImage opens an image stream with open under the call's deadline,
// reassembles it into w with [receiveImage], and prefixes any error with
// op.
func streamImage[M imageResponse](ctx context.Context, c *Client, op string, w io.Writer, open func(context.Context) (func() (M, error), error)) (*Image, error) {
	ctx, cancel := c.callContext(ctx)
	defer cancel() // also ends the stream early when reassembly fails
	recv, err := open(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	img, err := receiveImage(recv, w)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return img, nil
}
