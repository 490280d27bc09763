package idc

import (
	"fmt"
	"math"
	"time"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
)

// MACDRow is one bar of a GetMACD response with its MACD values.
type MACDRow struct {
	// Date is the trading day at midnight UTC. Only its calendar date is
	// meaningful; it is the exchange's local date of the session (for
	// weekly and monthly bars, the last trading day the bar includes).
	Date time.Time
	// Time is the bar's start in the exchange's time zone (the response's
	// bars.time_zone): 09:30 Asia/Shanghai for the first minute bar of a
	// Shanghai session, 00:00 of the trading day for a daily bar, of the
	// Monday for a weekly bar and of the 1st for a monthly one. From a
	// server that sends no times it is Date's day at 00:00 in that zone.
	Time time.Time
	// Open, High, Low and Close are the bar's prices in the instrument's
	// quote currency (or index points).
	Open, High, Low, Close float64
	// Volume is the traded volume in the data source's unit.
	Volume float64
	// Valid reports whether the bar has MACD values. It is false for the
	// warm-up bars before the response's first_valid_index, whose MACD,
	// Signal and Histogram are NaN.
	Valid bool
	// MACD is the MACD line, EMA(fast) - EMA(slow) of the close (TA-Lib's
	// macd, 通达信's DIF), or NaN when Valid is false.
	MACD float64
	// Signal is the signal line, the EMA of the MACD line (TA-Lib's
	// macdsignal, 通达信's DEA), or NaN when Valid is false.
	Signal float64
	// Histogram is MACD - Signal under CONVENTION_TALIB and 通达信's MACD
	// bar, 2 * (MACD - Signal), under CONVENTION_TDX; NaN when Valid is
	// false.
	Histogram float64
}

// MACDRows turns the columns of a GetMACD response into one row per bar, in
// the response's (ascending date) order. The bars before the response's
// first_valid_index are warm-up bars: their rows have Valid false and NaN
// MACD values.
//
// It returns an error when a bar column does not have one value per date,
// when bars.times is neither empty nor one per date, when bars.time_zone is
// not a time zone Go knows,
// when first_valid_index is outside 0 to len(dates), or when a MACD column
// does not have len(dates) - first_valid_index values. A nil response gives
// no rows.
func MACDRows(resp *idcv1.GetMACDResponse) ([]MACDRow, error) {
	bars := resp.GetBars()
	dates := bars.GetDates()
	n := len(dates)
	barColumns := []column{
		{"open", bars.GetOpen()},
		{"high", bars.GetHigh()},
		{"low", bars.GetLow()},
		{"close", bars.GetClose()},
		{"volume", bars.GetVolume()},
	}
	for _, c := range barColumns {
		if len(c.values) != n {
			return nil, fmt.Errorf("macd rows: column %s has %d values, want one per date (%d)", c.name, len(c.values), n)
		}
	}
	times, err := barTimes("macd rows", bars.GetTimes(), dates, bars.GetTimeZone())
	if err != nil {
		return nil, err
	}
	first := int(resp.GetFirstValidIndex())
	if first < 0 || first > n {
		return nil, fmt.Errorf("macd rows: first_valid_index %d is outside 0 to %d, the number of dates", first, n)
	}
	macdColumns := []column{
		{"macd", resp.GetMacd()},
		{"signal", resp.GetSignal()},
		{"histogram", resp.GetHistogram()},
	}
	for _, c := range macdColumns {
		if len(c.values) != n-first {
			return nil, fmt.Errorf("macd rows: column %s has %d values, want len(dates) - first_valid_index (%d - %d = %d)",
				c.name, len(c.values), n, first, n-first)
		}
	}
	rows := make([]MACDRow, n)
	for i, d := range dates {
		r := MACDRow{
			Date:   DateFromEpochDay(d),
			Time:   times[i],
			Open:   bars.GetOpen()[i],
			High:   bars.GetHigh()[i],
			Low:    bars.GetLow()[i],
			Close:  bars.GetClose()[i],
			Volume: bars.GetVolume()[i],
		}
		if i < first {
			r.MACD, r.Signal, r.Histogram = math.NaN(), math.NaN(), math.NaN()
		} else {
			r.Valid = true
			r.MACD = resp.GetMacd()[i-first]
			r.Signal = resp.GetSignal()[i-first]
			r.Histogram = resp.GetHistogram()[i-first]
		}
		rows[i] = r
	}
	return rows, nil
}

// column is a named column of a response, for length checks.
type column struct {
	name   string
	values []float64
}

// DateFromEpochDay converts a wire date, whole days since 1970-01-01, to
// that calendar date at midnight UTC. For example 19720 is 2023-12-29.
// [EpochDay] is its inverse.
func DateFromEpochDay(days int32) time.Time {
	return time.Unix(int64(days)*86400, 0).UTC()
}

// EpochDay converts t to a wire date: the whole days from 1970-01-01 to t's
// calendar date in UTC. The time of day is ignored, so any time on
// 2023-12-29 UTC gives 19720. To send a date of another time zone as it is,
// build it with time.Date(year, month, day, 0, 0, 0, 0, time.UTC), as
// [DateFromEpochDay] and time.Parse(time.DateOnly, s) do.
//
// Dates beyond the int32 range (about 5.8 million years from 1970) do not
// fit the wire format and wrap around.
func EpochDay(t time.Time) int32 {
	y, m, d := t.UTC().Date()
	return int32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}
