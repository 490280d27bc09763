"""Every function of the installed TA-Lib as a catalogue entry, from TA-Lib's own metadata.

Nothing here lists functions. For each name in ``talib.get_functions()``:

- name ``talib.<NAME>``, group and description (the display name) from
  ``talib.abstract.Function(name).info``;
- inputs from its ``input_names`` (TA-Lib's default bar columns, in the
  order its function takes them);
- parameters from the C library's ``TA_GetOptInputParameterInfo``: name,
  default, hint, and the range TA-Lib itself checks (``TA_IntegerRange``,
  ``TA_RealRange``) or the choices of an ``TA_IntegerList`` (the moving
  average types), read with ctypes from the library the wheel bundles,
  because the Python wrapper drops the ranges. Integer ranges (all of them
  periods or bar counts) are capped at idc's ``MAX_PERIOD`` (1000), as the
  typed indicators are: TA-Lib allows 100000, and some functions (CCI,
  AVGDEV, IMI, VHF, FRACTAL, PERCENTILE) cost bars x period;
- outputs from ``output_names`` and the flags (see ``output_kind``);
- ``lookback`` from the abstract Function's ``lookback`` (TA-Lib's
  ``TA_GetLookback``); ``compute`` calls the plain ``talib.<NAME>`` function,
  so values are TA-Lib's own, bit for bit.

Integer outputs (candlestick patterns, ``MAXINDEX``, ``HT_TRENDMODE``) are
returned as float64 with NaN on the ``lookback`` warm-up bars, where TA-Lib
writes 0, so that every output's warm-up is its NaN head (``first_valid_index``).

A function whose inputs are not all bar columns (``MAVP`` takes a per-bar
``periods`` series) cannot be computed from bars and is left out, with the
reason, in ``excluded_functions()``.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import talib
import talib._ta_lib  # the extension module: its path is the handle to the C library
import talib.abstract

from idc_server.core.catalogue.model import (
    CatalogueError,
    Columns,
    Entry,
    FloatArray,
    Output,
    OutputKind,
    Parameter,
    ParameterType,
    ParameterValue,
    Params,
)
from idc_server.core.data import BAR_COLUMNS
from idc_server.core.errors import InvalidArgumentError
from idc_server.core.indicators import MAX_PERIOD, Convention

NAMESPACE = "talib"
TA_REAL_BOUND = 3e37  # TA_REAL_MIN / TA_REAL_MAX: TA-Lib's way of saying "unbounded"
CANDLESTICK_FLAG = "Output is a candlestick"
SAME_SCALE_FLAG = "Output scale same as input"

# TA_OptInputParameterType
_REAL_RANGE, _REAL_LIST, _INTEGER_RANGE, _INTEGER_LIST = 0, 1, 2, 3

# TA-Lib's metadata marks price-scale outputs and candlesticks, not percent,
# ratio or volume outputs; these are their documented units (TA-Lib's function
# descriptions). Every key is checked against the installed TA-Lib by the tests.
DOCUMENTED_KINDS: Mapping[str, OutputKind] = {
    # Bounded oscillators in percent: 0..100 (WILLR -100..0, CMO and AROONOSC -100..100).
    **dict.fromkeys(
        ("RSI", "STOCH", "STOCHF", "STOCHRSI", "WILLR", "MFI", "ADX", "ADXR", "DX", "PLUS_DI", "MINUS_DI"),
        OutputKind.PERCENT,
    ),
    **dict.fromkeys(("AROON", "AROONOSC", "CMO", "ULTOSC"), OutputKind.PERCENT),
    # Unbounded rates and spreads in percent.
    **dict.fromkeys(("ROC", "ROCR100", "PPO", "NATR", "TRIX"), OutputKind.PERCENT),
    # Ratios: rate of change as a fraction or a quotient, and BOP's (C-O)/(H-L).
    **dict.fromkeys(("ROCP", "ROCR", "BOP"), OutputKind.RATIO),
    # Cumulative or averaged volume.
    **dict.fromkeys(("AD", "ADOSC", "OBV"), OutputKind.VOLUME),
}

# What TA-Lib's C source returns (ta_CDL*.c), and what the tests see on real and random bars.
SIGNAL_DOC = (
    "candlestick pattern: +100 bullish, -100 bearish, 0 none; "
    "+80/-80 for the weaker form where a body end only touches (CDLENGULFING, CDLHARAMI, CDLHARAMICROSS); "
    "+200/-200 for a confirmed pattern (CDLHIKKAKE, CDLHIKKAKEMOD)"
)


# --- the C library's parameter metadata ----------------------------------------


class _OptInputParameterInfo(ctypes.Structure):
    _fields_ = (
        ("type", ctypes.c_int),
        ("param_name", ctypes.c_char_p),
        ("flags", ctypes.c_int),
        ("display_name", ctypes.c_char_p),
        ("data_set", ctypes.c_void_p),
        ("default_value", ctypes.c_double),
        ("hint", ctypes.c_char_p),
        ("help_file", ctypes.c_char_p),
    )


class _IntegerRange(ctypes.Structure):
    _fields_ = tuple((name, ctypes.c_int) for name in ("min", "max", "start", "end", "increment"))


class _RealRange(ctypes.Structure):
    _fields_ = (
        ("min", ctypes.c_double),
        ("max", ctypes.c_double),
        ("precision", ctypes.c_int),
        ("start", ctypes.c_double),
        ("end", ctypes.c_double),
        ("increment", ctypes.c_double),
    )


class _IntegerDataPair(ctypes.Structure):
    _fields_ = (("value", ctypes.c_int), ("string", ctypes.c_char_p))


class _IntegerList(ctypes.Structure):
    _fields_ = (("data", ctypes.POINTER(_IntegerDataPair)), ("count", ctypes.c_uint))


@functools.cache
def _c_library() -> ctypes.CDLL:
    """The TA-Lib C library the ``talib`` extension is linked with (symbols resolve through the extension)."""
    library = ctypes.CDLL(talib._ta_lib.__file__)
    library.TA_GetFuncHandle.argtypes = (ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p))
    library.TA_GetOptInputParameterInfo.argtypes = (
        ctypes.c_void_p,
        ctypes.c_uint,
        ctypes.POINTER(ctypes.POINTER(_OptInputParameterInfo)),
    )
    return library


@dataclass(frozen=True, slots=True)
class OptionInfo:
    """One optional input as the C library declares it."""

    type: int
    name: str  # without optIn, lower case: the Python wrapper's keyword
    default: float
    hint: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[tuple[int, str], ...] = ()


def option_info(function: str, index: int) -> OptionInfo:
    """Optional input ``index`` of ``function`` as TA-Lib's C library declares it (``TA_GetOptInputParameterInfo``)."""
    library = _c_library()
    handle = ctypes.c_void_p()
    if library.TA_GetFuncHandle(function.encode(), ctypes.byref(handle)) != 0:
        raise CatalogueError(f"TA-Lib has no function handle for {function}")
    pointer = ctypes.POINTER(_OptInputParameterInfo)()
    if library.TA_GetOptInputParameterInfo(handle, index, ctypes.byref(pointer)) != 0:
        raise CatalogueError(f"TA-Lib has no optional input {index} for {function}")
    info = pointer.contents
    name = (info.param_name or b"").decode().removeprefix("optIn").lower()
    hint = (info.hint or b"").decode()
    if info.type == _INTEGER_RANGE:
        integers = _IntegerRange.from_address(info.data_set)
        return OptionInfo(info.type, name, info.default_value, hint, integers.min, integers.max)
    if info.type == _REAL_RANGE:
        reals = _RealRange.from_address(info.data_set)
        low = None if reals.min <= -TA_REAL_BOUND else reals.min
        high = None if reals.max >= TA_REAL_BOUND else reals.max
        return OptionInfo(info.type, name, info.default_value, hint, low, high)
    if info.type == _INTEGER_LIST:
        listed = _IntegerList.from_address(info.data_set)
        choices = tuple((listed.data[i].value, listed.data[i].string.decode()) for i in range(listed.count))
        return OptionInfo(info.type, name, info.default_value, hint, choices=choices)
    raise CatalogueError(f"{function}.{name}: TA-Lib parameter type {info.type} is not supported")


