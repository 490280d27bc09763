package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
	"github.com/idcrpc/idc/clients/go/idc"
)

func f64(v float64) *float64 { return &v }

var (
	talibConv = idcv1.Convention_CONVENTION_TALIB
	tdxConv   = idcv1.Convention_CONVENTION_TDX
	intType   = idcv1.ParameterType_PARAMETER_TYPE_INT
)

// fakeSMA and fakeMACD are the fake server's catalogue: a TA-Lib function
// and a 通达信 formula file with a description of wide characters.
var (
	fakeSMA = &idcv1.IndicatorEntry{
		Name: "talib.SMA", Group: "Overlap Studies", Description: "Simple Moving Average",
		Parameters: []*idcv1.IndicatorParameter{{
			Name: "timeperiod", Type: intType, DefaultValue: num(30), Minimum: f64(2), Maximum: f64(100000), Doc: "Number of period",
		}},
		Inputs:      []string{"close"},
		Outputs:     []*idcv1.IndicatorOutput{{Name: "real", Kind: idcv1.OutputKind_OUTPUT_KIND_PRICE, Doc: "Simple moving average of the close"}},
		Conventions: []idcv1.Convention{talibConv}, WarmUpBars: []int32{29},
	}
	fakeMACD = &idcv1.IndicatorEntry{
		Name: "tdx.MACD", Group: "趋势", Description: "指数平滑异同平均线",
		Parameters: []*idcv1.IndicatorParameter{
			{Name: "SHORT", Type: intType, DefaultValue: num(12), Minimum: f64(2), Maximum: f64(200)},
			{Name: "LONG", Type: intType, DefaultValue: num(26), Minimum: f64(2), Maximum: f64(200)},
			{Name: "M", Type: intType, DefaultValue: num(9), Minimum: f64(2), Maximum: f64(200)},
		},
		Inputs: []string{"close"},
		Outputs: []*idcv1.IndicatorOutput{
			{Name: "DIF", Kind: idcv1.OutputKind_OUTPUT_KIND_UNITLESS},
			{Name: "DEA", Kind: idcv1.OutputKind_OUTPUT_KIND_UNITLESS},
			{Name: "MACD", Kind: idcv1.OutputKind_OUTPUT_KIND_UNITLESS},
		},
		Conventions: []idcv1.Convention{tdxConv}, WarmUpBars: []int32{0},
		Formula: "DIF:EMA(CLOSE,SHORT)-EMA(CLOSE,LONG);\nDEA:EMA(DIF,M);\nMACD:(DIF-DEA)*2;\n",
	}
)

func num(v float64) *idcv1.ParameterValue {
	return &idcv1.ParameterValue{Kind: &idcv1.ParameterValue_Number{Number: v}}
}

func (s *fakeServer) ListIndicators(_ context.Context, req *idcv1.ListIndicatorsRequest) (*idcv1.ListIndicatorsResponse, error) {
	s.record(req)
	entries := []*idcv1.IndicatorEntry{fakeSMA, fakeMACD}
	if req.GetNamespace() == "talib" {
		entries = entries[:1]
	}
	return &idcv1.ListIndicatorsResponse{Indicators: entries}, nil
}

// DescribeIndicator knows talib.SMA only; its warm-up is timeperiod - 1.
func (s *fakeServer) DescribeIndicator(_ context.Context, req *idcv1.DescribeIndicatorRequest) (*idcv1.DescribeIndicatorResponse, error) {
	s.record(req)
	if req.GetSpec().GetName() != "talib.SMA" {
		st, _ := status.New(codes.InvalidArgument, "spec.name: unknown indicator").WithDetails(&errdetails.BadRequest{
			FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "spec.name", Description: "unknown indicator"}},
		})
		return nil, st.Err()
	}
	period := 30.0
	if v, ok := req.GetSpec().GetParams()["timeperiod"]; ok {
		period = v.GetNumber()
	}
	return &idcv1.DescribeIndicatorResponse{
		Indicator: fakeSMA, Params: map[string]*idcv1.ParameterValue{"timeperiod": num(period)},
		Convention: talibConv, WarmUpBars: int32(period) - 1, SeriesNames: []string{"sma"},
	}, nil
}

