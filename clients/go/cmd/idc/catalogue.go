package main

// The commands and flags of the open catalogue: catalogue, screen, and the
// --fn, --formula and --param flags of indicators, screen and chart. The
// Python client's idc-client takes the same flags and prints the same
// tables (clients/CLI.md).

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
	"github.com/idcrpc/idc/clients/go/idc"
)

// numberPattern is how a parameter value on the command line is recognised as
// a number; "true" and "false" are flags, anything else is a choice.
var numberPattern = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

// labelText is what a --fn label may be, as the server requires.
var labelText = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)

// paramValue converts the text of one parameter value: a number, true or
// false, or else an enum choice.
func paramValue(text string) *idcv1.ParameterValue {
	switch {
	case numberPattern.MatchString(text):
		v, _ := strconv.ParseFloat(text, 64) // out of range gives ±Inf, which the server rejects
		return &idcv1.ParameterValue{Kind: &idcv1.ParameterValue_Number{Number: v}}
	case text == "true" || text == "false":
		return &idcv1.ParameterValue{Kind: &idcv1.ParameterValue_Flag{Flag: text == "true"}}
	}
	return &idcv1.ParameterValue{Kind: &idcv1.ParameterValue_Choice{Choice: text}}
}

// addParam parses "NAME=VALUE" into params.
func addParam(params map[string]*idcv1.ParameterValue, text string) error {
	name, value, ok := strings.Cut(text, "=")
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	if !ok || name == "" || value == "" {
		return fmt.Errorf("parameter %q: want NAME=VALUE", text)
	}
	if _, dup := params[name]; dup {
		return fmt.Errorf("parameter %q is given twice", name)
	}
	params[name] = paramValue(value)
	return nil
}

// fnSpec parses the value of --fn: [LABEL=]NAME[:K=V,K=V...], e.g.
// "ADX:timeperiod=14" or "slow=talib.SMA:timeperiod=50".
func fnSpec(text string) (*idcv1.IndicatorSpec, error) {
	head, tail, hasParams := strings.Cut(text, ":")
	label, name, hasLabel := strings.Cut(head, "=")
	if !hasLabel {
		label, name = "", head
	}
	name = strings.TrimSpace(name)
	if name == "" || strings.ContainsAny(name, " \t") {
		return nil, fmt.Errorf("%q: want [LABEL=]NAME[:K=V,K=V], e.g. ADX:timeperiod=14", text)
	}
	if hasLabel && !labelText.MatchString(label) {
		return nil, fmt.Errorf("%q: the label %q must match [a-z0-9_]{1,32}", text, label)
	}
	spec := &idcv1.IndicatorSpec{Name: name, Label: label}
	if hasParams {
		spec.Params = map[string]*idcv1.ParameterValue{}
		for _, part := range strings.Split(tail, ",") {
			if err := addParam(spec.Params, part); err != nil {
				return nil, fmt.Errorf("%q: %w", text, err)
			}
		}
	}
	return spec, nil
}

// formulaFlags are the --formula and --param flags of a command.
type formulaFlags struct {
	formula *idcv1.IndicatorSpec
	params  map[string]*idcv1.ParameterValue
}

// register adds --formula and --param to fs; add receives the formula's
// spec when --formula is given.
func (f *formulaFlags) register(fs *flag.FlagSet, help string, add func(*idcv1.IndicatorSpec)) {
	f.params = map[string]*idcv1.ParameterValue{}
	fs.Func("formula", help, func(s string) error {
		spec, err := f.set(s)
		if err == nil {
			add(spec)
		}
		return err
	})
	fs.Func("param", "set the formula's parameter `NAME=VALUE`, declared by its header (repeatable)",
		func(s string) error { return addParam(f.params, s) })
}

// set records the formula text, which may be given once.
func (f *formulaFlags) set(text string) (*idcv1.IndicatorSpec, error) {
	if f.formula != nil {
		return nil, errors.New("given twice: put every statement in one formula")
	}
	if strings.TrimSpace(text) == "" {
		return nil, errors.New("empty formula")
	}
	f.formula = &idcv1.IndicatorSpec{Formula: text}
	return f.formula, nil
}

// finish gives the formula the --param values; without a formula, --param
// is a usage error.
func (f *formulaFlags) finish(fs *flag.FlagSet) error {
	if len(f.params) == 0 {
		return nil
	}
	if f.formula == nil {
		fmt.Fprintf(fs.Output(), "%s: --param sets a formula's parameters: add --formula, or give --fn its own as NAME:K=V\n", fs.Name())
		return errUsage
	}
	f.formula.Params = f.params
	return nil
}

