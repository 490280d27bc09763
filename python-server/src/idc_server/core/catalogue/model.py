"""The catalogue's declaration shape: one ``Entry`` per indicator, whatever its source.

TA-Lib functions, 通达信 formula files and analysts' Python plugins all
declare the same things (see docs/decisions/0020-indicator-catalogue.md):

- ``name`` (``namespace.LOCAL``, e.g. ``talib.ADX``), ``group`` and a one-line
  ``description``;
- ``parameters``: each a ``Parameter`` with its type (int, float, enum or
  bool), default, range or choices, and doc;
- ``inputs``: the bar columns it reads, a subset of open, high, low, close,
  volume;
- ``outputs``: each an ``Output`` with its name and ``OutputKind``;
- ``conventions`` it supports, the first being its own;
- ``lookback(params, convention)``: how many warm-up bars have no value;
- ``compute(columns, params, convention)``: one float64 array per output,
  as long as the columns, NaN on warm-up bars.

``Catalogue`` holds entries, looks names up, and binds a client's raw
parameters to an entry (``Bound``), with domain errors naming the field:
``params.timeperiod: 0 is below the minimum 2``. The API layer re-roots
them under the request (``indicators[3].params.timeperiod``).
"""

from __future__ import annotations

import difflib
import enum
import math
import numbers
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from idc_server.core.data import BAR_COLUMNS
from idc_server.core.errors import InvalidArgumentError, field_prefix, shown
from idc_server.core.indicators import Convention

FloatArray = npt.NDArray[np.float64]
ParameterValue = int | float | str | bool
Params = Mapping[str, ParameterValue]
Columns = Mapping[str, FloatArray]

# ``namespace.LOCAL``: a lower-case namespace (the source), then the entry's own name (a request formula's
# label, which may start with a digit: ``formula.5ma``).
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]*\.[A-Za-z0-9][A-Za-z0-9_]*")
PARAMETER_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_]*")  # case-sensitive: TA-Lib's timeperiod, 通达信's N, M1
MAX_NAME_LENGTH = 100  # a longer name cannot be an entry; refused before any lookup work
CLOSE_MATCHES = 5


class CatalogueError(Exception):
    """A declaration is malformed: a fault of the source (TA-Lib metadata, a formula file, a plugin), not a request."""


class ParameterType(enum.Enum):
    """What values a parameter takes."""

    INT = "int"
    FLOAT = "float"
    ENUM = "enum"  # one of ``Parameter.choices``, by name (case-insensitive)
    BOOL = "bool"


class OutputKind(enum.Enum):
    """What an output's values mean, so that a chart knows where to draw it."""

    PRICE = "price"  # a price level on the inputs' scale: an overlay (price differences such as MACD are UNITLESS)
    PERCENT = "percent"  # 0-100 for bounded oscillators (RSI); unbounded for rates of change
    RATIO = "ratio"  # a dimensionless ratio (1.0 = 100%)
    VOLUME = "volume"  # the units of the volume input (shares, contracts)
    UNITLESS = "unitless"  # an oscillator or other value in units of its own (or none)
    SIGNAL = "signal"  # a per-bar signal: 0 none, non-zero fired (TA-Lib patterns: ±100, ±80, ±200)


