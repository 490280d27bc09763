package idc

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"google.golang.org/grpc"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
)

// Params are the parameters of a catalogue entry or a formula, by their
// case-sensitive names as [Client.ListIndicators] lists them
// ("timeperiod", "N"). A value is a Go integer or float (an INT or FLOAT
// parameter), a string (one of an ENUM parameter's choices, such as "EMA")
// or a bool (a BOOL parameter). Parameters left out take their defaults.
type Params map[string]any

// ParamValue converts one parameter value to its wire form: integers and
// floats become ParameterValue.number, strings choice and bools flag. It
// returns an error for any other type. The server checks that the value
// fits the parameter's type and range.
func ParamValue(v any) (*idcv1.ParameterValue, error) {
	switch x := v.(type) {
	case bool:
		return &idcv1.ParameterValue{Kind: &idcv1.ParameterValue_Flag{Flag: x}}, nil
	case string:
		return &idcv1.ParameterValue{Kind: &idcv1.ParameterValue_Choice{Choice: x}}, nil
	case float64:
		return number(x), nil
	case float32:
		return number(float64(x)), nil
	case int:
		return number(float64(x)), nil
	case int8:
		return number(float64(x)), nil
	case int16:
		return number(float64(x)), nil
	case int32:
		return number(float64(x)), nil
	case int64:
		return number(float64(x)), nil
	case uint:
		return number(float64(x)), nil
	case uint8:
		return number(float64(x)), nil
	case uint16:
		return number(float64(x)), nil
	case uint32:
		return number(float64(x)), nil
	case uint64:
		return number(float64(x)), nil
	case *idcv1.ParameterValue:
		if x == nil {
			return nil, fmt.Errorf("nil *ParameterValue")
		}
		return x, nil
	}
	return nil, fmt.Errorf("unsupported type %T: want an integer, a float, a string or a bool", v)
}

func number(x float64) *idcv1.ParameterValue {
	return &idcv1.ParameterValue{Kind: &idcv1.ParameterValue_Number{Number: x}}
}

// ParamValues converts every value of p with [ParamValue]. The error names
// the parameter whose value has an unsupported type. Empty p gives nil.
func ParamValues(p Params) (map[string]*idcv1.ParameterValue, error) {
	if len(p) == 0 {
		return nil, nil
	}
	out := make(map[string]*idcv1.ParameterValue, len(p))
	for name, v := range p {
		pv, err := ParamValue(v)
		if err != nil {
			return nil, fmt.Errorf("parameter %q: %w", name, err)
		}
		out[name] = pv
	}
	return out, nil
}

// GoValue is the inverse of [ParamValue] for a parameter of type t: an
// int for PARAMETER_TYPE_INT, a float64 for FLOAT, a string for ENUM and a
// bool for BOOL. A value whose kind does not fit t is returned as it is on
// the wire (float64, string or bool); an unset value gives nil.
func GoValue(t idcv1.ParameterType, v *idcv1.ParameterValue) any {
	switch k := v.GetKind().(type) {
	case *idcv1.ParameterValue_Number:
		if t == idcv1.ParameterType_PARAMETER_TYPE_INT && k.Number == math.Trunc(k.Number) && math.Abs(k.Number) < 1<<53 {
			return int(k.Number)
		}
		return k.Number
	case *idcv1.ParameterValue_Choice:
		return k.Choice
	case *idcv1.ParameterValue_Flag:
		return k.Flag
	}
	return nil
}

// Fn returns the spec of the catalogue entry name ("talib.ADX", "tdx.KDJ",
// a plugin's "example.ZSCORE", or a bare local name such as "ADX" when only
// one namespace has it) with the given parameters:
//
//	idc.Fn("talib.ADX", idc.Params{"timeperiod": 14})
//
// Its output series are named "<label>" for one output and
// "<label>.<output>" otherwise, the label being the entry's local name in
// lower case ("adx") unless set with [Labeled]. Fn panics when a value of
// params has a type [ParamValue] does not take, as for any other
// programming error; use [ParamValues] to check values first.
func Fn(name string, params Params) *idcv1.IndicatorSpec {
	return &idcv1.IndicatorSpec{Name: name, Params: mustParamValues("idc.Fn", params)}
}

