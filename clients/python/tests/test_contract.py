"""Contract tests of idc_client against a real idc server.

They run only when the environment variable IDC_TARGET holds the address
of a running server, e.g.::

    idc-server --port 50051 &
    IDC_TARGET=localhost:50051 python -m pytest clients/python/tests/test_contract.py

The expected values come from the server's bundled data (SPY, AAPL and
000001.SH), served with the default options (default symbol SPY, default
convention TA-Lib). Where TA-Lib (``talib``) is installed, TA-Lib-convention
values are also checked against it.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import os
import random
import re
import socket
import subprocess
import sys
import time
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from google.protobuf import json_format

from idc.v1 import (
    bars_pb2,
    indicator_graph_service_pb2,
    indicator_graph_service_pb2_grpc,
    indicator_service_pb2,
    indicator_service_pb2_grpc,
    indicators_pb2,
)
from idc_client import (
    IdcClient,
    Image,
    bars_message,
    boll,
    boll_overlay,
    ema,
    ema_overlay,
    field_violations,
    fn,
    formula,
    indicator_overlay,
    indicator_panel,
    kdj,
    kdj_panel,
    macd,
    macd_frame,
    macd_panel,
    macd_rows,
    rsi,
    rsi_panel,
    sma,
    sma_overlay,
    volume_panel,
)
from idc_client.cli import main

TARGET = os.environ.get("IDC_TARGET", "")
# `nox -s contract` sets IDC_CONTRACT with IDC_TARGET and IDC_METRICS_URL: there a missing one fails.
IN_GATE = bool(os.environ.get("IDC_CONTRACT"))
if IN_GATE and not TARGET:
    raise RuntimeError("IDC_CONTRACT is set but IDC_TARGET (the address of a running idc server) is not")

# What the Go, Python and TypeScript contract tests expect, shared so that they cannot drift apart.
EXPECTATIONS: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "contract" / "expectations.json").read_text(encoding="utf-8")
)
KNOWN = {known["name"]: known for known in EXPECTATIONS["macd"]}
SPY = KNOWN["SPY 2023-12-29 TALIB"]
SSE = KNOWN["000001.SH 2023-12-29 TALIB"]
SSE_TDX = KNOWN["000001.SH 2026-06-16 TDX"]
SYMBOLS = {entry["symbol"]: entry for entry in EXPECTATIONS["symbols"]["list"]}

pytestmark = pytest.mark.skipif(
    not TARGET,
    reason="contract tests need a running idc server: set IDC_TARGET (e.g. IDC_TARGET=localhost:50051)",
)


def required_env(name: str, purpose: str) -> str:
    """The variable's value; a missing one fails the test in the gate and skips it elsewhere."""
    value = os.environ.get(name, "")
    if not value:
        message = f"{name} ({purpose}) is not set"
        if IN_GATE:
            pytest.fail(f"IDC_CONTRACT is set but {message}: the session must provide it")
        pytest.skip(f"{message}: set it to run this test")
    return value


def render_counters() -> tuple[float, float]:
    """The server's renders started (cache misses) and renders abandoned, from its Prometheus endpoint."""
    url = required_env("IDC_METRICS_URL", "the /metrics URL of the server in IDC_TARGET")
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    counters = []
    for name in ("idc_chart_cache_misses_total", "idc_chart_renders_abandoned_total"):
        values = re.findall(rf"^{name} (\S+)$", text, flags=re.MULTILINE)
        assert len(values) == 1, f"{url} has no {name}"
        counters.append(float(values[0]))
    return counters[0], counters[1]


@pytest.fixture(scope="module")
def client() -> Iterator[IdcClient]:
    with IdcClient(TARGET, timeout=60.0) as client:
        yield client


def test_spy_macd_on_2023_12_29(client: IdcClient) -> None:
    frame = client.macd("SPY", "2023-12-29", "2023-12-29")

    assert list(frame.index) == [pd.Timestamp("2023-12-29", tz="America/New_York")]
    row = frame.iloc[0]
    assert row["macd"] == pytest.approx(SPY["macd"], abs=1e-6)
    assert row["signal"] == pytest.approx(SPY["signal"], abs=1e-6)
    assert row["histogram"] == pytest.approx(row["macd"] - row["signal"], abs=1e-9)


def test_shanghai_composite_macd_on_2023_12_29(client: IdcClient) -> None:
    frame = client.macd("000001.SH", "2023-12-29", "2023-12-29")

    row = frame.loc["2023-12-29"]
    assert row["macd"] == pytest.approx(SSE["macd"], abs=1e-6)
    assert row["signal"] == pytest.approx(SSE["signal"], abs=1e-6)
    assert frame.attrs["symbol"] == "000001.SH"


def test_spy_2023_has_250_trading_days(client: IdcClient) -> None:
    frame = client.macd("SPY", "2023-01-01", "2023-12-31")

    assert len(frame) == 250
    assert frame.index[0] == pd.Timestamp("2023-01-03", tz="America/New_York")
    assert frame.index[-1] == pd.Timestamp("2023-12-29", tz="America/New_York")
    assert frame.index.is_monotonic_increasing
    assert all(dtype == np.float64 for dtype in frame.dtypes)
    assert not frame.isna().any().any()


def test_window_bounds_accept_dates(client: IdcClient) -> None:
    frame = client.macd("SPY", datetime.date(2023, 1, 1), datetime.date(2023, 12, 31))

    assert len(frame) == 250


def test_histogram_is_macd_minus_signal_on_every_bar(client: IdcClient) -> None:
    frame = client.macd("SPY", "2023-01-01", "2023-12-31")

    np.testing.assert_allclose(frame["histogram"], frame["macd"] - frame["signal"], atol=1e-9)


def test_symbols_are_case_insensitive_and_answered_canonically(client: IdcClient) -> None:
    frame = client.macd("spy", "2023-12-29", "2023-12-29")

    assert frame.attrs["symbol"] == "SPY"
    assert frame.iloc[0]["macd"] == pytest.approx(SPY["macd"], abs=1e-6)


def test_empty_request_gives_the_default_symbol_whole_history_and_periods(client: IdcClient) -> None:
    frame = client.macd()

    assert frame.attrs["symbol"] == "SPY"
    assert frame.attrs["parameters"] == {"fast": 12, "slow": 26, "signal": 9}
    assert len(frame) > 8000


def test_custom_periods_are_echoed_and_change_the_values(client: IdcClient) -> None:
    default = client.macd("SPY", "2023-12-29", "2023-12-29")
    custom = client.macd("SPY", "2023-12-29", "2023-12-29", fast=5, slow=35, signal=5)

    assert custom.attrs["parameters"] == {"fast": 5, "slow": 35, "signal": 5}
    assert custom.iloc[0]["close"] == default.iloc[0]["close"]
    assert custom.iloc[0]["macd"] != pytest.approx(default.iloc[0]["macd"])


def test_rows_match_the_frame(client: IdcClient) -> None:
    response = client.macd_response("SPY", "2023-12-01", "2023-12-31")
    frame = client.macd("SPY", "2023-12-01", "2023-12-31")

    rows = macd_rows(response)

    assert [row.date for row in rows] == [timestamp.date() for timestamp in frame.index]
    assert rows[-1].date == datetime.date(2023, 12, 29)
    assert rows[-1].macd == frame.iloc[-1]["macd"]


def test_graph_is_a_verified_png_of_the_requested_size(client: IdcClient) -> None:
    from PIL import Image as PILImage  # Pillow is a test dependency only

    image = client.graph("SPY", "2023-01-01", "2023-12-31", width=800, height=600)

    assert image.media_type == "image/png"
    assert (image.width_px, image.height_px) == (800, 600)
    assert image.sha256 == hashlib.sha256(image.data).digest()
    with PILImage.open(io.BytesIO(image.data)) as decoded:
        assert decoded.format == "PNG"
        assert decoded.size == (800, 600)


def test_graph_of_an_empty_request_uses_the_default_size(client: IdcClient) -> None:
    image = client.graph()

    assert (image.width_px, image.height_px) == (1200, 800)


# -- ListSymbols -------------------------------------------------------------------


def test_symbols_lists_the_bundled_data(client: IdcClient) -> None:
    frame = client.symbols()

    assert list(frame.index) == list(SYMBOLS)  # the daily symbols and the 1-minute 000001.SH-1MIN and SPX-1MIN
    assert frame.index.name == "symbol"
    assert frame["bar_count"].to_dict() == {symbol: entry["bar_count"] for symbol, entry in SYMBOLS.items()}
    assert frame.loc["SPY", "first_date"] == pd.Timestamp(SYMBOLS["SPY"]["first_date"])
    assert frame.loc["SPY", "last_date"] == pd.Timestamp(SYMBOLS["SPY"]["last_date"])
    assert pd.api.types.is_datetime64_dtype(frame["first_date"])
    assert pd.api.types.is_datetime64_dtype(frame["last_date"])
    assert frame.attrs["default_symbol"] == "SPY"


def test_symbols_agree_with_the_bars_served(client: IdcClient) -> None:
    symbols = client.symbols()

    for symbol in symbols.index:
        response = client.macd_response(symbol, interval=symbols.loc[symbol, "interval"])  # as stored
        days = pd.DatetimeIndex(np.asarray(response.bars.dates, dtype="int64").astype("datetime64[D]"))
        assert len(days) == symbols.loc[symbol, "bar_count"]
        assert days[0] == symbols.loc[symbol, "first_date"]
        assert days[-1] == symbols.loc[symbol, "last_date"]
        assert response.bars.time_zone == symbols.loc[symbol, "time_zone"]


# -- conventions and first_valid_index --------------------------------------------

