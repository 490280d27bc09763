"""Formula files: one indicator per file, its parameters and outputs declared in a header.

A formula file is 通达信 formula text whose first lines are ``//`` comments
of the form ``key: value``, which the loader reads (the formula itself
ignores them as comments)::

    // group: trend
    // description: Moving average convergence/divergence (平滑异同平均线).
    // param: SHORT = 12, 2..200, the fast EMA's span, in bars
    // output: DIF, price, the fast EMA of the close minus the slow one
    DIF:EMA(CLOSE,SHORT)-EMA(CLOSE,LONG);

- The file name without ``.tdx`` is the indicator's name (``MACD.tdx``).
- ``group`` and ``description`` (one line) once each.
- ``param: NAME = DEFAULT, MIN..MAX, doc`` per parameter; a parameter is a
  whole number when its default and bounds are written without a point.
- ``output: NAME, KIND, doc`` per output, in the formula's order; KIND is
  one of ``price`` (a price level, drawn over the bars), ``percent``,
  ``ratio``, ``volume``, ``unitless`` (price differences such as MACD,
  oscillators of their own unit), ``signal``, and
  ``signal`` exactly for the formula's boolean outputs.

A new file in the folder is a new indicator: no code changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from idc_server.core.errors import InvalidArgumentError, shown
from idc_server.core.formula.compiler import Formula, FormulaLimits, FormulaParameter, compile_formula

SUFFIX: Final = ".tdx"
KINDS: Final = ("price", "percent", "ratio", "volume", "unitless", "signal")
_HEADER: Final = re.compile(r"//\s*(?P<key>[a-z]+)\s*:\s*(?P<value>.*?)\s*")
_NUMBER: Final = r"-?\d+(?:\.\d+)?"
_PARAM: Final = re.compile(
    rf"(?P<name>[A-Z][A-Z0-9_]*)\s*=\s*(?P<default>{_NUMBER})\s*,\s*(?P<low>{_NUMBER})\s*\.\.\s*(?P<high>{_NUMBER})"
    r"\s*,\s*(?P<doc>.+)"
)
_OUTPUT: Final = re.compile(r"(?P<name>[A-Z][A-Z0-9_]*)\s*,\s*(?P<kind>[a-z]+)\s*,\s*(?P<doc>.+)")


@dataclass(frozen=True, slots=True)
class FileOutput:
    """An output as its file declares it."""

    name: str
    kind: str  # one of KINDS
    doc: str


@dataclass(frozen=True, slots=True)
class FormulaFile:
    """One indicator defined by a formula file."""

    name: str
    group: str
    description: str
    parameters: tuple[FormulaParameter, ...]
    outputs: tuple[FileOutput, ...]
    text: str
    formula: Formula


def system_formula_dir() -> Path:
    """The folder of the 通达信 system indicators shipped with the server."""
    return Path(__file__).parent / "system"


def load_formula_files(folder: Path, limits: FormulaLimits | None = None) -> list[FormulaFile]:
    """Every ``*.tdx`` file in ``folder``, compiled and checked against its header, sorted by name.

    InvalidArgumentError naming the file (not its folder) when one is wrong.
    """
    return [load_formula_file(path, limits) for path in sorted(folder.glob(f"*{SUFFIX}"))]


def load_formula_file(path: Path, limits: FormulaLimits | None = None) -> FormulaFile:
    """The indicator in one formula file."""
    field = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidArgumentError(field, f"cannot be read as UTF-8 text ({type(error).__name__})") from None
    return parse_formula_file(path.stem, text, field, limits)


def parse_formula_file(name: str, text: str, field: str, limits: FormulaLimits | None = None) -> FormulaFile:
    """The indicator ``name`` from a formula file's ``text``; errors are on ``field``."""
    if not re.fullmatch(r"[A-Z][A-Z0-9_]*", name):
        raise InvalidArgumentError(field, f"the name {shown(name)} must be upper-case ASCII letters, digits and _")
    single, parameters, outputs = _header(text, field, strict=True)
    for key in ("group", "description"):
        if not single.get(key):
            raise InvalidArgumentError(field, f"the header must declare '// {key}: ...'")
    try:
        formula = compile_formula(text, parameters, limits)
    except InvalidArgumentError as error:
        raise InvalidArgumentError(field, str(error)) from None
    declared = [(output.name, output.kind == "signal") for output in outputs]
    actual = [(output.name, output.is_signal) for output in formula.outputs]
    if declared != actual:
        raise InvalidArgumentError(
            field,
            f"the header's outputs {declared} (name, is a signal) differ from the formula's {actual}",
        )
    return FormulaFile(name, single["group"], single["description"], formula.parameters, tuple(outputs), text, formula)


def read_header(text: str, field: str) -> tuple[tuple[FormulaParameter, ...], tuple[FileOutput, ...]]:
    """The ``param:`` and ``output:`` lines a formula's header declares (for formula text sent in a request).

    Other header keys are plain comments here; malformed ``param:`` and
    ``output:`` lines are errors on ``field``.
    """
    _, parameters, outputs = _header(text, field, strict=False)
    return tuple(parameters), tuple(outputs)


def _header(text: str, field: str, strict: bool) -> tuple[dict[str, str], list[FormulaParameter], list[FileOutput]]:
    single: dict[str, str] = {}
    parameters: list[FormulaParameter] = []
    outputs: list[FileOutput] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped.startswith("//"):
            break
        header = _HEADER.fullmatch(stripped)
        if header is None:
            continue  # a plain comment
        key, value = header["key"], header["value"]
        where = f"line {number}"
        if key in ("group", "description"):
            if key in single and strict:
                raise InvalidArgumentError(field, f"{where}: {key} is declared twice")
            single[key] = value
        elif key == "param":
            parameters.append(_parameter(value, field, where))
        elif key == "output":
            outputs.append(_output(value, field, where))
        elif strict:
            raise InvalidArgumentError(field, f"{where}: unknown header key {shown(key)}")
    return single, parameters, outputs


def _parameter(value: str, field: str, where: str) -> FormulaParameter:
    match = _PARAM.fullmatch(value)
    if match is None:
        raise InvalidArgumentError(field, f"{where}: expected 'param: NAME = DEFAULT, MIN..MAX, doc'")
    numbers = (match["default"], match["low"], match["high"])
    integer = not any("." in number for number in numbers)
    try:
        default, low, high = (float(number) for number in numbers)
        return FormulaParameter(match["name"], default, low, high, match["doc"], integer)
    except InvalidArgumentError as error:
        raise InvalidArgumentError(field, f"{where}: {error}") from None


def _output(value: str, field: str, where: str) -> FileOutput:
    match = _OUTPUT.fullmatch(value)
    if match is None:
        raise InvalidArgumentError(field, f"{where}: expected 'output: NAME, KIND, doc'")
    if match["kind"] not in KINDS:
        raise InvalidArgumentError(field, f"{where}: kind {shown(match['kind'])} is not one of {', '.join(KINDS)}")
    return FileOutput(match["name"], match["kind"], match["doc"])
