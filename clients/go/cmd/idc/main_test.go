package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
)

var png = []byte("\x89PNG\r\n\x1a\nnot really a png")

type fakeServer struct {
	idcv1.UnimplementedIndicatorServiceServer
	idcv1.UnimplementedIndicatorGraphServiceServer
}

func (fakeServer) GetMACD(_ context.Context, req *idcv1.GetMACDRequest) (*idcv1.GetMACDResponse, error) {
	if req.GetSymbol() == "NOPE" {
		return nil, status.Error(codes.NotFound, "symbol: unknown symbol 'NOPE'")
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
	}, nil
}

func (fakeServer) GetMACDGraph(req *idcv1.GetMACDGraphRequest, stream grpc.ServerStreamingServer[idcv1.GetMACDGraphResponse]) error {
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

// serve starts the fake server on a free local port and returns its address.
func serve(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	srv := grpc.NewServer()
	idcv1.RegisterIndicatorServiceServer(srv, fakeServer{})
	idcv1.RegisterIndicatorGraphServiceServer(srv, fakeServer{})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

func TestRun(t *testing.T) {
	addr := serve(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "macd.png")
	sum := sha256.Sum256(png)

	cases := []struct {
		name       string
		args       []string
		code       int
		stdout     []string // substrings
		stderr     []string
		wantOutput bool
	}{
		{"no command", nil, 2, nil, []string{"usage: idc"}, false},
		{"help", []string{"help"}, 0, []string{"usage: idc"}, nil, false},
		{"unknown command", []string{"bogus"}, 2, nil, []string{`unknown command "bogus"`}, false},
		{"bad flag", []string{"macd", "--fast", "x"}, 2, nil, []string{"-fast", "not a 32-bit integer"}, false},
		{"extra argument", []string{"macd", "--addr", addr, "SPY"}, 2, nil, []string{"unexpected arguments"}, false},
		{"flag help", []string{"graph", "-h"}, 0, nil, []string{"-width", "-height", "-o"}, false},
		{
			"macd table", []string{"macd", "--addr", addr, "--symbol", "SPY", "--start", "2023-12-29", "--end", "2023-12-29"}, 0,
			[]string{"SPY MACD(12,26,9), 1 bars", "date", "histogram", "2023-12-29", "462.5800", "122283100", "7.488092", "7.522245", "-0.034153"}, nil, false,
		},
		{"macd not found", []string{"macd", "--addr", addr, "--symbol", "NOPE"}, int(codes.NotFound), nil, []string{"get macd:", "NotFound"}, false},
		{
			"macd invalid argument", []string{"macd", "--addr", addr, "--start", "2023-13-01"}, int(codes.InvalidArgument),
			nil, []string{"field start_date: not a date", "InvalidArgument (3)"}, false,
		},
		{
			"graph", []string{"graph", "--addr", addr, "--width", "800", "--height", "600", "-o", out}, 0,
			[]string{"wrote " + out, "image/png 800x600", fmt.Sprintf("%d bytes", len(png)), fmt.Sprintf("%x", sum)}, nil, true,
		},
		{"graph corrupt", []string{"graph", "--addr", addr, "--width", "666", "-o", out}, int(codes.DataLoss), nil, []string{"integrity"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_ = os.Remove(out)
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit status = %d, want %d\nstderr: %s", code, tc.code, stderr.String())
			}
			for _, s := range tc.stdout {
				if !strings.Contains(stdout.String(), s) {
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
		})
	}
}
