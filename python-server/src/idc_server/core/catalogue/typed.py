"""The typed indicators (``idc_server.core.indicators``) as catalogue entries ``idc.<name>``.

Derived from the registry, not declared again: parameters from each
parameters dataclass (type hints, defaults, and the range and doc in each
field's metadata), inputs, output kinds and lookback from ``@indicator``,
the description from the compute function's docstring. Validation ends in
the dataclass itself, so rules between parameters (MACD's fast below slow)
hold here as they do for the typed ``IndicatorSpec`` members.

Enum fields take their members' names; an optional one (Bollinger's
``std_dev``) adds the choice ``CONVENTION``, the convention's own.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from typing import Any

import numpy as np
import pandas as pd

from idc_server.core.catalogue.model import (
    Columns,
    Entry,
    FloatArray,
    Output,
    OutputKind,
    Parameter,
    ParameterType,
    Params,
)
from idc_server.core.indicators import INDICATORS, Convention, Indicator

NAMESPACE = "idc"
GROUP = "Typed indicators"
CONVENTION_CHOICE = "CONVENTION"  # an optional enum left unset: the convention decides


def _enum_type(hint: Any) -> tuple[type[enum.Enum] | None, bool]:
    """The enum class in a field's type hint and whether the hint allows None."""
    candidates = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    enum_type = next((c for c in candidates if isinstance(c, type) and issubclass(c, enum.Enum)), None)
    return enum_type, type(None) in candidates


def _parameter(item: dataclasses.Field[Any], hint: Any) -> Parameter:
    doc = item.metadata.get("doc", "")
    if item.default is dataclasses.MISSING:
        raise TypeError(f"{item.name}: a typed indicator's parameters all have defaults")
    default: Any = item.default
    enum_type, optional = _enum_type(hint)
    if enum_type is not None:
        names = tuple(member.name for member in enum_type)
        choices = (CONVENTION_CHOICE, *names) if optional else names
        name = CONVENTION_CHOICE if default is None else default.name
        return Parameter(item.name, ParameterType.ENUM, name, doc, choices=choices)
    if hint is int:
        minimum, maximum = item.metadata["minimum"], item.metadata["maximum"]
        return Parameter(item.name, ParameterType.INT, default, doc, minimum, maximum)
    if hint is float:
        above, maximum = item.metadata["above"], item.metadata["maximum"]
        return Parameter(item.name, ParameterType.FLOAT, default, doc, above, maximum, minimum_exclusive=True)
    raise TypeError(f"{item.name}: no catalogue type for {hint}")


def _entry(indicator: Indicator) -> Entry:
    hints = typing.get_type_hints(indicator.parameters)
    items = dataclasses.fields(indicator.parameters)
    enums = {item.name: _enum_type(hints[item.name])[0] for item in items}

    def typed(params: Params) -> Any:
        """The parameters dataclass, which checks its own rules (errors name the field)."""
        values: dict[str, Any] = {}
        for name, value in params.items():
            enum_type = enums[name]
            if enum_type is None:
                values[name] = value
            else:
                values[name] = None if value == CONVENTION_CHOICE else enum_type[str(value)]
        return indicator.parameters(**values)

    def check(params: Params) -> None:
        typed(params)

    def lookback(params: Params, convention: Convention) -> int:
        return indicator.lookback(typed(params), convention)

    def compute(columns: Columns, params: Params, convention: Convention) -> dict[str, FloatArray]:
        frame = indicator.compute(pd.DataFrame(dict(columns)), typed(params), convention)
        return {name: frame[name].to_numpy(dtype=np.float64, copy=True) for name in indicator.outputs}

    description = (indicator.compute.__doc__ or indicator.name).strip().splitlines()[0]
    return Entry(
        name=f"{NAMESPACE}.{indicator.name}",
        group=GROUP,
        description=description,
        parameters=tuple(_parameter(item, hints[item.name]) for item in items),
        inputs=indicator.inputs,
        outputs=tuple(
            Output(name, OutputKind(kind)) for name, kind in zip(indicator.outputs, indicator.kinds, strict=True)
        ),
        conventions=(Convention.TALIB, Convention.TDX),
        lookback_function=lookback,
        compute_function=compute,
        check_function=check,
    )


def typed_entries() -> list[Entry]:
    """One entry per registered typed indicator."""
    return [_entry(indicator) for indicator in INDICATORS.values()]
