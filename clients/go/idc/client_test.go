package idc_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
	"github.com/idcrpc/idc/clients/go/idc"
)

// fakeMACD is an IndicatorService whose behaviour each test sets. An RPC
// without a handler is UNIMPLEMENTED.
type fakeMACD struct {
	idcv1.UnimplementedIndicatorServiceServer
	handle  func(context.Context, *idcv1.GetMACDRequest) (*idcv1.GetMACDResponse, error)
	compute func(context.Context, *idcv1.ComputeIndicatorsRequest) (*idcv1.ComputeIndicatorsResponse, error)
	list    func(context.Context, *idcv1.ListSymbolsRequest) (*idcv1.ListSymbolsResponse, error)
}

func (f *fakeMACD) GetMACD(ctx context.Context, req *idcv1.GetMACDRequest) (*idcv1.GetMACDResponse, error) {
	if f.handle == nil {
		return f.UnimplementedIndicatorServiceServer.GetMACD(ctx, req)
	}
	return f.handle(ctx, req)
}

func (f *fakeMACD) ComputeIndicators(ctx context.Context, req *idcv1.ComputeIndicatorsRequest) (*idcv1.ComputeIndicatorsResponse, error) {
	if f.compute == nil {
		return f.UnimplementedIndicatorServiceServer.ComputeIndicators(ctx, req)
	}
	return f.compute(ctx, req)
}

func (f *fakeMACD) ListSymbols(ctx context.Context, req *idcv1.ListSymbolsRequest) (*idcv1.ListSymbolsResponse, error) {
	if f.list == nil {
		return f.UnimplementedIndicatorServiceServer.ListSymbols(ctx, req)
	}
	return f.list(ctx, req)
}

// fakeGraph is an IndicatorGraphService whose two RPCs send a fixed list of
// messages and then return err: GetMACDGraph sends msgs, and GetChart sends
// msgs converted to GetChartResponse. onCall, when set, sees each call's
// context first; chartReqs receives each GetChart request, when not nil.
type fakeGraph struct {
	idcv1.UnimplementedIndicatorGraphServiceServer
	msgs      []*idcv1.GetMACDGraphResponse
	err       error
	onCall    func(context.Context)
	chartReqs chan *idcv1.GetChartRequest
}

func (f *fakeGraph) GetChart(req *idcv1.GetChartRequest, stream grpc.ServerStreamingServer[idcv1.GetChartResponse]) error {
	if f.onCall != nil {
		f.onCall(stream.Context())
	}
	if f.chartReqs != nil {
		f.chartReqs <- req
	}
	for _, m := range toChart(f.msgs) {
		if err := stream.Send(m); err != nil {
			return err
		}
	}
	return f.err
}

// toChart converts GetMACDGraph messages into the same GetChart messages.
func toChart(msgs []*idcv1.GetMACDGraphResponse) []*idcv1.GetChartResponse {
	out := make([]*idcv1.GetChartResponse, len(msgs))
	for i, m := range msgs {
		switch p := m.GetPayload().(type) {
		case *idcv1.GetMACDGraphResponse_Metadata:
			out[i] = &idcv1.GetChartResponse{Payload: &idcv1.GetChartResponse_Metadata{Metadata: p.Metadata}}
		case *idcv1.GetMACDGraphResponse_Chunk:
			out[i] = &idcv1.GetChartResponse{Payload: &idcv1.GetChartResponse_Chunk{Chunk: p.Chunk}}
		default:
			out[i] = &idcv1.GetChartResponse{}
		}
	}
	return out
}

func (f *fakeGraph) GetMACDGraph(_ *idcv1.GetMACDGraphRequest, stream grpc.ServerStreamingServer[idcv1.GetMACDGraphResponse]) error {
	if f.onCall != nil {
		f.onCall(stream.Context())
	}
	for _, m := range f.msgs {
		if err := stream.Send(m); err != nil {
			return err
		}
	}
	return f.err
}

// newClient serves the fakes over an in-memory listener and returns a
// client connected to them.
func newClient(t *testing.T, macd *fakeMACD, graph *fakeGraph, opts ...idc.Option) *idc.Client {
	t.Helper()
	return newClientFor(t, func(srv *grpc.Server) {
		if macd != nil {
			idcv1.RegisterIndicatorServiceServer(srv, macd)
		}
		if graph != nil {
			idcv1.RegisterIndicatorGraphServiceServer(srv, graph)
		}
	}, opts...)
}

