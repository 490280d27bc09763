package idc_test

import (
	"context"
	"fmt"
	"log"
	"math"
	"os"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
	"github.com/idcrpc/idc/clients/go/idc"
)

func ExampleClient_GetMACD() {
	c, err := idc.Dial("localhost:50051")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	q := idc.MACDQuery{Symbol: "SPY", Start: "2023-01-01", End: "2023-12-31"}
	req, err := q.Request()
	if err != nil {
		log.Fatal(err)
	}
	resp, err := c.GetMACD(context.Background(), req)
	if err != nil {
		log.Fatal(err)
	}
	rows, err := idc.MACDRows(resp)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range rows {
		fmt.Println(r.Date.Format(time.DateOnly), r.Close, r.MACD, r.Signal, r.Histogram)
	}
}

func ExampleClient_GetMACDGraph() {
	c, err := idc.Dial("localhost:50051", idc.WithTimeout(time.Minute))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	q := idc.MACDQuery{Symbol: "000001.SH", Start: "2023-01-01"}
	req, err := q.GraphRequest(1200, 800)
	if err != nil {
		log.Fatal(err)
	}
	img, err := c.GetMACDGraph(context.Background(), req)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("macd.png", img.Data, 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s %dx%d, sha256 %x\n", img.MediaType, img.Width, img.Height, img.SHA256)
}

func ExampleClient_GetChart() {
	c, err := idc.Dial("localhost:50051", idc.WithTimeout(time.Minute))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	q := idc.ChartQuery{
		Symbol: "SPY",
		Start:  "2023-01-01",
		End:    "2023-12-31",
		Panels: []*idcv1.ChartPanel{
			idc.VolumePanel(), idc.MACDPanel(12, 26, 9), idc.RSIPanel(14), idc.KDJPanel(9, 3, 3),
		},
		Overlays: []*idcv1.ChartOverlay{idc.SMAOverlay(20), idc.BollingerOverlay(20, 2)},
		Format:   idcv1.ImageFormat_IMAGE_FORMAT_SVG,
		Theme:    idcv1.Theme_THEME_DARK,
		Scheme:   idcv1.ColorScheme_COLOR_SCHEME_CN,
		Width:    1600,
		Height:   1000,
	}
	req, err := q.Request()
	if err != nil {
		log.Fatal(err)
	}
	f, err := os.CreateTemp(".", "spy-*.svg")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	img, err := c.WriteChart(context.Background(), req, f)
	if err != nil {
		log.Fatal(err) // discard f: its bytes did not pass the checks
	}
	fmt.Printf("%s: %s %dx%d, %d bytes\n", f.Name(), img.MediaType, img.Width, img.Height, img.Size)
}

func ExampleFieldViolations() {
	c, err := idc.Dial("localhost:50051")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	req, err := idc.MACDQuery{Start: "2023-13-01"}.Request()
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.GetMACD(context.Background(), req)
	if status.Code(err) == codes.InvalidArgument {
		for _, v := range idc.FieldViolations(err) {
			fmt.Printf("%s: %s\n", v.GetField(), v.GetDescription())
		}
	}
}

func ExampleClient_ComputeIndicators() {
	c, err := idc.Dial("localhost:50051")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	q := idc.IndicatorQuery{
		Symbol:     "SPY",
		Start:      "2024-01-01",
		End:        "2024-03-31",
		Convention: idcv1.Convention_CONVENTION_TALIB,
		Indicators: []*idcv1.IndicatorSpec{
			idc.Labeled("sma5", idc.SMA(5)),
			idc.Labeled("sma20", idc.SMA(20)),
			idc.MACD(12, 26, 9), // macd.macd, macd.signal, macd.histogram
			idc.RSI(14),         // rsi
		},
	}
	req, err := q.Request()
	if err != nil {
		log.Fatal(err)
	}
	resp, err := c.ComputeIndicators(context.Background(), req)
	if err != nil {
		log.Fatal(err)
	}
	f, err := idc.IndicatorFrame(resp)
	if err != nil {
		log.Fatal(err)
	}
	for i, d := range f.Dates {
		fmt.Printf("%s sma5 %.2f sma20 %.2f rsi %.1f\n", d.Format(time.DateOnly),
			f.Columns["sma5"][i], f.Columns["sma20"][i], f.Columns["rsi"][i])
	}
}

func ExampleClient_ListSymbols() {
	c, err := idc.Dial("localhost:50051")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	resp, err := c.ListSymbols(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range resp.GetSymbols() {
		fmt.Printf("%-10s %s..%s %d bars\n", s.GetSymbol(), s.GetFirstDate(), s.GetLastDate(), s.GetBarCount())
	}
	fmt.Println("default:", resp.GetDefaultSymbol())
}

func ExampleBarsFromRows() {
	day := func(s string) time.Time {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			log.Fatal(err)
		}
		return t
	}
	bars := idc.BarsFromRows([]idc.Bar{
		{Date: day("2023-12-28"), Open: 101, High: 103, Low: 100, Close: 102, Volume: 5000},
		{Date: day("2023-12-29"), Open: 102, High: 104, Low: 101, Close: 103, Volume: 6000},
	})
	fmt.Println(bars.GetDates(), bars.GetClose())

	// Compute over these bars instead of a symbol of the server:
	q := idc.IndicatorQuery{Bars: bars, Indicators: []*idcv1.IndicatorSpec{idc.SMA(2)}}
	req, err := q.Request()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(req.GetInlineBars() == bars)
	// Output:
	// [19719 19720] [102 103]
	// true
}

func ExampleIndicatorFrame() {
	resp := &idcv1.ComputeIndicatorsResponse{
		Dates: []int32{19718, 19719, 19720},
		Series: []*idcv1.Series{
			{Name: "sma2", FirstValidIndex: 1, Values: []float64{101.5, 102.5}},
		},
	}
	f, err := idc.IndicatorFrame(resp)
	if err != nil {
		log.Fatal(err)
	}
	for i, d := range f.Dates {
		v := f.Columns["sma2"][i]
		if math.IsNaN(v) {
			fmt.Println(d.Format(time.DateOnly), "warm-up")
			continue
		}
		fmt.Println(d.Format(time.DateOnly), v)
	}
	// Output:
	// 2023-12-27 warm-up
	// 2023-12-28 101.5
	// 2023-12-29 102.5
}