// Screen matches AAPL and SPY on 2023-12-29 and skips 000001.SH.
func (s *fakeServer) Screen(_ context.Context, req *idcv1.ScreenRequest) (*idcv1.ScreenResponse, error) {
	s.record(req)
	return &idcv1.ScreenResponse{
		Matches: []*idcv1.ScreenMatch{
			{Symbol: "AAPL", Date: 19720, Time: 19720 * 86400, Values: map[string]float64{"formula.UP": 1, "formula.GAP": 0.123456}},
			{Symbol: "SPY", Date: 19720, Time: 19720 * 86400, Values: map[string]float64{"formula.UP": 1}},
		},
		Skipped:        []*idcv1.ScreenSkip{{Symbol: "000001.SH", Reason: "no bar on or before 2023-12-29"}},
		EvaluatedCount: 3, Output: "UP", Convention: tdxConv,
	}, nil
}

func sp(n int) string { return strings.Repeat(" ", n) }

func TestCatalogueCommands(t *testing.T) {
	addr, fake := serve(t)
	params := func(kv ...any) map[string]*idcv1.ParameterValue {
		m := map[string]*idcv1.ParameterValue{}
		for i := 0; i < len(kv); i += 2 {
			v, err := idc.ParamValue(kv[i+1])
			if err != nil {
				t.Fatal(err)
			}
			m[kv[i].(string)] = v
		}
		return m
	}
	cases := []struct {
		name    string
		args    []string
		code    int
		stdout  string // the exact output, when not empty
		stderr  string // a substring
		request proto.Message
	}{
		{
			"catalogue", []string{"catalogue", "--target", addr}, 0,
			// Widths count 趋势 and 指数平滑异同平均线 as two columns a character.
			"name" + sp(5) + "  group" + sp(10) + "  parameters" + sp(10) + "  outputs" + sp(5) + "  warm-up  description\n" +
				"talib.SMA  Overlap Studies  timeperiod=30" + sp(7) + "  real" + sp(8) + "  " + sp(5) + "29  Simple Moving Average\n" +
				"tdx.MACD   趋势" + sp(11) + "  SHORT=12,LONG=26,M=9  DIF,DEA,MACD  " + sp(6) + "0  指数平滑异同平均线\n" +
				"2 entries\n",
			"", &idcv1.ListIndicatorsRequest{},
		},
		{
			"catalogue csv of a namespace", []string{"catalogue", "--target", addr, "--namespace", "talib", "--csv"}, 0,
			"name,group,parameters,outputs,warm-up,description\ntalib.SMA,Overlap Studies,timeperiod=30,real,29,Simple Moving Average\n",
			"", &idcv1.ListIndicatorsRequest{Namespace: "talib"},
		},
		{
			"catalogue NAME with a flag after it", []string{"catalogue", "--target", addr, "talib.SMA", "--param", "timeperiod=50"}, 0,
			"talib.SMA: Simple Moving Average\ngroup: Overlap Studies\ninputs: close\nconventions: talib\nwarm-up: 49 bars under talib\nseries: sma\n\n" +
				"parameter   type  value  default  range" + sp(6) + "  doc\n" +
				"timeperiod  int" + sp(3) + sp(3) + "50  " + sp(5) + "30  [2, 100000]  Number of period\n\n" +
				"output  kind   doc\n" +
				"real    price  Simple moving average of the close\n",
			"", &idcv1.DescribeIndicatorRequest{Spec: &idcv1.IndicatorSpec{Name: "talib.SMA", Params: params("timeperiod", 50)}},
		},
		{
			"catalogue NAME csv", []string{"catalogue", "--target", addr, "--csv", "--convention", "talib", "talib.SMA"}, 0,
			"parameter,type,value,default,range,doc\ntimeperiod,int,30,30,\"[2, 100000]\",Number of period\n",
			"", &idcv1.DescribeIndicatorRequest{Spec: &idcv1.IndicatorSpec{Name: "talib.SMA"}, Convention: talibConv},
		},
		{
			"catalogue unknown NAME", []string{"catalogue", "--target", addr, "NOPE"}, int(codes.InvalidArgument), "",
			"error: INVALID_ARGUMENT: spec.name: unknown indicator\n  spec.name: unknown indicator\n", nil,
		},
		{"catalogue two names", []string{"catalogue", "--target", addr, "A", "B"}, 2, "", "want at most one NAME", nil},
		{"catalogue param without NAME", []string{"catalogue", "--target", addr, "--param", "N=1"}, 2, "", "add its NAME", nil},
		{
			"indicators --fn and --formula in flag order",
			[]string{
				"indicators", "--target", addr, "--fn", "talib.ADX:timeperiod=14", "--formula", "DIF:EMA(C,N)-EMA(C,26); DEA:EMA(DIF,9);",
				"--param", "N=12", "--fn", "slow=MA:timeperiod=50,matype=EMA,exact=true", "--sma", "5", "--csv",
			}, 0,
			"date,adx,formula.DIF,formula.DEA,slow,sma5\n2023-12-28,0.25,100.25,110.25,200.25,\n2023-12-29,1.25,101.25,111.25,201.25,301.25\n",
			"", &idcv1.ComputeIndicatorsRequest{Indicators: []*idcv1.IndicatorSpec{
				{Name: "talib.ADX", Params: params("timeperiod", 14)},
				{Formula: "DIF:EMA(C,N)-EMA(C,26); DEA:EMA(DIF,9);", Params: params("N", 12)},
				{Name: "MA", Label: "slow", Params: params("timeperiod", 50, "matype", "EMA", "exact", true)},
				idc.Labeled("sma5", idc.SMA(5)),
			}},
		},
		{"indicators formula twice", []string{"indicators", "--formula", "A:C;", "--formula", "B:O;"}, 2, "", "put every statement in one formula", nil},
		{"indicators empty formula", []string{"indicators", "--formula", " "}, 2, "", "empty formula", nil},
		{"indicators param without formula", []string{"indicators", "--fn", "ADX", "--param", "N=1"}, 2, "", "add --formula", nil},
		{"indicators param twice", []string{"indicators", "--formula", "A:C;", "--param", "N=1", "--param", "N=2"}, 2, "", `parameter "N" is given twice`, nil},
		{"fn without a value", []string{"indicators", "--fn", "ADX:timeperiod"}, 2, "", "want NAME=VALUE", nil},
		{"fn without a name", []string{"indicators", "--fn", ":timeperiod=1"}, 2, "", "want [LABEL=]NAME", nil},
		{"fn with a bad label", []string{"indicators", "--fn", "Slow=SMA"}, 2, "", "must match [a-z0-9_]{1,32}", nil},
		{
			"screen", []string{
				"screen", "--target", addr, "--formula", "UP:C>MA(C,N); GAP:C/REF(C,1)-1;", "--param", "N=20",
				"--symbols", "SPY, AAPL,000001.SH", "--date", "2023-12-29", "--output", "UP", "--convention", "tdx",
			}, 0,
			"2 of 3 symbols match on output UP, convention tdx; 1 skipped\n" +
				"symbol  date        formula.GAP  formula.UP\n" +
				"AAPL    2023-12-29       0.1235      1.0000\n" +
				"SPY     2023-12-29" + sp(13) + "      1.0000\n" +
				"skipped 000001.SH: no bar on or before 2023-12-29\n",
			"", &idcv1.ScreenRequest{
				Condition: &idcv1.IndicatorSpec{Formula: "UP:C>MA(C,N); GAP:C/REF(C,1)-1;", Params: params("N", 20)},
				Output:    "UP", Symbols: []string{"SPY", "AAPL", "000001.SH"}, Date: "2023-12-29", Convention: tdxConv,
			},
		},
		{
			"screen csv", []string{"screen", "--target", addr, "--fn", "talib.CDLHAMMER", "--csv"}, 0,
			"symbol,date,formula.GAP,formula.UP\nAAPL,2023-12-29,0.123456,1\nSPY,2023-12-29,,1\n",
			"", &idcv1.ScreenRequest{Condition: &idcv1.IndicatorSpec{Name: "talib.CDLHAMMER"}},
		},
		{"screen without a condition", []string{"screen", "--target", addr}, 2, "", "give one condition", nil},
		{"screen with two", []string{"screen", "--fn", "ADX", "--formula", "C>O"}, 2, "", "give one condition", nil},
		{
			"chart of any spec in flag order",
			[]string{
				"chart", "--target", addr, "--panels", "volume", "--panel-fn", "talib.ADX:timeperiod=20", "--panel-formula", "K:C-MA(C,N);",
				"--panels", "rsi", "--overlay-fn", "talib.SAR", "--sma", "20", "--overlay-formula", "UP:CROSS(C,MA(C,N));", "--param", "N=5",
				"-o", t.TempDir() + "/c.png",
			}, 0, "", "",
			must(idc.ChartQuery{
				Panels: []*idcv1.ChartPanel{
					idc.VolumePanel(), idc.IndicatorPanel(idc.Fn("talib.ADX", idc.Params{"timeperiod": 20})),
					idc.IndicatorPanel(idc.Formula("K:C-MA(C,N);", idc.Params{"N": 5})), idc.RSIPanel(0),
				},
				Overlays: []*idcv1.ChartOverlay{
					idc.IndicatorOverlay(idc.Fn("talib.SAR", nil)), idc.SMAOverlay(20),
					idc.IndicatorOverlay(idc.Formula("UP:CROSS(C,MA(C,N));", idc.Params{"N": 5})),
				},
			}.Request()),
		},
		{"chart param without formula", []string{"chart", "--panel-fn", "ADX", "--param", "N=1"}, 2, "", "add --panel-formula", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake.record(nil)
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit status = %d, want %d\nstderr: %s", code, tc.code, stderr.String())
			}
			if tc.stdout != "" && stdout.String() != tc.stdout {
				t.Errorf("stdout =\n%s\nwant\n%s", stdout.String(), tc.stdout)
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, stderr.String())
			}
			if tc.request != nil {
				if got := fake.lastRequest(); !proto.Equal(got, tc.request) {
					t.Errorf("server got request %v, want %v", got, tc.request)
				}
			}
		})
	}
}