// fnFlag returns a flag.Func parser that appends the spec of --fn to l.
func (l *specList) fnFlag() func(string) error {
	return func(s string) error {
		spec, err := fnSpec(s)
		if err != nil {
			return err
		}
		*l = append(*l, spec)
		return nil
	}
}

func runCatalogue(ctx context.Context, fs *flag.FlagSet, conn *connection, args []string, stdout io.Writer) error {
	namespace := fs.String("namespace", "", "list the entries of one `namespace` only, e.g. talib, tdx, idc or a plugin's")
	var conv idcv1.Convention
	fs.Func("convention", "with NAME: the warm-up under `talib|tdx` (default: the entry's)", conventionFlag(&conv))
	params := map[string]*idcv1.ParameterValue{}
	fs.Func("param", "with NAME: describe it with parameter `NAME=VALUE` (repeatable)", func(s string) error { return addParam(params, s) })
	csvOut := fs.Bool("csv", false, "print CSV instead of a table")
	names, err := parseWithNames(fs, args)
	if err != nil {
		return err
	}
	if len(names) > 1 {
		fmt.Fprintf(fs.Output(), "%s: want at most one NAME, got %q\n", fs.Name(), names)
		return errUsage
	}
	if len(names) == 0 && (len(params) > 0 || conv != idcv1.Convention_CONVENTION_UNSPECIFIED) {
		fmt.Fprintf(fs.Output(), "%s: --param and --convention describe one entry: add its NAME\n", fs.Name())
		return errUsage
	}
	client, err := conn.dial()
	if err != nil {
		return err
	}
	defer client.Close()

	if len(names) == 1 {
		spec := &idcv1.IndicatorSpec{Name: names[0], Params: params}
		d, err := client.DescribeIndicator(ctx, spec, conv)
		if err != nil {
			return err
		}
		return writeDescription(stdout, d, *csvOut)
	}
	entries, err := client.ListIndicators(ctx, *namespace)
	if err != nil {
		return err
	}
	t := &table{csv: *csvOut, header: []string{"name", "group", "parameters", "outputs", "warm-up", "description"},
		left: []bool{true, true, true, true, false, true}}
	for _, e := range entries {
		var params, outputs []string
		for _, p := range e.Parameters {
			params = append(params, p.Name+"="+valueText(p.Default))
		}
		for _, o := range e.Outputs {
			outputs = append(outputs, o.Name)
		}
		warm := ""
		if len(e.WarmUpBars) > 0 {
			warm = strconv.Itoa(e.WarmUpBars[0])
		}
		t.rows = append(t.rows, []string{e.Name, e.Group, strings.Join(params, ","), strings.Join(outputs, ","), warm, e.Description})
	}
	if err := t.write(stdout); err != nil || t.csv {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%d entries\n", len(entries))
	return err
}

// parseWithNames parses args, which may mix flags and positional names (as
// argparse allows), and returns the names.
func parseWithNames(fs *flag.FlagSet, args []string) ([]string, error) {
	var names []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, errUsage
		}
		if fs.NArg() == 0 {
			return names, nil
		}
		names = append(names, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// writeDescription prints what DescribeIndicator said about one entry: a
// heading, then its parameters and its outputs as two tables (as CSV, the
// parameters table only).
func writeDescription(w io.Writer, d *idc.Description, csvOut bool) error {
	e := d.Entry
	params := &table{csv: csvOut, header: []string{"parameter", "type", "value", "default", "range", "doc"},
		left: []bool{true, true, false, false, true, true}}
	for _, p := range e.Parameters {
		value := ""
		if v, ok := d.Params[p.Name]; ok {
			value = valueText(v)
		}
		params.rows = append(params.rows, []string{p.Name, typeName(p.Type), value, valueText(p.Default), rangeText(p), p.Doc})
	}
	if csvOut {
		return params.write(w)
	}
	var conventions []string
	for _, c := range e.Conventions {
		conventions = append(conventions, conventionName(c))
	}
	fmt.Fprintf(w, "%s: %s\n", e.Name, e.Description)
	fmt.Fprintf(w, "group: %s\n", e.Group)
	fmt.Fprintf(w, "inputs: %s\n", strings.Join(e.Inputs, ", "))
	fmt.Fprintf(w, "conventions: %s\n", strings.Join(conventions, ", "))
	fmt.Fprintf(w, "warm-up: %d bars under %s\n", d.WarmUpBars, conventionName(d.Convention))
	fmt.Fprintf(w, "series: %s\n", strings.Join(d.SeriesNames, ", "))
	if len(params.rows) > 0 {
		fmt.Fprintln(w)
		if err := params.write(w); err != nil {
			return err
		}
	}
	outputs := &table{header: []string{"output", "kind", "doc"}, left: []bool{true, true, true}}
	for _, o := range e.Outputs {
		outputs.rows = append(outputs.rows, []string{o.Name, kindName(o.Kind), o.Doc})
	}
	fmt.Fprintln(w)
	if err := outputs.write(w); err != nil {
		return err
	}
	if e.Formula != "" {
		_, err := fmt.Fprintf(w, "\nformula:\n%s\n", strings.TrimRight(e.Formula, "\n"))
		return err
	}
	return nil
}

// valueText is how a parameter value is shown: integers and integral
// floats without a fraction, other floats in their shortest form, choices
// as they are, flags as true or false.
func valueText(v any) string {
	switch x := v.(type) {
	case int:
		return strconv.Itoa(x)
	case float64:
		return numberString(x)
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

// numberString formats a number as the Python client does: integral values
// below 1e21 as integers, others in the shortest form that reads back.
func numberString(x float64) string {
	switch {
	case math.IsNaN(x):
		return "nan"
	case math.IsInf(x, 1):
		return "inf"
	case math.IsInf(x, -1):
		return "-inf"
	case x == math.Trunc(x) && math.Abs(x) < 1e21:
		return strconv.FormatFloat(x, 'f', 0, 64)
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}

// rangeText is a parameter's range in interval notation, e.g. "[2, 100000]"
// or "(0, inf)"; its choices for an enum; empty for a flag.
func rangeText(p idc.Parameter) string {
	if len(p.Choices) > 0 {
		return strings.Join(p.Choices, "|")
	}
	if p.Type == idcv1.ParameterType_PARAMETER_TYPE_BOOL {
		return ""
	}
	low, high := "(-inf", "inf)"
	if p.Minimum != nil {
		low = "[" + numberString(*p.Minimum)
		if p.MinimumExclusive {
			low = "(" + numberString(*p.Minimum)
		}
	}
	if p.Maximum != nil {
		high = numberString(*p.Maximum) + "]"
	}
	return low + ", " + high
}

// typeName is the lower-case name of a parameter type, e.g. "int".
func typeName(t idcv1.ParameterType) string {
	return strings.ToLower(strings.TrimPrefix(t.String(), "PARAMETER_TYPE_"))
}

// kindName is the lower-case name of an output kind, e.g. "price".
func kindName(k idcv1.OutputKind) string {
	return strings.ToLower(strings.TrimPrefix(k.String(), "OUTPUT_KIND_"))
}

func runScreen(ctx context.Context, fs *flag.FlagSet, conn *connection, args []string, stdout io.Writer) error {
	var conditions specList
	var ff formulaFlags
	ff.register(fs, "the condition as 通达信 formula `TEXT`, e.g. \"C>MA(C,20)\"", func(spec *idcv1.IndicatorSpec) {
		conditions = append(conditions, spec)
	})
	fs.Func("fn", "the condition as a catalogue entry `[LABEL=]NAME[:K=V,...]`, e.g. talib.CDLHAMMER", conditions.fnFlag())
	var symbols []string
	fs.Func("symbols", "comma-separated `list` of symbols to screen (default: every symbol)", func(s string) error {
		for _, sym := range strings.Split(s, ",") {
			if sym = strings.TrimSpace(sym); sym != "" {
				symbols = append(symbols, sym)
			}
		}
		return nil
	})
	date := fs.String("date", "", "the day `YYYY-MM-DD` to check: each symbol's last bar on or before it (default: each one's last bar)")
	output := fs.String("output", "", "the `NAME` of the output that decides (default: the only signal, or the only output)")
	var conv idcv1.Convention
	fs.Func("convention", "the condition's formulas: `talib|tdx` (default: the server's)", conventionFlag(&conv))
	var bars selection
	barFlags(fs, &bars)
	csvOut := fs.Bool("csv", false, "print CSV, with full precision, instead of a table")
	if err := parse(fs, args); err != nil {
		return err
	}
	if len(conditions) != 1 {
		fmt.Fprintf(fs.Output(), "%s: give one condition, --formula TEXT or --fn NAME\n", fs.Name())
		return errUsage
	}
	if err := ff.finish(fs); err != nil {
		return err
	}
	client, err := conn.dial()
	if err != nil {
		return err
	}
	defer client.Close()

	q := idc.ScreenQuery{
		Condition: conditions[0], Output: *output, Symbols: symbols, Date: *date, Convention: conv,
		Interval: bars.interval, Adjustment: bars.adjustment,
	}
	resp, err := client.Screen(ctx, q.Request())
	if err != nil {
		return err
	}
	rows, names := idc.ScreenRows(resp)
	t := &table{csv: *csvOut, header: append([]string{"symbol", "date"}, names...), left: []bool{true, true}}
	for _, r := range rows {
		row := []string{r.Symbol, r.Date.Format(time.DateOnly)}
		for _, name := range names {
			v, ok := r.Values[name]
			if !ok {
				v = math.NaN()
			}
			row = append(row, t.num(v, 4))
		}
		t.rows = append(t.rows, row)
	}
	skipped := resp.GetSkipped()
	if !t.csv {
		fmt.Fprintf(stdout, "%d of %d symbols match on output %s, convention %s", len(rows), resp.GetEvaluatedCount(),
			resp.GetOutput(), conventionName(resp.GetConvention()))
		if len(skipped) > 0 {
			fmt.Fprintf(stdout, "; %d skipped", len(skipped))
		}
		fmt.Fprintln(stdout)
		if len(rows) == 0 {
			return nil
		}
	}
	if err := t.write(stdout); err != nil || t.csv {
		return err
	}
	for _, s := range skipped {
		fmt.Fprintf(stdout, "skipped %s: %s\n", s.GetSymbol(), s.GetReason())
	}
	return nil
}

// chartSpecFlags are chart's --panel-fn, --overlay-fn, --panel-formula
// and --overlay-formula flags, which append to q's panels and overlays in
// the order of the command line; --param sets the formulas' parameters.
func chartSpecFlags(fs *flag.FlagSet, q *idc.ChartQuery) func() error {
	var formulas []*idcv1.IndicatorSpec
	params := map[string]*idcv1.ParameterValue{}
	fs.Func("panel-fn", "add a panel of catalogue entry `[LABEL=]NAME[:K=V,...]`; signals are markers on the price (repeatable)",
		func(s string) error {
			spec, err := fnSpec(s)
			if err == nil {
				q.Panels = append(q.Panels, idc.IndicatorPanel(spec))
			}
			return err
		})
	fs.Func("overlay-fn", "overlay catalogue entry `[LABEL=]NAME[:K=V,...]` of prices or signals on the price (repeatable)",
		func(s string) error {
			spec, err := fnSpec(s)
			if err == nil {
				q.Overlays = append(q.Overlays, idc.IndicatorOverlay(spec))
			}
			return err
		})
	formula := func(add func(*idcv1.IndicatorSpec)) func(string) error {
		return func(s string) error {
			if strings.TrimSpace(s) == "" {
				return errors.New("empty formula")
			}
			spec := &idcv1.IndicatorSpec{Formula: s}
			formulas = append(formulas, spec)
			add(spec)
			return nil
		}
	}
	fs.Func("panel-formula", "add a panel of 通达信 formula `TEXT` (repeatable)", formula(func(spec *idcv1.IndicatorSpec) {
		q.Panels = append(q.Panels, idc.IndicatorPanel(spec))
	}))
	fs.Func("overlay-formula", "overlay 通达信 formula `TEXT` of prices or signals (repeatable)", formula(func(spec *idcv1.IndicatorSpec) {
		q.Overlays = append(q.Overlays, idc.IndicatorOverlay(spec))
	}))
	fs.Func("param", "set parameter `NAME=VALUE` of every --panel-formula and --overlay-formula (repeatable)",
		func(s string) error { return addParam(params, s) })
	return func() error {
		if len(params) > 0 && len(formulas) == 0 {
			fmt.Fprintf(fs.Output(), "%s: --param sets a formula's parameters: add --panel-formula or --overlay-formula\n", fs.Name())
			return errUsage
		}
		for _, spec := range formulas {
			if len(params) > 0 {
				spec.Params = params
			}
		}
		return nil
	}
}