@dataclass(frozen=True, slots=True)
class Parameter:
    """One parameter of an entry.

    ``minimum`` and ``maximum`` bound INT and FLOAT values, inclusive (the
    minimum exclusive when ``minimum_exclusive``); None means unbounded (FLOAT
    values must still be finite). ``choices`` are the names an ENUM takes.
    ``default`` is a valid value.
    """

    name: str
    type: ParameterType
    default: ParameterValue
    doc: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    minimum_exclusive: bool = False

    def __post_init__(self) -> None:
        if not PARAMETER_PATTERN.fullmatch(self.name):
            raise CatalogueError(f"parameter name {self.name!r} is not an identifier")
        if (self.type is ParameterType.ENUM) != bool(self.choices):
            raise CatalogueError(f"parameter {self.name}: choices are for enum parameters, and enums need them")
        try:
            if self.validate(self.default) != self.default:
                raise CatalogueError(f"parameter {self.name}: default {self.default!r} is not in canonical form")
        except InvalidArgumentError as error:
            raise CatalogueError(f"parameter {self.name}: default is invalid: {error}") from None

    def validate(self, value: object) -> ParameterValue:
        """The value in canonical form; InvalidArgumentError (field: the parameter's name) when invalid."""
        if self.type is ParameterType.BOOL:
            if not isinstance(value, bool):
                raise InvalidArgumentError(self.name, f"must be true or false, got {shown(value)}")
            return value
        if self.type is ParameterType.ENUM:
            if isinstance(value, str):
                for choice in self.choices:
                    if choice.casefold() == value.casefold():
                        return choice
            raise InvalidArgumentError(self.name, f"{shown(value)} is not one of {', '.join(self.choices)}")
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            expected = "an integer" if self.type is ParameterType.INT else "a number"
            raise InvalidArgumentError(self.name, f"must be {expected}, got {shown(value)}")
        number: int | float
        if self.type is ParameterType.INT:
            if not isinstance(value, numbers.Integral) and not (isinstance(value, float) and value.is_integer()):
                raise InvalidArgumentError(self.name, f"must be an integer, got {shown(value)}")  # 14.0 is 14
            number = int(value)
        else:
            try:
                number = float(value)
            except OverflowError:  # an int beyond float's range
                number = math.inf
            if not math.isfinite(number):
                raise InvalidArgumentError(self.name, f"must be a finite number, got {shown(value)}")
        if self.minimum is not None and self.minimum_exclusive and number <= self.minimum:
            raise InvalidArgumentError(
                self.name, f"must be above {_bound(self.minimum, self.type)}, got {shown(number)}"
            )
        if self.minimum is not None and number < self.minimum:
            raise InvalidArgumentError(
                self.name, f"{shown(number)} is below the minimum {_bound(self.minimum, self.type)}"
            )
        if self.maximum is not None and number > self.maximum:
            raise InvalidArgumentError(
                self.name, f"{shown(number)} is above the maximum {_bound(self.maximum, self.type)}"
            )
        return number


def _bound(value: float, type_: ParameterType) -> str:
    return str(int(value)) if type_ is ParameterType.INT else f"{value:g}"


@dataclass(frozen=True, slots=True)
class Output:
    """One output series of an entry."""

    name: str
    kind: OutputKind
    doc: str = ""


Lookback = Callable[[Params, Convention], int]
Compute = Callable[[Columns, Params, Convention], dict[str, FloatArray]]
Check = Callable[[Params], None]