// Formula returns the spec of 通达信 formula text, compiled by the server,
// with values for the parameters its header declares:
//
//	idc.Formula("DIF:EMA(C,12)-EMA(C,26); DEA:EMA(DIF,N); MACD:(DIF-DEA)*2;", nil)
//
// Every "NAME:expr;" statement is an output, named "<label>.<NAME>" (or
// "<label>" for a single output), the label being "formula" unless set with
// [Labeled]. It panics as [Fn] does for a value of an unsupported type.
func Formula(text string, params Params) *idcv1.IndicatorSpec {
	return &idcv1.IndicatorSpec{Formula: text, Params: mustParamValues("idc.Formula", params)}
}

func mustParamValues(caller string, p Params) map[string]*idcv1.ParameterValue {
	values, err := ParamValues(p)
	if err != nil {
		panic(caller + ": " + err.Error())
	}
	return values
}

// IndicatorPanel returns a chart panel of any spec (see [Fn], [Formula]):
// its outputs other than signals are lines in the panel, and its signals
// are markers on the price panel.
func IndicatorPanel(spec *idcv1.IndicatorSpec) *idcv1.ChartPanel {
	return &idcv1.ChartPanel{Kind: &idcv1.ChartPanel_Indicator{Indicator: spec}}
}

// IndicatorOverlay returns a chart overlay of any spec whose outputs are
// prices (lines over the candles) or signals (markers on the bars); the
// server rejects other kinds of output on "overlays[i].indicator".
func IndicatorOverlay(spec *idcv1.IndicatorSpec) *idcv1.ChartOverlay {
	return &idcv1.ChartOverlay{Kind: &idcv1.ChartOverlay_Indicator{Indicator: spec}}
}

// Entry is one entry of the server's catalogue, with its parameters' values
// as Go values.
type Entry struct {
	// Name is the full name, "namespace.LOCAL", e.g. "talib.ADX".
	Name string
	// Namespace and Local are the two parts of Name: "talib" and "ADX".
	Namespace, Local string
	// Group is the family, e.g. "Momentum Indicators".
	Group string
	// Description is one line saying what the entry computes.
	Description string
	// Parameters are in the entry's own order.
	Parameters []Parameter
	// Inputs are the bar columns read: "open", "high", "low", "close",
	// "volume".
	Inputs []string
	// Outputs are in the order of the response's series.
	Outputs []Output
	// Conventions are those supported, the entry's own first.
	Conventions []idcv1.Convention
	// WarmUpBars are the warm-up bars at the default parameters, one per
	// element of Conventions.
	WarmUpBars []int
	// Formula is the 通达信 text of a formula-file entry; empty otherwise.
	Formula string
	// Proto is the message the entry was read from.
	Proto *idcv1.IndicatorEntry
}

// Parameter is one parameter of an [Entry].
type Parameter struct {
	// Name is the case-sensitive name [Params] takes.
	Name string
	// Type is what values it takes.
	Type idcv1.ParameterType
	// Default is the value used when a request leaves it out: an int, a
	// float64, a string or a bool by Type (see [GoValue]).
	Default any
	// Minimum and Maximum bound INT and FLOAT values (Minimum exclusive when
	// MinimumExclusive); nil means no bound.
	Minimum, Maximum *float64
	// MinimumExclusive says the value must be above Minimum.
	MinimumExclusive bool
	// Choices are the names an ENUM parameter takes.
	Choices []string
	// Doc says what the parameter means and its unit.
	Doc string
}

// Output is one output of an [Entry].
type Output struct {
	// Name is the output's name, e.g. "macdsignal" or "DEA".
	Name string
	// Kind says what its values mean (price, percent, signal, ...).
	Kind idcv1.OutputKind
	// Doc says what the output is.
	Doc string
}

