"""Analysts' own indicators: a typed function over NumPy arrays plus its declaration, found at start.

An analyst's one file::

    from idc_server.core.catalogue.plugins import FloatArray, Output, indicator, parameter

    @indicator(
        name="desk.SPREAD",
        group="Desk",
        description="High minus low, in price units.",
        inputs=("high", "low"),
        parameters=(parameter("scale", 1.0, "a factor", 0.0, 10.0),),
        outputs=(Output("spread", "unitless", "high - low"),),
        lookback=lambda scale: 0,
    )
    def spread(high: FloatArray, low: FloatArray, scale: float) -> FloatArray:
        return (high - low) * scale

``indicator`` turns the function into a catalogue ``Entry``: the function
gets the ``inputs`` columns positionally, in order, and every parameter by
name; it returns one array per output (an array for one output, a tuple or a
dict by output name for several), as long as the inputs, NaN where there is
no value. ``lookback`` gets the parameters by name and returns the warm-up
bars. ``parameter(name, default, doc, minimum, maximum)`` declares an int,
float or bool parameter by its default's type.

The server finds plugins two ways (docs/decisions/0021-catalogue-api.md):
the entry-point group ``idc.indicators`` of installed distributions, and
``--plugins module:attribute,...`` (``IDC_PLUGINS``). Each names an
``Entry``, an iterable of them, or a function returning either. The
namespaces ``talib``, ``tdx``, ``idc`` and ``formula`` are reserved. Any
problem stops the server with one line naming the plugin (``CatalogueError``).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

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
from idc_server.core.indicators import Convention

__all__ = [
    "ENTRY_POINT_GROUP",
    "RESERVED_NAMESPACES",
    "FloatArray",
    "Output",
    "OutputKind",
    "Parameter",
    "ParameterType",
    "indicator",
    "load_plugins",
    "parameter",
]

ENTRY_POINT_GROUP = "idc.indicators"
RESERVED_NAMESPACES = ("talib", "tdx", "idc", "formula")
PluginFunction = Callable[..., Any]


def _output(item: Output | tuple[str, str] | tuple[str, str, str]) -> Output:
    if isinstance(item, Output):
        return item
    name, kind, *doc = item
    return Output(name, OutputKind(kind), doc[0] if doc else "")


def indicator(
    *,
    name: str,
    group: str,
    description: str,
    inputs: Sequence[str],
    outputs: Sequence[Output | tuple[str, str] | tuple[str, str, str]],
    lookback: Callable[..., int],
    parameters: Sequence[Parameter] = (),
    conventions: Sequence[Convention] = (Convention.TALIB, Convention.TDX),
) -> Callable[[PluginFunction], Entry]:
    """A decorator that turns a function over NumPy arrays into a catalogue ``Entry`` (see the module doc).

    Output kinds may be given by value: ``"price"``, ``"percent"``,
    ``"ratio"``, ``"volume"``, ``"unitless"``, ``"signal"``. ``conventions``
    defaults to both, since a plugin's own formula rarely depends on one; the
    function may take a ``convention`` keyword to see which applies.
    """
    declared = tuple(_output(item) for item in outputs)
    names = [output.name for output in declared]

    def wrap(function: PluginFunction) -> Entry:
        wants_convention = "convention" in inspect.signature(function).parameters

        def compute(columns: Columns, params: Params, convention: Convention) -> dict[str, FloatArray]:
            extra: dict[str, Any] = {"convention": convention} if wants_convention else {}
            result = function(*(columns[column] for column in inputs), **params, **extra)
            if isinstance(result, Mapping):
                arrays = {key: result[key] for key in names if key in result}
            elif isinstance(result, tuple | list):
                arrays = dict(zip(names, result, strict=False))
            else:
                arrays = {names[0]: result}
            if list(arrays) != names or (not isinstance(result, Mapping | tuple | list) and len(names) != 1):
                raise CatalogueError(f"{name} returned {len(arrays)} outputs, not {names}")
            return {key: np.asarray(value, dtype=np.float64) for key, value in arrays.items()}

        def warm_up(params: Params, convention: Convention) -> int:
            return int(lookback(**params))

        return Entry(
            name=name,
            group=group,
            description=description,
            parameters=tuple(parameters),
            inputs=tuple(inputs),
            outputs=declared,
            conventions=tuple(conventions),
            lookback_function=warm_up,
            compute_function=compute,
        )

    return wrap


def _entries(found: object, origin: str) -> list[Entry]:
    """The entries a plugin's object names: an Entry, an iterable of them, or a function returning either."""
    if callable(found) and not isinstance(found, Entry):
        found = found()
    if isinstance(found, Entry):
        found = (found,)
    if not isinstance(found, Iterable) or isinstance(found, str | bytes):
        raise CatalogueError(f"plugin {origin}: {type(found).__name__} is not an Entry or entries")
    entries: list[Entry] = []
    for item in found:
        if not isinstance(item, Entry):
            raise CatalogueError(f"plugin {origin}: {type(item).__name__} is not an Entry")
        if item.namespace in RESERVED_NAMESPACES:
            raise CatalogueError(f"plugin {origin}: {item.name}: the namespace {item.namespace!r} is reserved")
        entries.append(item)
    return entries


def _load(origin: str, load: Callable[[], object]) -> list[Entry]:
    try:
        return _entries(load(), origin)
    except CatalogueError as error:
        message = str(error)
        raise CatalogueError(message if message.startswith("plugin ") else f"plugin {origin}: {message}") from None
    except Exception as error:  # an analyst's module may raise anything while importing
        raise CatalogueError(f"plugin {origin}: {type(error).__name__}: {error}".splitlines()[0]) from None


def _attribute(spec: str) -> object:
    module_name, _, path = spec.partition(":")
    if not module_name or not path:
        raise CatalogueError(f"plugin {spec}: expected module:attribute, e.g. my_indicators:entries")
    found: object = importlib.import_module(module_name)
    for part in path.split("."):
        found = getattr(found, part)
    return found


def load_plugins(specs: Sequence[str] = (), entry_points: bool = True) -> list[tuple[str, Entry]]:
    """Every plugin entry with its origin: the ``idc.indicators`` entry points, then ``specs``.

    CatalogueError, one line naming the plugin, for anything wrong.
    """
    loaded: list[tuple[str, Entry]] = []
    if entry_points:
        for point in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
            origin = f"{point.name} ({point.value})"
            loaded += [(origin, entry) for entry in _load(origin, point.load)]
    for spec in specs:
        loaded += [(spec, entry) for entry in _load(spec, lambda spec=spec: _attribute(spec))]  # type: ignore[misc]
    return loaded


def parameter(
    name: str,
    default: ParameterValue,
    doc: str,
    minimum: float | None = None,
    maximum: float | None = None,
) -> Parameter:
    """A parameter whose type follows its default: int, float or bool (enums: build ``Parameter`` directly)."""
    if isinstance(default, bool):
        return Parameter(name, ParameterType.BOOL, default, doc)
    if isinstance(default, int):
        return Parameter(name, ParameterType.INT, default, doc, minimum, maximum)
    if isinstance(default, float):
        return Parameter(name, ParameterType.FLOAT, default, doc, minimum, maximum)
    raise CatalogueError(f"parameter {name}: default {default!r} is not an int, float or bool")
