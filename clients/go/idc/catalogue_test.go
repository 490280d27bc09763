package idc_test

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
	"github.com/idcrpc/idc/clients/go/idc"
)

func numberValue(v float64) *idcv1.ParameterValue {
	return &idcv1.ParameterValue{Kind: &idcv1.ParameterValue_Number{Number: v}}
}

func TestParamValue(t *testing.T) {
	cases := []struct {
		in   any
		want *idcv1.ParameterValue
	}{
		{14, numberValue(14)},
		{int32(-3), numberValue(-3)},
		{int64(1 << 40), numberValue(1 << 40)},
		{uint8(7), numberValue(7)},
		{2.5, numberValue(2.5)},
		{float32(0.25), numberValue(0.25)},
		{"EMA", &idcv1.ParameterValue{Kind: &idcv1.ParameterValue_Choice{Choice: "EMA"}}},
		{true, &idcv1.ParameterValue{Kind: &idcv1.ParameterValue_Flag{Flag: true}}},
		{false, &idcv1.ParameterValue{Kind: &idcv1.ParameterValue_Flag{Flag: false}}},
	}
	for _, tc := range cases {
		got, err := idc.ParamValue(tc.in)
		if err != nil || !proto.Equal(got, tc.want) {
			t.Errorf("ParamValue(%#v) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []any{nil, []int{1}, struct{}{}, complex(1, 2)} {
		if _, err := idc.ParamValue(bad); err == nil || !strings.Contains(err.Error(), "unsupported type") {
			t.Errorf("ParamValue(%#v) error = %v, want unsupported type", bad, err)
		}
	}
	if _, err := idc.ParamValues(idc.Params{"timeperiod": 14, "weights": []float64{1}}); err == nil ||
		!strings.Contains(err.Error(), `parameter "weights"`) {
		t.Errorf("ParamValues error = %v, want one naming the parameter weights", err)
	}
}

func TestFnAndFormula(t *testing.T) {
	got := idc.Fn("talib.ADX", idc.Params{"timeperiod": 14})
	want := &idcv1.IndicatorSpec{Name: "talib.ADX", Params: map[string]*idcv1.ParameterValue{"timeperiod": numberValue(14)}}
	if !proto.Equal(got, want) {
		t.Errorf("Fn = %v, want %v", got, want)
	}
	got = idc.Labeled("macd_tdx", idc.Formula("DIF:EMA(C,S)-EMA(C,26);", idc.Params{"S": 12}))
	want = &idcv1.IndicatorSpec{Label: "macd_tdx", Formula: "DIF:EMA(C,S)-EMA(C,26);", Params: map[string]*idcv1.ParameterValue{"S": numberValue(12)}}
	if !proto.Equal(got, want) {
		t.Errorf("Labeled(Formula) = %v, want %v", got, want)
	}
	if got := idc.Fn("ADX", nil); got.GetParams() != nil || got.GetName() != "ADX" {
		t.Errorf("Fn without params = %v, want a name only", got)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), `idc.Fn: parameter "p": unsupported type []string`) {
			t.Errorf("Fn with a slice value: recovered %v, want a panic naming the parameter and type", r)
		}
	}()
	idc.Fn("X", idc.Params{"p": []string{"a"}})
}

func TestGoValue(t *testing.T) {
	intT, floatT := idcv1.ParameterType_PARAMETER_TYPE_INT, idcv1.ParameterType_PARAMETER_TYPE_FLOAT
	if v := idc.GoValue(intT, numberValue(14)); v != 14 {
		t.Errorf("INT 14 = %#v, want int 14", v)
	}
	if v := idc.GoValue(intT, numberValue(2.5)); v != 2.5 {
		t.Errorf("INT 2.5 = %#v, want float64 2.5 as sent", v)
	}
	if v := idc.GoValue(floatT, numberValue(2)); v != 2.0 {
		t.Errorf("FLOAT 2 = %#v, want float64 2", v)
	}
	if v := idc.GoValue(idcv1.ParameterType_PARAMETER_TYPE_ENUM, &idcv1.ParameterValue{Kind: &idcv1.ParameterValue_Choice{Choice: "EMA"}}); v != "EMA" {
		t.Errorf("ENUM = %#v, want EMA", v)
	}
	if v := idc.GoValue(intT, nil); v != nil {
		t.Errorf("unset = %#v, want nil", v)
	}
}