// newClientFor serves the services register registers over an in-memory
// listener and returns a client connected to them.
func newClientFor(t *testing.T, register func(*grpc.Server), opts ...idc.Option) *idc.Client {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	register(srv)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)

	dialer := func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }
	opts = append(opts, idc.WithDialOptions(grpc.WithContextDialer(dialer)))
	c, err := idc.Dial("passthrough:///bufconn", opts...)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func metadataMsg(media string, size int64, sum []byte, w, h int32) *idcv1.GetMACDGraphResponse {
	return &idcv1.GetMACDGraphResponse{Payload: &idcv1.GetMACDGraphResponse_Metadata{Metadata: &idcv1.ImageMetadata{
		MediaType: media, SizeBytes: size, Sha256: sum, WidthPx: w, HeightPx: h, Dpi: 100,
	}}}
}

func chunkMsg(b []byte) *idcv1.GetMACDGraphResponse {
	return &idcv1.GetMACDGraphResponse{Payload: &idcv1.GetMACDGraphResponse_Chunk{Chunk: b}}
}

// chunked returns the metadata for data followed by its chunks of at most
// size bytes.
func chunked(data []byte, size int) []*idcv1.GetMACDGraphResponse {
	sum := sha256.Sum256(data)
	msgs := []*idcv1.GetMACDGraphResponse{metadataMsg("image/png", int64(len(data)), sum[:], 800, 600)}
	for len(data) > 0 {
		n := min(size, len(data))
		msgs = append(msgs, chunkMsg(data[:n]))
		data = data[n:]
	}
	return msgs
}

func testImage() []byte {
	data := make([]byte, 200_000) // several 64 KiB chunks
	for i := range data {
		data[i] = byte(i * 7)
	}
	return data
}

