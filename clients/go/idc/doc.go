// Package idc is a small Go client for the idc indicator service: technical
// indicators (SMA, EMA, MACD, RSI, Bollinger Bands, KDJ) computed with
// pandas and charts rendered with matplotlib, served over gRPC by the
// idc.v1 API, on the server's data or on bars the client sends.
//
// Dial a server, build a request with [MACDQuery], and turn the columnar
// response into rows with [MACDRows]. Warm-up bars at the start of a series
// have no MACD value: their rows have Valid false and NaN values.
//
//	c, err := idc.Dial("localhost:50051")
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer c.Close()
//
//	q := idc.MACDQuery{Symbol: "SPY", Start: "2023-01-01", End: "2023-12-31"}
//	req, err := q.Request() // fails only when q sets both Symbol and Bars
//	if err != nil {
//		log.Fatal(err)
//	}
//	resp, err := c.GetMACD(ctx, req)
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
//	greq, err := q.GraphRequest(1200, 800)
//	if err != nil {
//		log.Fatal(err)
//	}
//	img, err := c.GetMACDGraph(ctx, greq)
//	if err != nil {
//		log.Fatal(err)
//	}
//	err = os.WriteFile("macd.png", img.Data, 0o644)
//
// [Client.GetChart] renders a candlestick chart with any SMA, EMA and
// Bollinger overlays over volume, MACD, RSI and KDJ panels, as PNG, SVG,
// JPEG or WebP, in a light or dark theme and Western or Chinese colours;
// [ChartQuery] builds its request:
//
//	cq := idc.ChartQuery{
//		Symbol:   "SPY",
//		Start:    "2023-01-01",
//		End:      "2023-12-31",
//		Panels:   []*idcv1.ChartPanel{idc.VolumePanel(), idc.MACDPanel(0, 0, 0), idc.RSIPanel(14), idc.KDJPanel(0, 0, 0)},
//		Overlays: []*idcv1.ChartOverlay{idc.SMAOverlay(20), idc.BollingerOverlay(20, 2)},
//		Format:   idcv1.ImageFormat_IMAGE_FORMAT_SVG,
//		Theme:    idcv1.Theme_THEME_DARK,
//	}
//	creq, err := cq.Request()
//	if err != nil {
//		log.Fatal(err)
//	}
//	chart, err := c.GetChart(ctx, creq)
//	if err != nil {
//		log.Fatal(err)
//	}
//	err = os.WriteFile("spy.svg", chart.Data, 0o644)
//
// [Client.WriteChart] and [Client.WriteMACDGraph] write the chunks to an
// io.Writer as they arrive instead.
//
// [Client.ComputeIndicators] computes several indicators in one call and
// [IndicatorFrame] turns its response into one column per output series,
// NaN before each series' first value:
//
//	iq := idc.IndicatorQuery{
//		Symbol:     "SPY",
//		Start:      "2024-01-01",
//		Convention: idcv1.Convention_CONVENTION_TALIB,
//		Indicators: []*idcv1.IndicatorSpec{
//			idc.Labeled("sma20", idc.SMA(20)),
//			idc.RSI(14),          // series "rsi"
//			idc.Bollinger(20, 2), // "boll.upper", "boll.middle", "boll.lower"
//		},
//	}
//	ireq, err := iq.Request()
//	if err != nil {
//		log.Fatal(err)
//	}
//	ir, err := c.ComputeIndicators(ctx, ireq)
//	if err != nil {
//		log.Fatal(err)
//	}
//	frame, err := idc.IndicatorFrame(ir)
//	if err != nil {
//		log.Fatal(err)
//	}
//	for i, d := range frame.Dates {
//		fmt.Println(d.Format(time.DateOnly), frame.Columns["sma20"][i], frame.Columns["rsi"][i])
//	}
//
// # Intervals, times and adjustments
//
// Every query takes an Interval (1 minute to 1 month, see [ParseInterval];
// the zero value is 1 day) and an Adjustment (as stored, none, forward
// 前复权 or backward 后复权, see [ParseAdjustment]). Start and End take a
// day "YYYY-MM-DD" or a time in the exchange's zone "YYYY-MM-DDTHH:MM".
// Rows and frames carry each bar's start as a time.Time in the exchange's
// time zone ([MACDRow].Time, [Frame].Times), so the first minute bar of a
// Shanghai session prints as 09:30 +0800; daily rows keep their Date. The
// zone data is embedded (time/tzdata), so [Location] works everywhere.
//
//	q := idc.MACDQuery{Symbol: "000001.SH", Interval: idcv1.Interval_INTERVAL_5_MINUTES,
//		Start: "2020-07-01", End: "2020-07-01"}
//	...
//	for _, r := range rows {
//		fmt.Println(r.Time.Format("2006-01-02 15:04"), r.Close, r.MACD)
//	}
//
// To compute over your own data instead of the server's, set the Bars field
// of a query to [BarsFromRows] of your daily [Bar] rows, or to
// [TimedBarsFromRows] for bars of any interval. [Client.ListSymbols] lists
// every one of the server's symbols with their date ranges, intervals,
// adjustments and time zones, and [Client.Symbols] walks them page by
// page, optionally by prefix.
//
// # The catalogue
//
// Beyond the six typed indicators, a spec can name any entry of the
// server's catalogue, TA-Lib's functions, the 通达信 formula files and the
// operator's plugins, with [Fn], or carry 通达信 formula text with
// [Formula]; parameters are plain Go values ([Params]).
// [Client.ListIndicators] returns every [Entry] with its typed parameters,
// [Client.DescribeIndicator] checks one spec, [Client.Screen] with
// [ScreenQuery] and [ScreenRows] lists the symbols for which a condition
// holds, and [IndicatorPanel] and [IndicatorOverlay] draw any spec:
//
//	iq := idc.IndicatorQuery{Symbol: "SPY", Indicators: []*idcv1.IndicatorSpec{
//		idc.Fn("talib.ADX", idc.Params{"timeperiod": 14}),           // series "adx"
//		idc.Formula("DIF:EMA(C,12)-EMA(C,26); DEA:EMA(DIF,9);", nil), // "formula.DIF", "formula.DEA"
//	}}
//	sq := idc.ScreenQuery{Condition: idc.Fn("talib.CDLHAMMER", nil), Symbols: []string{"SPY", "AAPL"}}
//
// # Errors
//
// Every method wraps its error with context ("get macd: ...", "compute
// indicators: ...", "list symbols: ...", "get chart: ...") using %w, so
// [google.golang.org/grpc/status.Code] and
// [google.golang.org/grpc/status.FromError] still see the gRPC status. For
// INVALID_ARGUMENT errors, [FieldViolations] tells which request field was
// wrong, e.g. "start_date", "inline_bars.close", "indicators[0].sma.period"
// or "panels[1].rsi.period". A chart stream that breaks the protocol or
// fails its integrity check gives an error that matches [ErrProtocol] or
// [ErrIntegrity] with [errors.Is].
//
// # Deadlines
//
// Every call gets a deadline: the caller's context deadline when it is
// earlier, else the client's default timeout (30 seconds unless changed with
// [WithTimeout]).
//
// # Connecting
//
// [Dial] connects over plaintext unless told otherwise. For a server
// started with --tls-cert and --tls-key, [WithTLSFiles] names the CA that
// signed its certificate (or "" for the system's root CAs) and, for a
// server that also has --tls-client-ca, the client certificate and key
// (mutual TLS); [WithTLS] takes a *tls.Config instead. A wrong CA or a
// missing client certificate makes calls fail with UNAVAILABLE.
//
// For a server with bearer tokens (--auth-token-file or IDC_AUTH_TOKENS),
// [WithToken] sends "authorization: Bearer <token>" with every call;
// without it, or with a wrong token, calls fail with UNAUTHENTICATED. The
// token is only sent over TLS: [Dial] fails for a plaintext connection
// unless [WithInsecureToken] allows it, e.g. for a server on the same
// host.
//
//	c, err := idc.Dial("idc.example.com:443",
//		idc.WithTLSFiles("ca.pem", "client.pem", "client-key.pem"),
//		idc.WithToken(os.Getenv("IDC_TOKEN")),
//	)
//
// Calls failing with UNAVAILABLE (server unreachable, restarting or
// draining) are retried by default, up to [DefaultRetryAttempts] attempts
// within the call's deadline; [WithRetry] changes the number or turns
// retries off. Every idc RPC is read-only, so retrying is safe, and a
// streamed chart is only retried before its first message.
//
// [WithLoadBalancing]("round_robin") spreads calls over every address the
// target resolves to, such as a DNS name with one address per server
// ("dns:///idc.internal:50051"), and [WithHealthCheck] keeps calls away
// from servers that report NOT_SERVING, as a server does while it drains
// after SIGTERM. [WithKeepalive] pings idle connections (every 10 s or
// more, which the server permits) to find dead ones early. These options
// are combined into one gRPC service config.
//
// The generated message and stub types live in package
// github.com/idcrpc/idc/clients/go/gen/idc/v1 (package idcv1).
package idc
