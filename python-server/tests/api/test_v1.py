"""idc.v1 over a real server on a free port, through real stubs."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from typing import Any

import grpc
import numpy as np
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from PIL import Image

from idc.v1 import bars_pb2, indicators_pb2
from idc.v1 import indicator_graph_service_pb2 as graph_pb2
from idc.v1 import indicator_graph_service_pb2_grpc as graph_grpc
from idc.v1 import indicator_service_pb2 as indicator_pb2
from idc.v1 import indicator_service_pb2_grpc as indicator_grpc

DAY_2023_12_29 = 19720  # days since 1970-01-01


@pytest.fixture(scope="module")
def indicators(channel: grpc.Channel) -> indicator_grpc.IndicatorServiceStub:
    return indicator_grpc.IndicatorServiceStub(channel)


@pytest.fixture(scope="module")
def graphs(channel: grpc.Channel) -> graph_grpc.IndicatorGraphServiceStub:
    return graph_grpc.IndicatorGraphServiceStub(channel)


def field_violations(error: grpc.RpcError) -> list[str]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, "INVALID_ARGUMENT must carry a google.rpc.Status"
    fields = []
    for detail in status.details:
        bad_request = error_details_pb2.BadRequest()
        assert detail.Unpack(bad_request)
        fields += [violation.field for violation in bad_request.field_violations]
    return fields


def test_empty_request_gives_default_symbol_history_periods_and_convention(indicators: Any) -> None:
    response = indicators.GetMACD(indicator_pb2.GetMACDRequest(), timeout=10)
    assert response.symbol == "SPY"
    assert response.parameters == bars_pb2.MACDParameters(fast_period=12, slow_period=26, signal_period=9)
    assert response.convention == indicators_pb2.CONVENTION_TALIB
    bars = [response.bars.dates, response.bars.open, response.bars.high, response.bars.close, response.bars.volume]
    assert {len(column) for column in bars} == {8347}
    # TA-Lib's warm-up: the first 33 bars of 12/26/9 have no value and are not sent.
    assert response.first_valid_index == 33
    assert {len(response.macd), len(response.signal), len(response.histogram)} == {8347 - 33}


def test_tdx_convention_has_values_from_the_first_bar_and_doubles_the_histogram(indicators: Any) -> None:
    request = indicator_pb2.GetMACDRequest(symbol="000001.SH", convention=indicators_pb2.CONVENTION_TDX)
    response = indicators.GetMACD(request, timeout=10)
    assert response.convention == indicators_pb2.CONVENTION_TDX
    assert response.first_valid_index == 0
    assert len(response.macd) == len(response.bars.dates) == 3993
    # 000001.SH 2026-06-16 (the last bar): DIF, DEA and the 通达信 MACD bar.
    assert response.macd[-1] == pytest.approx(-16.2015269606, abs=1e-9)
    assert response.signal[-1] == pytest.approx(-17.7731961644, abs=1e-9)
    assert response.histogram[-1] == pytest.approx(3.1433384075, abs=1e-9)


def test_same_request_gives_the_same_bytes(indicators: Any) -> None:
    request = indicator_pb2.GetMACDRequest(symbol="AAPL", start_date="2010-01-01")
    first = indicators.GetMACD(request, timeout=10).SerializeToString(deterministic=True)
    assert indicators.GetMACD(request, timeout=10).SerializeToString(deterministic=True) == first


@pytest.mark.parametrize(
    ("symbol", "expected_macd", "expected_signal"),
    [("SPY", 7.4880921771, 7.5222453641), ("000001.sh", -22.8746222612, -27.6650371902)],
)
def test_macd_on_a_known_day_matches_reference(
    indicators: Any, symbol: str, expected_macd: float, expected_signal: float
) -> None:
    response = indicators.GetMACD(
        indicator_pb2.GetMACDRequest(symbol=symbol, start_date="2023-12-29", end_date="2023-12-29"), timeout=10
    )
    assert list(response.bars.dates) == [DAY_2023_12_29]
    assert response.macd[0] == pytest.approx(expected_macd, abs=1e-9)
    assert response.signal[0] == pytest.approx(expected_signal, abs=1e-9)
    assert response.histogram[0] == pytest.approx(expected_macd - expected_signal, abs=1e-9)


def test_year_window_has_every_trading_day_in_order(indicators: Any) -> None:
    response = indicators.GetMACD(
        indicator_pb2.GetMACDRequest(start_date="2023-01-01", end_date="2023-12-31"), timeout=10
    )
    dates = np.asarray(response.bars.dates, dtype="int64").astype("datetime64[D]")
    assert len(dates) == 250
    assert str(dates[0]) == "2023-01-03"
    assert str(dates[-1]) == "2023-12-29"
    assert (np.diff(dates.astype("int64")) > 0).all()
    assert response.bars.close[-1] == pytest.approx(462.58, abs=0.01)


def test_custom_periods_are_used_and_echoed(indicators: Any) -> None:
    request = indicator_pb2.GetMACDRequest(
        symbol="AAPL", parameters=bars_pb2.MACDParameters(fast_period=5, slow_period=35)
    )
    response = indicators.GetMACD(request, timeout=10)
    assert response.parameters == bars_pb2.MACDParameters(fast_period=5, slow_period=35, signal_period=9)
    default = indicators.GetMACD(indicator_pb2.GetMACDRequest(symbol="AAPL"), timeout=10)
    assert response.macd[-1] != pytest.approx(default.macd[-1])
    assert response.first_valid_index == 35 + 9 - 2


def receive_image(stream: Any) -> tuple[graph_pb2.ImageMetadata, bytes, list[int]]:
    messages = list(stream)
    assert messages[0].WhichOneof("payload") == "metadata"
    assert all(message.WhichOneof("payload") == "chunk" for message in messages[1:])
    chunks = [message.chunk for message in messages[1:]]
    return messages[0].metadata, b"".join(chunks), [len(chunk) for chunk in chunks]


def test_graph_streams_metadata_then_chunks_of_at_most_64_kib(graphs: Any) -> None:
    request = graph_pb2.GetMACDGraphRequest(
        symbol="SPY", start_date="2015-01-01", end_date="2023-12-31", width_px=2400, height_px=1600
    )
    metadata, data, sizes = receive_image(graphs.GetMACDGraph(request, timeout=30))
    assert metadata.media_type == "image/png"
    assert metadata.size_bytes == len(data)
    assert metadata.sha256 == hashlib.sha256(data).digest()
    assert (metadata.width_px, metadata.height_px) == (2400, 1600)
    assert len(sizes) > 1
    assert max(sizes) <= 64 * 1024
    assert min(sizes) > 0
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        assert image.size == (2400, 1600)


def test_graph_of_empty_request_defaults_to_1200_by_800(graphs: Any) -> None:
    metadata, data, _ = receive_image(graphs.GetMACDGraph(graph_pb2.GetMACDGraphRequest(), timeout=30))
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (1200, 800) == (metadata.width_px, metadata.height_px)


def call_macd(indicators: Any, **fields: Any) -> None:
    indicators.GetMACD(indicator_pb2.GetMACDRequest(**fields), timeout=10)


def call_graph(graphs: Any, **fields: Any) -> None:
    list(graphs.GetMACDGraph(graph_pb2.GetMACDGraphRequest(**fields), timeout=10))


BAD_INPUTS = [
    ({"start_date": "2023-13-01"}, grpc.StatusCode.INVALID_ARGUMENT, "start_date"),
    ({"end_date": "2023-1-5"}, grpc.StatusCode.INVALID_ARGUMENT, "end_date"),
    ({"start_date": "2023-02-01", "end_date": "2023-01-01"}, grpc.StatusCode.INVALID_ARGUMENT, "end_date"),
    (
        {"parameters": bars_pb2.MACDParameters(fast_period=-1)},
        grpc.StatusCode.INVALID_ARGUMENT,
        "parameters.fast_period",
    ),
    (
        {"parameters": bars_pb2.MACDParameters(fast_period=26, slow_period=12)},
        grpc.StatusCode.INVALID_ARGUMENT,
        "parameters.fast_period",
    ),
    (
        {"parameters": bars_pb2.MACDParameters(signal_period=5000)},
        grpc.StatusCode.INVALID_ARGUMENT,
        "parameters.signal_period",
    ),
    ({"symbol": "NOPE"}, grpc.StatusCode.NOT_FOUND, "symbol"),
    ({"symbol": "../../etc/passwd"}, grpc.StatusCode.NOT_FOUND, "symbol"),
    ({"start_date": "2023-01-07", "end_date": "2023-01-08"}, grpc.StatusCode.NOT_FOUND, "start_date"),
    ({"convention": 7}, grpc.StatusCode.INVALID_ARGUMENT, "convention"),
    (
        {
            "inline_bars": bars_pb2.Bars(
                dates=range(20), open=[1.0] * 20, high=[2.0] * 20, low=[0.5] * 20, close=[1.5] * 20, volume=[9.0] * 20
            )
        },
        grpc.StatusCode.INVALID_ARGUMENT,
        "parameters.slow_period",
    ),
    (
        {
            "inline_bars": bars_pb2.Bars(
                dates=[1, 2],
                open=[1.0, 1.0],
                high=[2.0, 2.0],
                low=[0.5, 0.5],
                close=[1.5, float("nan")],
                volume=[9.0, 9.0],
            )
        },
        grpc.StatusCode.INVALID_ARGUMENT,
        "inline_bars.close",
    ),
]


@pytest.mark.parametrize("rpc", ["GetMACD", "GetMACDGraph"])
@pytest.mark.parametrize(("fields", "code", "field"), BAD_INPUTS)
def test_bad_input_gets_its_status_and_names_the_field(
    indicators: Any, graphs: Any, rpc: str, fields: dict[str, Any], code: grpc.StatusCode, field: str
) -> None:
    call: Callable[[], None] = (
        (lambda: call_macd(indicators, **fields)) if rpc == "GetMACD" else (lambda: call_graph(graphs, **fields))
    )
    with pytest.raises(grpc.RpcError) as caught:
        call()
    error = caught.value
    assert error.code() == code
    assert field in (error.details() or "")
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        assert field_violations(error) == [field]
    # The server keeps serving after every rejection.
    assert len(indicators.GetMACD(indicator_pb2.GetMACDRequest(start_date="2026-03-27"), timeout=10).macd) == 1


def near_the_largest_double(changes: dict[str, dict[int, float]]) -> bars_pb2.Bars:
    """Forty plausible bars (enough for MACD 12/26/9) with some values replaced, by column and index."""
    columns = {"open": 10.0, "high": 11.0, "low": 9.0, "close": 10.5, "volume": 100.0}
    values: dict[str, Any] = {name: [value] * 40 for name, value in columns.items()}
    for name, replaced in changes.items():
        for index, value in replaced.items():
            values[name][index] = value
    return bars_pb2.Bars(dates=range(40), **values)


# Finite values whose indicators or charts would overflow (issue 10, point 8) are refused before any work.
EVERY_PRICE_1E308 = {name: dict.fromkeys(range(40), 1e308) for name in ("open", "high", "low", "close")}
EXTREME_BARS = {
    "volume=1.7e308": (near_the_largest_double({"volume": {1: 1.7e308}}), "volume", "at index 1: 1.7e+308"),
    "high=1.5e308, low=0": (
        near_the_largest_double({"high": {2: 1.5e308}, "low": {2: 0.0}}),
        "high",
        "at index 2: 1.5e+308 is outside -1e+15..1e+15",
    ),
    "every price 1e308": (
        near_the_largest_double(EVERY_PRICE_1E308),
        "open",
        "at index 0: 1e+308 is outside -1e+15..1e+15",
    ),
}


@pytest.mark.parametrize(("bars", "column", "message"), list(EXTREME_BARS.values()), ids=list(EXTREME_BARS))
def test_extreme_finite_values_are_refused_naming_the_column_and_the_bar(
    indicators: Any, graphs: Any, bars: bars_pb2.Bars, column: str, message: str
) -> None:
    calls: dict[str, Callable[[], object]] = {
        "GetMACD": lambda: indicators.GetMACD(indicator_pb2.GetMACDRequest(inline_bars=bars), timeout=10),
        "GetChart": lambda: list(graphs.GetChart(graph_pb2.GetChartRequest(inline_bars=bars), timeout=30)),
    }
    for name, call in calls.items():
        with pytest.raises(grpc.RpcError) as caught:
            call()
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, name
        assert field_violations(caught.value) == [f"inline_bars.{column}"]
        assert f"inline_bars.{column}: {message}" in (caught.value.details() or "")


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"width_px": 50}, "width_px"), ({"height_px": 4001}, "height_px"), ({"width_px": -1}, "width_px")],
)
def test_image_size_out_of_range_is_invalid(graphs: Any, fields: dict[str, int], field: str) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        call_graph(graphs, **fields)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(caught.value) == [field]


def test_graph_of_inline_bars_renders_the_clients_data(graphs: Any, indicators: Any) -> None:
    spy = indicators.GetMACD(indicator_pb2.GetMACDRequest(symbol="SPY", start_date="2022-01-01"), timeout=10).bars
    request = graph_pb2.GetMACDGraphRequest(
        inline_bars=spy, start_date="2023-01-01", width_px=640, height_px=400, convention=indicators_pb2.CONVENTION_TDX
    )
    metadata, data, _ = receive_image(graphs.GetMACDGraph(request, timeout=30))
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (640, 400) == (metadata.width_px, metadata.height_px)
    from_symbol = graph_pb2.GetMACDGraphRequest(
        symbol="SPY", start_date="2023-01-01", width_px=640, height_px=400, convention=indicators_pb2.CONVENTION_TDX
    )
    # Same bars but a different history (and title): a different chart.
    assert receive_image(graphs.GetMACDGraph(from_symbol, timeout=30))[1] != data
