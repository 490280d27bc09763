// Package idc is a small Go client for the idc indicator service: MACD
// values computed with pandas and MACD charts rendered with matplotlib,
// served over gRPC by the idc.v1 API.
//
// Dial a server, build a request with [MACDQuery], and turn the columnar
// response into rows with [MACDRows]:
//
//	c, err := idc.Dial("localhost:50051")
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer c.Close()
//
//	q := idc.MACDQuery{Symbol: "SPY", Start: "2023-01-01", End: "2023-12-31"}
//	resp, err := c.GetMACD(ctx, q.Request())
//	if err != nil {
//		log.Fatal(err) // status.Code(err) still gives the gRPC code
//	}
//	rows, err := idc.MACDRows(resp)
//	if err != nil {
//		log.Fatal(err)
//	}
//	for _, r := range rows {
//		fmt.Println(r.Date.Format(time.DateOnly), r.Close, r.MACD, r.Signal, r.Histogram)
//	}
//
// [Client.GetMACDGraph] reassembles the streamed chart and checks its size
// and SHA-256 digest against the metadata the server sends first:
//
//	img, err := c.GetMACDGraph(ctx, q.GraphRequest(1200, 800))
//	if err != nil {
//		log.Fatal(err)
//	}
//	err = os.WriteFile("macd.png", img.Data, 0o644)
//
// # Errors
//
// Every method wraps its error with context ("get macd: ...") using %w, so
// [google.golang.org/grpc/status.Code] and
// [google.golang.org/grpc/status.FromError] still see the gRPC status. For
// INVALID_ARGUMENT errors, [FieldViolations] tells which request field was
// wrong, e.g. "start_date" or "parameters.fast_period". A chart stream that
// breaks the protocol or fails its integrity check gives an error that
// matches [ErrProtocol] or [ErrIntegrity] with [errors.Is].
//
// # Deadlines
//
// Every call gets a deadline: the caller's context deadline when it is
// earlier, else the client's default timeout (30 seconds unless changed with
// [WithTimeout]).
//
// The generated message and stub types live in package
// github.com/idcrpc/idc/clients/go/gen/idc/v1 (package idcv1).
package idc
