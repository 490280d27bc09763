package idc

import (
	"time"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
)

// Bar is one daily OHLCV bar of the client's own data, for sending as
// inline bars with [BarsFromRows].
type Bar struct {
	// Date is the trading day. Only its calendar date in UTC is sent (see
	// [EpochDay]); time.Parse(time.DateOnly, "2023-12-29") gives a suitable
	// value.
	Date time.Time
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
