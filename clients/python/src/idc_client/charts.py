"""Typed builders of chart panels and overlays, and the names of image formats, themes and colour schemes.

``IdcClient.chart`` draws a candlestick price panel with the overlays over
one panel per entry of ``panels``::

    from idc_client import IdcClient
    from idc_client.charts import boll_overlay, kdj_panel, macd_panel, rsi_panel, sma_overlay, volume_panel

    with IdcClient() as client:
        image = client.chart(
            "SPY",
            "2023-01-01",
            "2023-12-31",
            panels=[volume_panel(), macd_panel(), rsi_panel(14), kdj_panel()],
            overlays=[sma_overlay(20), boll_overlay(20)],
            format="svg",
            theme="dark",
        )
        image.save("spy.svg")

A zero parameter means the server's default (documented on each builder).
The builders check only what the type system cannot (the names of enum
choices); periods and widths are checked by the server, which answers
INVALID_ARGUMENT naming the field, e.g. ``panels[1].rsi.period``.
"""

from __future__ import annotations

from idc.v1 import bars_pb2, indicator_graph_service_pb2, indicators_pb2
from idc_client.indicators import KDJ_SEEDS, STD_DEVS, _choice

__all__ = [
    "FORMATS",
    "PRICE_SCALES",
    "SCHEMES",
    "THEMES",
    "boll_overlay",
    "ema_overlay",
    "kdj_panel",
    "macd_panel",
    "parse_format",
    "parse_price_scale",
    "parse_scheme",
    "parse_theme",
    "rsi_panel",
    "sma_overlay",
    "volume_panel",
]

FORMATS: dict[str, indicator_graph_service_pb2.ImageFormat.ValueType] = {
    "png": indicator_graph_service_pb2.IMAGE_FORMAT_PNG,
    "svg": indicator_graph_service_pb2.IMAGE_FORMAT_SVG,
    "jpeg": indicator_graph_service_pb2.IMAGE_FORMAT_JPEG,
    "webp": indicator_graph_service_pb2.IMAGE_FORMAT_WEBP,
}
"""The image format names accepted by ``parse_format`` (case-insensitively)."""

THEMES: dict[str, indicator_graph_service_pb2.Theme.ValueType] = {
    "light": indicator_graph_service_pb2.THEME_LIGHT,
    "dark": indicator_graph_service_pb2.THEME_DARK,
}
"""The theme names accepted by ``parse_theme`` (case-insensitively)."""

SCHEMES: dict[str, indicator_graph_service_pb2.ColorScheme.ValueType] = {
    "western": indicator_graph_service_pb2.COLOR_SCHEME_WESTERN,
    "cn": indicator_graph_service_pb2.COLOR_SCHEME_CN,
}
"""The colour scheme names accepted by ``parse_scheme`` (case-insensitively)."""

PRICE_SCALES: dict[str, indicator_graph_service_pb2.PriceScale.ValueType] = {
    "auto": indicator_graph_service_pb2.PRICE_SCALE_AUTO,
    "linear": indicator_graph_service_pb2.PRICE_SCALE_LINEAR,
    "log": indicator_graph_service_pb2.PRICE_SCALE_LOG,
}
"""The price scale names accepted by ``parse_price_scale`` (case-insensitively)."""


def parse_format(name: str | None) -> indicator_graph_service_pb2.ImageFormat.ValueType:
    """The ``ImageFormat`` of ``name``: ``"png"``, ``"svg"``, ``"jpeg"`` or ``"webp"``, case-insensitive.

    ``None`` gives ``IMAGE_FORMAT_UNSPECIFIED``, which the server draws as PNG.

    Raises:
        ValueError: for any other string.
        TypeError: if ``name`` is neither a string nor ``None``.
    """
    return _choice("format", name, FORMATS, indicator_graph_service_pb2.IMAGE_FORMAT_UNSPECIFIED)


def parse_theme(name: str | None) -> indicator_graph_service_pb2.Theme.ValueType:
    """The ``Theme`` of ``name``: ``"light"`` or ``"dark"``, case-insensitive; ``None`` means light.

    Raises:
        ValueError: for any other string.
        TypeError: if ``name`` is neither a string nor ``None``.
    """
    return _choice("theme", name, THEMES, indicator_graph_service_pb2.THEME_UNSPECIFIED)


def parse_scheme(name: str | None) -> indicator_graph_service_pb2.ColorScheme.ValueType:
    """The ``ColorScheme`` of ``name``, case-insensitive; ``None`` means Western.

    ``"western"`` draws up in green and down in red; ``"cn"`` draws up in
    red and down in green, as Chinese market software does.

    Raises:
        ValueError: for any other string.
        TypeError: if ``name`` is neither a string nor ``None``.
    """
    return _choice("scheme", name, SCHEMES, indicator_graph_service_pb2.COLOR_SCHEME_UNSPECIFIED)


