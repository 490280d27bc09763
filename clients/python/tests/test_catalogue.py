"""Unit tests of the catalogue helpers (idc_client.catalogue, cli_catalogue) and commands, with a fake server."""

from __future__ import annotations

import argparse
import math
from collections.abc import Iterator
from concurrent import futures

import grpc
import numpy as np
import pandas as pd
import pytest
from google.protobuf import message

from idc.v1 import (
    catalogue_pb2,
    indicator_service_pb2,
    indicator_service_pb2_grpc,
    indicators_pb2,
)
from idc_client import IdcClient, fn, formula, indicator_frame, indicator_overlay, indicator_panel, parameter_value
from idc_client.catalogue import entry, python_value
from idc_client.cli import main
from idc_client.cli_catalogue import fn_spec, number_text, param_values

INT = catalogue_pb2.PARAMETER_TYPE_INT
FLOAT = catalogue_pb2.PARAMETER_TYPE_FLOAT


def sp(count: int) -> str:
    return " " * count


def number(value: float) -> indicators_pb2.ParameterValue:
    return indicators_pb2.ParameterValue(number=value)


def choice(value: str) -> indicators_pb2.ParameterValue:
    return indicators_pb2.ParameterValue(choice=value)


def flag(value: bool) -> indicators_pb2.ParameterValue:
    return indicators_pb2.ParameterValue(flag=value)


# -- specs and values ---------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (14, number(14)),
        (2.5, number(2.5)),
        (np.int64(7), number(7)),
        (np.float32(0.25), number(0.25)),
        ("EMA", choice("EMA")),
        (True, flag(True)),
        (np.bool_(False), flag(False)),
    ],
)
def test_parameter_value_by_type(value: object, expected: indicators_pb2.ParameterValue) -> None:
    assert parameter_value(value) == expected  # type: ignore[arg-type]


def test_parameter_value_refuses_other_types() -> None:
    with pytest.raises(TypeError, match="unsupported parameter type list"):
        parameter_value([1])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="parameter 'weights': unsupported parameter type tuple"):
        fn("X", weights=(1, 2))  # type: ignore[arg-type]


def test_fn_merges_a_mapping_and_keywords() -> None:
    spec = fn("talib.BBANDS", {"nbdev-up": 2.5}, label="bb", timeperiod=20, matype="EMA")
    assert spec == indicators_pb2.IndicatorSpec(
        name="talib.BBANDS",
        label="bb",
        params={"nbdev-up": number(2.5), "timeperiod": number(20), "matype": choice("EMA")},
    )
    with pytest.raises(ValueError, match="parameter 'timeperiod' is given twice"):
        fn("talib.SMA", {"timeperiod": 5}, timeperiod=6)


def test_formula_spec() -> None:
    assert formula("DIF:EMA(C,S)-EMA(C,26);", S=12) == indicators_pb2.IndicatorSpec(
        formula="DIF:EMA(C,S)-EMA(C,26);", params={"S": number(12)}
    )


def test_panel_and_overlay_of_a_spec() -> None:
    spec = fn("talib.SAR")
    assert indicator_panel(spec).WhichOneof("kind") == "indicator"
    assert indicator_panel(spec).indicator == spec
    assert indicator_overlay(spec).indicator == spec


def test_python_value_by_type() -> None:
    assert python_value(INT, number(14)) == 14
    assert isinstance(python_value(INT, number(14)), int)
    assert python_value(INT, number(2.5)) == 2.5
    assert isinstance(python_value(FLOAT, number(2)), float)
    assert python_value(catalogue_pb2.PARAMETER_TYPE_ENUM, choice("SMA")) == "SMA"
    assert python_value(catalogue_pb2.PARAMETER_TYPE_BOOL, flag(True)) is True
    assert python_value(INT, indicators_pb2.ParameterValue()) is None


BBANDS = catalogue_pb2.IndicatorEntry(
    name="talib.BBANDS",
    group="Overlap Studies",
    description="Bollinger Bands",
    parameters=[
        catalogue_pb2.IndicatorParameter(
            name="timeperiod", type=INT, default_value=number(5), minimum=2, maximum=100000, doc="Number of period"
        ),
        catalogue_pb2.IndicatorParameter(
            name="nbdevup", type=FLOAT, default_value=number(2), minimum=0, minimum_exclusive=True
        ),
        catalogue_pb2.IndicatorParameter(
            name="matype", type=catalogue_pb2.PARAMETER_TYPE_ENUM, default_value=choice("SMA"), choices=["SMA", "EMA"]
        ),
    ],
    inputs=["close"],
    outputs=[
        catalogue_pb2.IndicatorOutput(name="upperband", kind=indicators_pb2.OUTPUT_KIND_PRICE),
        catalogue_pb2.IndicatorOutput(name="middleband", kind=indicators_pb2.OUTPUT_KIND_PRICE),
        catalogue_pb2.IndicatorOutput(name="lowerband", kind=indicators_pb2.OUTPUT_KIND_PRICE),
    ],
    conventions=[indicators_pb2.CONVENTION_TALIB],
    warm_up_bars=[4],
)