// bbands is TA-Lib's BBANDS entry as ListIndicators describes it.
var bbands = &idcv1.IndicatorEntry{
	Name: "talib.BBANDS", Group: "Overlap Studies", Description: "Bollinger Bands",
	Parameters: []*idcv1.IndicatorParameter{
		{Name: "timeperiod", Type: idcv1.ParameterType_PARAMETER_TYPE_INT, DefaultValue: numberValue(5), Minimum: proto.Float64(2), Maximum: proto.Float64(100000)},
		{Name: "nbdevup", Type: idcv1.ParameterType_PARAMETER_TYPE_FLOAT, DefaultValue: numberValue(2), Minimum: proto.Float64(-3e37), Maximum: proto.Float64(3e37)},
		{Name: "matype", Type: idcv1.ParameterType_PARAMETER_TYPE_ENUM, DefaultValue: &idcv1.ParameterValue{Kind: &idcv1.ParameterValue_Choice{Choice: "SMA"}},
			Choices: []string{"SMA", "EMA"}},
	},
	Inputs: []string{"close"},
	Outputs: []*idcv1.IndicatorOutput{
		{Name: "upperband", Kind: idcv1.OutputKind_OUTPUT_KIND_PRICE},
		{Name: "middleband", Kind: idcv1.OutputKind_OUTPUT_KIND_PRICE},
		{Name: "lowerband", Kind: idcv1.OutputKind_OUTPUT_KIND_PRICE},
	},
	Conventions: []idcv1.Convention{idcv1.Convention_CONVENTION_TALIB},
	WarmUpBars:  []int32{4},
}

func TestEntryOf(t *testing.T) {
	e := idc.EntryOf(bbands)
	if e.Namespace != "talib" || e.Local != "BBANDS" || e.Group != "Overlap Studies" || e.Proto != bbands {
		t.Errorf("entry = %+v", e)
	}
	p, ok := e.Param("timeperiod")
	if !ok || p.Default != 5 || p.Minimum == nil || *p.Minimum != 2 || *p.Maximum != 100000 || p.Type != idcv1.ParameterType_PARAMETER_TYPE_INT {
		t.Errorf("Param(timeperiod) = %+v, %v", p, ok)
	}
	if p, _ := e.Param("nbdevup"); p.Default != 2.0 {
		t.Errorf("nbdevup default = %#v, want float64 2", p.Default)
	}
	if p, _ := e.Param("matype"); p.Default != "SMA" || !slices.Equal(p.Choices, []string{"SMA", "EMA"}) || p.Minimum != nil {
		t.Errorf("matype = %+v", p)
	}
	if _, ok := e.Param("TimePeriod"); ok {
		t.Errorf("Param is case-insensitive, want case-sensitive")
	}
	if o, ok := e.Output("middleband"); !ok || o.Kind != idcv1.OutputKind_OUTPUT_KIND_PRICE {
		t.Errorf("Output(middleband) = %+v, %v", o, ok)
	}
	if w, ok := e.WarmUp(idcv1.Convention_CONVENTION_TALIB); !ok || w != 4 {
		t.Errorf("WarmUp(TALIB) = %d, %v; want 4", w, ok)
	}
	if _, ok := e.WarmUp(idcv1.Convention_CONVENTION_TDX); ok {
		t.Errorf("WarmUp(TDX) found, want not supported")
	}
}

func TestScreenRows(t *testing.T) {
	resp := &idcv1.ScreenResponse{Matches: []*idcv1.ScreenMatch{
		{Symbol: "AAPL", Date: 19720, Time: 19720*86400 + 14*3600 + 30*60, Values: map[string]float64{"f.UP": 1, "f.K": 55.5}},
		{Symbol: "SPY", Date: 19719, Time: 19719 * 86400, Values: map[string]float64{"f.UP": 1, "f.D": math.NaN()}},
	}}
	rows, names := idc.ScreenRows(resp)
	if !slices.Equal(names, []string{"f.D", "f.K", "f.UP"}) {
		t.Errorf("names = %v", names)
	}
	if len(rows) != 2 || rows[0].Symbol != "AAPL" || !rows[0].Date.Equal(time.Date(2023, 12, 29, 0, 0, 0, 0, time.UTC)) ||
		!rows[0].Time.Equal(time.Date(2023, 12, 29, 14, 30, 0, 0, time.UTC)) || rows[0].Values["f.K"] != 55.5 {
		t.Fatalf("rows = %+v", rows)
	}
	if !rows[1].Date.Equal(time.Date(2023, 12, 28, 0, 0, 0, 0, time.UTC)) || !math.IsNaN(rows[1].Values["f.D"]) {
		t.Errorf("row 1 = %+v", rows[1])
	}
	if rows, names := idc.ScreenRows(nil); len(rows) != 0 || len(names) != 0 {
		t.Errorf("ScreenRows(nil) = %v, %v", rows, names)
	}
}

// fakeCatalogue is an IndicatorService with the catalogue RPCs, recording
// each request.
type fakeCatalogue struct {
	idcv1.UnimplementedIndicatorServiceServer
	requests chan proto.Message
}

func (f *fakeCatalogue) ListIndicators(_ context.Context, req *idcv1.ListIndicatorsRequest) (*idcv1.ListIndicatorsResponse, error) {
	f.requests <- req
	return &idcv1.ListIndicatorsResponse{Indicators: []*idcv1.IndicatorEntry{bbands}}, nil
}

