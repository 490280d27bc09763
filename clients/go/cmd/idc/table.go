package main

import (
	"encoding/csv"
	"io"
	"math"
	"strconv"
	"strings"
)

// table is what macd, indicators and symbols print: a header and rows of
// cells. The Python client's idc-client prints the same tables, byte for
// byte (clients/CLI.md states the format).
type table struct {
	header []string
	rows   [][]string
	// csv selects CSV with full precision instead of the aligned text.
	csv bool
}

// num formats v for the table: with prec decimals as text, as the
// shortest decimal that reads back as v in CSV, and as an empty cell when
// v is NaN (a warm-up bar without a value).
func (t *table) num(v float64, prec int) string {
	if math.IsNaN(v) {
		return ""
	}
	if t.csv {
		prec = -1
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

// write prints the table to w. As text, each column is as wide as its
// widest cell; the first column is aligned left, the others right, and
// columns are separated by two spaces.
func (t *table) write(w io.Writer) error {
	if t.csv {
		cw := csv.NewWriter(w)
		if err := cw.Write(t.header); err != nil {
			return err
		}
		if err := cw.WriteAll(t.rows); err != nil {
			return err
		}
		return cw.Error()
	}
	widths := make([]int, len(t.header))
	for _, row := range append([][]string{t.header}, t.rows...) {
		for i, c := range row {
			widths[i] = max(widths[i], len(c))
		}
	}
	var b strings.Builder
	for _, row := range append([][]string{t.header}, t.rows...) {
		for i, c := range row {
			pad := strings.Repeat(" ", widths[i]-len(c))
			switch {
			case i == 0 && len(row) == 1:
				b.WriteString(c)
			case i == 0:
				b.WriteString(c + pad)
			default:
				b.WriteString("  " + pad + c)
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}
