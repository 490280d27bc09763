package main

import (
	"encoding/csv"
	"io"
	"math"
	"strconv"
	"strings"

	"golang.org/x/text/width"
)

// table is what macd, indicators and symbols print: a header and rows of
// cells. The Python client's idc-client prints the same tables, byte for
// byte (clients/CLI.md states the format).
type table struct {
	header []string
	rows   [][]string
	// csv selects CSV with full precision instead of the aligned text.
	csv bool
	// left says which columns are aligned left; nil means the first only.
	left []bool
}

// alignedLeft reports whether column i is aligned left.
func (t *table) alignedLeft(i int) bool {
	if t.left == nil {
		return i == 0
	}
	return i < len(t.left) && t.left[i]
}

// displayWidth is the number of terminal columns s takes: two for each East
// Asian wide or fullwidth character (通达信), one for any other.
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		switch width.LookupRune(r).Kind() {
		case width.EastAsianWide, width.EastAsianFullwidth:
			n += 2
		default:
			n++
		}
	}
	return n
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
// widest cell (in terminal columns, see displayWidth); the first column is
// aligned left (or those left says), the others right, columns are
// separated by two spaces, and trailing spaces are trimmed.
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
			widths[i] = max(widths[i], displayWidth(c))
		}
	}
	var b strings.Builder
	for _, row := range append([][]string{t.header}, t.rows...) {
		var line strings.Builder
		for i, c := range row {
			pad := strings.Repeat(" ", widths[i]-displayWidth(c))
			if i > 0 {
				line.WriteString("  ")
			}
			if t.alignedLeft(i) {
				line.WriteString(c + pad)
			} else {
				line.WriteString(pad + c)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}
