"""Unit tests of the panel and overlay builders and option names in idc_client.charts."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf.message import Message

from idc.v1 import bars_pb2, indicator_graph_service_pb2, indicators_pb2
from idc_client import (
    boll_overlay,
    charts,
    ema_overlay,
    kdj_panel,
    macd_panel,
    parse_format,
    parse_price_scale,
    parse_scheme,
    parse_theme,
    rsi_panel,
    sma_overlay,
    volume_panel,
)
from idc_client.cli import build_parser

Panel = indicator_graph_service_pb2.ChartPanel
Overlay = indicator_graph_service_pb2.ChartOverlay


@pytest.mark.parametrize(
    ("message", "member"),
    [
        (volume_panel(), "volume"),
        (macd_panel(), "macd"),
        (rsi_panel(), "rsi"),
        (kdj_panel(), "kdj"),
        (sma_overlay(), "sma"),
        (ema_overlay(), "ema"),
        (boll_overlay(), "boll"),
    ],
    ids=["volume", "macd", "rsi", "kdj", "sma", "ema", "boll"],
)
def test_default_builders_select_their_member_on_the_wire(message: Panel | Overlay, member: str) -> None:
    assert message.WhichOneof("kind") == member
    # Zero fields (and VolumeParameters, which has none) still select the member on the wire.
    again: Message = type(message).FromString(message.SerializeToString())
    assert again.WhichOneof("kind") == member


def test_panels_carry_their_parameters() -> None:
    assert macd_panel(5, 35, 5) == Panel(macd=bars_pb2.MACDParameters(fast_period=5, slow_period=35, signal_period=5))
    assert macd_panel(slow=40).macd == bars_pb2.MACDParameters(slow_period=40)
    assert rsi_panel(6) == Panel(rsi=indicators_pb2.RSIParameters(period=6))
    assert kdj_panel(9, 3, 4, seed="FIRST_RSV") == Panel(
        kdj=indicators_pb2.KDJParameters(period=9, k_period=3, d_period=4, seed=indicators_pb2.KDJ_SEED_FIRST_RSV)
    )
    assert volume_panel() == Panel(volume=indicator_graph_service_pb2.VolumeParameters())


def test_overlays_carry_their_parameters() -> None:
    assert sma_overlay(20) == Overlay(sma=indicators_pb2.SMAParameters(period=20))
    assert ema_overlay(12) == Overlay(ema=indicators_pb2.EMAParameters(period=12))
    assert boll_overlay(20, 2.5, std_dev="sample") == Overlay(
        boll=indicators_pb2.BollingerParameters(period=20, k=2.5, std_dev=indicators_pb2.STD_DEV_SAMPLE)
    )


def test_builders_refuse_unknown_enum_names() -> None:
    with pytest.raises(ValueError, match="unknown seed 'zero'"):
        kdj_panel(seed="zero")
    with pytest.raises(ValueError, match="unknown std_dev 'n-1'"):
        boll_overlay(std_dev="n-1")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (None, indicator_graph_service_pb2.IMAGE_FORMAT_UNSPECIFIED),
        ("png", indicator_graph_service_pb2.IMAGE_FORMAT_PNG),
        ("SVG", indicator_graph_service_pb2.IMAGE_FORMAT_SVG),
        ("jpeg", indicator_graph_service_pb2.IMAGE_FORMAT_JPEG),
        ("WebP", indicator_graph_service_pb2.IMAGE_FORMAT_WEBP),
    ],
)
def test_parse_format(name: str | None, expected: int) -> None:
    assert parse_format(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (None, indicator_graph_service_pb2.THEME_UNSPECIFIED),
        ("light", indicator_graph_service_pb2.THEME_LIGHT),
        ("DARK", indicator_graph_service_pb2.THEME_DARK),
    ],
)
def test_parse_theme(name: str | None, expected: int) -> None:
    assert parse_theme(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (None, indicator_graph_service_pb2.COLOR_SCHEME_UNSPECIFIED),
        ("western", indicator_graph_service_pb2.COLOR_SCHEME_WESTERN),
        ("CN", indicator_graph_service_pb2.COLOR_SCHEME_CN),
    ],
)
def test_parse_scheme(name: str | None, expected: int) -> None:
    assert parse_scheme(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (None, indicator_graph_service_pb2.PRICE_SCALE_UNSPECIFIED),
        ("auto", indicator_graph_service_pb2.PRICE_SCALE_AUTO),
        ("Linear", indicator_graph_service_pb2.PRICE_SCALE_LINEAR),
        ("LOG", indicator_graph_service_pb2.PRICE_SCALE_LOG),
    ],
)
def test_parse_price_scale(name: str | None, expected: int) -> None:
    assert parse_price_scale(name) == expected


@pytest.mark.parametrize(
    ("parse", "kind", "name"),
    [
        (parse_format, "format", "gif"),
        (parse_format, "format", "jpg"),
        (parse_format, "format", "image/png"),
        (parse_theme, "theme", "night"),
        (parse_scheme, "scheme", "us"),
        (parse_scheme, "scheme", ""),
        (parse_price_scale, "price_scale", "logarithmic"),
    ],
)
def test_unknown_names_raise_value_error_listing_the_choices(parse: Any, kind: str, name: str) -> None:
    with pytest.raises(ValueError, match=f"unknown {kind} {name!r}; expected one of"):
        parse(name)


@pytest.mark.parametrize("parse", [parse_format, parse_theme, parse_scheme, parse_price_scale])
def test_non_strings_raise_type_error(parse: Any) -> None:
    with pytest.raises(TypeError, match="must be a string or None"):
        parse(1)


def test_the_names_cover_every_known_enum_value() -> None:
    assert sorted(charts.FORMATS.values()) == [
        value for value in indicator_graph_service_pb2.ImageFormat.values() if value != 0
    ]
    assert sorted(charts.THEMES.values()) == [value for value in indicator_graph_service_pb2.Theme.values() if value]
    assert sorted(charts.SCHEMES.values()) == [
        value for value in indicator_graph_service_pb2.ColorScheme.values() if value
    ]
    assert sorted(charts.PRICE_SCALES.values()) == [
        value for value in indicator_graph_service_pb2.PriceScale.values() if value
    ]


def test_cli_chart_takes_a_price_scale_by_name() -> None:
    parser = build_parser()
    assert parser.parse_args(["chart", "--price-scale", "LOG"]).price_scale == "log"
    assert parser.parse_args(["chart"]).price_scale is None  # the server's auto
    with pytest.raises(SystemExit):
        parser.parse_args(["chart", "--price-scale", "logarithmic"])