// TestParamValue checks how the text of a value is read: numbers as
// numbers, true and false as flags, anything else as an enum choice.
func TestParamValue(t *testing.T) {
	cases := map[string]*idcv1.ParameterValue{
		"14":    num(14),
		"-2.5":  num(-2.5),
		"+.5":   num(0.5),
		"1e3":   num(1000),
		"3.":    num(3),
		"true":  {Kind: &idcv1.ParameterValue_Flag{Flag: true}},
		"false": {Kind: &idcv1.ParameterValue_Flag{Flag: false}},
		"EMA":   {Kind: &idcv1.ParameterValue_Choice{Choice: "EMA"}},
		"True":  {Kind: &idcv1.ParameterValue_Choice{Choice: "True"}},
		"nan":   {Kind: &idcv1.ParameterValue_Choice{Choice: "nan"}},
		"0x10":  {Kind: &idcv1.ParameterValue_Choice{Choice: "0x10"}},
		"1_000": {Kind: &idcv1.ParameterValue_Choice{Choice: "1_000"}},
	}
	for text, want := range cases {
		if got := paramValue(text); !proto.Equal(got, want) {
			t.Errorf("paramValue(%q) = %v, want %v", text, got, want)
		}
	}
}

// TestNumberString checks the shown form of numbers, which the Python CLI
// shares.
func TestNumberString(t *testing.T) {
	for v, want := range map[float64]string{
		30: "30", -2: "-2", 0.5: "0.5", 1e-05: "1e-05", 0.0001: "0.0001", 1.5e15: "1500000000000000",
		1e21: "1e+21", 123456.7: "123456.7", 3.0000000000000004: "3.0000000000000004",
	} {
		if got := numberString(v); got != want {
			t.Errorf("numberString(%v) = %q, want %q", v, got, want)
		}
	}
}
