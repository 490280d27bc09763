package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
	"github.com/idcrpc/idc/clients/go/idc"
)

// columnAliases are the lower-cased header names a --bars file may use
// for each of our columns, in any order and case; other columns are
// dropped. They are python-proto/src/idc_common/columns.py's COLUMN_ALIASES,
// which the server's --data-dir reader and the Python idc-client use: the
// parity test in clients/tests feeds both command lines the same files.
var columnAliases = map[string]string{
	"date": "date", "dt": "date", "datetime": "date", "time": "date", "trade_date": "date",
	"open": "open", "high": "high", "low": "low", "close": "close",
	"volume": "volume", "vol": "volume",
	"factor": "factor", "adj_factor": "factor", "adjustment_factor": "factor", "adjustment_factors": "factor",
}

// barsFileColumns are the value columns a --bars file must have, in the
// order of idcv1.Bars.
var barsFileColumns = []string{"open", "high", "low", "close", "volume"}

// barsFileDates are the layouts a --bars date cell may have, tried in
// order; a time of day is dropped, since --bars sends daily bars. The
// Python idc-client tries the same ones (idc_client.barsfile).
var barsFileDates = []string{
	"2006-01-02", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02T15:04",
	"20060102", "2006/01/02", "1/2/2006", "1/2/2006 15:04", "1/2/2006 15:04:05",
}

// readBarsFile reads the daily bars of a --bars CSV file: a header, then
// one bar a line. The dates are the column named for dates (Date, dt,
// trade_date, ...) or else the first column; empty value cells are NaN,
// which the server then rejects naming the bar. An optional factor column
// (factor, adj_factor) is sent as the bars' adjustment factors, for
// --adjust forward or backward.
func readBarsFile(path string) (*idcv1.Bars, error) {
	f, err := os.Open(path)
	if err != nil {
		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			err = pathErr.Err
		}
		return nil, fmt.Errorf("--bars %s: %v", path, err)
	}
	defer f.Close()
	bars, err := parseBarsCSV(f)
	if err != nil {
		return nil, fmt.Errorf("--bars %s: %w", path, err)
	}
	return bars, nil
}

func parseBarsCSV(r io.Reader) (*idcv1.Bars, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("the file is empty; want a header line and one bar a line")
	}
	if err != nil {
		return nil, err
	}
	index := map[string]int{}
	for i, name := range header {
		if i == 0 {
			name = strings.TrimPrefix(name, "\ufeff")
		}
		ours, ok := columnAliases[strings.ToLower(strings.TrimSpace(name))]
		if !ok {
			continue
		}
		if j, dup := index[ours]; dup {
			return nil, fmt.Errorf("columns %s and %s both mean %s", strings.TrimSpace(header[j]), strings.TrimSpace(name), ours)
		}
		index[ours] = i
	}
	for _, name := range barsFileColumns {
		if _, ok := index[name]; !ok {
			return nil, fmt.Errorf("no %s column; want date, open, high, low, close and volume (or dt, trade_date, vol), any case", name)
		}
	}
	dateColumn, ok := index["date"]
	if !ok {
		dateColumn = 0
	}
	b := &idcv1.Bars{}
	values := [][]float64{nil, nil, nil, nil, nil}
	factorColumn, hasFactors := index["factor"]
	var factors []float64
	for {
		record, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		cell := func(i int) string {
			if i < len(record) {
				return strings.TrimSpace(record[i])
			}
			return ""
		}
		day, err := parseBarsDate(cell(dateColumn))
		if err != nil {
			return nil, fmt.Errorf("line %d, column %s: %w", line, strings.TrimSpace(header[dateColumn]), err)
		}
		b.Dates = append(b.Dates, idc.EpochDay(day))
		for k, name := range barsFileColumns {
			text := cell(index[name])
			v, err := parseBarsNumber(text)
			if err != nil {
				return nil, fmt.Errorf("line %d, column %s: '%s' is not a number", line, strings.TrimSpace(header[index[name]]), text)
			}
			values[k] = append(values[k], v)
		}
		if hasFactors {
			v, err := parseBarsNumber(cell(factorColumn))
			if err != nil {
				return nil, fmt.Errorf("line %d, column %s: '%s' is not a number", line, strings.TrimSpace(header[factorColumn]), cell(factorColumn))
			}
			factors = append(factors, v)
		}
	}
	if len(b.Dates) == 0 {
		return nil, errors.New("no bars after the header")
	}
	b.Open, b.High, b.Low, b.Close, b.Volume = values[0], values[1], values[2], values[3], values[4]
	b.AdjustmentFactors = factors
	return b, nil
}

// parseBarsNumber parses a value cell: empty is NaN, out of range ±Inf
// (as in Python). ParseFloat also takes hexadecimal and underscores, which
// Python's float() does not: they are refused alike.
func parseBarsNumber(text string) (float64, error) {
	if text == "" {
		return math.NaN(), nil
	}
	v, err := strconv.ParseFloat(text, 64)
	if (err != nil && !errors.Is(err, strconv.ErrRange)) || strings.ContainsAny(text, "xX_") {
		return 0, errors.New("not a number")
	}
	return v, nil
}

// parseBarsDate parses a date cell in one of barsFileDates.
func parseBarsDate(text string) (time.Time, error) {
	for _, layout := range barsFileDates {
		if t, err := time.Parse(layout, text); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("'%s' is not a date; want YYYY-MM-DD, YYYYMMDD, YYYY/MM/DD or M/D/YYYY, with or without a time", text)
}
