package idc_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/idcrpc/idc/clients/go/idc"
)

func ExampleClient_GetMACD() {
	c, err := idc.Dial("localhost:50051")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	q := idc.MACDQuery{Symbol: "SPY", Start: "2023-01-01", End: "2023-12-31"}
	resp, err := c.GetMACD(context.Background(), q.Request())
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
	img, err := c.GetMACDGraph(context.Background(), q.GraphRequest(1200, 800))
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("macd.png", img.Data, 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s %dx%d, sha256 %x\n", img.MediaType, img.Width, img.Height, img.SHA256)
}

func ExampleFieldViolations() {
	c, err := idc.Dial("localhost:50051")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	_, err = c.GetMACD(context.Background(), idc.MACDQuery{Start: "2023-13-01"}.Request())
	if status.Code(err) == codes.InvalidArgument {
		for _, v := range idc.FieldViolations(err) {
			fmt.Printf("%s: %s\n", v.GetField(), v.GetDescription())
		}
	}
}
