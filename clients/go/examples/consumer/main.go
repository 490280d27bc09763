// Command consumer checks the idc Go client from a separate module: it calls
// GetMACD, GetMACDGraph and GetChart with empty requests, so the server
// picks the default symbol, window, periods, panels and image, and prints a
// one-line summary.
//
// It reads the server address from IDC_TARGET, as the idc commands do (else
// the deprecated IDC_ADDR, else localhost:50051), and
// exits with status 1 on any failure.
package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"time"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
	"github.com/idcrpc/idc/clients/go/idc"
)

func main() {
	addr := cmp.Or(os.Getenv("IDC_TARGET"), os.Getenv("IDC_ADDR"), "localhost:50051")
	summary, err := check(context.Background(), addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "consumer: %s: %v\n", addr, err)
		os.Exit(1)
	}
	fmt.Println(summary)
}

// check calls the RPCs and returns the summary line.
func check(ctx context.Context, addr string) (string, error) {
	c, err := idc.Dial(addr, idc.WithTimeout(time.Minute))
	if err != nil {
		return "", err
	}
	defer c.Close()

	resp, err := c.GetMACD(ctx, &idcv1.GetMACDRequest{})
	if err != nil {
		return "", err
	}
	rows, err := idc.MACDRows(resp)
	if err != nil {
		return "", err
	}
	if len(rows) == 0 {
		return "", errors.New("GetMACD returned no bars")
	}
	last := rows[len(rows)-1]
	if !last.Valid {
		return "", fmt.Errorf("GetMACD's last bar has no MACD value (first_valid_index %d of %d bars)", resp.GetFirstValidIndex(), len(rows))
	}

	img, err := c.GetMACDGraph(ctx, &idcv1.GetMACDGraphRequest{})
	if err != nil {
		return "", err
	}
	if len(img.Data) == 0 {
		return "", errors.New("GetMACDGraph returned an empty image")
	}
	// The client has verified the digest; check it again independently.
	if sum := sha256.Sum256(img.Data); string(sum[:]) != string(img.SHA256) {
		return "", fmt.Errorf("image sha256 %x does not match %x", sum, img.SHA256)
	}

	chart, err := c.GetChart(ctx, &idcv1.GetChartRequest{})
	if err != nil {
		return "", err
	}
	if sum := sha256.Sum256(chart.Data); string(sum[:]) != string(chart.SHA256) || len(chart.Data) == 0 {
		return "", fmt.Errorf("GetChart gave %d bytes with sha256 %x, announced %x", len(chart.Data), sum, chart.SHA256)
	}

	return fmt.Sprintf("ok: %s %d bars %s..%s (%s, %d warm-up), last macd %.4f signal %.4f; "+
		"macd graph %s %dx%d %d bytes sha256 %x; chart %s %dx%d at %d dpi %d bytes sha256 %x",
		resp.GetSymbol(), len(rows), rows[0].Date.Format(time.DateOnly), last.Date.Format(time.DateOnly),
		resp.GetConvention(), resp.GetFirstValidIndex(),
		last.MACD, last.Signal, img.MediaType, img.Width, img.Height, len(img.Data), img.SHA256[:8],
		chart.MediaType, chart.Width, chart.Height, chart.DPI, len(chart.Data), chart.SHA256[:8]), nil
}
