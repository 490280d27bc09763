package idc_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
	"github.com/idcrpc/idc/clients/go/idc"
)

// expectationsFile is what the Go, Python and TypeScript contract tests
// expect of a real server on its bundled data, shared so that the three
// suites cannot drift apart.
var expectationsFile = filepath.Join("..", "..", "contract", "expectations.json")

type knownMACD struct {
	Name       string  `json:"name"`
	Symbol     string  `json:"symbol"`
	Date       string  `json:"date"`
	Convention string  `json:"convention"`
	MACD       float64 `json:"macd"`
	Signal     float64 `json:"signal"`
	Histogram  float64 `json:"histogram"`
}

type expectations struct {
	Tolerance         float64     `json:"tolerance"`
	MACD              []knownMACD `json:"macd"`
	DefaultConvention string      `json:"default_convention"`
	TalibWarmUp       int32       `json:"talib_macd_warm_up_bars"`
	SPY2023           struct {
		Start     string `json:"start"`
		End       string `json:"end"`
		Bars      int    `json:"bars"`
		FirstDate string `json:"first_date"`
		LastDate  string `json:"last_date"`
	} `json:"spy_2023"`
	Symbols struct {
		Default string `json:"default"`
		List    []struct {
			Symbol    string `json:"symbol"`
			BarCount  int32  `json:"bar_count"`
			FirstDate string `json:"first_date"`
			LastDate  string `json:"last_date"`
		} `json:"list"`
	} `json:"symbols"`
	Charts []struct {
		Name      string          `json:"name"`
		Method    string          `json:"method"`
		Request   json.RawMessage `json:"request"`
		MediaType string          `json:"media_type"`
		Width     int             `json:"width"`
		Height    int             `json:"height"`
		DPI       int             `json:"dpi"`
	} `json:"charts"`
	BadRequests []struct {
		Name    string          `json:"name"`
		Method  string          `json:"method"`
		Request json.RawMessage `json:"request"`
		Code    codes.Code      `json:"code"`
		Field   *string         `json:"field"`
	} `json:"bad_requests"`
}

var loadExpectations = sync.OnceValues(func() (*expectations, error) {
	data, err := os.ReadFile(expectationsFile)
	if err != nil {
		return nil, err
	}
	var e expectations
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, fmt.Errorf("%s: %w", expectationsFile, err)
	}
	return &e, nil
})

// expected returns the shared expectations, failing t when they cannot be read.
func expected(t *testing.T) *expectations {
	t.Helper()
	e, err := loadExpectations()
	if err != nil {
		t.Fatalf("shared expectations: %v", err)
	}
	return e
}

// known returns the reference MACD values named name.
func known(t *testing.T, name string) knownMACD {
	t.Helper()
	for _, k := range expected(t).MACD {
		if k.Name == name {
			return k
		}
	}
	t.Fatalf("%s has no MACD reference %q", expectationsFile, name)
	return knownMACD{}
}

// spyReference is SPY's MACD on 2023-12-29 under TA-Lib's convention.
func spyReference(t *testing.T) knownMACD {
	t.Helper()
	return known(t, "SPY 2023-12-29 TALIB")
}

func conventionNamed(t *testing.T, name string) idcv1.Convention {
	t.Helper()
	v, ok := idcv1.Convention_value[name]
	if !ok {
		t.Fatalf("unknown convention %q", name)
	}
	return idcv1.Convention(v)
}

// request parses the proto3 JSON of a fixture request into msg.
func request[M proto.Message](t *testing.T, data json.RawMessage, msg M) M {
	t.Helper()
	if err := protojson.Unmarshal(data, msg); err != nil {
		t.Fatalf("request %s: %v", data, err)
	}
	return msg
}

func TestContractSharedCharts(t *testing.T) {
	c := contractClient(t)
	for _, tc := range expected(t).Charts {
		t.Run(tc.Name, func(t *testing.T) {
			var img *idc.Image
			var err error
			switch tc.Method {
			case "idc.v1.IndicatorGraphService/GetChart":
				img, err = c.GetChart(t.Context(), request(t, tc.Request, &idcv1.GetChartRequest{}))
			case "idc.v1.IndicatorGraphService/GetMACDGraph":
				img, err = c.GetMACDGraph(t.Context(), request(t, tc.Request, &idcv1.GetMACDGraphRequest{}))
			default:
				t.Fatalf("no chart method %q", tc.Method)
			}
			if err != nil {
				t.Fatalf("%s: %v", tc.Method, err)
			}
			checkMeta(t, img, tc.MediaType, tc.Width, tc.Height, tc.DPI)
			decoded, err := png.Decode(bytes.NewReader(img.Data))
			if err != nil {
				t.Fatalf("png.Decode: %v", err)
			}
			if b := decoded.Bounds(); b.Dx() != tc.Width || b.Dy() != tc.Height {
				t.Errorf("decoded PNG is %dx%d, want %dx%d", b.Dx(), b.Dy(), tc.Width, tc.Height)
			}
		})
	}
}

func TestContractSharedBadRequests(t *testing.T) {
	c := contractClient(t)
	for _, tc := range expected(t).BadRequests {
		t.Run(tc.Name, func(t *testing.T) {
			var err error
			switch tc.Method {
			case "idc.v1.IndicatorService/GetMACD":
				_, err = c.GetMACD(t.Context(), request(t, tc.Request, &idcv1.GetMACDRequest{}))
			case "idc.v1.IndicatorService/ComputeIndicators":
				_, err = c.ComputeIndicators(t.Context(), request(t, tc.Request, &idcv1.ComputeIndicatorsRequest{}))
			case "idc.v1.IndicatorGraphService/GetMACDGraph":
				_, err = c.GetMACDGraph(t.Context(), request(t, tc.Request, &idcv1.GetMACDGraphRequest{}))
			case "idc.v1.IndicatorGraphService/GetChart":
				_, err = c.GetChart(t.Context(), request(t, tc.Request, &idcv1.GetChartRequest{}))
			default:
				t.Fatalf("no method %q", tc.Method)
			}
			field := ""
			if tc.Field != nil {
				field = *tc.Field
			}
			wantCode(t, err, tc.Code, field)
		})
	}
}
