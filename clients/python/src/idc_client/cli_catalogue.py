"""The flag values and cells of ``idc-client``'s catalogue commands, as Go's ``idc`` parses and prints them.

``--fn [LABEL=]NAME[:K=V,K=V]`` and ``--param NAME=VALUE`` (``indicators``,
``screen``, ``chart``, ``catalogue``), and the cells of ``catalogue`` and
``screen``. ``clients/CLI.md`` describes both CLIs.
"""

from __future__ import annotations

import argparse
import math
import re

from idc.v1 import indicators_pb2
from idc_client.catalogue import Parameter, parameter_value

__all__ = ["fn_spec", "param_pair", "param_values", "range_text", "value_text"]

_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
"""A parameter value that is a number; ``true`` and ``false`` are flags, anything else is a choice."""

_LABEL = re.compile(r"[a-z0-9_]{1,32}")
"""What a ``--fn`` label may be, as the server requires."""


def _value(text: str) -> indicators_pb2.ParameterValue:
    """The ``ParameterValue`` of one value on the command line: a number, ``true``/``false``, else a choice."""
    if _NUMBER.fullmatch(text):
        return parameter_value(float(text))  # out of range gives inf, which the server rejects
    if text in ("true", "false"):
        return parameter_value(text == "true")
    return parameter_value(text)


def param_pair(text: str) -> tuple[str, str]:
    """Parse one ``NAME=VALUE`` (the argparse type of ``--param``)."""
    name, equals, value = text.partition("=")
    name, value = name.strip(), value.strip()
    if not equals or not name or not value:
        raise argparse.ArgumentTypeError(f"parameter {text!r}: want NAME=VALUE")
    return name, value


def param_values(pairs: list[tuple[str, str]]) -> dict[str, indicators_pb2.ParameterValue]:
    """The ``params`` map of parsed ``NAME=VALUE`` pairs.

    Raises:
        argparse.ArgumentTypeError: if a name is given twice.
    """
    values: dict[str, indicators_pb2.ParameterValue] = {}
    for name, value in pairs:
        if name in values:
            raise argparse.ArgumentTypeError(f"parameter {name!r} is given twice")
        values[name] = _value(value)
    return values


def fn_spec(text: str) -> indicators_pb2.IndicatorSpec:
    """Parse ``--fn [LABEL=]NAME[:K=V,K=V]``, e.g. ``ADX:timeperiod=14`` or ``slow=talib.SMA:timeperiod=50``."""
    head, colon, tail = text.partition(":")
    label, equals, name = head.partition("=")
    if not equals:
        label, name = "", head
    name = name.strip()
    if not name or " " in name or "\t" in name:
        raise argparse.ArgumentTypeError(f"{text!r}: want [LABEL=]NAME[:K=V,K=V], e.g. ADX:timeperiod=14")
    if equals and not _LABEL.fullmatch(label):
        raise argparse.ArgumentTypeError(f"{text!r}: the label {label!r} must match [a-z0-9_]{{1,32}}")
    spec = indicators_pb2.IndicatorSpec(name=name, label=label)
    if colon:
        try:
            params = param_values([param_pair(part) for part in tail.split(",")])
        except argparse.ArgumentTypeError as error:
            raise argparse.ArgumentTypeError(f"{text!r}: {error}") from None
        for key, value in params.items():
            spec.params[key].CopyFrom(value)
    return spec


def number_text(value: float) -> str:
    """A number as Go's ``idc`` shows it: integral values below 1e21 as integers, others in shortest form."""
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return repr(value)


def value_text(value: int | float | str | bool | None) -> str:
    """A parameter value as shown: numbers by ``number_text``, choices as they are, flags ``true``/``false``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return number_text(value)
    if isinstance(value, str):
        return value
    return ""


def range_text(parameter: Parameter) -> str:
    """A parameter's range in interval notation (``[2, 100000]``, ``(0, inf)``), an enum's choices, or ``""``."""
    if parameter.choices:
        return "|".join(parameter.choices)
    if parameter.type == "bool":
        return ""
    low, high = "(-inf", "inf)"
    if parameter.minimum is not None:
        low = ("(" if parameter.minimum_exclusive else "[") + number_text(parameter.minimum)
    if parameter.maximum is not None:
        high = number_text(parameter.maximum) + "]"
    return f"{low}, {high}"
