package idc

import (
	"fmt"
	"math"
	"time"

	"google.golang.org/protobuf/proto"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
)

// SMA returns the spec of a simple moving average of the close over period
// bars (0 means 20). Its one output series is named by the label, "sma"
// unless set with [Labeled].
func SMA(period int32) *idcv1.IndicatorSpec {
	return &idcv1.IndicatorSpec{Parameters: &idcv1.IndicatorSpec_Sma{Sma: &idcv1.SMAParameters{Period: period}}}
}

// EMA returns the spec of an exponential moving average of the close with
// span period (0 means 20). Its one output series is named by the label,
// "ema" unless set with [Labeled].
func EMA(period int32) *idcv1.IndicatorSpec {
	return &idcv1.IndicatorSpec{Parameters: &idcv1.IndicatorSpec_Ema{Ema: &idcv1.EMAParameters{Period: period}}}
}

// MACD returns the spec of MACD with the given EMA periods (0 means 12, 26
// and 9). Its outputs are "<label>.macd", "<label>.signal" and
// "<label>.histogram", with label "macd" unless set with [Labeled].
func MACD(fast, slow, signal int32) *idcv1.IndicatorSpec {
	return &idcv1.IndicatorSpec{Parameters: &idcv1.IndicatorSpec_Macd{Macd: &idcv1.MACDParameters{
		FastPeriod: fast, SlowPeriod: slow, SignalPeriod: signal,
	}}}
}

// RSI returns the spec of the relative strength index of the close over
// period bars (0 means 14), in percent. Its one output series is named by
// the label, "rsi" unless set with [Labeled].
func RSI(period int32) *idcv1.IndicatorSpec {
	return &idcv1.IndicatorSpec{Parameters: &idcv1.IndicatorSpec_Rsi{Rsi: &idcv1.RSIParameters{Period: period}}}
}

// Bollinger returns the spec of Bollinger Bands over period bars (0 means
// 20), k standard deviations wide (0 means 2), with the convention's
// standard deviation; set GetBoll().StdDev on the result to choose another.
// Its outputs are "<label>.upper", "<label>.middle" and "<label>.lower",
// with label "boll" unless set with [Labeled].
func Bollinger(period int32, k float64) *idcv1.IndicatorSpec {
	return &idcv1.IndicatorSpec{Parameters: &idcv1.IndicatorSpec_Boll{Boll: &idcv1.BollingerParameters{Period: period, K: k}}}
}

// KDJ returns the spec of the KDJ oscillator with an RSV window of period
// bars and K and D smoothing periods k and d (0 means 9, 3 and 3), seeded
// with 50; set GetKdj().Seed on the result to choose another seed. Its
// outputs are "<label>.k", "<label>.d" and "<label>.j", with label "kdj"
// unless set with [Labeled].
func KDJ(period, k, d int32) *idcv1.IndicatorSpec {
	return &idcv1.IndicatorSpec{Parameters: &idcv1.IndicatorSpec_Kdj{Kdj: &idcv1.KDJParameters{Period: period, KPeriod: k, DPeriod: d}}}
}

// Labeled returns a copy of spec with the given label, which names its
// output series. Labels must match [a-z0-9_]{1,32} and be unique within a
// request, so two SMAs need labels such as
//
//	idc.Labeled("sma5", idc.SMA(5)), idc.Labeled("sma20", idc.SMA(20))
//
// A nil spec gives a spec with only the label, which the server rejects.
func Labeled(label string, spec *idcv1.IndicatorSpec) *idcv1.IndicatorSpec {
	s := &idcv1.IndicatorSpec{}
	if spec != nil {
		s = proto.CloneOf(spec)
	}
	s.Label = label
	return s
}

// Frame is a ComputeIndicators response as a table: one row per date and
// one column per output series, each as long as Dates.
type Frame struct {
	// Dates are the trading days at midnight UTC, in ascending order.
	Dates []time.Time
	// Times are the bars' start times in the exchange's time zone, one per
	// date (see [MACDRow].Time).
	Times []time.Time
	// Interval is the interval the server served.
	Interval idcv1.Interval
	// TimeZone is the IANA name of the exchange's time zone, e.g.
	// "Asia/Shanghai"; empty from a server that predates time zones.
	TimeZone string
	// Adjustment is the price adjustment the server applied.
	Adjustment idcv1.Adjustment
	// Names are the series names in response order, e.g. "sma20",
	// "macd.signal", "boll.upper".
	Names []string
	// Columns maps each name to one value per date. Warm-up bars, which
	// have no value, hold NaN (test with math.IsNaN).
	Columns map[string][]float64
	// Kinds maps each name to what its values mean (Series.kind): price,
	// percent, ratio, volume, unitless or signal; OUTPUT_KIND_UNSPECIFIED
	// from a server that does not say.
	Kinds map[string]idcv1.OutputKind
}

// IndicatorFrame turns a ComputeIndicators response into a [Frame],
// padding each series with NaN before its first_valid_index. It returns an
// error when times is neither empty nor one per date, when time_zone is not
// a time zone Go knows, when a series has no name or the name of an earlier one, when its
// first_valid_index is outside 0 to len(dates), or when it does not have
// len(dates) - first_valid_index values. A nil response gives an empty
// frame.
func IndicatorFrame(resp *idcv1.ComputeIndicatorsResponse) (*Frame, error) {
	dates := resp.GetDates()
	n := len(dates)
	f := &Frame{
		Dates:   make([]time.Time, n),
		Names:   make([]string, 0, len(resp.GetSeries())),
		Columns: make(map[string][]float64, len(resp.GetSeries())),
		Kinds:   make(map[string]idcv1.OutputKind, len(resp.GetSeries())),
	}
	for i, d := range dates {
		f.Dates[i] = DateFromEpochDay(d)
	}
	times, err := barTimes("indicator frame", resp.GetTimes(), dates, resp.GetTimeZone())
	if err != nil {
		return nil, err
	}
	f.Times, f.Interval, f.TimeZone, f.Adjustment = times, resp.GetInterval(), resp.GetTimeZone(), resp.GetAdjustment()
	for i, s := range resp.GetSeries() {
		name := s.GetName()
		if name == "" {
			return nil, fmt.Errorf("indicator frame: series %d has no name", i)
		}
		if _, dup := f.Columns[name]; dup {
			return nil, fmt.Errorf("indicator frame: series %d has the same name %q as an earlier one", i, name)
		}
		first := int(s.GetFirstValidIndex())
		if first < 0 || first > n {
			return nil, fmt.Errorf("indicator frame: series %q: first_valid_index %d is outside 0 to %d, the number of dates", name, first, n)
		}
		values := s.GetValues()
		if len(values) != n-first {
			return nil, fmt.Errorf("indicator frame: series %q has %d values, want len(dates) - first_valid_index (%d - %d = %d)",
				name, len(values), n, first, n-first)
		}
		col := make([]float64, n)
		for j := range first {
			col[j] = math.NaN()
		}
		copy(col[first:], values)
		f.Names = append(f.Names, name)
		f.Columns[name] = col
		f.Kinds[name] = s.GetKind()
	}
	return f, nil
}