func TestGetMACDGraph(t *testing.T) {
	data := testImage()
	good := chunked(data, 64<<10)
	sum := sha256.Sum256(data)
	badSum := sha256.Sum256([]byte("something else"))

	t.Run("good image", func(t *testing.T) {
		c := newClient(t, nil, &fakeGraph{msgs: good})
		img, err := c.GetMACDGraph(t.Context(), &idcv1.GetMACDGraphRequest{})
		if err != nil {
			t.Fatalf("GetMACDGraph: %v", err)
		}
		if !bytes.Equal(img.Data, data) {
			t.Errorf("Data differs from the sent image (%d bytes, want %d)", len(img.Data), len(data))
		}
		if !bytes.Equal(img.SHA256, sum[:]) {
			t.Errorf("SHA256 = %x, want %x", img.SHA256, sum)
		}
		if img.MediaType != "image/png" || img.Width != 800 || img.Height != 600 || img.Size != int64(len(data)) {
			t.Errorf("got %s %dx%d %d bytes, want image/png 800x600 %d bytes", img.MediaType, img.Width, img.Height, img.Size, len(data))
		}
	})

	t.Run("nil request and one-byte chunks", func(t *testing.T) {
		small := []byte("tiny png")
		c := newClient(t, nil, &fakeGraph{msgs: chunked(small, 1)})
		img, err := c.GetMACDGraph(t.Context(), nil)
		if err != nil {
			t.Fatalf("GetMACDGraph: %v", err)
		}
		if !bytes.Equal(img.Data, small) {
			t.Errorf("Data = %q, want %q", img.Data, small)
		}
	})

	t.Run("empty image", func(t *testing.T) {
		empty := sha256.Sum256(nil)
		c := newClient(t, nil, &fakeGraph{msgs: []*idcv1.GetMACDGraphResponse{metadataMsg("image/png", 0, empty[:], 1, 1)}})
		img, err := c.GetMACDGraph(t.Context(), nil)
		if err != nil {
			t.Fatalf("GetMACDGraph: %v", err)
		}
		if len(img.Data) != 0 {
			t.Errorf("Data has %d bytes, want 0", len(img.Data))
		}
	})

	t.Run("write to writer", func(t *testing.T) {
		c := newClient(t, nil, &fakeGraph{msgs: good})
		var w bytes.Buffer
		img, err := c.WriteMACDGraph(t.Context(), &idcv1.GetMACDGraphRequest{}, &w)
		if err != nil {
			t.Fatalf("WriteMACDGraph: %v", err)
		}
		if !bytes.Equal(w.Bytes(), data) {
			t.Errorf("writer got %d bytes differing from the image", w.Len())
		}
		if img.Data != nil || img.Size != int64(len(data)) || !bytes.Equal(img.SHA256, sum[:]) {
			t.Errorf("Image = {Data: %d bytes, Size: %d, SHA256: %x}, want no data, size %d, sha %x", len(img.Data), img.Size, img.SHA256, len(data), sum)
		}
	})

	bad := []struct {
		name string
		msgs []*idcv1.GetMACDGraphResponse
		want error
		code codes.Code
		text string
	}{
		{
			name: "sha mismatch",
			msgs: append([]*idcv1.GetMACDGraphResponse{metadataMsg("image/png", int64(len(data)), badSum[:], 800, 600)}, good[1:]...),
			want: idc.ErrIntegrity, code: codes.DataLoss, text: "sha256",
		},
		{
			name: "fewer bytes than announced",
			msgs: good[:len(good)-1],
			want: idc.ErrIntegrity, code: codes.DataLoss, text: "announced",
		},
		{
			name: "more bytes than announced",
			msgs: append(append([]*idcv1.GetMACDGraphResponse{}, good...), chunkMsg([]byte{1})),
			want: idc.ErrIntegrity, code: codes.DataLoss, text: "more than",
		},
		{
			name: "chunk before metadata",
			msgs: append([]*idcv1.GetMACDGraphResponse{chunkMsg(data[:10])}, good...),
			want: idc.ErrProtocol, code: codes.Internal, text: "before metadata",
		},
		{
			name: "duplicate metadata",
			msgs: append([]*idcv1.GetMACDGraphResponse{good[0]}, good...),
			want: idc.ErrProtocol, code: codes.Internal, text: "twice",
		},
		{
			name: "empty stream",
			msgs: nil,
			want: idc.ErrProtocol, code: codes.Internal, text: "without metadata",
		},
		{
			name: "message without payload",
			msgs: append(append([]*idcv1.GetMACDGraphResponse{}, good[0]), &idcv1.GetMACDGraphResponse{}),
			want: idc.ErrProtocol, code: codes.Internal, text: "neither",
		},
		{
			name: "short sha256",
			msgs: []*idcv1.GetMACDGraphResponse{metadataMsg("image/png", 0, sum[:16], 1, 1)},
			want: idc.ErrProtocol, code: codes.Internal, text: "sha256 has 16 bytes",
		},
		{
			name: "negative size",
			msgs: []*idcv1.GetMACDGraphResponse{metadataMsg("image/png", -1, sum[:], 1, 1)},
			want: idc.ErrProtocol, code: codes.Internal, text: "negative",
		},
	}
	// Each bad stream fails the same way from both RPCs, which share the
	// reassembly.
	calls := []struct {
		name, prefix string
		call         func(*idc.Client) (*idc.Image, error)
	}{
		{"GetMACDGraph", "get macd graph: ", func(c *idc.Client) (*idc.Image, error) {
			return c.GetMACDGraph(t.Context(), &idcv1.GetMACDGraphRequest{})
		}},
		{"GetChart", "get chart: ", func(c *idc.Client) (*idc.Image, error) {
			return c.GetChart(t.Context(), &idcv1.GetChartRequest{})
		}},
	}
	for _, call := range calls {
		for _, tc := range bad {
			t.Run(call.name+" "+tc.name, func(t *testing.T) {
				c := newClient(t, nil, &fakeGraph{msgs: tc.msgs})
				img, err := call.call(c)
				if err == nil {
					t.Fatalf("%s succeeded with %d bytes, want an error", call.name, len(img.Data))
				}
				if !errors.Is(err, tc.want) {
					t.Errorf("error %q does not match %v", err, tc.want)
				}
				if got := status.Code(err); got != tc.code {
					t.Errorf("status.Code = %v, want %v", got, tc.code)
				}
				if !strings.HasPrefix(err.Error(), call.prefix) || !strings.Contains(err.Error(), tc.text) {
					t.Errorf("error %q lacks the prefix %q or the text %q", err, call.prefix, tc.text)
				}
			})
		}
	}

	t.Run("server error after some chunks", func(t *testing.T) {
		c := newClient(t, nil, &fakeGraph{msgs: good[:2], err: status.Error(codes.Internal, "render failed")})
		_, err := c.GetMACDGraph(t.Context(), nil)
		if status.Code(err) != codes.Internal || errors.Is(err, idc.ErrIntegrity) {
			t.Fatalf("err = %v, want the server's INTERNAL error", err)
		}
	})
}