// EntryOf converts a catalogue entry message to an [Entry]. A nil message
// gives a zero Entry.
func EntryOf(m *idcv1.IndicatorEntry) Entry {
	e := Entry{
		Name:        m.GetName(),
		Group:       m.GetGroup(),
		Description: m.GetDescription(),
		Inputs:      m.GetInputs(),
		Conventions: m.GetConventions(),
		Formula:     m.GetFormula(),
		Proto:       m,
	}
	e.Namespace, e.Local, _ = strings.Cut(e.Name, ".")
	for _, p := range m.GetParameters() {
		param := Parameter{
			Name:             p.GetName(),
			Type:             p.GetType(),
			Default:          GoValue(p.GetType(), p.GetDefaultValue()),
			MinimumExclusive: p.GetMinimumExclusive(),
			Choices:          p.GetChoices(),
			Doc:              p.GetDoc(),
		}
		if p.Minimum != nil {
			v := p.GetMinimum()
			param.Minimum = &v
		}
		if p.Maximum != nil {
			v := p.GetMaximum()
			param.Maximum = &v
		}
		e.Parameters = append(e.Parameters, param)
	}
	for _, o := range m.GetOutputs() {
		e.Outputs = append(e.Outputs, Output{Name: o.GetName(), Kind: o.GetKind(), Doc: o.GetDoc()})
	}
	for _, w := range m.GetWarmUpBars() {
		e.WarmUpBars = append(e.WarmUpBars, int(w))
	}
	return e
}

// Param returns the parameter called name (case-sensitive) and whether the
// entry has it.
func (e Entry) Param(name string) (Parameter, bool) {
	i := slices.IndexFunc(e.Parameters, func(p Parameter) bool { return p.Name == name })
	if i < 0 {
		return Parameter{}, false
	}
	return e.Parameters[i], true
}

// Output returns the output called name (case-sensitive) and whether the
// entry has it.
func (e Entry) Output(name string) (Output, bool) {
	i := slices.IndexFunc(e.Outputs, func(o Output) bool { return o.Name == name })
	if i < 0 {
		return Output{}, false
	}
	return e.Outputs[i], true
}

// WarmUp returns the warm-up bars at the default parameters under
// convention c, and whether the entry supports c.
func (e Entry) WarmUp(c idcv1.Convention) (int, bool) {
	i := slices.Index(e.Conventions, c)
	if i < 0 || i >= len(e.WarmUpBars) {
		return 0, false
	}
	return e.WarmUpBars[i], true
}

// ListIndicators calls IndicatorService.ListIndicators and returns the
// server's catalogue sorted by name: every TA-Lib function ("talib.*"),
// the 通达信 formula files ("tdx.*"), the typed indicators ("idc.*") and the
// operator's plugins. A non-empty namespace ("talib", case-insensitive)
// keeps that namespace's entries only; an unknown one gives none.
func (c *Client) ListIndicators(ctx context.Context, namespace string, opts ...grpc.CallOption) ([]Entry, error) {
	ctx, cancel := c.callContext(ctx)
	defer cancel()
	resp, err := c.ind.ListIndicators(ctx, &idcv1.ListIndicatorsRequest{Namespace: namespace}, opts...)
	if err != nil {
		return nil, fmt.Errorf("list indicators: %w", err)
	}
	entries := make([]Entry, 0, len(resp.GetIndicators()))
	for _, m := range resp.GetIndicators() {
		entries = append(entries, EntryOf(m))
	}
	return entries, nil
}

// Description is what [Client.DescribeIndicator] says about one spec.
type Description struct {
	// Entry is the entry the spec selects; a formula's is named
	// "formula.<label>".
	Entry Entry
	// Params are every parameter's value as it would be used, defaults
	// filled in, as Go values (see [GoValue]).
	Params map[string]any
	// Convention is the convention that would be used.
	Convention idcv1.Convention
	// WarmUpBars is the number of leading bars without a value.
	WarmUpBars int
	// SeriesNames are the names of the spec's series in a response.
	SeriesNames []string
}

// DescribeIndicator calls IndicatorService.DescribeIndicator, which checks
// spec without computing it: the entry it selects, its parameters with
// defaults filled in, and the warm-up bars under convention c (the zero
// value means the one a request would get). A bad spec gets
// INVALID_ARGUMENT with field paths under "spec", e.g.
// "spec.params.timeperiod" (see [FieldViolations]).
func (c *Client) DescribeIndicator(ctx context.Context, spec *idcv1.IndicatorSpec, conv idcv1.Convention, opts ...grpc.CallOption) (*Description, error) {
	ctx, cancel := c.callContext(ctx)
	defer cancel()
	resp, err := c.ind.DescribeIndicator(ctx, &idcv1.DescribeIndicatorRequest{Spec: spec, Convention: conv}, opts...)
	if err != nil {
		return nil, fmt.Errorf("describe indicator: %w", err)
	}
	d := &Description{
		Entry:       EntryOf(resp.GetIndicator()),
		Params:      make(map[string]any, len(resp.GetParams())),
		Convention:  resp.GetConvention(),
		WarmUpBars:  int(resp.GetWarmUpBars()),
		SeriesNames: resp.GetSeriesNames(),
	}
	for name, v := range resp.GetParams() {
		t := idcv1.ParameterType_PARAMETER_TYPE_UNSPECIFIED
		if p, ok := d.Entry.Param(name); ok {
			t = p.Type
		}
		d.Params[name] = GoValue(t, v)
	}
	return d, nil
}

