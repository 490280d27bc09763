"""Typed builders of ``IndicatorSpec`` messages, and the names of conventions.

Each builder returns one ``idc.v1.IndicatorSpec`` for
``IdcClient.indicators``::

    from idc_client import IdcClient, boll, ema, macd, rsi, sma

    with IdcClient() as client:
        frame = client.indicators([sma(5, label="sma5"), sma(20, label="sma20"), rsi(14), boll()], "SPY")

A zero parameter means the server's default (documented on each builder),
and an empty label means the indicator's name. The builders check only what
the type system cannot (the names of enum choices); periods, widths and
labels are checked by the server, which answers INVALID_ARGUMENT naming the
field, e.g. ``indicators[0].sma.period``.
"""

from __future__ import annotations

from typing import TypeVar

from idc.v1 import bars_pb2, indicators_pb2

__all__ = [
    "CONVENTIONS",
    "KDJ_SEEDS",
    "STD_DEVS",
    "boll",
    "convention_name",
    "ema",
    "kdj",
    "macd",
    "parse_convention",
    "rsi",
    "sma",
]

CONVENTIONS: dict[str, indicators_pb2.Convention.ValueType] = {
    "talib": indicators_pb2.CONVENTION_TALIB,
    "tdx": indicators_pb2.CONVENTION_TDX,
}
"""The convention names accepted by ``parse_convention`` (case-insensitively)."""

STD_DEVS: dict[str, indicators_pb2.StdDev.ValueType] = {
    "population": indicators_pb2.STD_DEV_POPULATION,
    "sample": indicators_pb2.STD_DEV_SAMPLE,
}
"""The ``std_dev`` names accepted by ``boll`` (case-insensitively)."""

KDJ_SEEDS: dict[str, indicators_pb2.KDJSeed.ValueType] = {
    "fifty": indicators_pb2.KDJ_SEED_FIFTY,
    "first_rsv": indicators_pb2.KDJ_SEED_FIRST_RSV,
}
"""The ``seed`` names accepted by ``kdj`` (case-insensitively)."""

_T = TypeVar("_T")


def _choice(kind: str, name: str | None, choices: dict[str, _T], unspecified: _T) -> _T:
    """The enum value ``choices`` maps ``name`` to (case-insensitively), or ``unspecified`` for ``None``.

    Raises:
        ValueError: if ``name`` is a string other than one of ``choices``.
        TypeError: if ``name`` is neither a string nor ``None``.
    """
    if name is None:
        return unspecified
    if not isinstance(name, str):
        raise TypeError(f"{kind} must be a string or None, got {type(name).__name__}")
    value = choices.get(name.lower())
    if value is None:
        expected = ", ".join(repr(choice) for choice in choices)
        raise ValueError(f"unknown {kind} {name!r}; expected one of {expected}, or None")
    return value


def parse_convention(name: str | None) -> indicators_pb2.Convention.ValueType:
    """The ``Convention`` value of ``name``: ``"talib"`` or ``"tdx"``, case-insensitive.

    ``None`` gives ``CONVENTION_UNSPECIFIED``, the server's default (TA-Lib
    unless its operator configured another).

    Raises:
        ValueError: for any other string.
        TypeError: if ``name`` is neither a string nor ``None``.
    """
    return _choice("convention", name, CONVENTIONS, indicators_pb2.CONVENTION_UNSPECIFIED)


def convention_name(value: int) -> str:
    """The lower-case name of a ``Convention`` value, as reported in frames' ``attrs["convention"]``.

    ``CONVENTION_TALIB`` is ``"talib"``, ``CONVENTION_TDX`` is ``"tdx"`` and
    ``CONVENTION_UNSPECIFIED`` is ``"unspecified"``; a value this client does
    not know (from a newer server) is its number as a string.
    """
    for name, known in CONVENTIONS.items():
        if value == known:
            return name
    if value == indicators_pb2.CONVENTION_UNSPECIFIED:
        return "unspecified"
    return str(value)


def sma(period: int = 0, label: str = "") -> indicators_pb2.IndicatorSpec:
    """A simple moving average of the close (通达信 MA), in price units.

    Args:
        period: the window in bars; 0 means 20. Range 1-1000, at most the
            number of bars.
        label: the name of the output series; empty means ``"sma"``. Must
            match ``[a-z0-9_]{1,32}`` and be unique within a request.
    """
    spec = indicators_pb2.IndicatorSpec(label=label)
    spec.sma.SetInParent()
    spec.sma.period = period
    return spec