def test_entry_of_a_message() -> None:
    bbands = entry(BBANDS)
    assert (bbands.namespace, bbands.local, bbands.group) == ("talib", "BBANDS", "Overlap Studies")
    period = bbands.param("timeperiod")
    assert (period.type, period.default, period.minimum, period.maximum) == ("int", 5, 2.0, 100000.0)
    width = bbands.param("nbdevup")
    assert (width.default, width.minimum, width.minimum_exclusive, width.maximum) == (2.0, 0.0, True, None)
    assert bbands.param("matype").choices == ("SMA", "EMA")
    assert bbands.output("middleband").kind == "price"
    assert bbands.warm_up("talib") == 4
    assert bbands.warm_up("tdx") is None
    with pytest.raises(KeyError, match="no parameter 'TimePeriod'"):
        bbands.param("TimePeriod")


def test_indicator_frame_reports_each_series_kind() -> None:
    response = indicator_service_pb2.ComputeIndicatorsResponse(
        dates=[19720],
        series=[
            indicators_pb2.Series(name="sar", values=[1.0], kind=indicators_pb2.OUTPUT_KIND_PRICE),
            indicators_pb2.Series(name="cdlhammer", values=[100.0], kind=indicators_pb2.OUTPUT_KIND_SIGNAL),
            indicators_pb2.Series(name="old", values=[1.0]),
        ],
    )
    assert indicator_frame(response).attrs["kinds"] == {"sar": "price", "cdlhammer": "signal", "old": "unspecified"}


# -- command-line values --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("14", number(14)),
        ("-2.5", number(-2.5)),
        ("+.5", number(0.5)),
        ("1e3", number(1000)),
        ("3.", number(3)),
        ("true", flag(True)),
        ("false", flag(False)),
        ("EMA", choice("EMA")),
        ("True", choice("True")),
        ("nan", choice("nan")),
        ("0x10", choice("0x10")),
        ("1_000", choice("1_000")),
    ],
)
def test_param_value_text_as_go_reads_it(text: str, expected: indicators_pb2.ParameterValue) -> None:
    assert param_values([("p", text)]) == {"p": expected}


def test_fn_spec_text() -> None:
    assert fn_spec("slow=MA:timeperiod=50, matype=EMA") == fn("MA", label="slow", timeperiod=50, matype="EMA")
    assert fn_spec("talib.CDLHAMMER") == fn("talib.CDLHAMMER")
    for bad, problem in [
        ("ADX:timeperiod", "want NAME=VALUE"),
        (":timeperiod=1", r"want \[LABEL=\]NAME"),
        ("Slow=SMA", "must match"),
        ("ADX:n=1,n=2", "given twice"),
    ]:
        with pytest.raises(argparse.ArgumentTypeError, match=problem):
            fn_spec(bad)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (30.0, "30"),
        (-2.0, "-2"),
        (0.5, "0.5"),
        (1e-05, "1e-05"),
        (0.0001, "0.0001"),
        (1.5e15, "1500000000000000"),
        (1e21, "1e+21"),
        (123456.7, "123456.7"),
        (3.0000000000000004, "3.0000000000000004"),
        (math.inf, "inf"),
    ],
)
def test_number_text_as_go_shows_it(value: float, text: str) -> None:
    assert number_text(value) == text


# -- calls and commands against a fake server ----------------------------------


