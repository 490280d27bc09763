package idc

import (
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Errors that the client itself detects in a chart stream (GetChart or
// GetMACDGraph). They carry a gRPC status too, so that status.Code works on
// every error of this package: [ErrProtocol] has code INTERNAL and
// [ErrIntegrity] has code DATA_LOSS. Test for them with [errors.Is].
var (
	// ErrProtocol means the server broke the protocol of a chart stream:
	// the stream had no metadata, a chunk came before the metadata, or the
	// metadata came twice or was malformed.
	ErrProtocol error = &clientError{codes.Internal, "idc: graph stream protocol violation"}
	// ErrIntegrity means the received image bytes do not match the
	// metadata: their total length differs from size_bytes, or their
	// SHA-256 differs from sha256.
	ErrIntegrity error = &clientError{codes.DataLoss, "idc: image integrity check failed"}
)

// clientError is an error found on the client side that still has a gRPC
// status code.
type clientError struct {
	code codes.Code
	msg  string
}

func (e *clientError) Error() string { return e.msg }

// GRPCStatus lets status.Code and status.FromError report the code.
func (e *clientError) GRPCStatus() *status.Status { return status.New(e.code, e.msg) }

// FieldViolations returns the field violations of the google.rpc.BadRequest
// details attached to err's gRPC status, or nil when there are none. The
// server attaches them to INVALID_ARGUMENT errors; each names a request
// field, such as "start_date", "width_px", "parameters.fast_period",
// "inline_bars.high", "indicators[2].rsi.period" or "panels[1].rsi.period",
// and says what is wrong with it. err may be wrapped.
func FieldViolations(err error) []*errdetails.BadRequest_FieldViolation {
	st, ok := status.FromError(err)
	if !ok || st == nil {
		return nil
	}
	var out []*errdetails.BadRequest_FieldViolation
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			out = append(out, br.GetFieldViolations()...)
		}
	}
	return out
}
