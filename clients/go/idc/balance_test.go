package idc_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
	"github.com/idcrpc/idc/clients/go/idc"
)

// failingMACD returns a fakeMACD whose first failures calls fail with
// code, and counts the calls.
func failingMACD(failures int32, code codes.Code, calls *atomic.Int32) *fakeMACD {
	return &fakeMACD{handle: func(context.Context, *idcv1.GetMACDRequest) (*idcv1.GetMACDResponse, error) {
		if n := calls.Add(1); n <= failures {
			return nil, status.Errorf(code, "attempt %d fails", n)
		}
		return &idcv1.GetMACDResponse{Symbol: "OK"}, nil
	}}
}

// flakyGraph is an IndicatorGraphService whose GetMACDGraph fails its
// first call with UNAVAILABLE, after sending the metadata when
// afterMetadata, and then streams a small image.
type flakyGraph struct {
	idcv1.UnimplementedIndicatorGraphServiceServer
	afterMetadata bool
	calls         atomic.Int32
}

func (f *flakyGraph) GetMACDGraph(_ *idcv1.GetMACDGraphRequest, stream grpc.ServerStreamingServer[idcv1.GetMACDGraphResponse]) error {
	msgs := chunked([]byte("tiny png"), 4)
	if f.calls.Add(1) == 1 {
		if f.afterMetadata {
			if err := stream.Send(msgs[0]); err != nil {
				return err
			}
		}
		return status.Error(codes.Unavailable, "restarting")
	}
	for _, m := range msgs {
		if err := stream.Send(m); err != nil {
			return err
		}
	}
	return nil
}

func TestRetry(t *testing.T) {
	for _, tc := range []struct {
		name      string
		opts      []idc.Option
		failures  int32
		code      codes.Code
		wantCalls int32
		wantErr   bool
	}{
		{"default retries UNAVAILABLE twice", nil, 2, codes.Unavailable, 3, false},
		{"default gives up after three attempts", nil, 3, codes.Unavailable, 3, true},
		{"WithRetry(4)", []idc.Option{idc.WithRetry(4)}, 3, codes.Unavailable, 4, false},
		{"WithRetry(1) turns retries off", []idc.Option{idc.WithRetry(1)}, 1, codes.Unavailable, 1, true},
		{"other codes are not retried", nil, 1, codes.Internal, 1, true},
		{"UNAUTHENTICATED is not retried", nil, 1, codes.Unauthenticated, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			c := newClient(t, failingMACD(tc.failures, tc.code, &calls), nil, tc.opts...)
			_, err := c.GetMACD(t.Context(), nil)
			if tc.wantErr {
				if status.Code(err) != tc.code {
					t.Errorf("GetMACD error %v, want %s", err, tc.code)
				}
			} else if err != nil {
				t.Errorf("GetMACD: %v", err)
			}
			if got := calls.Load(); got != tc.wantCalls {
				t.Errorf("server saw %d attempts, want %d", got, tc.wantCalls)
			}
		})
	}

	t.Run("a stream is retried before its first message", func(t *testing.T) {
		g := &flakyGraph{}
		c := newClientWithGraph(t, g)
		img, err := c.GetMACDGraph(t.Context(), nil)
		if err != nil {
			t.Fatalf("GetMACDGraph: %v", err)
		}
		if string(img.Data) != "tiny png" || g.calls.Load() != 2 {
			t.Errorf("got %q after %d attempts, want \"tiny png\" after 2", img.Data, g.calls.Load())
		}
	})

	t.Run("a stream is not retried after its first message", func(t *testing.T) {
		g := &flakyGraph{afterMetadata: true}
		c := newClientWithGraph(t, g)
		_, err := c.GetMACDGraph(t.Context(), nil)
		if status.Code(err) != codes.Unavailable {
			t.Errorf("GetMACDGraph error %v, want UNAVAILABLE", err)
		}
		if got := g.calls.Load(); got != 1 {
			t.Errorf("server saw %d attempts, want 1", got)
		}
	})

	t.Run("retries share the call's deadline", func(t *testing.T) {
		var calls atomic.Int32
		c := newClient(t, failingMACD(100, codes.Unavailable, &calls), nil, idc.WithRetry(5), idc.WithTimeout(time.Millisecond))
		_, err := c.GetMACD(t.Context(), nil)
		if code := status.Code(err); code != codes.DeadlineExceeded && code != codes.Unavailable {
			t.Errorf("GetMACD error %v, want DEADLINE_EXCEEDED or UNAVAILABLE", err)
		}
		if got := calls.Load(); got >= 5 {
			t.Errorf("server saw %d attempts within 1ms, want fewer than 5", got)
		}
	})
}

