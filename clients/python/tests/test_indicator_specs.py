"""Unit tests of the IndicatorSpec builders and convention names in idc_client.indicators."""

from __future__ import annotations

from typing import Any

import pytest

from idc.v1 import bars_pb2, indicators_pb2
from idc_client import boll, convention_name, ema, kdj, macd, parse_convention, rsi, sma

Spec = indicators_pb2.IndicatorSpec


@pytest.mark.parametrize(
    ("spec", "member"),
    [(sma(), "sma"), (ema(), "ema"), (macd(), "macd"), (rsi(), "rsi"), (boll(), "boll"), (kdj(), "kdj")],
    ids=["sma", "ema", "macd", "rsi", "boll", "kdj"],
)
def test_default_builders_set_their_oneof_member_with_zero_parameters(spec: Spec, member: str) -> None:
    assert spec.WhichOneof("parameters") == member
    assert spec.label == ""
    assert spec.HasField(member)
    # Zero fields mean the server's defaults; the member is still sent on the wire.
    assert Spec.FromString(spec.SerializeToString()).WhichOneof("parameters") == member


def test_sma_and_ema_set_period_and_label() -> None:
    assert sma(20, label="sma20") == Spec(label="sma20", sma=indicators_pb2.SMAParameters(period=20))
    assert sma(5, "sma5") == Spec(label="sma5", sma=indicators_pb2.SMAParameters(period=5))
    assert ema(period=12, label="fast") == Spec(label="fast", ema=indicators_pb2.EMAParameters(period=12))


def test_macd_sets_the_three_periods() -> None:
    assert macd(5, 35, 5, label="m") == Spec(
        label="m", macd=bars_pb2.MACDParameters(fast_period=5, slow_period=35, signal_period=5)
    )
    assert macd(slow=40).macd == bars_pb2.MACDParameters(slow_period=40)


def test_rsi_sets_period() -> None:
    assert rsi(6, label="rsi6") == Spec(label="rsi6", rsi=indicators_pb2.RSIParameters(period=6))


@pytest.mark.parametrize(
    ("std_dev", "expected"),
    [
        (None, indicators_pb2.STD_DEV_UNSPECIFIED),
        ("population", indicators_pb2.STD_DEV_POPULATION),
        ("sample", indicators_pb2.STD_DEV_SAMPLE),
        ("Sample", indicators_pb2.STD_DEV_SAMPLE),
    ],
)
def test_boll_sets_period_width_and_std_dev(std_dev: str | None, expected: indicators_pb2.StdDev.ValueType) -> None:
    spec = boll(20, 2.5, std_dev, label="bb")

    assert spec == Spec(label="bb", boll=indicators_pb2.BollingerParameters(period=20, k=2.5, std_dev=expected))


@pytest.mark.parametrize(
    ("seed", "expected"),
    [
        (None, indicators_pb2.KDJ_SEED_UNSPECIFIED),
        ("fifty", indicators_pb2.KDJ_SEED_FIFTY),
        ("first_rsv", indicators_pb2.KDJ_SEED_FIRST_RSV),
        ("FIRST_RSV", indicators_pb2.KDJ_SEED_FIRST_RSV),
    ],
)
def test_kdj_sets_periods_and_seed(seed: str | None, expected: indicators_pb2.KDJSeed.ValueType) -> None:
    spec = kdj(9, 3, 4, seed, label="kdj9")

    assert spec == Spec(label="kdj9", kdj=indicators_pb2.KDJParameters(period=9, k_period=3, d_period=4, seed=expected))


def test_builders_leave_range_checks_to_the_server() -> None:
    # The server answers INVALID_ARGUMENT naming the field; the builders send what they are given.
    assert sma(-1).sma.period == -1
    assert macd(26, 12).macd.fast_period == 26
    assert boll(k=-1.0).boll.k == -1.0
    assert sma(label="Bad-Label").label == "Bad-Label"


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: boll(std_dev="ddof1"), "unknown std_dev 'ddof1'; expected one of 'population', 'sample'"),
        (lambda: kdj(seed="zero"), "unknown seed 'zero'; expected one of 'fifty', 'first_rsv'"),
    ],
    ids=["std_dev", "seed"],
)
def test_unknown_enum_names_raise_value_error(build: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        build()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (None, indicators_pb2.CONVENTION_UNSPECIFIED),
        ("talib", indicators_pb2.CONVENTION_TALIB),
        ("TALIB", indicators_pb2.CONVENTION_TALIB),
        ("tdx", indicators_pb2.CONVENTION_TDX),
        ("Tdx", indicators_pb2.CONVENTION_TDX),
    ],
)
def test_parse_convention(name: str | None, expected: int) -> None:
    assert parse_convention(name) == expected


@pytest.mark.parametrize("name", ["", "ta-lib", "tongdaxin", "unspecified", "1"])
def test_parse_convention_refuses_other_strings(name: str) -> None:
    with pytest.raises(ValueError, match="unknown convention"):
        parse_convention(name)


def test_parse_convention_refuses_numbers() -> None:
    with pytest.raises(TypeError, match="convention must be a string or None"):
        parse_convention(1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "name"),
    [
        (indicators_pb2.CONVENTION_TALIB, "talib"),
        (indicators_pb2.CONVENTION_TDX, "tdx"),
        (indicators_pb2.CONVENTION_UNSPECIFIED, "unspecified"),
        (7, "7"),
    ],
)
def test_convention_name(value: int, name: str) -> None:
    assert convention_name(value) == name
