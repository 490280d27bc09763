package idc

import (
	"errors"
	"fmt"
	"time"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
)

// Bar is one OHLCV bar of the client's own data, for sending as inline
// bars: daily bars by date with [BarsFromRows], bars of any interval by
// time with [TimedBarsFromRows].
type Bar struct {
	// Date is the trading day. Only its calendar date in UTC is sent (see
	// [EpochDay]); time.Parse(time.DateOnly, "2023-12-29") gives a suitable
	// value. [TimedBarsFromRows] ignores it.
	Date time.Time
	// Time is the bar's start, for [TimedBarsFromRows]: the 5-minute bar
	// holding the trades from 09:30 up to 09:35 starts at 09:30. Its zone
	// does not matter (it is sent as seconds since the Unix epoch);
	// [BarsFromRows] ignores it.
	Time time.Time
	// Open, High, Low and Close are the bar's prices, in the instrument's
	// quote currency (or index points). They must be finite, with High >=
	// Low.
	Open, High, Low, Close float64
	// Volume is the traded volume, finite.
	Volume float64
}

// BarsFromRows turns rows of bars into the columnar [idcv1.Bars] message,
// for the inline_bars of a request (the Bars field of [MACDQuery] and
// [IndicatorQuery]). Dates become days since 1970-01-01 with [EpochDay].
//
// It does not check the bars: the server rejects dates that are not
// strictly increasing, non-finite values, high below low, and an empty or
// too long list with INVALID_ARGUMENT naming the column, e.g.
// "inline_bars.high" (see [FieldViolations]).
func BarsFromRows(rows []Bar) *idcv1.Bars {
	b := &idcv1.Bars{
		Dates:  make([]int32, len(rows)),
		Open:   make([]float64, len(rows)),
		High:   make([]float64, len(rows)),
		Low:    make([]float64, len(rows)),
		Close:  make([]float64, len(rows)),
		Volume: make([]float64, len(rows)),
	}
	for i, r := range rows {
		b.Dates[i] = EpochDay(r.Date)
		b.Open[i] = r.Open
		b.High[i] = r.High
		b.Low[i] = r.Low
		b.Close[i] = r.Close
		b.Volume[i] = r.Volume
	}
	return b
}

// TimedBarsFromRows turns rows of bars of the given interval into the
// columnar [idcv1.Bars] message, by time: times are each row's Time as
// seconds since the Unix epoch, dates are left for the server to derive in
// timeZone, the IANA name of the exchange's time zone (e.g.
// "Asia/Shanghai"; empty means UTC), in which the server reckons sessions,
// days, weeks and months when it aggregates them to a coarser interval.
//
// It returns an error, before any call, for INTERVAL_UNSPECIFIED (bars
// given only by time need an interval) and for a time zone Go does not
// know. Like [BarsFromRows], it leaves the rest to the server: times that
// are not strictly increasing, non-finite values and high below low get
// INVALID_ARGUMENT naming the column, e.g. "inline_bars.times".
func TimedBarsFromRows(rows []Bar, interval idcv1.Interval, timeZone string) (*idcv1.Bars, error) {
	if interval == idcv1.Interval_INTERVAL_UNSPECIFIED {
		return nil, errors.New("timed bars: the interval is unspecified; bars given by time need one, e.g. INTERVAL_1_MINUTE")
	}
	if _, err := Location(timeZone); err != nil {
		return nil, fmt.Errorf("timed bars: %w", err)
	}
	b := BarsFromRows(rows)
	b.Dates = nil
	b.Times = make([]int64, len(rows))
	for i, r := range rows {
		b.Times[i] = r.Time.Unix()
	}
	b.Interval = interval
	b.TimeZone = timeZone
	return b, nil
}