class FakeCatalogue(indicator_service_pb2_grpc.IndicatorServiceServicer):
    """ListIndicators, DescribeIndicator and Screen with fixed answers, recording each request."""

    def __init__(self) -> None:
        self.requests: list[message.Message] = []

    def GetMACD(
        self, request: indicator_service_pb2.GetMACDRequest, context: grpc.ServicerContext
    ) -> indicator_service_pb2.GetMACDResponse:
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "not in this fake")

    def ComputeIndicators(
        self, request: indicator_service_pb2.ComputeIndicatorsRequest, context: grpc.ServicerContext
    ) -> indicator_service_pb2.ComputeIndicatorsResponse:
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "not in this fake")

    def ListSymbols(
        self, request: indicator_service_pb2.ListSymbolsRequest, context: grpc.ServicerContext
    ) -> indicator_service_pb2.ListSymbolsResponse:
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "not in this fake")

    def ListIndicators(
        self, request: indicator_service_pb2.ListIndicatorsRequest, context: grpc.ServicerContext
    ) -> indicator_service_pb2.ListIndicatorsResponse:
        self.requests.append(request)
        macd = catalogue_pb2.IndicatorEntry(
            name="tdx.MACD",
            group="趋势",
            description="指数平滑异同平均线",
            parameters=[catalogue_pb2.IndicatorParameter(name="SHORT", type=INT, default_value=number(12))],
            outputs=[catalogue_pb2.IndicatorOutput(name="DIF"), catalogue_pb2.IndicatorOutput(name="DEA")],
            conventions=[indicators_pb2.CONVENTION_TDX],
            warm_up_bars=[0],
        )
        return indicator_service_pb2.ListIndicatorsResponse(indicators=[BBANDS, macd])

    def DescribeIndicator(
        self, request: indicator_service_pb2.DescribeIndicatorRequest, context: grpc.ServicerContext
    ) -> indicator_service_pb2.DescribeIndicatorResponse:
        self.requests.append(request)
        return indicator_service_pb2.DescribeIndicatorResponse(
            indicator=BBANDS,
            params={"timeperiod": number(20), "nbdevup": number(2), "matype": choice("EMA")},
            convention=indicators_pb2.CONVENTION_TALIB,
            warm_up_bars=19,
            series_names=["bb.upperband", "bb.middleband", "bb.lowerband"],
        )

    def Screen(
        self, request: indicator_service_pb2.ScreenRequest, context: grpc.ServicerContext
    ) -> indicator_service_pb2.ScreenResponse:
        self.requests.append(request)
        return indicator_service_pb2.ScreenResponse(
            matches=[
                indicator_service_pb2.ScreenMatch(
                    symbol="AAPL", date=19720, time=19720 * 86400 + 52200, values={"f.UP": 1, "f.K": 55.5}
                ),
                indicator_service_pb2.ScreenMatch(symbol="SPY", date=19719, time=19719 * 86400, values={"f.UP": 1}),
            ],
            skipped=[indicator_service_pb2.ScreenSkip(symbol="X", reason="warm-up: the first 19 bars have no value")],
            evaluated_count=3,
            output="UP",
            convention=indicators_pb2.CONVENTION_TDX,
        )


@pytest.fixture
def fake() -> Iterator[tuple[FakeCatalogue, str]]:
    servicer = FakeCatalogue()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    indicator_service_pb2_grpc.add_IndicatorServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield servicer, f"127.0.0.1:{port}"
    server.stop(None).wait()


def test_list_indicators(fake: tuple[FakeCatalogue, str]) -> None:
    servicer, target = fake
    with IdcClient(target) as client:
        entries = client.list_indicators("talib")
    assert servicer.requests == [indicator_service_pb2.ListIndicatorsRequest(namespace="talib")]
    assert [e.name for e in entries] == ["talib.BBANDS", "tdx.MACD"]
    assert entries[0].param("timeperiod").default == 5
    assert entries[1].conventions == ("tdx",)


def test_describe_indicator(fake: tuple[FakeCatalogue, str]) -> None:
    servicer, target = fake
    spec = fn("BBANDS", label="bb", timeperiod=20, matype="ema")
    with IdcClient(target) as client:
        described = client.describe_indicator(spec, convention="talib")
    assert servicer.requests == [
        indicator_service_pb2.DescribeIndicatorRequest(spec=spec, convention=indicators_pb2.CONVENTION_TALIB)
    ]
    assert described.params == {"timeperiod": 20, "nbdevup": 2.0, "matype": "EMA"}
    assert isinstance(described.params["timeperiod"], int)
    assert (described.warm_up_bars, described.convention) == (19, "talib")
    assert described.series_names == ("bb.upperband", "bb.middleband", "bb.lowerband")


