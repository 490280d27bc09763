package idc

import (
	"fmt"
	"strings"
	"sync"
	"time"

	// The exchanges' time zones must load on machines without a zoneinfo
	// database (scratch containers, Windows): embed Go's copy, about 450 KB.
	_ "time/tzdata"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
)

// protoEnum is a generated enum type, such as idcv1.Interval.
type protoEnum interface {
	~int32
	String() string
}

// enumName pairs an enum value with its short name, as both command lines
// spell it (--interval, --adjust) and the Python client accepts it.
type enumName[E protoEnum] struct {
	name  string
	value E
}

// intervalNames are the short names of the intervals (--interval).
var intervalNames = []enumName[idcv1.Interval]{
	{"1m", idcv1.Interval_INTERVAL_1_MINUTE},
	{"5m", idcv1.Interval_INTERVAL_5_MINUTES},
	{"15m", idcv1.Interval_INTERVAL_15_MINUTES},
	{"30m", idcv1.Interval_INTERVAL_30_MINUTES},
	{"1h", idcv1.Interval_INTERVAL_1_HOUR},
	{"1d", idcv1.Interval_INTERVAL_1_DAY},
	{"1w", idcv1.Interval_INTERVAL_1_WEEK},
	{"1mo", idcv1.Interval_INTERVAL_1_MONTH},
}

// adjustmentNames are the short names of the adjustments (--adjust).
var adjustmentNames = []enumName[idcv1.Adjustment]{
	{"as-stored", idcv1.Adjustment_ADJUSTMENT_AS_STORED},
	{"none", idcv1.Adjustment_ADJUSTMENT_NONE},
	{"forward", idcv1.Adjustment_ADJUSTMENT_FORWARD},
	{"backward", idcv1.Adjustment_ADJUSTMENT_BACKWARD},
}

// parseName returns the value whose short name or enum name is s, case
// ignored; what and the wanted names make the error.
func parseName[E protoEnum](names []enumName[E], s, what, wanted string) (E, error) {
	for _, n := range names {
		if strings.EqualFold(s, n.name) || strings.EqualFold(s, n.value.String()) {
			return n.value, nil
		}
	}
	return 0, fmt.Errorf("unknown %s %q; want one of %s", what, s, wanted)
}

// shortName returns v's short name, or its number if it has none.
func shortName[E protoEnum](names []enumName[E], v E) string {
	for _, n := range names {
		if n.value == v {
			return n.name
		}
	}
	return fmt.Sprint(int32(v))
}

// ParseInterval returns the interval named s: one of 1m, 5m, 15m, 30m, 1h,
// 1d, 1w and 1mo, or the enum name such as "INTERVAL_5_MINUTES"; case is
// ignored. An empty s is INTERVAL_UNSPECIFIED, which the server serves as
// 1 day.
func ParseInterval(s string) (idcv1.Interval, error) {
	if s == "" {
		return idcv1.Interval_INTERVAL_UNSPECIFIED, nil
	}
	return parseName(intervalNames, s, "interval", "1m, 5m, 15m, 30m, 1h, 1d, 1w, 1mo")
}

// IntervalName returns the short name of iv, e.g. "5m" or "1mo"; the
// unspecified interval is "1d", as the server serves it, and a value this
// client does not know is its number.
func IntervalName(iv idcv1.Interval) string {
	if iv == idcv1.Interval_INTERVAL_UNSPECIFIED {
		return "1d"
	}
	return shortName(intervalNames, iv)
}

// Intraday reports whether bars of interval iv are shorter than a day, so
// that their times, not only their dates, tell them apart.
func Intraday(iv idcv1.Interval) bool {
	return iv >= idcv1.Interval_INTERVAL_1_MINUTE && iv <= idcv1.Interval_INTERVAL_1_HOUR
}

// ParseAdjustment returns the adjustment named s: as-stored, none,
// forward (前复权, also qfq) or backward (后复权, also hfq), or the enum
// name such as "ADJUSTMENT_FORWARD"; case is ignored. An empty s is
// ADJUSTMENT_UNSPECIFIED, which the server serves as stored.
func ParseAdjustment(s string) (idcv1.Adjustment, error) {
	switch strings.ToLower(s) {
	case "":
		return idcv1.Adjustment_ADJUSTMENT_UNSPECIFIED, nil
	case "qfq":
		return idcv1.Adjustment_ADJUSTMENT_FORWARD, nil
	case "hfq":
		return idcv1.Adjustment_ADJUSTMENT_BACKWARD, nil
	}
	return parseName(adjustmentNames, s, "adjustment", "as-stored, none, forward, backward")
}

// AdjustmentName returns the short name of a, e.g. "forward"; the
// unspecified adjustment is "as-stored", as the server applies it.
func AdjustmentName(a idcv1.Adjustment) string {
	if a == idcv1.Adjustment_ADJUSTMENT_UNSPECIFIED {
		return "as-stored"
	}
	return shortName(adjustmentNames, a)
}

// locations caches the time zones of responses by IANA name.
var locations sync.Map // string -> *time.Location

// Location returns the time zone named by a response's time_zone, e.g.
// "Asia/Shanghai"; an empty name (a server that predates time zones) is
// UTC. The zone data is embedded in this package (time/tzdata), so this
// works on machines without a zoneinfo database.
func Location(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	if loc, ok := locations.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("time zone %q: %w", name, err)
	}
	locations.Store(name, loc)
	return loc, nil
}

// barTimes returns the times of n bars in the zone named zone: the wire
// times (seconds since the Unix epoch) when there are n of them, else the
// dates at 00:00 of that zone (a server that predates times). what names
// the response in errors.
func barTimes(what string, times []int64, dates []int32, zone string) ([]time.Time, error) {
	loc, err := Location(zone)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	out := make([]time.Time, len(dates))
	switch len(times) {
	case len(dates):
		for i, s := range times {
			out[i] = time.Unix(s, 0).In(loc)
		}
	case 0:
		for i, d := range dates {
			y, m, day := DateFromEpochDay(d).Date()
			out[i] = time.Date(y, m, day, 0, 0, 0, 0, loc)
		}
	default:
		return nil, fmt.Errorf("%s: %d times, want one per date (%d)", what, len(times), len(dates))
	}
	return out, nil
}