# --- entries ----------------------------------------------------------------------


def _input_columns(info: Mapping[str, Any]) -> tuple[str, ...]:
    """TA-Lib's default columns for the function's inputs, flattened in call order."""
    columns: list[str] = []
    for value in info["input_names"].values():
        columns.extend([value] if isinstance(value, str) else value)
    return tuple(columns)


def excluded_functions() -> dict[str, str]:
    """TA-Lib functions that are not entries, with the reason."""
    excluded = {}
    for function in talib.get_functions():
        columns = _input_columns(talib.abstract.Function(function).info)
        foreign = [column for column in columns if column not in BAR_COLUMNS]
        if foreign:
            excluded[function] = f"its inputs {foreign} are not bar columns"
    return excluded


def output_kind(function: str, info: Mapping[str, Any]) -> OutputKind:
    """Candlesticks are signals, "same scale as input" is price units, else the documented kind or unitless."""
    flags = info["function_flags"] or ()
    if CANDLESTICK_FLAG in flags:
        return OutputKind.SIGNAL
    if SAME_SCALE_FLAG in flags:
        return OutputKind.PRICE
    return DOCUMENTED_KINDS.get(function, OutputKind.UNITLESS)


def _parameter(function: str, option: OptionInfo) -> tuple[Parameter, Callable[[ParameterValue], int | float]]:
    """The catalogue parameter and the conversion of its canonical value to what TA-Lib takes."""
    if option.type == _INTEGER_LIST:
        codes = {label: code for code, label in option.choices}
        default = next((label for code, label in option.choices if code == int(option.default)), None)
        if default is None:
            raise CatalogueError(f"{function}.{option.name}: default {option.default} is not among its choices")
        parameter = Parameter(option.name, ParameterType.ENUM, default, option.hint, choices=tuple(codes))
        return parameter, lambda value: codes[str(value)]
    if option.type == _INTEGER_RANGE:
        maximum = MAX_PERIOD if option.maximum is None else min(option.maximum, MAX_PERIOD)
        parameter = Parameter(option.name, ParameterType.INT, int(option.default), option.hint, option.minimum, maximum)
        return parameter, int
    parameter = Parameter(option.name, ParameterType.FLOAT, option.default, option.hint, option.minimum, option.maximum)
    return parameter, float


