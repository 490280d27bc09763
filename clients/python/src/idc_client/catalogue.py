"""The open catalogue: specs by name or formula, catalogue entries, and screens.

Build specs for ``IdcClient.indicators``, ``IdcClient.screen`` and the chart
panels and overlays::

    from idc_client import IdcClient, fn, formula, indicator_overlay, indicator_panel

    with IdcClient() as client:
        entries = client.list_indicators("talib")
        adx = next(entry for entry in entries if entry.name == "talib.ADX")
        print(adx.param("timeperiod").default)  # 14
        frame = client.indicators([fn("talib.ADX", timeperiod=20), formula("DIF:EMA(C,12)-EMA(C,26);")], "SPY")
        print(frame.attrs["kinds"])  # {"adx": "unitless", "formula": "price"}
        matches = client.screen(formula("C>MA(C,20)"), symbols=["SPY", "AAPL"])

Parameter values are Python ``int`` or ``float`` (INT and FLOAT
parameters), ``str`` (an ENUM parameter's choice, such as ``"EMA"``) or
``bool`` (a BOOL parameter); the server checks their types and ranges and
answers INVALID_ARGUMENT naming the parameter, e.g.
``indicators[0].params.timeperiod``.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Mapping

import numpy as np
import pandas as pd

from idc.v1 import catalogue_pb2, indicator_graph_service_pb2, indicator_service_pb2, indicators_pb2
from idc_client.indicators import convention_name

__all__ = [
    "Description",
    "Entry",
    "Output",
    "ParamLike",
    "Parameter",
    "description",
    "entry",
    "fn",
    "formula",
    "indicator_overlay",
    "indicator_panel",
    "kind_name",
    "parameter_value",
    "python_value",
    "screen_frame",
    "type_name",
]

ParamLike = bool | int | float | str | np.number
"""A parameter value: a number, an enum choice or a flag."""


def parameter_value(value: ParamLike) -> indicators_pb2.ParameterValue:
    """The ``ParameterValue`` of a Python value: ``bool`` is a flag, ``str`` a choice, other numbers a number.

    Raises:
        TypeError: for a value of any other type.
    """
    if isinstance(value, bool | np.bool_):
        return indicators_pb2.ParameterValue(flag=bool(value))
    if isinstance(value, str):
        return indicators_pb2.ParameterValue(choice=value)
    if isinstance(value, numbers.Real):
        return indicators_pb2.ParameterValue(number=float(value))
    raise TypeError(f"unsupported parameter type {type(value).__name__}: want an int, a float, a str or a bool")


def python_value(parameter_type: int, value: indicators_pb2.ParameterValue) -> int | float | str | bool | None:
    """The inverse of ``parameter_value`` for a parameter of ``parameter_type``.

    An integral number of a ``PARAMETER_TYPE_INT`` parameter is an ``int``;
    other numbers are ``float``; choices ``str``; flags ``bool``; an unset
    value ``None``.
    """
    kind = value.WhichOneof("kind")
    if kind == "number":
        number = value.number
        if parameter_type == catalogue_pb2.PARAMETER_TYPE_INT and number.is_integer() and abs(number) < 2**53:
            return int(number)
        return number
    if kind == "choice":
        return value.choice
    if kind == "flag":
        return value.flag
    return None


def _params(
    params: Mapping[str, ParamLike] | None, keywords: Mapping[str, ParamLike]
) -> dict[str, indicators_pb2.ParameterValue]:
    """The ``params`` map of a spec from a mapping and keyword arguments, which may not name a parameter twice."""
    merged = dict(params or {})
    for name, value in keywords.items():
        if name in merged:
            raise ValueError(f"parameter {name!r} is given twice")
        merged[name] = value
    values = {}
    for name, value in merged.items():
        try:
            values[name] = parameter_value(value)
        except TypeError as error:
            raise TypeError(f"parameter {name!r}: {error}") from None
    return values


def fn(
    name: str, params: Mapping[str, ParamLike] | None = None, /, *, label: str = "", **keywords: ParamLike
) -> indicators_pb2.IndicatorSpec:
    """The spec of catalogue entry ``name`` with its parameters, e.g. ``fn("talib.ADX", timeperiod=14)``.

    Args:
        name: the entry's full name (``"talib.ADX"``, ``"tdx.KDJ"``, a
            plugin's ``"example.ZSCORE"``), or a bare local name (``"ADX"``)
            when one namespace has it; case-insensitive.
        params: parameter values by name, for names that are not Python
            identifiers; merged with ``keywords``.
        label: the prefix of the output names; empty means the local name in
            lower case (``"adx"``).
        keywords: parameter values by name (``timeperiod=14``).

    Raises:
        TypeError: for a value that is not an int, float, str or bool.
        ValueError: for a parameter given both in ``params`` and ``keywords``.
    """
    return indicators_pb2.IndicatorSpec(name=name, label=label, params=_params(params, keywords))


def formula(
    text: str, params: Mapping[str, ParamLike] | None = None, /, *, label: str = "", **keywords: ParamLike
) -> indicators_pb2.IndicatorSpec:
    """The spec of 通达信 formula ``text``, compiled by the server, e.g. ``formula("MA5:MA(C,N);", N=5)``.

    Every ``NAME:expr;`` statement is an output, named ``"<label>.<NAME>"``
    (``"<label>"`` for a single output); ``params`` and ``keywords`` set
    the parameters its header declares (``// param: N = 9, 1..100``).

    Args:
        text: the formula.
        params: parameter values by name, merged with ``keywords``.
        label: the prefix of the output names; empty means ``"formula"``.
        keywords: parameter values by name.

    Raises:
        TypeError, ValueError: as for ``fn``.
    """
    return indicators_pb2.IndicatorSpec(formula=text, label=label, params=_params(params, keywords))


def indicator_panel(spec: indicators_pb2.IndicatorSpec) -> indicator_graph_service_pb2.ChartPanel:
    """A chart panel of any spec: its outputs other than signals are lines, its signals markers on the price."""
    return indicator_graph_service_pb2.ChartPanel(indicator=spec)


def indicator_overlay(spec: indicators_pb2.IndicatorSpec) -> indicator_graph_service_pb2.ChartOverlay:
    """A chart overlay of a spec whose outputs are prices (lines) or signals (markers on the bars)."""
    return indicator_graph_service_pb2.ChartOverlay(indicator=spec)


def type_name(parameter_type: int) -> str:
    """The lower-case name of a ``ParameterType``, e.g. ``"int"``."""
    return catalogue_pb2.ParameterType.Name(parameter_type).removeprefix("PARAMETER_TYPE_").lower()  # type: ignore[arg-type]


def kind_name(kind: int) -> str:
    """The lower-case name of an ``OutputKind``, e.g. ``"price"``; a value this client does not know is its number."""
    try:
        return indicators_pb2.OutputKind.Name(kind).removeprefix("OUTPUT_KIND_").lower()  # type: ignore[arg-type]
    except ValueError:
        return str(kind)


@dataclasses.dataclass(frozen=True)
class Parameter:
    """One parameter of a catalogue entry."""

    name: str
    """The case-sensitive name ``fn`` takes, e.g. ``"timeperiod"``."""
    type: str
    """``"int"``, ``"float"``, ``"enum"`` or ``"bool"``."""
    default: int | float | str | bool | None
    """The value used when a request leaves the parameter out."""
    minimum: float | None
    """The lower bound of an int or float (exclusive when ``minimum_exclusive``); ``None`` for none."""
    maximum: float | None
    """The upper bound, inclusive; ``None`` for none."""
    minimum_exclusive: bool
    """Whether the value must be above ``minimum``."""
    choices: tuple[str, ...]
    """The names an enum takes."""
    doc: str
    """What the parameter means and its unit."""


@dataclasses.dataclass(frozen=True)
class Output:
    """One output of a catalogue entry."""

    name: str
    """The output's name, e.g. ``"macdsignal"`` or ``"DEA"``."""
    kind: str
    """What its values mean: ``"price"``, ``"percent"``, ``"ratio"``, ``"volume"``, ``"unitless"`` or ``"signal"``."""
    doc: str
    """What the output is."""


@dataclasses.dataclass(frozen=True)
class Entry:
    """One entry of the server's catalogue (``IndicatorEntry``)."""

    name: str
    """The full name, ``"namespace.LOCAL"``, e.g. ``"talib.ADX"``."""
    group: str
    """The family, e.g. ``"Momentum Indicators"``."""
    description: str
    """One line saying what the entry computes."""
    parameters: tuple[Parameter, ...]
    """In the entry's own order."""
    inputs: tuple[str, ...]
    """The bar columns read: ``"open"``, ``"high"``, ``"low"``, ``"close"``, ``"volume"``."""
    outputs: tuple[Output, ...]
    """In the order of the response's series."""
    conventions: tuple[str, ...]
    """The conventions supported (``"talib"``, ``"tdx"``), the entry's own first."""
    warm_up_bars: tuple[int, ...]
    """The warm-up bars at the default parameters, one per convention."""
    formula: str
    """The 通达信 text of a formula-file entry; empty otherwise."""

    @property
    def namespace(self) -> str:
        """The part of ``name`` before the first dot, e.g. ``"talib"``."""
        return self.name.partition(".")[0]

    @property
    def local(self) -> str:
        """The part of ``name`` after the first dot, e.g. ``"ADX"``."""
        return self.name.partition(".")[2]

    def param(self, name: str) -> Parameter:
        """The parameter called ``name`` (case-sensitive).

        Raises:
            KeyError: if the entry has none of that name.
        """
        for parameter in self.parameters:
            if parameter.name == name:
                return parameter
        raise KeyError(f"{self.name} has no parameter {name!r}; it has {[p.name for p in self.parameters]}")

    def output(self, name: str) -> Output:
        """The output called ``name`` (case-sensitive).

        Raises:
            KeyError: if the entry has none of that name.
        """
        for item in self.outputs:
            if item.name == name:
                return item
        raise KeyError(f"{self.name} has no output {name!r}; it has {[o.name for o in self.outputs]}")

    def warm_up(self, convention: str) -> int | None:
        """The warm-up bars at the default parameters under ``convention``; ``None`` if it is not supported."""
        for name, bars in zip(self.conventions, self.warm_up_bars, strict=False):
            if name == convention:
                return bars
        return None


def entry(message: catalogue_pb2.IndicatorEntry) -> Entry:
    """The ``Entry`` of an ``IndicatorEntry`` message."""
    parameters = tuple(
        Parameter(
            name=p.name,
            type=type_name(p.type),
            default=python_value(p.type, p.default_value),
            minimum=p.minimum if p.HasField("minimum") else None,
            maximum=p.maximum if p.HasField("maximum") else None,
            minimum_exclusive=p.minimum_exclusive,
            choices=tuple(p.choices),
            doc=p.doc,
        )
        for p in message.parameters
    )
    return Entry(
        name=message.name,
        group=message.group,
        description=message.description,
        parameters=parameters,
        inputs=tuple(message.inputs),
        outputs=tuple(Output(o.name, kind_name(o.kind), o.doc) for o in message.outputs),
        conventions=tuple(convention_name(c) for c in message.conventions),
        warm_up_bars=tuple(message.warm_up_bars),
        formula=message.formula,
    )


@dataclasses.dataclass(frozen=True)
class Description:
    """What ``IdcClient.describe_indicator`` says about one spec."""

    entry: Entry
    """The entry the spec selects; a formula's is named ``"formula.<label>"``."""
    params: dict[str, int | float | str | bool | None]
    """Every parameter's value as it would be used, defaults filled in."""
    convention: str
    """The convention that would be used."""
    warm_up_bars: int
    """The number of leading bars without a value."""
    series_names: tuple[str, ...]
    """The names of the spec's series in a response, in order."""


def description(response: indicator_service_pb2.DescribeIndicatorResponse) -> Description:
    """The ``Description`` of a ``DescribeIndicatorResponse``."""
    described = entry(response.indicator)
    types = {p.name: p.type for p in response.indicator.parameters}
    return Description(
        entry=described,
        params={
            name: python_value(types.get(name, catalogue_pb2.PARAMETER_TYPE_UNSPECIFIED), value)
            for name, value in response.params.items()
        },
        convention=convention_name(response.convention),
        warm_up_bars=response.warm_up_bars,
        series_names=tuple(response.series_names),
    )


def screen_frame(response: indicator_service_pb2.ScreenResponse) -> pd.DataFrame:
    """A DataFrame of the matches of a ``ScreenResponse``, one row per symbol.

    The index holds the canonical symbols, named ``"symbol"``, sorted. The
    columns are ``date`` (datetime64, the trading day of the bar checked),
    ``time`` (the bar's start, a UTC timestamp) and one float64 column per
    value of the condition, named as its series (``"<label>"`` or
    ``"<label>.<output>"``), sorted; NaN where an output has no value.
    ``attrs["output"]`` is the output that decided, ``attrs["convention"]``
    the convention, ``attrs["evaluated_count"]`` the number of symbols
    evaluated and ``attrs["skipped"]`` a dict of the symbols that could not
    be, with the reasons.
    """
    matches = response.matches
    names = sorted({name for match in matches for name in match.values})
    data: dict[str, object] = {
        "date": pd.to_datetime(np.asarray([m.date for m in matches], dtype=np.int64), unit="D"),
        "time": pd.to_datetime(np.asarray([m.time for m in matches], dtype=np.int64), unit="s", utc=True),
    }
    for name in names:
        data[name] = np.asarray([m.values.get(name, math.nan) for m in matches], dtype=np.float64)
    frame = pd.DataFrame(data, index=pd.Index([m.symbol for m in matches], name="symbol", dtype=object))
    frame.attrs["output"] = response.output
    frame.attrs["convention"] = convention_name(response.convention)
    frame.attrs["evaluated_count"] = response.evaluated_count
    frame.attrs["skipped"] = {skip.symbol: skip.reason for skip in response.skipped}
    return frame