def test_screen_frame(fake: tuple[FakeCatalogue, str]) -> None:
    servicer, target = fake
    condition = formula("UP:C>MA(C,20);")
    with IdcClient(target) as client:
        frame = client.screen(condition, ["SPY", "AAPL"], "2023-12-29", output="UP", convention="tdx")
    assert servicer.requests == [
        indicator_service_pb2.ScreenRequest(
            condition=condition,
            symbols=["SPY", "AAPL"],
            date="2023-12-29",
            output="UP",
            convention=indicators_pb2.CONVENTION_TDX,
        )
    ]
    assert list(frame.index) == ["AAPL", "SPY"]
    assert list(frame.columns) == ["date", "time", "f.K", "f.UP"]
    assert frame.loc["AAPL", "date"] == pd.Timestamp("2023-12-29")
    assert frame.loc["AAPL", "time"] == pd.Timestamp("2023-12-29 14:30", tz="UTC")
    assert frame.loc["SPY", "date"] == pd.Timestamp("2023-12-28")
    assert frame.loc["AAPL", "f.K"] == 55.5
    assert frame["f.K"].isna().tolist() == [False, True]
    assert frame.attrs == {
        "output": "UP",
        "convention": "tdx",
        "evaluated_count": 3,
        "skipped": {"X": "warm-up: the first 19 bars have no value"},
    }


def test_cli_catalogue_table_counts_wide_characters_twice(
    fake: tuple[FakeCatalogue, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, target = fake
    assert main(["catalogue", "--target", target]) == 0
    # 趋势 takes four columns and 指数平滑异同平均线 eighteen; trailing spaces are trimmed.
    assert capsys.readouterr().out == (
        "name" + sp(10) + "group" + sp(12) + "parameters" + sp(25) + "outputs" + sp(25) + "warm-up  description\n"
        "talib.BBANDS  Overlap Studies  timeperiod=5,nbdevup=2,matype=SMA  upperband,middleband,lowerband"
        + sp(8)
        + "4  Bollinger Bands\n"
        "tdx.MACD" + sp(6) + "趋势" + sp(13) + "SHORT=12" + sp(27) + "DIF,DEA" + sp(31) + "0  指数平滑异同平均线\n"
        "2 entries\n"
    )


def test_cli_catalogue_name(fake: tuple[FakeCatalogue, str], capsys: pytest.CaptureFixture[str]) -> None:
    servicer, target = fake
    assert main(["catalogue", "--target", target, "BBANDS", "--param", "timeperiod=20", "--param", "matype=ema"]) == 0
    assert servicer.requests == [
        indicator_service_pb2.DescribeIndicatorRequest(spec=fn("BBANDS", timeperiod=20, matype="ema"))
    ]
    out = capsys.readouterr().out
    assert "warm-up: 19 bars under talib\nseries: bb.upperband, bb.middleband, bb.lowerband\n" in out
    assert "timeperiod  int" + sp(7) + "20" + sp(8) + "5  [2, 100000]  Number of period\n" in out
    assert "nbdevup" + sp(5) + "float" + sp(6) + "2" + sp(8) + "2  (0, inf)\n" in out
    assert "matype" + sp(6) + "enum " + sp(4) + "EMA" + sp(6) + "SMA  SMA|EMA\n" in out


def test_cli_screen(fake: tuple[FakeCatalogue, str], capsys: pytest.CaptureFixture[str]) -> None:
    servicer, target = fake
    args = ["screen", "--target", target, "--fn", "talib.CDLHAMMER", "--symbols", "SPY,,AAPL", "--date", "2024-01-02"]
    assert main(args) == 0
    assert servicer.requests == [
        indicator_service_pb2.ScreenRequest(condition=fn("talib.CDLHAMMER"), symbols=["SPY", "AAPL"], date="2024-01-02")
    ]
    assert capsys.readouterr().out == (
        "2 of 3 symbols match on output UP, convention tdx; 1 skipped\n"
        "symbol  date" + sp(12) + "f.K    f.UP\n"
        "AAPL    2023-12-29  55.5000  1.0000\n"
        "SPY     2023-12-28" + sp(11) + "1.0000\n"
        "skipped X: warm-up: the first 19 bars have no value\n"
    )


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["indicators", "--formula", "A:C;", "--formula", "B:O;"], "put every statement in one formula"),
        (["indicators", "--formula", " "], "empty formula"),
        (["indicators", "--fn", "ADX", "--param", "N=1"], "add --formula"),
        (["indicators", "--formula", "A:C;", "--param", "N=1", "--param", "N=2"], "given twice"),
        (["indicators", "--fn", "ADX:timeperiod"], "want NAME=VALUE"),
        (["screen"], "give one condition"),
        (["screen", "--fn", "ADX", "--formula", "C>O"], "give one condition"),
        (["catalogue", "--param", "N=1"], "add its NAME"),
        (["catalogue", "A", "B"], "unrecognized arguments"),
        (["chart", "--panel-fn", "ADX", "--param", "N=1"], "add --panel-formula"),
    ],
)
def test_cli_usage_errors_exit_2(args: list[str], problem: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    assert problem in capsys.readouterr().err