MACD_COLUMNS = ["macd", "signal", "histogram"]


def test_talib_macd_has_33_warm_up_bars_over_the_whole_history(client: IdcClient) -> None:
    response = client.macd_response("SPY", convention="talib")
    frame = client.macd("SPY", convention="talib")

    assert response.first_valid_index == 33
    assert response.convention == indicators_pb2.CONVENTION_TALIB
    assert len(response.macd) == len(response.bars.dates) - 33
    assert len(frame) == 8347
    assert frame.attrs["convention"] == "talib"
    assert frame[MACD_COLUMNS].iloc[:33].isna().all().all()
    assert frame[MACD_COLUMNS].iloc[33:].notna().all().all()
    assert not frame[["open", "high", "low", "close", "volume"]].isna().any().any()
    rows = macd_rows(response)
    assert np.isnan(rows[32].macd)
    assert not np.isnan(rows[33].macd)


def test_tdx_macd_has_a_value_on_every_bar(client: IdcClient) -> None:
    response = client.macd_response("SPY", convention="TDX")
    frame = client.macd("SPY", convention="tdx")

    assert response.first_valid_index == 0
    assert response.convention == indicators_pb2.CONVENTION_TDX
    assert len(frame) == 8347
    assert frame.attrs["convention"] == "tdx"
    assert not frame.isna().any().any()


def test_the_default_convention_is_talib(client: IdcClient) -> None:
    default = client.macd_response("SPY")

    assert default.convention == indicators_pb2.CONVENTION_TALIB
    assert default == client.macd_response("SPY", convention="talib")


@pytest.mark.parametrize(("start_row", "first_valid_index"), [(0, 33), (10, 23), (32, 1), (33, 0), (40, 0)])
def test_a_window_cut_from_the_warm_up_keeps_the_whole_series_values(
    client: IdcClient, start_row: int, first_valid_index: int
) -> None:
    whole = client.macd("SPY", convention="talib")
    start = whole.index[start_row].date()
    end = whole.index[60].date()

    response = client.macd_response("SPY", start, end, convention="talib")
    window = client.macd("SPY", start, end, convention="talib")

    assert response.first_valid_index == first_valid_index
    pd.testing.assert_frame_equal(window, whole.iloc[start_row:61], check_exact=False, atol=1e-12, rtol=0)


def test_shanghai_composite_tdx_macd_on_2026_06_16(client: IdcClient) -> None:
    frame = client.macd("000001.SH", "2026-06-16", "2026-06-16", convention="tdx")

    assert list(frame.index) == [pd.Timestamp("2026-06-16", tz="Asia/Shanghai")]
    row = frame.iloc[0]
    assert row["macd"] == pytest.approx(SSE_TDX["macd"], abs=1e-6)
    assert row["signal"] == pytest.approx(SSE_TDX["signal"], abs=1e-6)
    assert row["histogram"] == pytest.approx(SSE_TDX["histogram"], abs=1e-6)
    assert row["histogram"] == pytest.approx(2 * (row["macd"] - row["signal"]), abs=1e-9)


def test_spy_talib_macd_on_2023_12_29(client: IdcClient) -> None:
    row = client.macd("SPY", "2023-12-29", "2023-12-29", convention="talib").iloc[0]

    assert row["macd"] == pytest.approx(SPY["macd"], abs=1e-6)
    assert row["signal"] == pytest.approx(SPY["signal"], abs=1e-6)
    assert row["histogram"] == pytest.approx(row["macd"] - row["signal"], abs=1e-6)


def test_tdx_histogram_is_twice_macd_minus_signal_on_every_bar(client: IdcClient) -> None:
    frame = client.macd("SPY", convention="tdx")

    np.testing.assert_allclose(frame["histogram"], 2 * (frame["macd"] - frame["signal"]), rtol=0, atol=1e-9)


def test_talib_histogram_is_macd_minus_signal_on_every_bar(client: IdcClient) -> None:
    frame = client.macd("SPY", convention="talib").iloc[33:]

    np.testing.assert_allclose(frame["histogram"], frame["macd"] - frame["signal"], rtol=0, atol=1e-9)


def test_conventions_differ(client: IdcClient) -> None:
    talib = client.macd("SPY", "2023-12-29", "2023-12-29", convention="talib").iloc[0]
    tdx = client.macd("SPY", "2023-12-29", "2023-12-29", convention="tdx").iloc[0]

    assert tdx["close"] == talib["close"]
    assert tdx["histogram"] != pytest.approx(talib["histogram"], abs=1e-6)


def test_graph_accepts_a_convention(client: IdcClient) -> None:
    image = client.graph("000001.SH", "2026-01-01", width=400, height=300, convention="tdx")

    assert image.media_type == "image/png"
    assert (image.width_px, image.height_px) == (400, 300)


# -- ComputeIndicators -------------------------------------------------------------

ALL_SPECS = [sma(20, label="sma20"), ema(), macd(), rsi(), boll(), kdj()]
# What each column's values mean (Series.kind): moving averages and bands are prices, MACD is a price
# difference (unitless), RSI and KDJ are percent.
ALL_KINDS = {
    **dict.fromkeys(["sma20", "ema", "boll.upper", "boll.middle", "boll.lower"], "price"),
    **dict.fromkeys(["macd.macd", "macd.signal", "macd.histogram"], "unitless"),
    **dict.fromkeys(["rsi", "kdj.k", "kdj.d", "kdj.j"], "percent"),
}
ALL_COLUMNS = [
    "sma20",
    "ema",
    "macd.macd",
    "macd.signal",
    "macd.histogram",
    "rsi",
    "boll.upper",
    "boll.middle",
    "boll.lower",
    "kdj.k",
    "kdj.d",
    "kdj.j",
]


@pytest.mark.parametrize("convention", ["talib", "tdx"])
def test_indicators_of_spy_2023(client: IdcClient, convention: str) -> None:
    frame = client.indicators(ALL_SPECS, "SPY", "2023-01-01", "2023-12-31", convention=convention)
    bars = client.macd("SPY", "2023-01-01", "2023-12-31", convention=convention)
    closes = client.macd("SPY", end="2023-12-29")["close"]

    assert list(frame.columns) == ALL_COLUMNS
    assert all(dtype == np.float64 for dtype in frame.dtypes)
    assert frame.index.equals(bars.index)
    assert frame.index.name == "time"
    assert frame.attrs == {
        "symbol": "SPY",
        "convention": convention,
        "kinds": ALL_KINDS,
        "interval": "1d",
        "time_zone": "America/New_York",
        "adjustment": "as-stored",
    }
    assert not frame.isna().any().any()
    assert frame.loc["2023-12-29", "sma20"] == pytest.approx(closes.iloc[-20:].mean(), abs=1e-9)
    for column in MACD_COLUMNS:
        np.testing.assert_allclose(frame[f"macd.{column}"], bars[column], rtol=0, atol=1e-9)
    np.testing.assert_allclose(frame["boll.middle"], frame["sma20"], rtol=0, atol=1e-9)
    assert (frame["boll.upper"] >= frame["boll.middle"]).all()
    assert (frame["boll.lower"] <= frame["boll.middle"]).all()
    for column in ["rsi", "kdj.k", "kdj.d"]:
        assert frame[column].between(0, 100).all(), column
    np.testing.assert_allclose(frame["kdj.j"], 3 * frame["kdj.k"] - 2 * frame["kdj.d"], rtol=0, atol=1e-9)


WARM_UP_SPECS = [
    sma(20, label="sma20"),
    sma(5, label="sma5"),
    ema(),
    ema(12, label="ema12"),
    macd(),
    rsi(),
    boll(),
    kdj(),
]


@pytest.mark.parametrize(
    ("convention", "warm_up"),
    [
        # indicators.proto, Convention.CONVENTION_TALIB: 33 for MACD(12, 26, 9), 14 for RSI(14),
        # 19 for Bollinger(20), period - 1 for SMA and EMA, period - 1 for KDJ.
        (
            "talib",
            {"sma20": 19, "sma5": 4, "ema": 19, "ema12": 11, "macd": 33, "rsi": 14, "boll": 19, "kdj": 8},
        ),
        # CONVENTION_TDX: values from bar 0, bar 1 for RSI. SMA and Bollinger are left to
        # test_tdx_values_start_from_bar_0_as_the_proto_documents.
        ("tdx", {"ema": 0, "ema12": 0, "macd": 0, "rsi": 1, "kdj": 0}),
    ],
)
def test_indicator_warm_ups_follow_the_convention(client: IdcClient, convention: str, warm_up: dict[str, int]) -> None:
    specs = [spec for spec in WARM_UP_SPECS if (spec.label or spec.WhichOneof("parameters")) in warm_up]
    response = client.indicators_response(specs, "SPY", convention=convention)
    frame = client.indicators(specs, "SPY", convention=convention)

    assert len(response.dates) == 8347
    assert len(response.series) == sum(3 if label in ("macd", "boll", "kdj") else 1 for label in warm_up)
    for series in response.series:
        expected = warm_up[series.name.split(".")[0]]
        assert series.first_valid_index == expected, series.name
        assert len(series.values) == 8347 - expected, series.name
        assert frame[series.name].iloc[:expected].isna().all(), series.name
        assert frame[series.name].iloc[expected:].notna().all(), series.name