def ema(period: int = 0, label: str = "") -> indicators_pb2.IndicatorSpec:
    """An exponential moving average of the close with alpha 2 / (period + 1), in price units.

    Args:
        period: the span in bars; 0 means 20. Range 1-1000, at most the
            number of bars.
        label: the name of the output series; empty means ``"ema"``.
    """
    spec = indicators_pb2.IndicatorSpec(label=label)
    spec.ema.SetInParent()
    spec.ema.period = period
    return spec


def macd(fast: int = 0, slow: int = 0, signal: int = 0, label: str = "") -> indicators_pb2.IndicatorSpec:
    """MACD of the close, in price units.

    Outputs ``"<label>.macd"`` (通达信 DIF), ``"<label>.signal"`` (DEA) and
    ``"<label>.histogram"`` (macd - signal under TA-Lib; 2 * (DIF - DEA)
    under 通达信).

    Args:
        fast: the fast EMA span; 0 means 12. Range 1-1000, below ``slow``.
        slow: the slow EMA span; 0 means 26. Range 1-1000, at most the number
            of bars.
        signal: the span of the EMA of the MACD line; 0 means 9.
        label: the prefix of the output names; empty means ``"macd"``.
    """
    spec = indicators_pb2.IndicatorSpec(label=label)
    spec.macd.SetInParent()
    spec.macd.CopyFrom(bars_pb2.MACDParameters(fast_period=fast, slow_period=slow, signal_period=signal))
    return spec


def rsi(period: int = 0, label: str = "") -> indicators_pb2.IndicatorSpec:
    """The relative strength index of the close with Wilder smoothing, in percent (0-100).

    Args:
        period: N in bars; 0 means 14. Range 1-1000, below the number of
            bars.
        label: the name of the output series; empty means ``"rsi"``.
    """
    spec = indicators_pb2.IndicatorSpec(label=label)
    spec.rsi.SetInParent()
    spec.rsi.period = period
    return spec


def boll(period: int = 0, k: float = 0.0, std_dev: str | None = None, label: str = "") -> indicators_pb2.IndicatorSpec:
    """Bollinger Bands of the close, in price units.

    Outputs ``"<label>.upper"``, ``"<label>.middle"`` (the SMA of
    ``period``) and ``"<label>.lower"``, middle +/- k standard deviations.

    Args:
        period: the window in bars; 0 means 20. Range 2-1000, at most the
            number of bars.
        k: the band width in standard deviations; 0 means 2. Range (0, 10].
        std_dev: ``"population"`` (divide by n, as TA-Lib) or ``"sample"``
            (divide by n - 1, as 通达信), case-insensitive; ``None`` means the
            convention's own.
        label: the prefix of the output names; empty means ``"boll"``.

    Raises:
        ValueError: if ``std_dev`` is not one of the names above.
    """
    std_dev_value = _choice("std_dev", std_dev, STD_DEVS, indicators_pb2.STD_DEV_UNSPECIFIED)
    spec = indicators_pb2.IndicatorSpec(label=label)
    spec.boll.SetInParent()
    spec.boll.CopyFrom(indicators_pb2.BollingerParameters(period=period, k=k, std_dev=std_dev_value))
    return spec


def kdj(
    period: int = 0, k_period: int = 0, d_period: int = 0, seed: str | None = None, label: str = ""
) -> indicators_pb2.IndicatorSpec:
    """The KDJ stochastic oscillator (通达信 KDJ), in percent.

    Outputs ``"<label>.k"``, ``"<label>.d"`` and ``"<label>.j"`` (J = 3K - 2D,
    which may leave 0-100).

    Args:
        period: the RSV window in bars; 0 means 9. Range 1-1000, at most the
            number of bars.
        k_period: the smoothing of RSV into K; 0 means 3.
        d_period: the smoothing of K into D; 0 means 3.
        seed: ``"fifty"`` (K and D start from 50, as 通达信) or
            ``"first_rsv"`` (from the first RSV), case-insensitive; ``None``
            means ``"fifty"``.
        label: the prefix of the output names; empty means ``"kdj"``.

    Raises:
        ValueError: if ``seed`` is not one of the names above.
    """
    seed_value = _choice("seed", seed, KDJ_SEEDS, indicators_pb2.KDJ_SEED_UNSPECIFIED)
    spec = indicators_pb2.IndicatorSpec(label=label)
    spec.kdj.SetInParent()
    spec.kdj.CopyFrom(
        indicators_pb2.KDJParameters(period=period, k_period=k_period, d_period=d_period, seed=seed_value)
    )
    return spec