@dataclass(frozen=True, slots=True, eq=False)
class Entry:
    """A catalogue entry: its declaration and the two functions behind it.

    ``lookback_function`` and ``compute_function`` receive parameters already
    validated by ``Catalogue.bind`` (every declared parameter present, in
    canonical form). ``check_function``, if any, checks rules between
    parameters (MACD's fast below slow) and raises InvalidArgumentError naming
    one. ``compute_function`` may raise InvalidArgumentError naming a
    parameter (a period longer than the series). Entries compare by identity.
    """

    name: str
    group: str
    description: str
    parameters: tuple[Parameter, ...]
    inputs: tuple[str, ...]
    outputs: tuple[Output, ...]
    conventions: tuple[Convention, ...]
    lookback_function: Lookback = field(repr=False)
    compute_function: Compute = field(repr=False)
    check_function: Check | None = field(default=None, repr=False)
    formula: str = field(default="", repr=False)  # the 通达信 text of a formula entry, header included

    def __post_init__(self) -> None:
        if len(self.name) > MAX_NAME_LENGTH or not NAME_PATTERN.fullmatch(self.name):
            raise CatalogueError(f"entry name {self.name!r} is not namespace.NAME")
        problems = []
        names = [parameter.name for parameter in self.parameters]
        if len(set(names)) != len(names):
            problems.append(f"duplicate parameters {names}")
        if not self.inputs or any(column not in BAR_COLUMNS for column in self.inputs):
            problems.append(f"inputs {self.inputs} are not bar columns {BAR_COLUMNS}")
        outputs = [output.name for output in self.outputs]
        if not outputs or len(set(outputs)) != len(outputs):
            problems.append(f"outputs {outputs} must be distinct and at least one")
        if not self.conventions:
            problems.append("supports no convention")
        if problems:
            raise CatalogueError(f"{self.name}: {'; '.join(problems)}")

    @property
    def namespace(self) -> str:
        """The source: ``talib``, ``tdx``, a plugin's name."""
        return self.name.partition(".")[0]

    @property
    def local_name(self) -> str:
        """The name within its namespace: ``ADX`` for ``talib.ADX``."""
        return self.name.partition(".")[2]

    def convention_for(self, requested: Convention | None, server_default: Convention) -> Convention:
        """The convention to compute under: the requested one, which must be supported, or else the
        server's default when supported, or else the entry's own (a TA-Lib entry on a TDX server)."""
        if requested is not None:
            if requested not in self.conventions:
                supported = ", ".join(item.name for item in self.conventions)
                raise InvalidArgumentError("convention", f"{self.name} supports {supported}, not {requested.name}")
            return requested
        return server_default if server_default in self.conventions else self.conventions[0]

    def defaults(self) -> dict[str, ParameterValue]:
        """Every parameter at its default."""
        return {parameter.name: parameter.default for parameter in self.parameters}

    def bind(self, raw: Mapping[str, object]) -> Bound:
        """Validate ``raw`` parameters (missing ones take their default).

        Errors name ``params.<parameter>``; an unknown parameter is listed
        with the entry's own.
        """
        declared = {parameter.name: parameter for parameter in self.parameters}
        with field_prefix("params"):
            for name in raw:
                if name not in declared:
                    raise InvalidArgumentError(
                        str(name)[:MAX_NAME_LENGTH], f"{self.name} has no parameter {shown(name)}; {_listing(declared)}"
                    )
            values = tuple(
                (
                    parameter.name,
                    parameter.validate(raw[parameter.name]) if parameter.name in raw else parameter.default,
                )
                for parameter in self.parameters
            )
            if self.check_function is not None:
                self.check_function(dict(values))
        return Bound(self, values)


def _listing(declared: Mapping[str, Parameter]) -> str:
    return f"its parameters are {', '.join(declared)}" if declared else "it takes none"


@dataclass(frozen=True, slots=True)
class Bound:
    """An entry with validated parameters: what a request computes, and a cache key (hashable)."""

    entry: Entry
    values: tuple[tuple[str, ParameterValue], ...]

    @property
    def params(self) -> dict[str, ParameterValue]:
        """The parameters by name, in declaration order."""
        return dict(self.values)

    def lookback(self, convention: Convention | None = None) -> int:
        """Warm-up bars under ``convention`` (None: the entry's own).

        On NaN-free bars the first ``lookback()`` values of every output are
        NaN and the next one is a number (unless the entry's values can be NaN,
        as ``talib.LN`` of a negative input), or all are NaN when the series is
        no longer than the lookback.
        """
        return self.entry.lookback_function(self.params, self._convention(convention))

    def _convention(self, requested: Convention | None) -> Convention:
        return self.entry.convention_for(requested, self.entry.conventions[0])

    def compute(self, columns: Columns, convention: Convention | None = None) -> dict[str, FloatArray]:
        """Every output over ``columns`` (bar column name to float64 array, all one length; extra columns ignored).

        ``convention`` None means the entry's own. Returns arrays as long as
        the columns, by output name in declaration order.
        """
        entry = self.entry
        convention = self._convention(convention)
        missing = [column for column in entry.inputs if column not in columns]
        if missing:
            raise InvalidArgumentError(missing[0], f"{entry.name} needs the bar columns {', '.join(entry.inputs)}")
        lengths = {len(columns[column]) for column in entry.inputs}
        if len(lengths) != 1:
            raise InvalidArgumentError(entry.inputs[0], f"input columns differ in length: {sorted(lengths)}")
        length = lengths.pop()
        with field_prefix("params"):  # an entry names its own parameters (or none: "params")
            outputs = entry.compute_function(
                {column: columns[column] for column in entry.inputs}, self.params, convention
            )
        expected = [output.name for output in entry.outputs]
        if list(outputs) != expected or any(
            values.shape != (length,) or values.dtype != np.float64 for values in outputs.values()
        ):
            raise CatalogueError(f"{entry.name} returned {list(outputs)}, not {expected} as float64[{length}]")
        return outputs