def test_tdx_warm_up_is_as_the_proto_documents(client: IdcClient) -> None:
    # indicators.proto, Convention.CONVENTION_TDX: EMA, MACD and KDJ from bar 0, RSI from bar 1,
    # SMA and Bollinger (moving windows under both conventions) from bar period - 1.
    specs = [sma(20, label="sma20"), boll(), ema(12), macd(), rsi(6), kdj()]
    response = client.indicators_response(specs, "SPY", convention="tdx")

    assert {series.name: series.first_valid_index for series in response.series} == {
        "sma20": 19,
        "boll.upper": 19,
        "boll.middle": 19,
        "boll.lower": 19,
        "ema": 0,
        "macd.macd": 0,
        "macd.signal": 0,
        "macd.histogram": 0,
        "rsi": 1,
        "kdj.k": 0,
        "kdj.d": 0,
        "kdj.j": 0,
    }


def test_indicator_labels_name_the_series(client: IdcClient) -> None:
    specs = [sma(5, label="sma5"), sma(20, label="sma20"), boll(20, label="bb"), kdj(label="k9"), macd(label="m")]
    frame = client.indicators(specs, "spy", "2023-12-01", "2023-12-29")

    assert list(frame.columns) == [
        "sma5",
        "sma20",
        "bb.upper",
        "bb.middle",
        "bb.lower",
        "k9.k",
        "k9.d",
        "k9.j",
        "m.macd",
        "m.signal",
        "m.histogram",
    ]
    assert frame.attrs["symbol"] == "SPY"
    np.testing.assert_allclose(frame["bb.middle"], frame["sma20"], rtol=0, atol=1e-9)


def test_boll_std_dev_and_width_change_the_bands(client: IdcClient) -> None:
    specs = [
        boll(label="population", std_dev="population"),
        boll(label="sample", std_dev="sample"),
        boll(label="wide", k=3.0, std_dev="population"),
    ]
    frame = client.indicators(specs, "SPY", "2023-12-01", "2023-12-29", convention="talib")
    closes = client.macd("SPY", end="2023-12-29")["close"].iloc[-20:]

    last = frame.loc["2023-12-29"]
    assert last["population.upper"] - last["population.middle"] == pytest.approx(2 * closes.std(ddof=0), abs=1e-9)
    assert last["sample.upper"] - last["sample.middle"] == pytest.approx(2 * closes.std(ddof=1), abs=1e-9)
    assert last["wide.upper"] - last["wide.middle"] == pytest.approx(3 * closes.std(ddof=0), abs=1e-9)


def test_talib_convention_matches_talib_over_spy_s_whole_history(client: IdcClient) -> None:
    talib = pytest.importorskip("talib")
    close: npt.NDArray[np.float64] = client.macd("SPY", convention="talib")["close"].to_numpy()
    frame = client.indicators(ALL_SPECS, "SPY", convention="talib")

    upper, middle, lower = talib.BBANDS(close, timeperiod=20, nbdevup=2.0, nbdevdn=2.0, matype=0)
    macd_line, signal, histogram = talib.MACD(close, fastperiod=12, slowperiod=26, signalperiod=9)
    expected = {
        "sma20": talib.SMA(close, timeperiod=20),
        "ema": talib.EMA(close, timeperiod=20),
        "rsi": talib.RSI(close, timeperiod=14),
        "boll.upper": upper,
        "boll.middle": middle,
        "boll.lower": lower,
        "macd.macd": macd_line,
        "macd.signal": signal,
        "macd.histogram": histogram,
    }
    for name, values in expected.items():
        np.testing.assert_allclose(frame[name].to_numpy(), values, rtol=0, atol=1e-9, err_msg=name)


def test_talib_macd_matches_talib_over_spy_s_whole_history(client: IdcClient) -> None:
    talib = pytest.importorskip("talib")
    frame = client.macd("SPY", convention="talib")

    macd_line, signal, histogram = talib.MACD(frame["close"].to_numpy(), fastperiod=12, slowperiod=26, signalperiod=9)

    np.testing.assert_allclose(frame["macd"].to_numpy(), macd_line, rtol=0, atol=1e-9)
    np.testing.assert_allclose(frame["signal"].to_numpy(), signal, rtol=0, atol=1e-9)
    np.testing.assert_allclose(frame["histogram"].to_numpy(), histogram, rtol=0, atol=1e-9)


# -- inline bars ---------------------------------------------------------------------


@pytest.mark.parametrize("convention", ["talib", "tdx"])
def test_inline_bars_give_the_same_macd_as_the_symbol(client: IdcClient, convention: str) -> None:
    served = client.macd("SPY", convention=convention)

    inline = client.macd(bars=served, convention=convention)
    response = client.macd_response(bars=served, convention=convention)

    assert inline.attrs["symbol"] == ""
    assert inline.attrs["convention"] == convention
    assert inline.index.equals(served.index)
    assert response.first_valid_index == (33 if convention == "talib" else 0)
    np.testing.assert_array_equal(inline[["open", "high", "low", "close", "volume"]], served.iloc[:, :5])
    for column in MACD_COLUMNS:
        np.testing.assert_allclose(inline[column], served[column], rtol=0, atol=1e-9, err_msg=column)


def test_inline_bars_are_cut_to_the_window_after_computing(client: IdcClient) -> None:
    served = client.macd("SPY", "2023-01-01", "2023-12-31")

    inline = client.macd(None, "2023-01-01", "2023-12-31", bars=client.macd("SPY"))

    assert inline.index.equals(served.index)
    np.testing.assert_allclose(inline[MACD_COLUMNS], served[MACD_COLUMNS], rtol=0, atol=1e-9)


def test_indicators_on_inline_bars(client: IdcClient) -> None:
    served = client.macd("SPY")

    inline = client.indicators(ALL_SPECS, None, "2023-01-01", "2023-12-31", bars=served)
    by_symbol = client.indicators(ALL_SPECS, "SPY", "2023-01-01", "2023-12-31")

    assert inline.attrs == {
        "symbol": "",
        "convention": "talib",
        "kinds": ALL_KINDS,
        "interval": "1d",
        "time_zone": "America/New_York",  # the zone of the frame sent
        "adjustment": "as-stored",
    }
    assert inline.index.equals(by_symbol.index)
    np.testing.assert_allclose(inline, by_symbol, rtol=0, atol=1e-9)


def test_inline_bars_may_be_a_bars_message(client: IdcClient) -> None:
    response = client.macd_response("000001.SH", convention="tdx")

    again = client.macd_response(bars=response.bars, convention="tdx")

    assert again.bars == response.bars
    np.testing.assert_allclose(again.macd, response.macd, rtol=0, atol=1e-9)


def test_graph_of_inline_bars(client: IdcClient) -> None:
    image = client.graph(bars=client.macd("AAPL", end="2010-12-31"), width=400, height=300, convention="tdx")

    assert image.media_type == "image/png"
    assert (image.width_px, image.height_px) == (400, 300)


# -- bad requests ----------------------------------------------------------------------


def ten_bars() -> pd.DataFrame:
    """Ten valid daily bars, 2024-01-01..2024-01-10, closing at 100..109."""
    close = np.arange(100.0, 110.0)
    return pd.DataFrame(
        {"open": close - 0.5, "high": close + 1.0, "low": close - 1.0, "close": close, "volume": np.full(10, 1e6)},
        index=pd.date_range("2024-01-01", periods=10, freq="D", name="date"),
    )


def ten_bars_with(row: int, column: str, value: float) -> pd.DataFrame:
    """``ten_bars`` with one value replaced."""
    frame = ten_bars()
    frame.loc[frame.index[row], column] = value
    return frame


def unordered_bars() -> pd.DataFrame:
    """``ten_bars`` with its 4th and 5th dates swapped."""
    frame = ten_bars()
    dates = list(frame.index)
    dates[3], dates[4] = dates[4], dates[3]
    return frame.set_axis(pd.DatetimeIndex(dates, name="date"))


def short_volume_bars() -> bars_pb2.Bars:
    """A ``Bars`` message whose volume column is one bar short."""
    bars = bars_pb2.Bars(
        dates=range(19723, 19733), open=[100.0] * 10, high=[101.0] * 10, low=[99.0] * 10, close=[100.5] * 10
    )
    bars.volume.extend([1e6] * 9)
    return bars


def twenty_bars() -> pd.DataFrame:
    """Twenty valid daily bars: fewer than the 26 of MACD's default slow period."""
    close = 100.0 + np.sin(np.arange(20.0))
    return pd.DataFrame(
        {"open": close, "high": close + 1.0, "low": close - 1.0, "close": close, "volume": np.full(20, 1e6)},
        index=pd.date_range("2024-01-01", periods=20, freq="D", name="date"),
    )


def raw_macd(request: indicator_service_pb2.GetMACDRequest) -> indicator_service_pb2.GetMACDResponse:
    """Call GetMACD with a hand-built request, through the generated stub."""
    with grpc.insecure_channel(TARGET) as channel:
        response: indicator_service_pb2.GetMACDResponse = indicator_service_pb2_grpc.IndicatorServiceStub(
            channel
        ).GetMACD(request, timeout=60.0)
        return response


def raw_indicators(
    request: indicator_service_pb2.ComputeIndicatorsRequest,
) -> indicator_service_pb2.ComputeIndicatorsResponse:
    """Call ComputeIndicators with a hand-built request, through the generated stub."""
    with grpc.insecure_channel(TARGET) as channel:
        response: indicator_service_pb2.ComputeIndicatorsResponse = indicator_service_pb2_grpc.IndicatorServiceStub(
            channel
        ).ComputeIndicators(request, timeout=60.0)
        return response


def raw_graph(request: indicator_graph_service_pb2.GetMACDGraphRequest) -> int:
    """Call GetMACDGraph with a hand-built request and return the number of messages streamed."""
    with grpc.insecure_channel(TARGET) as channel:
        stub = indicator_graph_service_pb2_grpc.IndicatorGraphServiceStub(channel)
        return len(list(stub.GetMACDGraph(request, timeout=60.0)))