func TestErrors(t *testing.T) {
	badRequest := func(field, desc string) error {
		st, err := status.New(codes.InvalidArgument, field+": "+desc).WithDetails(&errdetails.BadRequest{
			FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: desc}},
		})
		if err != nil {
			t.Fatalf("WithDetails: %v", err)
		}
		return st.Err()
	}

	t.Run("status and field violations survive wrapping", func(t *testing.T) {
		c := newClient(t, &fakeMACD{handle: func(context.Context, *idcv1.GetMACDRequest) (*idcv1.GetMACDResponse, error) {
			return nil, badRequest("start_date", "not a date")
		}}, nil)
		_, err := c.GetMACD(t.Context(), must(idc.MACDQuery{Start: "2023-13-01"}.Request()))
		if !strings.HasPrefix(err.Error(), "get macd: ") {
			t.Errorf("error %q lacks the prefix %q", err, "get macd: ")
		}
		if got := status.Code(err); got != codes.InvalidArgument {
			t.Errorf("status.Code = %v, want InvalidArgument", got)
		}
		if st, ok := status.FromError(err); !ok || st.Code() != codes.InvalidArgument {
			t.Errorf("status.FromError = %v, %v; want InvalidArgument, true", st, ok)
		}
		fv := idc.FieldViolations(err)
		if len(fv) != 1 || fv[0].GetField() != "start_date" || fv[0].GetDescription() != "not a date" {
			t.Errorf("FieldViolations = %v, want one for start_date", fv)
		}
	})

	t.Run("compute indicators keeps status and field violations", func(t *testing.T) {
		c := newClient(t, &fakeMACD{compute: func(context.Context, *idcv1.ComputeIndicatorsRequest) (*idcv1.ComputeIndicatorsResponse, error) {
			return nil, badRequest("indicators[0].sma.period", "must be 1-1000")
		}}, nil)
		_, err := c.ComputeIndicators(t.Context(), must(idc.IndicatorQuery{Indicators: []*idcv1.IndicatorSpec{idc.SMA(-1)}}.Request()))
		if !strings.HasPrefix(err.Error(), "compute indicators: ") {
			t.Errorf("error %q lacks the prefix %q", err, "compute indicators: ")
		}
		if got := status.Code(err); got != codes.InvalidArgument {
			t.Errorf("status.Code = %v, want InvalidArgument", got)
		}
		if fv := idc.FieldViolations(err); len(fv) != 1 || fv[0].GetField() != "indicators[0].sma.period" {
			t.Errorf("FieldViolations = %v, want one for indicators[0].sma.period", fv)
		}
	})

	t.Run("list symbols keeps the status", func(t *testing.T) {
		c := newClient(t, &fakeMACD{list: func(context.Context, *idcv1.ListSymbolsRequest) (*idcv1.ListSymbolsResponse, error) {
			return nil, status.Error(codes.Unavailable, "down")
		}}, nil)
		_, err := c.ListSymbols(t.Context())
		if !strings.HasPrefix(err.Error(), "list symbols: ") || status.Code(err) != codes.Unavailable {
			t.Errorf("err = %v, want an UNAVAILABLE error with the prefix %q", err, "list symbols: ")
		}
	})

	t.Run("no field violations", func(t *testing.T) {
		for _, err := range []error{nil, errors.New("plain"), status.Error(codes.NotFound, "nope"), idc.ErrIntegrity} {
			if fv := idc.FieldViolations(err); fv != nil {
				t.Errorf("FieldViolations(%v) = %v, want nil", err, fv)
			}
		}
	})

	t.Run("unimplemented service", func(t *testing.T) {
		c := newClient(t, nil, &fakeGraph{})
		_, err := c.GetMACD(t.Context(), nil)
		if got := status.Code(err); got != codes.Unimplemented {
			t.Errorf("status.Code = %v, want Unimplemented", got)
		}
	})
}