def parse_price_scale(name: str | None) -> indicator_graph_service_pb2.PriceScale.ValueType:
    """The ``PriceScale`` of ``name``: ``"auto"``, ``"linear"`` or ``"log"``, case-insensitive; ``None`` means auto.

    ``"auto"`` is log when the window's prices span a factor of 3 or more
    (decades of an index), linear otherwise.

    Raises:
        ValueError: for any other string.
        TypeError: if ``name`` is neither a string nor ``None``.
    """
    return _choice("price_scale", name, PRICE_SCALES, indicator_graph_service_pb2.PRICE_SCALE_UNSPECIFIED)


def volume_panel() -> indicator_graph_service_pb2.ChartPanel:
    """A panel of volume bars, coloured by whether the day closed up or down."""
    panel = indicator_graph_service_pb2.ChartPanel()
    panel.volume.SetInParent()  # Selects the oneof although VolumeParameters is empty.
    return panel


def macd_panel(fast: int = 0, slow: int = 0, signal: int = 0) -> indicator_graph_service_pb2.ChartPanel:
    """A MACD panel: the MACD and signal lines, and histogram bars coloured by sign.

    Args:
        fast: the fast EMA span; 0 means 12. Below ``slow``.
        slow: the slow EMA span; 0 means 26.
        signal: the span of the EMA of the MACD line; 0 means 9.
    """
    panel = indicator_graph_service_pb2.ChartPanel()
    panel.macd.SetInParent()
    panel.macd.CopyFrom(bars_pb2.MACDParameters(fast_period=fast, slow_period=slow, signal_period=signal))
    return panel


def rsi_panel(period: int = 0) -> indicator_graph_service_pb2.ChartPanel:
    """An RSI panel with 30 and 70 guide lines.

    Args:
        period: N in bars; 0 means 14.
    """
    panel = indicator_graph_service_pb2.ChartPanel()
    panel.rsi.SetInParent()
    panel.rsi.period = period
    return panel


def kdj_panel(
    period: int = 0, k_period: int = 0, d_period: int = 0, seed: str | None = None
) -> indicator_graph_service_pb2.ChartPanel:
    """A KDJ panel (K, D and J lines) with 20 and 80 guide lines.

    Args:
        period: the RSV window in bars; 0 means 9.
        k_period: the smoothing of RSV into K; 0 means 3.
        d_period: the smoothing of K into D; 0 means 3.
        seed: ``"fifty"`` or ``"first_rsv"``, case-insensitive; ``None``
            means ``"fifty"`` (see ``idc_client.kdj``).

    Raises:
        ValueError: if ``seed`` is not one of the names above.
    """
    seed_value = _choice("seed", seed, KDJ_SEEDS, indicators_pb2.KDJ_SEED_UNSPECIFIED)
    panel = indicator_graph_service_pb2.ChartPanel()
    panel.kdj.SetInParent()
    panel.kdj.CopyFrom(
        indicators_pb2.KDJParameters(period=period, k_period=k_period, d_period=d_period, seed=seed_value)
    )
    return panel


def sma_overlay(period: int = 0) -> indicator_graph_service_pb2.ChartOverlay:
    """A simple moving average line over the price.

    Args:
        period: the window in bars; 0 means 20.
    """
    overlay = indicator_graph_service_pb2.ChartOverlay()
    overlay.sma.SetInParent()
    overlay.sma.period = period
    return overlay


def ema_overlay(period: int = 0) -> indicator_graph_service_pb2.ChartOverlay:
    """An exponential moving average line over the price.

    Args:
        period: the span in bars; 0 means 20.
    """
    overlay = indicator_graph_service_pb2.ChartOverlay()
    overlay.ema.SetInParent()
    overlay.ema.period = period
    return overlay


def boll_overlay(
    period: int = 0, k: float = 0.0, std_dev: str | None = None
) -> indicator_graph_service_pb2.ChartOverlay:
    """Bollinger Bands over the price: the middle line and a shaded band.

    Args:
        period: the window in bars; 0 means 20.
        k: the band width in standard deviations; 0 means 2.
        std_dev: ``"population"`` or ``"sample"``, case-insensitive; ``None``
            means the convention's own (see ``idc_client.boll``).

    Raises:
        ValueError: if ``std_dev`` is not one of the names above.
    """
    std_dev_value = _choice("std_dev", std_dev, STD_DEVS, indicators_pb2.STD_DEV_UNSPECIFIED)
    overlay = indicator_graph_service_pb2.ChartOverlay()
    overlay.boll.SetInParent()
    overlay.boll.CopyFrom(indicators_pb2.BollingerParameters(period=period, k=k, std_dev=std_dev_value))
    return overlay