class Catalogue:
    """Entries by name.

    Names are ``namespace.LOCAL`` and looked up case-insensitively. A bare
    ``LOCAL`` (``ADX``) finds the one entry of that local name; when several
    namespaces have it, the error lists them. Two entries whose names differ
    only in case cannot both be registered.
    """

    def __init__(self, entries: Iterable[Entry] = (), plugins: tuple[str, ...] = ()) -> None:
        self.plugins = plugins  # the ``--plugins`` it was built with, so another process can build it again
        self._by_name: dict[str, Entry] = {}
        self._by_local: dict[str, list[Entry]] = {}
        for entry in entries:
            self.add(entry)

    def add(self, entry: Entry) -> None:
        """Register ``entry``; CatalogueError when its name is taken (in any case)."""
        key = entry.name.casefold()
        if key in self._by_name:
            raise CatalogueError(f"{entry.name} is already registered as {self._by_name[key].name}")
        self._by_name[key] = entry
        self._by_local.setdefault(entry.local_name.casefold(), []).append(entry)

    def __len__(self) -> int:
        return len(self._by_name)

    def __iter__(self) -> Iterator[Entry]:
        """Entries sorted by name (case-insensitively)."""
        return iter(sorted(self._by_name.values(), key=lambda entry: entry.name.casefold()))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.casefold() in self._by_name

    def get(self, name: str, field: str = "name") -> Entry:
        """The entry called ``name``; InvalidArgumentError naming ``field`` with close matches when there is none."""
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError(field, "an indicator name is required, e.g. talib.ADX")
        key = name.casefold()
        if len(name) <= MAX_NAME_LENGTH:
            if key in self._by_name:
                return self._by_name[key]
            candidates = self._by_local.get(key, []) if "." not in key else []
            if len(candidates) == 1:
                return candidates[0]
            if candidates:
                names = ", ".join(sorted(entry.name for entry in candidates))
                raise InvalidArgumentError(field, f"{shown(name)} is ambiguous: {names}")
        raise InvalidArgumentError(field, f"unknown indicator {shown(name)}{self._suggestions(key)}")

    def bind(self, name: str, raw: Mapping[str, object], field: str = "name") -> Bound:
        """Look ``name`` up and validate ``raw`` parameters for it (errors: ``field``, ``params.<name>``)."""
        return self.get(name, field).bind(raw)

    def _suggestions(self, key: str) -> str:
        """Entries whose local name is close to the one asked for (namespaces would make every name look close)."""
        if len(key) > MAX_NAME_LENGTH:
            return ""
        local = key.rpartition(".")[2]
        matches = difflib.get_close_matches(local, list(self._by_local), n=CLOSE_MATCHES, cutoff=0.75)
        names = [entry.name for match in matches for entry in sorted(self._by_local[match], key=lambda e: e.name)]
        return f"; did you mean {', '.join(names[:CLOSE_MATCHES])}?" if names else ""