func TestComputeIndicatorsAndListSymbols(t *testing.T) {
	t.Run("compute indicators sends the request", func(t *testing.T) {
		got := make(chan *idcv1.ComputeIndicatorsRequest, 1)
		c := newClient(t, &fakeMACD{compute: func(_ context.Context, req *idcv1.ComputeIndicatorsRequest) (*idcv1.ComputeIndicatorsResponse, error) {
			got <- req
			return &idcv1.ComputeIndicatorsResponse{Symbol: "SPY", Dates: []int32{19720}, Series: []*idcv1.Series{{Name: "sma20", Values: []float64{1}}}}, nil
		}}, nil)
		q := idc.IndicatorQuery{Symbol: "SPY", Convention: idcv1.Convention_CONVENTION_TDX, Indicators: []*idcv1.IndicatorSpec{idc.Labeled("sma20", idc.SMA(20))}}
		resp, err := c.ComputeIndicators(t.Context(), must(q.Request()))
		if err != nil {
			t.Fatalf("ComputeIndicators: %v", err)
		}
		if !proto.Equal(<-got, must(q.Request())) {
			t.Errorf("the server got another request than %v", must(q.Request()))
		}
		if resp.GetSymbol() != "SPY" || len(resp.GetSeries()) != 1 {
			t.Errorf("response = %v", resp)
		}
	})

	t.Run("nil compute request is empty", func(t *testing.T) {
		got := make(chan *idcv1.ComputeIndicatorsRequest, 1)
		c := newClient(t, &fakeMACD{compute: func(_ context.Context, req *idcv1.ComputeIndicatorsRequest) (*idcv1.ComputeIndicatorsResponse, error) {
			got <- req
			return &idcv1.ComputeIndicatorsResponse{}, nil
		}}, nil)
		if _, err := c.ComputeIndicators(t.Context(), nil); err != nil {
			t.Fatalf("ComputeIndicators: %v", err)
		}
		if req := <-got; !proto.Equal(req, &idcv1.ComputeIndicatorsRequest{}) {
			t.Errorf("server got %v, want an empty request", req)
		}
	})

	t.Run("list symbols", func(t *testing.T) {
		want := &idcv1.ListSymbolsResponse{
			Symbols:       []*idcv1.SymbolInfo{{Symbol: "SPY", FirstDate: "1993-01-29", LastDate: "2026-03-27", BarCount: 8347}},
			DefaultSymbol: "SPY",
		}
		c := newClient(t, &fakeMACD{list: func(context.Context, *idcv1.ListSymbolsRequest) (*idcv1.ListSymbolsResponse, error) {
			return want, nil
		}}, nil)
		got, err := c.ListSymbols(t.Context())
		if err != nil {
			t.Fatalf("ListSymbols: %v", err)
		}
		if !proto.Equal(got, want) {
			t.Errorf("ListSymbols = %v, want %v", got, want)
		}
	})
}