// ScreenQuery is a screen (选股): a condition evaluated on one bar of many
// symbols. Turn it into a request with [ScreenQuery.Request].
type ScreenQuery struct {
	// Condition is the spec whose output decides, e.g.
	// idc.Formula("C>MA(C,20)", nil) or idc.Fn("talib.CDLHAMMER", nil).
	Condition *idcv1.IndicatorSpec
	// Output names the deciding output as the entry lists it ("K",
	// "integer"). Empty means the only signal output, or the only output.
	Output string
	// Symbols are the symbols to screen, 1 to 1000; empty means all.
	Symbols []string
	// Date is the day to check, "YYYY-MM-DD": each symbol's last bar on or
	// before it. Empty means each symbol's last bar.
	Date string
	// Convention is the condition's convention; zero means the default.
	Convention idcv1.Convention
	// Interval is the bar length the condition is computed on; zero means
	// a day. Symbols stored too coarse for it are skipped.
	Interval idcv1.Interval
	// Adjustment is the price adjustment; zero means as stored. Symbols
	// that cannot take it are skipped.
	Adjustment idcv1.Adjustment
}

// Request returns the IndicatorService.Screen request for q. It shares q's
// Condition and Symbols rather than copying them.
func (q ScreenQuery) Request() *idcv1.ScreenRequest {
	return &idcv1.ScreenRequest{
		Condition:  q.Condition,
		Output:     q.Output,
		Symbols:    q.Symbols,
		Date:       q.Date,
		Convention: q.Convention,
		Interval:   q.Interval,
		Adjustment: q.Adjustment,
	}
}

// Screen calls IndicatorService.Screen. Use [ScreenQuery] to build the
// request and [ScreenRows] to read the matches. Symbols that cannot be
// evaluated are not an error: they are in the response's skipped list.
//
// Errors keep their gRPC status: INVALID_ARGUMENT for a bad condition
// (fields under "condition"), an output the condition does not have, a
// malformed date or more than 1000 symbols; NOT_FOUND for an unknown
// listed symbol.
func (c *Client) Screen(ctx context.Context, req *idcv1.ScreenRequest, opts ...grpc.CallOption) (*idcv1.ScreenResponse, error) {
	if req == nil {
		req = &idcv1.ScreenRequest{}
	}
	ctx, cancel := c.callContext(ctx)
	defer cancel()
	resp, err := c.ind.Screen(ctx, req, opts...)
	if err != nil {
		return nil, fmt.Errorf("screen: %w", err)
	}
	return resp, nil
}

// ScreenRow is one symbol for which a screen's condition held.
type ScreenRow struct {
	// Symbol is the canonical symbol.
	Symbol string
	// Date is the trading day of the bar checked, at midnight UTC.
	Date time.Time
	// Time is the start of the bar checked, in UTC.
	Time time.Time
	// Values are every output of the condition on that bar, by series name
	// ("<label>" or "<label>.<output>"); NaN where an output has no value.
	Values map[string]float64
}

// ScreenRows returns the matches of a Screen response as rows, in the
// response's order (by symbol), and the names of their values, sorted. A
// nil response gives none.
func ScreenRows(resp *idcv1.ScreenResponse) ([]ScreenRow, []string) {
	rows := make([]ScreenRow, 0, len(resp.GetMatches()))
	seen := map[string]bool{}
	var names []string
	for _, m := range resp.GetMatches() {
		rows = append(rows, ScreenRow{
			Symbol: m.GetSymbol(),
			Date:   DateFromEpochDay(m.GetDate()),
			Time:   time.Unix(m.GetTime(), 0).UTC(),
			Values: m.GetValues(),
		})
		for name := range m.GetValues() {
			if !seen[name] {
				seen[name] = true
				names = append(names, name)
			}
		}
	}
	sort.Strings(names)
	return rows, names
}