func (f *fakeCatalogue) DescribeIndicator(_ context.Context, req *idcv1.DescribeIndicatorRequest) (*idcv1.DescribeIndicatorResponse, error) {
	f.requests <- req
	if req.GetSpec().GetParams()["timeperiod"].GetNumber() == 1 {
		return nil, status.Error(codes.InvalidArgument, "spec.params.timeperiod: 1 is below the minimum 2")
	}
	return &idcv1.DescribeIndicatorResponse{
		Indicator: bbands,
		Params: map[string]*idcv1.ParameterValue{
			"timeperiod": numberValue(20), "nbdevup": numberValue(2),
			"matype": {Kind: &idcv1.ParameterValue_Choice{Choice: "EMA"}},
		},
		Convention: idcv1.Convention_CONVENTION_TALIB, WarmUpBars: 19, SeriesNames: []string{"bb.upperband", "bb.middleband", "bb.lowerband"},
	}, nil
}

func (f *fakeCatalogue) Screen(_ context.Context, req *idcv1.ScreenRequest) (*idcv1.ScreenResponse, error) {
	f.requests <- req
	return &idcv1.ScreenResponse{Output: "UP", EvaluatedCount: 1}, nil
}

func TestCatalogueCalls(t *testing.T) {
	fake := &fakeCatalogue{requests: make(chan proto.Message, 1)}
	c := newClientFor(t, func(s *grpc.Server) { idcv1.RegisterIndicatorServiceServer(s, fake) })
	ctx := t.Context()

	entries, err := c.ListIndicators(ctx, "talib")
	if err != nil || len(entries) != 1 || entries[0].Name != "talib.BBANDS" {
		t.Fatalf("ListIndicators = %+v, %v", entries, err)
	}
	if got := <-fake.requests; !proto.Equal(got, &idcv1.ListIndicatorsRequest{Namespace: "talib"}) {
		t.Errorf("request = %v", got)
	}

	spec := idc.Labeled("bb", idc.Fn("BBANDS", idc.Params{"timeperiod": 20, "matype": "ema"}))
	d, err := c.DescribeIndicator(ctx, spec, idcv1.Convention_CONVENTION_UNSPECIFIED)
	if err != nil {
		t.Fatalf("DescribeIndicator: %v", err)
	}
	if d.WarmUpBars != 19 || d.Params["timeperiod"] != 20 || d.Params["nbdevup"] != 2.0 || d.Params["matype"] != "EMA" ||
		!slices.Equal(d.SeriesNames, []string{"bb.upperband", "bb.middleband", "bb.lowerband"}) || d.Entry.Name != "talib.BBANDS" {
		t.Errorf("description = %+v", d)
	}
	if got := <-fake.requests; !proto.Equal(got, &idcv1.DescribeIndicatorRequest{Spec: spec}) {
		t.Errorf("request = %v", got)
	}
	_, err = c.DescribeIndicator(ctx, idc.Fn("BBANDS", idc.Params{"timeperiod": 1}), idcv1.Convention_CONVENTION_TALIB)
	<-fake.requests
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "describe indicator: ") {
		t.Errorf("DescribeIndicator error = %v, want INVALID_ARGUMENT kept under the call's name", err)
	}

	q := idc.ScreenQuery{Condition: idc.Formula("UP:C>MA(C,20);", nil), Symbols: []string{"SPY"}, Date: "2024-03-28", Output: "UP",
		Convention: idcv1.Convention_CONVENTION_TDX, Interval: idcv1.Interval_INTERVAL_1_WEEK, Adjustment: idcv1.Adjustment_ADJUSTMENT_FORWARD}
	resp, err := c.Screen(ctx, q.Request())
	if err != nil || resp.GetOutput() != "UP" {
		t.Fatalf("Screen = %v, %v", resp, err)
	}
	want := &idcv1.ScreenRequest{Condition: &idcv1.IndicatorSpec{Formula: "UP:C>MA(C,20);"}, Symbols: []string{"SPY"}, Date: "2024-03-28",
		Output: "UP", Convention: idcv1.Convention_CONVENTION_TDX, Interval: idcv1.Interval_INTERVAL_1_WEEK,
		Adjustment: idcv1.Adjustment_ADJUSTMENT_FORWARD}
	if got := <-fake.requests; !proto.Equal(got, want) {
		t.Errorf("request = %v, want %v", got, want)
	}
}

func TestIndicatorPanelAndOverlay(t *testing.T) {
	spec := idc.Fn("talib.SAR", nil)
	if p := idc.IndicatorPanel(spec); p.GetIndicator() != spec {
		t.Errorf("panel = %v", p)
	}
	if o := idc.IndicatorOverlay(spec); o.GetIndicator() != spec {
		t.Errorf("overlay = %v", o)
	}
}

func TestIndicatorFrameKinds(t *testing.T) {
	f, err := idc.IndicatorFrame(&idcv1.ComputeIndicatorsResponse{Dates: []int32{1}, Series: []*idcv1.Series{
		{Name: "sar", Values: []float64{1}, Kind: idcv1.OutputKind_OUTPUT_KIND_PRICE},
		{Name: "cdlhammer", Values: []float64{100}, Kind: idcv1.OutputKind_OUTPUT_KIND_SIGNAL},
	}})
	if err != nil || f.Kinds["sar"] != idcv1.OutputKind_OUTPUT_KIND_PRICE || f.Kinds["cdlhammer"] != idcv1.OutputKind_OUTPUT_KIND_SIGNAL {
		t.Errorf("kinds = %v, %v", f.Kinds, err)
	}
}