UNKNOWN_CONVENTION: Any = 7  # Not a Convention member: only a raw request can carry it.
UNKNOWN_STD_DEV: Any = 9

ERRORS: list[tuple[str, Callable[[IdcClient], Any], grpc.StatusCode, str | None]] = [
    (
        "malformed start",
        lambda c: c.macd("SPY", "2023-13-01"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "start_date",
    ),
    (
        "end before start",
        lambda c: c.macd("SPY", "2023-02-01", "2023-01-01"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "end_date",
    ),
    ("unknown symbol", lambda c: c.macd("NOPE"), grpc.StatusCode.NOT_FOUND, None),
    ("weekend window", lambda c: c.macd("SPY", "2023-01-07", "2023-01-08"), grpc.StatusCode.NOT_FOUND, None),
    (
        "negative period",
        lambda c: c.macd("SPY", fast=-1),
        grpc.StatusCode.INVALID_ARGUMENT,
        "parameters.fast_period",
    ),
    (
        "fast not below slow",
        lambda c: c.macd("SPY", fast=26, slow=12),
        grpc.StatusCode.INVALID_ARGUMENT,
        "parameters.fast_period",
    ),
    ("graph too narrow", lambda c: c.graph("SPY", width=50), grpc.StatusCode.INVALID_ARGUMENT, "width_px"),
    ("graph unknown symbol", lambda c: c.graph("NOPE"), grpc.StatusCode.NOT_FOUND, None),
    # Inline bars.
    (
        "NaN close",
        lambda c: c.macd(bars=ten_bars_with(3, "close", float("nan"))),
        grpc.StatusCode.INVALID_ARGUMENT,
        "inline_bars.close",
    ),
    (
        "NaN close for indicators",
        lambda c: c.indicators([sma(2)], bars=ten_bars_with(3, "close", float("nan"))),
        grpc.StatusCode.INVALID_ARGUMENT,
        "inline_bars.close",
    ),
    (
        "NaN close for graph",
        lambda c: c.graph(bars=ten_bars_with(3, "close", float("nan"))),
        grpc.StatusCode.INVALID_ARGUMENT,
        "inline_bars.close",
    ),
    (
        "infinite volume",
        lambda c: c.indicators([sma(2)], bars=ten_bars_with(0, "volume", float("inf"))),
        grpc.StatusCode.INVALID_ARGUMENT,
        "inline_bars.volume",
    ),
    (
        "dates not increasing",
        lambda c: c.indicators([sma(2)], bars=unordered_bars()),
        grpc.StatusCode.INVALID_ARGUMENT,
        "inline_bars.dates",
    ),
    (
        "repeated date",
        lambda c: c.macd(bars=ten_bars().set_axis(pd.DatetimeIndex(["2024-01-01"] * 10))),
        grpc.StatusCode.INVALID_ARGUMENT,
        "inline_bars.dates",
    ),
    (
        "high below low",
        lambda c: c.indicators([sma(2)], bars=ten_bars_with(2, "high", 98.0)),
        grpc.StatusCode.INVALID_ARGUMENT,
        "inline_bars.high",
    ),
    (
        "short volume column",
        lambda c: c.indicators([sma(2)], bars=short_volume_bars()),
        grpc.StatusCode.INVALID_ARGUMENT,
        "inline_bars.volume",
    ),
    (
        "short volume column for macd",
        lambda c: c.macd(bars=short_volume_bars()),
        grpc.StatusCode.INVALID_ARGUMENT,
        "inline_bars.volume",
    ),
    (
        "macd on 20 inline bars",
        lambda c: c.macd(bars=twenty_bars()),
        grpc.StatusCode.INVALID_ARGUMENT,
        "parameters.slow_period",
    ),
    (
        "graph of 20 inline bars",
        lambda c: c.graph(bars=twenty_bars()),
        grpc.StatusCode.INVALID_ARGUMENT,
        "parameters.slow_period",
    ),
    (
        "macd spec on 20 inline bars",
        lambda c: c.indicators([macd()], bars=twenty_bars()),
        grpc.StatusCode.INVALID_ARGUMENT,
        "indicators[0].macd.slow_period",
    ),
    (
        "rsi period not below the number of inline bars",
        lambda c: c.indicators([sma(2), rsi(10)], bars=ten_bars()),
        grpc.StatusCode.INVALID_ARGUMENT,
        "indicators[1].rsi.period",
    ),
    # ComputeIndicators specs.
    ("no indicators", lambda c: c.indicators([], "SPY"), grpc.StatusCode.INVALID_ARGUMENT, "indicators"),
    (
        "empty spec",
        lambda c: c.indicators([indicators_pb2.IndicatorSpec()], "SPY"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "indicators[0]",
    ),
    (
        "negative sma period",
        lambda c: c.indicators([sma(-1)], "SPY"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "indicators[0].sma.period",
    ),
    (
        "macd fast not below slow",
        lambda c: c.indicators([macd(26, 12)], "SPY"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "indicators[0].macd.fast_period",
    ),
    (
        "negative boll k",
        lambda c: c.indicators([boll(k=-1.0)], "SPY"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "indicators[0].boll.k",
    ),
    (
        "sma longer than the inline bars",
        lambda c: c.indicators([sma(50)], bars=ten_bars()),
        grpc.StatusCode.INVALID_ARGUMENT,
        "indicators[0].sma.period",
    ),
    (
        "unknown convention",
        lambda c: raw_indicators(
            indicator_service_pb2.ComputeIndicatorsRequest(
                symbol="SPY", convention=UNKNOWN_CONVENTION, indicators=[sma()]
            )
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "convention",
    ),
    (
        "unknown convention for macd",
        lambda c: raw_macd(indicator_service_pb2.GetMACDRequest(symbol="SPY", convention=UNKNOWN_CONVENTION)),
        grpc.StatusCode.INVALID_ARGUMENT,
        "convention",
    ),
    (
        "unknown convention for graph",
        lambda c: raw_graph(
            indicator_graph_service_pb2.GetMACDGraphRequest(symbol="SPY", convention=UNKNOWN_CONVENTION)
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "convention",
    ),
    (
        "unknown boll std_dev",
        lambda c: c.indicators(
            [
                indicators_pb2.IndicatorSpec(
                    boll=indicators_pb2.BollingerParameters(std_dev=UNKNOWN_STD_DEV),
                )
            ],
            "SPY",
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "indicators[0].boll.std_dev",
    ),
    (
        "duplicate labels",
        lambda c: c.indicators([sma(5, label="ma"), ema(5, label="ma")], "SPY"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "indicators[1].label",
    ),
    (
        "duplicate default labels",
        lambda c: c.indicators([rsi(6), rsi(12)], "SPY"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "indicators[1].label",
    ),
    (
        "bad label",
        lambda c: c.indicators([sma(label="Bad-Label")], "SPY"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "indicators[0].label",
    ),
    ("indicators of unknown symbol", lambda c: c.indicators([sma()], "NOPE"), grpc.StatusCode.NOT_FOUND, None),
    (
        "indicators of a weekend window",
        lambda c: c.indicators([sma()], "SPY", "2023-01-07", "2023-01-08"),
        grpc.StatusCode.NOT_FOUND,
        None,
    ),
    (
        "indicators with a malformed date",
        lambda c: c.indicators([sma()], "SPY", "2023-02-30"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "start_date",
    ),
    (
        "inline bars outside the window",
        lambda c: c.indicators([sma(2)], None, "2030-01-01", bars=ten_bars()),
        grpc.StatusCode.NOT_FOUND,
        None,
    ),
]


@pytest.mark.parametrize(("call", "code", "field"), [case[1:] for case in ERRORS], ids=[case[0] for case in ERRORS])
def test_bad_requests_fail_with_the_documented_code_and_field(
    client: IdcClient, call: Callable[[IdcClient], Any], code: grpc.StatusCode, field: str | None
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        call(client)

    assert caught.value.code() == code
    if field is not None:
        assert [name for name, _ in field_violations(caught.value)] == [field]
        assert field in (caught.value.details() or "")


def test_client_still_works_after_errors(client: IdcClient) -> None:
    for _, call, _, _ in ERRORS:
        with pytest.raises(grpc.RpcError):
            call(client)

    frame = client.macd("SPY", "2023-12-29", "2023-12-29")
    table = client.indicators([sma(20, label="sma20")], "SPY", "2023-12-29", "2023-12-29", convention="tdx")

    assert frame.iloc[0]["macd"] == pytest.approx(SPY["macd"], abs=1e-6)
    assert list(table.index) == [pd.Timestamp("2023-12-29", tz="America/New_York")]
    assert table.attrs == {
        "symbol": "SPY",
        "convention": "tdx",
        "kinds": {"sma20": "price"},
        "interval": "1d",
        "time_zone": "America/New_York",
        "adjustment": "as-stored",
    }


def test_empty_inline_bars_are_invalid(client: IdcClient) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        client.indicators([sma()], bars=bars_pb2.Bars())

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    fields = [name for name, _ in field_violations(caught.value)]
    assert len(fields) == 1
    assert fields[0].startswith("inline_bars.")


def test_cli_macd_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["macd", "--target", TARGET, "--symbol", "SPY", "--start", "2023-12-20", "--end", "2023-12-29"])

    out = capsys.readouterr().out
    assert status == 0
    assert "2023-12-29" in out
    assert "7.488092" in out


def test_cli_graph_writes_the_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "macd.png"

    status = main(["graph", "--target", TARGET, "--width", "800", "--height", "600", "-o", str(output)])

    out = capsys.readouterr().out
    assert status == 0
    data = output.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert hashlib.sha256(data).hexdigest() in out


def test_cli_reports_errors_on_stderr_and_exits_with_the_code(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["macd", "--target", TARGET, "--start", "2023-13-01"])

    err = capsys.readouterr().err
    assert status == 3  # INVALID_ARGUMENT
    assert err.startswith("error: INVALID_ARGUMENT: ")
    assert "  start_date: " in err


def test_cli_indicators_prints_the_columns(client: IdcClient, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["indicators", "--target", TARGET, "--symbol", "SPY", "--start", "2023-12-01", "--end", "2023-12-29"]

    status = main([*argv, "--sma", "20", "--rsi", "14", "--macd", "--convention", "tdx", "--csv"])

    assert status == 0
    printed = pd.read_csv(io.StringIO(capsys.readouterr().out), index_col="date", parse_dates=["date"])
    expected = client.indicators(
        [sma(20, label="sma20"), rsi(14, label="rsi14"), macd()], "SPY", "2023-12-01", "2023-12-29", convention="tdx"
    )
    assert list(printed.columns) == ["sma20", "rsi14", "macd.macd", "macd.signal", "macd.histogram"]  # flag order
    assert list(printed.index) == list(pd.DatetimeIndex(expected.index).tz_localize(None))
    np.testing.assert_allclose(printed[expected.columns], expected, rtol=1e-12)


def test_cli_symbols_prints_the_symbols(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["symbols", "--target", TARGET])

    lines = capsys.readouterr().out.splitlines()
    assert status == 0
    assert lines[0].split() == ["symbol", "first", "last", "bars", "state", "adjusted", "interval", "time_zone"]
    spy = ["SPY", "1993-01-29", "2026-03-27", "8347", "ready", "splits+dividends", "1d", "America/New_York"]
    assert lines[-2].split() == spy
    assert lines[-1] == "default symbol: SPY"


# -- GetChart -------------------------------------------------------------------------


def all_panels() -> list[indicator_graph_service_pb2.ChartPanel]:
    """A volume, a MACD, an RSI and a KDJ panel, with the server's default parameters."""
    return [volume_panel(), macd_panel(), rsi_panel(), kdj_panel()]


def spy_2023_chart(client: IdcClient, **kwargs: Any) -> Image:
    """SPY's 2023 chart with every panel, an SMA(20) and Bollinger Bands(20)."""
    return client.chart(
        "SPY",
        "2023-01-01",
        "2023-12-31",
        panels=all_panels(),
        overlays=[sma_overlay(20), boll_overlay(20)],
        **kwargs,
    )


def raw_chart(
    request: indicator_graph_service_pb2.GetChartRequest,
) -> list[indicator_graph_service_pb2.GetChartResponse]:
    """Call GetChart with a hand-built request through the generated stub, returning every message."""
    with grpc.insecure_channel(TARGET) as channel:
        stub = indicator_graph_service_pb2_grpc.IndicatorGraphServiceStub(channel)
        return list(stub.GetChart(request, timeout=60.0))


def chunk_sizes(messages: list[Any]) -> list[int]:
    """The chunk lengths of a GetChart or GetMACDGraph stream, after checking that they add up to the metadata."""
    assert messages[0].WhichOneof("payload") == "metadata"
    assert all(message.WhichOneof("payload") == "chunk" for message in messages[1:])
    data = b"".join(message.chunk for message in messages[1:])
    assert len(data) == messages[0].metadata.size_bytes
    assert hashlib.sha256(data).digest() == messages[0].metadata.sha256
    return [len(message.chunk) for message in messages[1:]]


def test_chart_of_spy_2023_is_a_verified_png_at_120_dpi(client: IdcClient) -> None:
    from PIL import Image as PILImage

    image = spy_2023_chart(client, width=1000, height=700, dpi=120)

    assert image.media_type == "image/png"
    assert (image.width_px, image.height_px, image.dpi) == (1000, 700, 120)
    assert image.sha256 == hashlib.sha256(image.data).digest()
    with PILImage.open(io.BytesIO(image.data)) as decoded:
        assert decoded.format == "PNG"
        assert decoded.size == (1000, 700)
        assert decoded.info["dpi"] == pytest.approx((120, 120), abs=0.5)


def test_chart_of_an_empty_request_is_a_1200x800_png(client: IdcClient) -> None:
    from PIL import Image as PILImage

    messages = raw_chart(indicator_graph_service_pb2.GetChartRequest())
    image = client.chart()

    metadata = messages[0].metadata
    assert (metadata.media_type, metadata.width_px, metadata.height_px, metadata.dpi) == ("image/png", 1200, 800, 100)
    chunk_sizes(messages)
    assert (image.media_type, image.width_px, image.height_px, image.dpi) == ("image/png", 1200, 800, 100)
    with PILImage.open(io.BytesIO(image.data)) as decoded:
        assert decoded.size == (1200, 800)
        assert decoded.info["dpi"] == pytest.approx((100, 100), abs=0.5)


def test_chart_as_svg_parses_as_xml(client: IdcClient) -> None:
    image = spy_2023_chart(client, format="svg", width=1000, height=700)

    assert image.media_type == "image/svg+xml"
    assert image.sha256 == hashlib.sha256(image.data).digest()
    root = ET.fromstring(image.data)
    assert root.tag in ("svg", "{http://www.w3.org/2000/svg}svg")


def test_chart_as_jpeg_decodes_at_its_size(client: IdcClient) -> None:
    from PIL import Image as PILImage

    image = spy_2023_chart(client, format="jpeg", width=900, height=600, dpi=150)

    assert (image.media_type, image.width_px, image.height_px, image.dpi) == ("image/jpeg", 900, 600, 150)
    with PILImage.open(io.BytesIO(image.data)) as decoded:
        assert decoded.format == "JPEG"
        assert decoded.size == (900, 600)
        assert decoded.info["dpi"] == pytest.approx((150, 150), abs=0.5)


def test_chart_as_webp_is_lossless_and_decodes_at_its_size(client: IdcClient) -> None:
    from PIL import Image as PILImage

    image = spy_2023_chart(client, format="webp", width=800, height=500)

    assert (image.media_type, image.width_px, image.height_px) == ("image/webp", 800, 500)
    assert image.data[:4] == b"RIFF"
    assert image.data[8:12] == b"WEBP"
    assert b"VP8L" in image.data  # The lossless bitstream.
    with PILImage.open(io.BytesIO(image.data)) as decoded:
        assert decoded.format == "WEBP"
        assert decoded.size == (800, 500)
        decoded.load()


def test_chart_of_inline_bars(client: IdcClient) -> None:
    image = client.chart(
        bars=client.macd("AAPL", end="2010-12-31"), panels=all_panels(), width=400, height=300, convention="tdx"
    )

    assert (image.media_type, image.width_px, image.height_px) == ("image/png", 400, 300)


def test_identical_charts_are_byte_identical(client: IdcClient) -> None:
    first = spy_2023_chart(client, width=800, height=600)
    second = spy_2023_chart(client, width=800, height=600)

    assert first.data == second.data


def test_the_dark_theme_and_cn_colours_change_the_image(client: IdcClient) -> None:
    light = spy_2023_chart(client, width=800, height=600, theme="light")
    dark = spy_2023_chart(client, width=800, height=600, theme="dark")
    cn = spy_2023_chart(client, width=800, height=600, theme="light", scheme="cn")

    assert dark.data != light.data
    assert cn.data != light.data


def test_chart_chunks_of_1024_bytes(client: IdcClient) -> None:
    request = indicator_graph_service_pb2.GetChartRequest(
        symbol="SPY", start_date="2023-01-01", end_date="2023-12-31", chunk_size_bytes=1024
    )

    sizes = chunk_sizes(raw_chart(request))

    assert len(sizes) > 1
    assert all(1 <= size <= 1024 for size in sizes)
    assert client.chart("SPY", "2023-01-01", "2023-12-31", chunk_size=1024).size_bytes == sum(sizes)


def test_chart_chunks_default_to_64_kib(client: IdcClient) -> None:
    request = indicator_graph_service_pb2.GetChartRequest(symbol="SPY", width_px=2000, height_px=1400)

    messages = raw_chart(request)
    sizes = chunk_sizes(messages)

    assert all(1 <= size <= 65536 for size in sizes)
    if messages[0].metadata.size_bytes > 65536:
        assert len(sizes) > 1


def test_macd_graph_chunks_of_4096_bytes(client: IdcClient) -> None:
    request = indicator_graph_service_pb2.GetMACDGraphRequest(
        symbol="SPY", start_date="2023-01-01", end_date="2023-12-31", chunk_size_bytes=4096
    )
    with grpc.insecure_channel(TARGET) as channel:
        messages = list(indicator_graph_service_pb2_grpc.IndicatorGraphServiceStub(channel).GetMACDGraph(request))

    sizes = chunk_sizes(messages)

    assert len(sizes) > 1
    assert all(1 <= size <= 4096 for size in sizes)
    assert client.graph("SPY", "2023-01-01", "2023-12-31", chunk_size=4096).size_bytes == sum(sizes)


def bad_chart(**fields: Any) -> Callable[[IdcClient], Any]:
    """A call of GetChart for SPY 2023, raw (so that it may carry unknown enum values), with ``fields`` set."""
    request = indicator_graph_service_pb2.GetChartRequest(symbol="SPY", start_date="2023-01-01", end_date="2023-12-31")
    for name, value in fields.items():
        if name in ("panels", "overlays"):
            getattr(request, name).extend(value)
        else:
            setattr(request, name, value)
    return lambda c: raw_chart(request)


UNKNOWN_ENUM: Any = 9

CHART_ERRORS: list[tuple[str, Callable[[IdcClient], Any], grpc.StatusCode, str | None]] = [
    (
        "chunk_size_bytes 100",
        lambda c: c.chart("SPY", chunk_size=100),
        grpc.StatusCode.INVALID_ARGUMENT,
        "chunk_size_bytes",
    ),
    (
        "chunk_size_bytes 2 MiB",
        bad_chart(chunk_size_bytes=2 << 20),
        grpc.StatusCode.INVALID_ARGUMENT,
        "chunk_size_bytes",
    ),
    (
        "8000x8000 is over the pixel limit",
        lambda c: c.chart("SPY", width=8000, height=8000),
        grpc.StatusCode.INVALID_ARGUMENT,
        "width_px",
    ),
    ("width_px 100", lambda c: c.chart("SPY", width=100), grpc.StatusCode.INVALID_ARGUMENT, "width_px"),
    (
        "panel with nothing set",
        lambda c: c.chart("SPY", panels=[indicator_graph_service_pb2.ChartPanel()]),
        grpc.StatusCode.INVALID_ARGUMENT,
        "panels[0]",
    ),
    (
        "panels[1].rsi.period -1",
        lambda c: c.chart("SPY", panels=[volume_panel(), rsi_panel(-1)]),
        grpc.StatusCode.INVALID_ARGUMENT,
        "panels[1].rsi.period",
    ),
    (
        "overlay with nothing set",
        lambda c: c.chart("SPY", overlays=[indicator_graph_service_pb2.ChartOverlay()]),
        grpc.StatusCode.INVALID_ARGUMENT,
        "overlays[0]",
    ),
    ("format 9", bad_chart(format=UNKNOWN_ENUM), grpc.StatusCode.INVALID_ARGUMENT, "format"),
    ("theme 9", bad_chart(theme=UNKNOWN_ENUM), grpc.StatusCode.INVALID_ARGUMENT, "theme"),
    ("color_scheme 9", bad_chart(color_scheme=UNKNOWN_ENUM), grpc.StatusCode.INVALID_ARGUMENT, "color_scheme"),
    ("convention 7", bad_chart(convention=UNKNOWN_CONVENTION), grpc.StatusCode.INVALID_ARGUMENT, "convention"),
    ("dpi 10", lambda c: c.chart("SPY", dpi=10), grpc.StatusCode.INVALID_ARGUMENT, "dpi"),
    (
        "malformed start_date",
        lambda c: c.chart("SPY", "2023-13-01"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "start_date",
    ),
    ("unknown symbol", lambda c: c.chart("NOPE"), grpc.StatusCode.NOT_FOUND, None),
    ("weekend window", lambda c: c.chart("SPY", "2023-01-07", "2023-01-08"), grpc.StatusCode.NOT_FOUND, None),
    (
        "macd graph chunk_size_bytes 100",
        lambda c: c.graph("SPY", chunk_size=100),
        grpc.StatusCode.INVALID_ARGUMENT,
        "chunk_size_bytes",
    ),
]


@pytest.mark.parametrize(
    ("call", "code", "field"), [case[1:] for case in CHART_ERRORS], ids=[case[0] for case in CHART_ERRORS]
)
def test_bad_charts_fail_with_the_documented_code_and_field(
    client: IdcClient, call: Callable[[IdcClient], Any], code: grpc.StatusCode, field: str | None
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        call(client)

    assert caught.value.code() == code
    if field is not None:
        assert [name for name, _ in field_violations(caught.value)] == [field]
        assert field in (caught.value.details() or "")


def test_a_chart_past_its_deadline_stops_its_render_and_the_next_call_succeeds(client: IdcClient) -> None:
    client.chart("SPY", "2023-01-01", "2023-12-31", width=400, height=300)  # a warm channel
    # A large SVG of SPY's whole history with every panel and overlay (about
    # 1.5 s to render on a 2-core machine). A deadline so short that the call
    # ends before its render starts proves nothing, so it doubles until a
    # render has started; then the render must be abandoned, which a render
    # run to the end never is.
    for timeout in (0.05, 0.1, 0.2, 0.4, 0.8, 1.6):
        started, abandoned = render_counters()
        with pytest.raises(grpc.RpcError) as caught:
            client.chart(
                "SPY",
                panels=all_panels(),
                overlays=[sma_overlay(20), ema_overlay(12), boll_overlay(20)],
                format="svg",
                width=8000,
                height=2000,
                dpi=random.randint(60, 559),  # new on every call, so the render cache cannot hold it
                timeout=timeout,
            )
        assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        if render_counters()[0] > started:
            break
    else:
        pytest.fail("no render started before its deadline passed, even with 1.6 s")
    # The server stops the render at its next checkpoint.
    deadline = time.monotonic() + 60
    while render_counters()[1] <= abandoned:
        assert time.monotonic() < deadline, f"no render abandoned after a {timeout} s deadline: it ran to the end"
        time.sleep(0.1)
    image = client.chart("SPY", "2023-01-01", "2023-12-31", width=400, height=300)
    assert (image.media_type, image.width_px, image.height_px) == ("image/png", 400, 300)


def test_cli_chart_writes_the_image(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from PIL import Image as PILImage

    output = tmp_path / "spy.webp"
    argv = ["chart", "--target", TARGET, "--symbol", "SPY", "--start", "2023-01-01", "--end", "2023-12-31"]

    status = main(
        [*argv, "--panels", "volume,rsi", "--sma", "20", "--format", "webp", "--width", "640", "-o", str(output)]
    )

    out = capsys.readouterr().out
    assert status == 0
    data = output.read_bytes()
    assert hashlib.sha256(data).hexdigest() in out
    assert f"wrote {output}: image/webp 640x800 at 100 dpi, {len(data)} bytes, sha256 " in out
    with PILImage.open(output) as decoded:
        assert decoded.size == (640, 800)


# -- the shared expectations' charts and bad requests ---------------------------------

SHARED_METHODS: dict[str, tuple[type[Any], type[Any], str]] = {
    "idc.v1.IndicatorService/GetMACD": (
        indicator_service_pb2_grpc.IndicatorServiceStub,
        indicator_service_pb2.GetMACDRequest,
        "GetMACD",
    ),
    "idc.v1.IndicatorService/ComputeIndicators": (
        indicator_service_pb2_grpc.IndicatorServiceStub,
        indicator_service_pb2.ComputeIndicatorsRequest,
        "ComputeIndicators",
    ),
    "idc.v1.IndicatorGraphService/GetMACDGraph": (
        indicator_graph_service_pb2_grpc.IndicatorGraphServiceStub,
        indicator_graph_service_pb2.GetMACDGraphRequest,
        "GetMACDGraph",
    ),
    "idc.v1.IndicatorGraphService/GetChart": (
        indicator_graph_service_pb2_grpc.IndicatorGraphServiceStub,
        indicator_graph_service_pb2.GetChartRequest,
        "GetChart",
    ),
}


def shared_call(method: str, request: dict[str, Any]) -> Any:
    """Call ``method`` with the proto3 JSON ``request`` through the generated stub; a stream is read to its end."""
    stub_class, request_class, name = SHARED_METHODS[method]
    with grpc.insecure_channel(TARGET) as channel:
        answer = getattr(stub_class(channel), name)(json_format.ParseDict(request, request_class()), timeout=60.0)
        return list(answer) if name in ("GetChart", "GetMACDGraph") else answer


@pytest.mark.parametrize("case", EXPECTATIONS["charts"], ids=[case["name"] for case in EXPECTATIONS["charts"]])
def test_shared_charts_decode_to_their_size(case: dict[str, Any]) -> None:
    from PIL import Image as PILImage

    messages = shared_call(case["method"], case["request"])
    chunk_sizes(messages)
    metadata = messages[0].metadata
    data = b"".join(message.chunk for message in messages[1:])

    assert (metadata.media_type, metadata.width_px, metadata.height_px, metadata.dpi) == (
        case["media_type"],
        case["width"],
        case["height"],
        case["dpi"],
    )
    with PILImage.open(io.BytesIO(data)) as decoded:
        assert decoded.size == (case["width"], case["height"])


@pytest.mark.parametrize(
    "case", EXPECTATIONS["bad_requests"], ids=[case["name"] for case in EXPECTATIONS["bad_requests"]]
)
def test_shared_bad_requests_fail_with_their_code_and_field(case: dict[str, Any]) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        shared_call(case["method"], case["request"])

    assert caught.value.code().name == case["code"]
    if case["field"] is not None:
        assert [name for name, _ in field_violations(caught.value)] == [case["field"]]
        assert case["field"] in (caught.value.details() or "")


# -- the open catalogue: ListIndicators, names, formulas, the example plugin, Screen ------------------------


def spy_bars(client: IdcClient, symbol: str = "SPY", end: str | None = None) -> pd.DataFrame:
    """A symbol's bars up to ``end`` (its whole history by default), from GetMACD."""
    return client.macd(symbol, end=end)[["open", "high", "low", "close", "volume"]]


def test_list_indicators_has_talib_the_formula_files_and_the_example_plugin(client: IdcClient) -> None:
    import talib
    import talib.abstract

    entries = client.list_indicators()
    names = [entry.name for entry in entries]
    assert names == sorted(names)
    by_namespace: dict[str, int] = {}
    for entry in entries:
        by_namespace[entry.namespace] = by_namespace.get(entry.namespace, 0) + 1
    # Every TA-Lib function but MAVP (which takes a second series of periods).
    assert by_namespace["talib"] == len(talib.get_functions()) - 1
    assert by_namespace["tdx"] >= 18
    assert by_namespace["idc"] == 6
    adx = next(entry for entry in entries if entry.name == "talib.ADX")
    assert adx.param("timeperiod").default == 14
    assert adx.warm_up("talib") == talib.abstract.Function("ADX").lookback
    assert [entry.name for entry in client.list_indicators("example")] == ["example.DONCHIAN", "example.ZSCORE"]
    zscore = next(entry for entry in entries if entry.name == "example.ZSCORE")
    assert (zscore.inputs, [o.kind for o in zscore.outputs], zscore.warm_up("talib")) == (("close",), ["unitless"], 19)


def test_describe_indicator_fills_in_defaults(client: IdcClient) -> None:
    described = client.describe_indicator(fn("talib.BBANDS", timeperiod=10, matype="ema", label="bb"))
    assert described.entry.name == "talib.BBANDS"
    assert described.params["timeperiod"] == 10
    assert described.params["matype"] == "EMA"  # canonical spelling
    assert described.series_names == ("bb.upperband", "bb.middleband", "bb.lowerband")
    with pytest.raises(grpc.RpcError) as error:
        client.describe_indicator(fn("talib.SMA", timeperiod=0))
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "spec.params.timeperiod" in [field for field, _ in field_violations(error.value)]


def test_the_example_plugin_by_name_matches_its_definition(client: IdcClient) -> None:
    bars = spy_bars(client)
    frame = client.indicators([fn("example.ZSCORE", timeperiod=10), fn("example.DONCHIAN", label="dc")], "SPY")
    assert list(frame.columns) == ["zscore", "dc.upper", "dc.middle", "dc.lower"]
    assert frame.attrs["kinds"] == {
        "zscore": "unitless",
        "dc.upper": "price",
        "dc.middle": "price",
        "dc.lower": "price",
    }
    closes = bars["close"]
    window = closes.rolling(10)
    expected = (closes - window.mean()) / window.std(ddof=0)
    assert frame["zscore"].isna().sum() == 9
    np.testing.assert_allclose(frame["zscore"].iloc[9:], expected.iloc[9:], rtol=1e-9, atol=1e-9)
    upper = bars["high"].rolling(20).max()
    lower = bars["low"].rolling(20).min()
    np.testing.assert_array_equal(frame["dc.upper"].iloc[19:], upper.iloc[19:])
    np.testing.assert_array_equal(frame["dc.lower"].iloc[19:], lower.iloc[19:])
    np.testing.assert_allclose(frame["dc.middle"].iloc[19:], ((upper + lower) / 2).iloc[19:], rtol=1e-12)


def test_a_talib_entry_by_name_equals_talib(client: IdcClient) -> None:
    import talib

    bars = spy_bars(client)
    frame = client.indicators([fn("talib.ADX", timeperiod=20), fn("talib.BBANDS", timeperiod=10, nbdevup=1.5)], "SPY")
    high, low, close = (bars[column].to_numpy() for column in ("high", "low", "close"))
    np.testing.assert_array_equal(frame["adx"], talib.ADX(high, low, close, timeperiod=20))
    upper, middle, lower = talib.BBANDS(close, timeperiod=10, nbdevup=1.5)
    np.testing.assert_array_equal(frame["bbands.upperband"], upper)
    np.testing.assert_array_equal(frame["bbands.middleband"], middle)
    np.testing.assert_array_equal(frame["bbands.lowerband"], lower)
    assert frame.attrs["kinds"]["adx"] == "percent"


def test_a_formula_equals_its_definition_in_pandas(client: IdcClient) -> None:
    bars = spy_bars(client, "000001.SH")
    text = "// param: N = 12, 2..100, the fast span\nDIF:EMA(C,N)-EMA(C,26); DEA:EMA(DIF,9); UP:CROSS(DIF,DEA);"
    frame = client.indicators([formula(text, N=10)], "000001.SH", convention="tdx")
    assert list(frame.columns) == ["formula.DIF", "formula.DEA", "formula.UP"]
    assert frame.attrs["kinds"]["formula.UP"] == "signal"
    # 通达信's EMA is seeded with the first value: pandas' ewm with adjust=False.
    close = bars["close"]
    dif = close.ewm(span=10, adjust=False).mean() - close.ewm(span=26, adjust=False).mean()
    dea = dif.ewm(span=9, adjust=False).mean()
    up = (dif > dea) & (dif.shift(1) <= dea.shift(1))
    np.testing.assert_allclose(frame["formula.DIF"], dif, rtol=0, atol=1e-9 * close.max())
    np.testing.assert_allclose(frame["formula.DEA"], dea, rtol=0, atol=1e-9 * close.max())
    # The first bar has no previous one to cross from.
    assert frame["formula.UP"].iloc[1:].astype(bool).tolist() == up.iloc[1:].tolist()


def test_screen_of_the_bundled_symbols(client: IdcClient) -> None:
    daily = ["000001.SH", "AAPL", "SPY"]  # the bundled daily symbols (the 1-minute ones have days too few for MA20)
    frame = client.screen(formula("UP:C>MA(C,20); MA20:MA(C,20);"), daily, date="2024-03-28")
    assert frame.attrs["output"] == "UP"
    assert frame.attrs["evaluated_count"] == 3
    assert frame.attrs["skipped"] == {}
    expected = []
    for symbol in daily:
        close = spy_bars(client, symbol, "2024-03-28")["close"]
        ma20 = close.iloc[-20:].mean()
        if close.iloc[-1] > ma20:
            expected.append(symbol)
            assert frame["date"][symbol].date() == close.index[-1].date()  # the trading day, in the zone
            assert frame.loc[symbol, "formula.MA20"] == pytest.approx(ma20, rel=1e-12)
    assert list(frame.index) == expected

    hammer = client.screen(fn("talib.CDLHAMMER"), ["SPY", "aapl"])
    assert hammer.attrs["output"] == "integer"
    assert hammer.attrs["evaluated_count"] + len(hammer.attrs["skipped"]) == 2


def test_screen_at_an_interval_and_adjustment(client: IdcClient) -> None:
    weekly = client.macd("000001.SH", interval="1w")
    close = weekly["close"]
    frame = client.screen(formula("D:C-MA(C,20);"), ["SPY", "000001.SH"], interval="1w", adjustment="forward")

    assert list(frame.attrs["skipped"]) == ["SPY"]  # stored adjusted, without factors
    assert frame.attrs["evaluated_count"] == 1
    assert list(frame.index) == ["000001.SH"]
    assert frame.loc["000001.SH", "formula"] == pytest.approx(close.iloc[-1] - close.iloc[-20:].mean(), rel=1e-9)
    assert frame.loc["000001.SH", "time"] == weekly.index[-1]  # the week's start, 00:00 of its Monday in Shanghai


def test_chart_of_catalogue_entries_and_a_formula(client: IdcClient) -> None:
    from PIL import Image as PILImage

    panels = [indicator_panel(fn("talib.ADX", timeperiod=20)), indicator_panel(formula("GAP:C-MA(C,5);", label="gap"))]
    overlays = [indicator_overlay(fn("example.DONCHIAN")), indicator_overlay(fn("talib.CDLDOJI"))]
    svg = client.chart("SPY", "2025-01-01", panels=panels, overlays=overlays, format="svg")
    # matplotlib draws text as paths and keeps it in comments: each spec is in a legend.
    assert ET.fromstring(svg.data).tag.endswith("svg")
    comments = [comment.strip() for comment in re.findall(r"<!--(.*?)-->", svg.data.decode(), flags=re.DOTALL)]
    for legend in ("ADX", "DONCHIAN", "CDLDOJI", "gap"):
        assert any(comment.startswith(legend) for comment in comments), (legend, comments)
    image = client.chart("SPY", "2025-01-01", panels=panels, overlays=overlays, width=900, height=600)
    with PILImage.open(io.BytesIO(image.data)) as decoded:
        assert (decoded.format, decoded.size) == ("PNG", (900, 600))
    with pytest.raises(grpc.RpcError) as error:
        client.chart(overlays=[indicator_overlay(fn("talib.ADX"))])
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "overlays[0].indicator" in [field for field, _ in field_violations(error.value)]


# -- bars of every interval (issue 13) --------------------------------------------------


def stored_at(client: IdcClient, interval: str, time_zone: str) -> str:
    """The bundled symbol stored at ``interval`` in ``time_zone``, found through ListSymbols."""
    symbols = client.symbols()
    found = symbols[(symbols["interval"] == interval) & (symbols["time_zone"] == time_zone)]
    assert len(found) >= 1, f"no bundled symbol stored at {interval} in {time_zone}:\n{symbols}"
    return str(found.index[0])


def test_shanghai_minutes_start_at_0930_and_skip_the_lunch_break(client: IdcClient) -> None:
    symbol = stored_at(client, "1m", "Asia/Shanghai")

    frame = client.macd(symbol, "2020-07-01", "2020-07-01", interval="1m")

    assert frame.attrs["interval"] == "1m"
    assert str(pd.DatetimeIndex(frame.index).tz) == "Asia/Shanghai"
    assert len(frame) == 240
    # The vendor stamps bars with their end (09:31 first); the server serves their starts.
    first = frame.iloc[0]
    assert frame.index[0].isoformat() == "2020-07-01T09:30:00+08:00"
    assert (first["open"], first["high"], first["low"], first["close"], first["volume"]) == (
        2991.18,
        2991.5,
        2990.34,
        2990.43,
        720858300.0,
    )
    clock = [stamp.strftime("%H:%M") for stamp in frame.index]
    assert (clock[119], clock[120], clock[239]) == ("11:29", "13:00", "14:59")


def test_new_york_minutes_start_at_0930_eastern(client: IdcClient) -> None:
    symbol = stored_at(client, "1m", "America/New_York")

    frame = client.macd(symbol, "2019-11-05T09:30", "2019-11-05T09:31", interval="1m")

    assert [stamp.strftime("%Y-%m-%d %H:%M %Z") for stamp in frame.index] == [
        "2019-11-05 09:30 EST",
        "2019-11-05 09:31 EST",
    ]
    # The file's first row: 11/5/2019 9:30,3080.8,3080.49,3081.47,3080.3,0 (open, close, high, low, volume).
    assert tuple(frame.iloc[0][["open", "close", "high", "low"]]) == (3080.8, 3080.49, 3081.47, 3080.3)


def aggregate(frame: pd.DataFrame, keys: pd.Index | npt.NDArray[Any]) -> pd.DataFrame:
    """The bars of ``frame`` grouped by ``keys`` in order: open first, high max, low min, close last, volume sum."""
    grouped = frame.groupby(keys, sort=False)
    return pd.DataFrame(
        {
            "open": grouped["open"].first(),
            "high": grouped["high"].max(),
            "low": grouped["low"].min(),
            "close": grouped["close"].last(),
            "volume": grouped["volume"].sum(),
        }
    )


def test_five_minute_bars_aggregate_the_minutes_the_server_returns(client: IdcClient) -> None:
    symbol = stored_at(client, "1m", "Asia/Shanghai")
    minutes = client.macd(symbol, interval="1m")

    fives = client.macd(symbol, interval="5m")

    # Both sessions (09:30, 13:00) open on a multiple of 5 minutes: a bar's bucket is its clock rounded down.
    expected = aggregate(minutes, pd.DatetimeIndex(minutes.index).floor("5min"))
    assert fives.attrs["interval"] == "5m"
    assert len(fives) == len(expected) == 11 * 48
    assert list(fives.index) == list(expected.index)
    np.testing.assert_array_equal(fives[["open", "high", "low", "close"]], expected[["open", "high", "low", "close"]])
    np.testing.assert_allclose(fives["volume"], expected["volume"], rtol=1e-12)
    lunch = [stamp for stamp in fives.index if "11:30" <= stamp.strftime("%H:%M") < "13:00"]
    assert lunch == []


def test_weekly_bars_aggregate_the_days_the_server_returns(client: IdcClient) -> None:
    days = client.macd_response("SPY", "2023-01-02", "2023-12-31")
    weeks = client.macd_response("SPY", "2023-01-02", "2023-12-31", interval="1w")

    day_frame = macd_frame(days)
    week_frame = macd_frame(weeks)
    local = pd.DatetimeIndex(day_frame.index).tz_localize(None)
    mondays = local - pd.to_timedelta(local.day_of_week, unit="D")  # weeks run Monday to Sunday
    expected = aggregate(day_frame, mondays)
    assert len(week_frame) == len(expected) == 52
    # A weekly bar starts at 00:00 of its Monday and is dated by its last trading day.
    assert list(pd.DatetimeIndex(week_frame.index).tz_localize(None)) == list(expected.index)
    last_days = pd.Series(list(days.bars.dates)).groupby(np.asarray(mondays)).max()
    assert list(weeks.bars.dates) == list(last_days)
    np.testing.assert_array_equal(
        week_frame[["open", "high", "low", "close"]], expected[["open", "high", "low", "close"]]
    )
    np.testing.assert_allclose(week_frame["volume"], expected["volume"], rtol=1e-12)


def test_a_daily_symbol_is_not_served_finer_than_it_is_stored(client: IdcClient) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        client.macd("SPY", interval="5m")

    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "interval" in (caught.value.details() or "")
    assert "SPY" in (caught.value.details() or "")


# Five days as traded: a 2-for-1 split before the third, a cash dividend before the fifth, with
# tushare-style cumulative factors (price * factor is the 后复权 price). Hand-computed closes:
# forward (前复权) is close * factor / 2.04, backward (后复权) close * factor / 1.
SPLIT_CSV = (
    "date,open,high,low,close,volume,factor\n"
    "2024-01-02,99,101,98,100,1000,1\n2024-01-03,100,103,99,102,1100,1\n2024-01-04,50,52,49.5,51,2400,2\n"
    "2024-01-05,51,53,50,52,2000,2\n2024-01-08,50,51,49,50.5,2100,2.04\n"
)
TRADED = [100, 102, 51, 52, 50.5]
FORWARD = [100 / 2.04, 102 / 2.04, 102 / 2.04, 104 / 2.04, 50.5]
BACKWARD = [100, 102, 102, 104, 103.02]


def split_bars() -> bars_pb2.Bars:
    frame = pd.read_csv(io.StringIO(SPLIT_CSV), index_col="date", parse_dates=["date"])
    bars = bars_message(frame)
    bars.adjustment_factors[:] = frame["factor"].tolist()
    return bars


@pytest.mark.parametrize(
    ("adjustment", "applied", "closes"),
    [
        (None, "as-stored", TRADED),
        ("none", "none", TRADED),
        ("forward", "forward", FORWARD),
        ("backward", "backward", BACKWARD),
    ],
)
def test_inline_bars_are_adjusted_with_their_factors(
    client: IdcClient, adjustment: str | None, applied: str, closes: list[float]
) -> None:
    frame = client.macd(bars=split_bars(), adjustment=adjustment, fast=2, slow=3, signal=2)

    assert frame.attrs["adjustment"] == applied
    np.testing.assert_allclose(frame["close"], closes, rtol=1e-12)
    scale = closes[2] / TRADED[2]  # open, high and low scale alike; volume is as stored
    np.testing.assert_allclose(
        frame.iloc[2][["open", "high", "low"]], [50 * scale, 52 * scale, 49.5 * scale], rtol=1e-12
    )
    assert frame.iloc[2]["volume"] == 2400


def own_server(*flags: str, seconds: float = 120.0) -> tuple[subprocess.Popen[bytes], str]:
    """``python -m idc_server`` with ``flags`` on a free loopback port, once it listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "idc_server", "--host", "127.0.0.1", "--port", str(port), *flags],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + seconds
    while True:
        assert process.poll() is None, f"idc-server {flags} exited with {process.returncode}"
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return process, f"127.0.0.1:{port}"
        assert time.monotonic() < deadline, f"idc-server {flags} not listening in {seconds}s"
        time.sleep(0.05)


def test_a_stored_symbol_with_factors_is_adjusted(tmp_path: Path) -> None:
    (tmp_path / "SPLIT.csv").write_text(SPLIT_CSV, encoding="utf-8")
    process, target = own_server("--data-dir", str(tmp_path))
    try:
        with IdcClient(target, timeout=60.0) as own:
            listed = own.symbols("split")
            assert list(listed.index) == ["SPLIT"]
            adjustments = tuple(listed["adjustments"].iloc[0])
            assert set(adjustments) >= {"as-stored", "none", "forward", "backward"}
            for adjustment, closes in (("forward", FORWARD), ("backward", BACKWARD), ("none", TRADED)):
                frame = own.macd("SPLIT", adjustment=adjustment, fast=2, slow=3, signal=2)
                np.testing.assert_allclose(frame["close"], closes, rtol=1e-12, err_msg=adjustment)
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_prices_are_as_stored_by_default(client: IdcClient) -> None:
    assert client.indicators([sma(5)], "SPY", "2023-12-29").attrs["adjustment"] == "as-stored"


def test_a_symbol_without_factors_says_so(client: IdcClient) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        client.macd("AAPL", adjustment="forward")

    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "AAPL" in (caught.value.details() or "")


def test_an_index_needs_no_adjustment(client: IdcClient) -> None:
    stored = client.macd("000001.SH", "2023-12-29", "2023-12-29")
    forward = client.macd("000001.SH", "2023-12-29", "2023-12-29", adjustment="forward")

    assert forward.attrs["adjustment"] == "forward"
    assert forward["close"].tolist() == stored["close"].tolist()


def test_page_size_1_walks_every_symbol(client: IdcClient) -> None:
    everything = client.symbols()

    pages = list(client.symbol_pages(page_size=1))

    assert [len(page.symbols) for page in pages] == [1] * len(everything)
    assert [page.symbols[0].symbol for page in pages] == list(everything.index)
    assert all(page.default_symbol == everything.attrs["default_symbol"] for page in pages)
    assert pages[-1].next_page_token == ""
    assert len(everything) >= 5  # SPY, AAPL, 000001.SH and the two minute symbols


def test_a_prefix_keeps_its_symbols(client: IdcClient) -> None:
    everything = client.symbols()

    found = [info.symbol for info in client.iter_symbols("spy", page_size=1)]

    assert found == [symbol for symbol in everything.index if symbol.upper().startswith("SPY")]
    assert found


def test_a_bad_page_token_is_invalid_argument(client: IdcClient) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        client.symbols_response(page_token="not-a-token")

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "page_token" in (caught.value.details() or "")


def test_symbols_say_their_intervals_adjustments_and_zone(client: IdcClient) -> None:
    symbols = client.symbols()

    assert symbols.loc["SPY", "interval"] == "1d"
    assert symbols.loc["SPY", "intervals"] == ("1d", "1w", "1mo")
    assert symbols.loc["SPY", "time_zone"] == "America/New_York"
    spy_adjustments = tuple(symbols["adjustments"]["SPY"])
    assert "as-stored" in spy_adjustments
    minute = stored_at(client, "1m", "Asia/Shanghai")
    assert symbols.loc[minute, "intervals"] == ("1m", "5m", "15m", "30m", "1h", "1d", "1w", "1mo")