def _entry(function: str) -> Entry:
    info = talib.abstract.Function(function).info
    options = [option_info(function, index) for index in range(len(info["parameters"]))]
    # The wrapper reads the same structures: agreeing with it checks the ctypes layout.
    if [(option.name, option.default) for option in options] != list(info["parameters"].items()):
        raise CatalogueError(f"{function}: the C library's parameters {options} differ from the wrapper's")
    declared = [_parameter(function, option) for option in options]
    parameters = tuple(parameter for parameter, _ in declared)
    converters = {parameter.name: convert for parameter, convert in declared}
    kind = output_kind(function, info)
    outputs = tuple(
        Output(name, kind, SIGNAL_DOC if kind is OutputKind.SIGNAL else "") for name in info["output_names"]
    )
    names = tuple(output.name for output in outputs)
    inputs = _input_columns(info)
    implementation = getattr(talib, function)

    def arguments(params: Params) -> tuple[int | float, ...]:
        return tuple(converters[name](params[name]) for name in converters)

    @functools.lru_cache(maxsize=1024)
    def cached_lookback(values: tuple[int | float, ...]) -> int:
        abstract = talib.abstract.Function(function)
        abstract.set_parameters(dict(zip(converters, values, strict=True)))
        return int(abstract.lookback)

    def lookback(params: Params, convention: Convention) -> int:
        return cached_lookback(arguments(params))

    def compute(columns: Columns, params: Params, convention: Convention) -> dict[str, FloatArray]:
        arrays = [np.ascontiguousarray(columns[column], dtype=np.float64) for column in inputs]
        values = arguments(params)
        try:
            result = implementation(*arrays, *values)
        except Exception as error:  # talib raises a bare Exception naming TA-Lib's return code
            if "TA_BAD_PARAM" in str(error):
                raise InvalidArgumentError("", f"TA-Lib refused these for {function}: {error}") from None
            raise
        computed = {}
        for name, column in zip(names, result if isinstance(result, tuple) else (result,), strict=True):
            if column.dtype != np.float64:  # integer outputs: TA-Lib writes 0 on warm-up bars
                column = column.astype(np.float64)
                column[: cached_lookback(values)] = np.nan
            computed[name] = column
        return computed

    return Entry(
        name=f"{NAMESPACE}.{function}",
        group=info["group"],
        description=info["display_name"],
        parameters=parameters,
        inputs=inputs,
        outputs=outputs,
        conventions=(Convention.TALIB,),
        lookback_function=lookback,
        compute_function=compute,
    )


def talib_entries() -> list[Entry]:
    """One entry per function of the installed TA-Lib, but for ``excluded_functions()``."""
    excluded = excluded_functions()
    return [_entry(function) for function in talib.get_functions() if function not in excluded]