func TestDeadline(t *testing.T) {
	// deadlineServer reports the deadline that each call arrived with.
	deadlineServer := func(got chan<- time.Duration) *fakeMACD {
		return &fakeMACD{handle: func(ctx context.Context, _ *idcv1.GetMACDRequest) (*idcv1.GetMACDResponse, error) {
			d, ok := ctx.Deadline()
			if !ok {
				got <- -1
			} else {
				got <- time.Until(d)
			}
			return &idcv1.GetMACDResponse{}, nil
		}}
	}

	cases := []struct {
		name     string
		opts     []idc.Option
		callerTO time.Duration // 0: no caller deadline
		min, max time.Duration // the remaining time the server must see
	}{
		{"default timeout is applied", nil, 0, 20 * time.Second, idc.DefaultTimeout},
		{"WithTimeout is applied", []idc.Option{idc.WithTimeout(5 * time.Second)}, 0, time.Second, 5 * time.Second},
		{"earlier caller deadline wins", []idc.Option{idc.WithTimeout(time.Hour)}, 3 * time.Second, time.Second / 2, 3 * time.Second},
		{"earlier default wins over a later caller deadline", []idc.Option{idc.WithTimeout(5 * time.Second)}, time.Hour, time.Second, 5 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan time.Duration, 1)
			c := newClient(t, deadlineServer(got), nil, tc.opts...)
			ctx := t.Context()
			if tc.callerTO > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.callerTO)
				defer cancel()
			}
			if _, err := c.GetMACD(ctx, nil); err != nil {
				t.Fatalf("GetMACD: %v", err)
			}
			if d := <-got; d < tc.min || d > tc.max {
				t.Errorf("server saw %v left before the deadline, want %v to %v", d, tc.min, tc.max)
			}
		})
	}

	t.Run("no default deadline with WithTimeout(0)", func(t *testing.T) {
		got := make(chan time.Duration, 1)
		c := newClient(t, deadlineServer(got), nil, idc.WithTimeout(0))
		if _, err := c.GetMACD(t.Context(), nil); err != nil {
			t.Fatalf("GetMACD: %v", err)
		}
		if d := <-got; d != -1 {
			t.Errorf("server saw a deadline %v away, want none", d)
		}
	})

	t.Run("expiry gives DEADLINE_EXCEEDED", func(t *testing.T) {
		block := &fakeMACD{handle: func(ctx context.Context, _ *idcv1.GetMACDRequest) (*idcv1.GetMACDResponse, error) {
			<-ctx.Done()
			return nil, status.FromContextError(ctx.Err()).Err()
		}}
		c := newClient(t, block, nil, idc.WithTimeout(50*time.Millisecond))
		_, err := c.GetMACD(t.Context(), nil)
		if got := status.Code(err); got != codes.DeadlineExceeded {
			t.Errorf("status.Code = %v (%v), want DeadlineExceeded", got, err)
		}
	})

	t.Run("compute indicators and list symbols get the deadline", func(t *testing.T) {
		got := make(chan time.Duration, 2)
		report := func(ctx context.Context) {
			if d, ok := ctx.Deadline(); ok {
				got <- time.Until(d)
			} else {
				got <- -1
			}
		}
		c := newClient(t, &fakeMACD{
			compute: func(ctx context.Context, _ *idcv1.ComputeIndicatorsRequest) (*idcv1.ComputeIndicatorsResponse, error) {
				report(ctx)
				return &idcv1.ComputeIndicatorsResponse{}, nil
			},
			list: func(ctx context.Context, _ *idcv1.ListSymbolsRequest) (*idcv1.ListSymbolsResponse, error) {
				report(ctx)
				return &idcv1.ListSymbolsResponse{}, nil
			},
		}, nil, idc.WithTimeout(4*time.Second))
		if _, err := c.ComputeIndicators(t.Context(), nil); err != nil {
			t.Fatalf("ComputeIndicators: %v", err)
		}
		if _, err := c.ListSymbols(t.Context()); err != nil {
			t.Fatalf("ListSymbols: %v", err)
		}
		for _, call := range []string{"ComputeIndicators", "ListSymbols"} {
			if d := <-got; d < time.Second || d > 4*time.Second {
				t.Errorf("%s: server saw %v left before the deadline, want 1s to 4s", call, d)
			}
		}
	})

	t.Run("graph stream gets the deadline", func(t *testing.T) {
		got := make(chan time.Duration, 1)
		g := &fakeGraph{msgs: chunked([]byte("png"), 64<<10), onCall: func(ctx context.Context) {
			d, ok := ctx.Deadline()
			if !ok {
				got <- -1
			} else {
				got <- time.Until(d)
			}
		}}
		c := newClient(t, nil, g, idc.WithTimeout(4*time.Second))
		if _, err := c.GetMACDGraph(t.Context(), nil); err != nil {
			t.Fatalf("GetMACDGraph: %v", err)
		}
		if d := <-got; d < time.Second || d > 4*time.Second {
			t.Errorf("server saw %v left before the deadline, want 1s to 4s", d)
		}
	})
}