// newClientWithGraph serves g over an in-memory listener.
func newClientWithGraph(t *testing.T, g idcv1.IndicatorGraphServiceServer) *idc.Client {
	t.Helper()
	return newClientFor(t, func(srv *grpc.Server) { idcv1.RegisterIndicatorGraphServiceServer(srv, g) })
}

// warmUp calls GetMACD until every address in addrs has answered, so that
// round_robin has a connection to each, and fails after 1000 calls.
func warmUp(t *testing.T, c *idc.Client, addrs []string) {
	t.Helper()
	seen := map[string]bool{}
	for range 1000 {
		a, err := macd(t.Context(), c)
		if err != nil {
			t.Fatalf("GetMACD: %v", err)
		}
		seen[a] = true
		if len(seen) == len(addrs) {
			return
		}
	}
	t.Fatalf("after 1000 calls only %v of %v answered", seen, addrs)
}

func TestRoundRobin(t *testing.T) {
	var addrs []string
	for range 3 {
		addrs = append(addrs, startBackend(t, nil).addr)
	}

	t.Run("every backend gets a third of the calls", func(t *testing.T) {
		c := dialAll(t, addrs, idc.WithLoadBalancing("round_robin"))
		warmUp(t, c, addrs)
		counts := map[string]int{}
		for range 30 {
			a, err := macd(t.Context(), c)
			if err != nil {
				t.Fatalf("GetMACD: %v", err)
			}
			counts[a]++
		}
		for _, a := range addrs {
			if counts[a] != 10 {
				t.Errorf("counts = %v, want 10 calls to each of %v", counts, addrs)
				break
			}
		}
	})

	t.Run("pick_first sends every call to one backend", func(t *testing.T) {
		c := dialAll(t, addrs)
		counts := map[string]int{}
		for range 10 {
			a, err := macd(t.Context(), c)
			if err != nil {
				t.Fatalf("GetMACD: %v", err)
			}
			counts[a]++
		}
		if len(counts) != 1 {
			t.Errorf("counts = %v, want all calls to one backend", counts)
		}
	})
}

func TestHealthCheckedRoundRobin(t *testing.T) {
	healthy, draining := startBackend(t, nil), startBackend(t, nil)
	draining.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	c := dialAll(t, []string{healthy.addr, draining.addr},
		idc.WithLoadBalancing("round_robin"), idc.WithHealthCheck(""))

	t.Run("no call goes to a NOT_SERVING backend", func(t *testing.T) {
		for range 20 {
			a, err := macd(t.Context(), c)
			if err != nil {
				t.Fatalf("GetMACD: %v", err)
			}
			if a != healthy.addr {
				t.Fatalf("a call went to %s, which reports NOT_SERVING", a)
			}
		}
	})

	t.Run("calls return once it reports SERVING", func(t *testing.T) {
		draining.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		for ctx.Err() == nil {
			a, err := macd(ctx, c)
			if err != nil {
				t.Fatalf("GetMACD: %v", err)
			}
			if a == draining.addr {
				return
			}
		}
		t.Fatal("no call reached the backend within 10s of it reporting SERVING")
	})
}
