package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
)

// The epoch days were computed with Python's datetime: 2006-11-06 is
// 13458, 2019-11-05 is 18205 and 2023-12-28 is 19719.
func TestParseBarsCSV(t *testing.T) {
	cases := []struct {
		name, text string
		want       *idcv1.Bars
	}{
		{
			"Yahoo Finance download", "Date,Open,High,Low,Close,Adj Close,Volume\n2023-12-28,1,3,0.5,2,1.9,100\n2023-12-29,2,4,1.5,3,2.9,200\n",
			&idcv1.Bars{Dates: []int32{19719, 19720}, Open: []float64{1, 2}, High: []float64{3, 4}, Low: []float64{0.5, 1.5}, Close: []float64{2, 3}, Volume: []float64{100, 200}},
		},
		{
			"通达信-style export (czsc), other column order, a time of day", "\ufeffsymbol,dt,open,close,high,low,vol\n" +
				"000001.SH,2006-11-06 15:00:00,1853.19,1886.31,1886.52,1846.01,49544517.0\n000001.SH,2006-11-07 15:00:00,1889.53,1889.53,1897.41,1862.93,54849074.0\n",
			&idcv1.Bars{
				Dates: []int32{13458, 13459}, Open: []float64{1853.19, 1889.53}, High: []float64{1886.52, 1897.41},
				Low: []float64{1846.01, 1862.93}, Close: []float64{1886.31, 1889.53}, Volume: []float64{49544517, 54849074},
			},
		},
		{
			"tushare trade_date, no date column name falls back to the first", "trade_date,OPEN,high,low,close,vol\n20231228,1,2,0.5,1.5,10\n",
			&idcv1.Bars{Dates: []int32{19719}, Open: []float64{1}, High: []float64{2}, Low: []float64{0.5}, Close: []float64{1.5}, Volume: []float64{10}},
		},
		{
			"tushare adj_factor", "trade_date,open,high,low,close,vol,ADJ_FACTOR\n20231228,1,2,0.5,1.5,10,1\n20231229,0.5,1,0.25,0.75,20,2\n",
			&idcv1.Bars{
				Dates: []int32{19719, 19720}, Open: []float64{1, 0.5}, High: []float64{2, 1}, Low: []float64{0.5, 0.25},
				Close: []float64{1.5, 0.75}, Volume: []float64{10, 20}, AdjustmentFactors: []float64{1, 2},
			},
		},
		{
			"first column as dates, US style with a time", "when,open,high,low,close,volume\n11/5/2019 9:30,3080.8,3081.47,3080.3,3080.49,0\n",
			&idcv1.Bars{Dates: []int32{18205}, Open: []float64{3080.8}, High: []float64{3081.47}, Low: []float64{3080.3}, Close: []float64{3080.49}, Volume: []float64{0}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseBarsCSV(strings.NewReader(tc.text))
			if err != nil {
				t.Fatalf("parseBarsCSV: %v", err)
			}
			if !proto.Equal(got, tc.want) {
				t.Errorf("parseBarsCSV = %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("an empty value cell is NaN, for the server to name", func(t *testing.T) {
		got, err := parseBarsCSV(strings.NewReader("date,open,high,low,close,volume\n2023-12-28,1,2,,1.5,10\n"))
		if err != nil || got.GetLow()[0] == got.GetLow()[0] {
			t.Errorf("parseBarsCSV = %v, %v; want low NaN", got, err)
		}
	})

	errs := map[string]string{
		"":                                     "the file is empty",
		"date,open,high,low,close\n":           "no volume column",
		"date,open,high,low,close,volume\n":    "no bars after the header",
		"dt,date,open,high,low,close,volume\n": "columns dt and date both mean date",
		"date,open,high,low,close,volume\n2023-12-28,1,2,0.5,x,10\n":                          "line 2, column close: 'x' is not a number",
		"date,open,high,low,close,volume\n2023-12-28,1,2,0.5,0x1p0,10\n":                      "line 2, column close: '0x1p0' is not a number",
		"Date,Open,High,Low,Close,Volume\n2023-12-28,1,2,0.5,1,10\n28.12.2023,1,2,0.5,1,10\n": "line 3, column Date: '28.12.2023' is not a date",
	}
	for text, want := range errs {
		if _, err := parseBarsCSV(strings.NewReader(text)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseBarsCSV(%q) = %v, want an error with %q", text, err, want)
		}
	}
}

func TestBarsFlag(t *testing.T) {
	addr, fake := serve(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "mine.csv")
	if err := os.WriteFile(file, []byte("Date,Open,High,Low,Close,Volume\n2023-12-28,1,3,0.5,2,100\n2023-12-29,2,4,1.5,3,200\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bars := &idcv1.Bars{Dates: []int32{19719, 19720}, Open: []float64{1, 2}, High: []float64{3, 4}, Low: []float64{0.5, 1.5}, Close: []float64{2, 3}, Volume: []float64{100, 200}}
	for _, cmd := range [][]string{{"macd"}, {"indicators", "--sma", "2"}, {"chart", "-o", filepath.Join(dir, "c.png")}, {"graph", "-o", filepath.Join(dir, "g.png")}} {
		t.Run(cmd[0], func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(t.Context(), append(cmd, "--target", addr, "--bars", file), &stdout, &stderr); code != 0 {
				t.Fatalf("exit status %d: %s", code, &stderr)
			}
			var got *idcv1.Bars
			switch req := fake.lastRequest().(type) {
			case *idcv1.GetMACDRequest:
				got = req.GetInlineBars()
			case *idcv1.ComputeIndicatorsRequest:
				got = req.GetInlineBars()
			case *idcv1.GetChartRequest:
				got = req.GetInlineBars()
			case *idcv1.GetMACDGraphRequest:
				got = req.GetInlineBars()
			}
			if !proto.Equal(got, bars) {
				t.Errorf("inline bars = %v, want %v", got, bars)
			}
		})
	}
	for name, tc := range map[string]struct {
		args   []string
		stderr string
	}{
		"missing file":        {[]string{"macd", "--bars", filepath.Join(dir, "none.csv")}, "error: --bars " + filepath.Join(dir, "none.csv") + ": no such file or directory\n"},
		"symbol and bars":     {[]string{"macd", "--bars", file, "--symbol", "SPY"}, "--symbol and --bars are exclusive"},
		"no indicators first": {[]string{"indicators", "--bars", filepath.Join(dir, "none.csv")}, "no indicators"},
	} {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(t.Context(), append(tc.args, "--target", addr), &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("exit status %d, stderr %q; want 2 and %q", code, stderr.String(), tc.stderr)
			}
		})
	}
}
