package idc

import (
	"fmt"
	"time"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
)

// MACDRow is one bar of a GetMACD response with its MACD values.
type MACDRow struct {
	// Date is the trading day at midnight UTC. Only its calendar date is
	// meaningful; it is the exchange's local date of the session.
	Date time.Time
	// Open, High, Low and Close are the bar's prices in the instrument's
	// quote currency (or index points).
	Open, High, Low, Close float64
	// Volume is the traded volume in the data source's unit.
	Volume float64
	// MACD is the MACD line, EMA(fast) - EMA(slow) of the close.
	MACD float64
	// Signal is the signal line, the EMA of the MACD line.
	Signal float64
	// Histogram is MACD - Signal.
	Histogram float64
}

// MACDRows turns the columns of a GetMACD response into one row per bar, in
// the response's (ascending date) order. It returns an error when a column
// does not have one value per date. A nil response gives no rows.
func MACDRows(resp *idcv1.GetMACDResponse) ([]MACDRow, error) {
	bars := resp.GetBars()
	dates := bars.GetDates()
	n := len(dates)
	columns := []struct {
		name   string
		values []float64
	}{
		{"open", bars.GetOpen()},
		{"high", bars.GetHigh()},
		{"low", bars.GetLow()},
		{"close", bars.GetClose()},
		{"volume", bars.GetVolume()},
		{"macd", resp.GetMacd()},
		{"signal", resp.GetSignal()},
		{"histogram", resp.GetHistogram()},
	}
	for _, c := range columns {
		if len(c.values) != n {
			return nil, fmt.Errorf("macd rows: column %s has %d values, want one per date (%d)", c.name, len(c.values), n)
		}
	}
	rows := make([]MACDRow, n)
	for i, d := range dates {
		rows[i] = MACDRow{
			Date:      DateFromEpochDay(d),
			Open:      bars.GetOpen()[i],
			High:      bars.GetHigh()[i],
			Low:       bars.GetLow()[i],
			Close:     bars.GetClose()[i],
			Volume:    bars.GetVolume()[i],
			MACD:      resp.GetMacd()[i],
			Signal:    resp.GetSignal()[i],
			Histogram: resp.GetHistogram()[i],
		}
	}
	return rows, nil
}

// DateFromEpochDay converts a wire date, whole days since 1970-01-01, to
// that calendar date at midnight UTC. For example 19720 is 2023-12-29.
func DateFromEpochDay(days int32) time.Time {
	return time.Unix(int64(days)*86400, 0).UTC()
}
