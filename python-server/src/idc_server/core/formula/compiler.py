"""Compile formula text into a program of NumPy steps, and evaluate it.

The syntax tree from ``grammar.parse`` becomes a list of ``Step`` s in
evaluation order. Equal sub-expressions share one step (``LLV(L,9)`` written
twice is computed once), a name is the step of its expression, and every
step's array is released after its last use. Nothing is evaluated as Python.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import lark
import numpy as np
from numpy.typing import NDArray

from idc_server.core.errors import InvalidArgumentError, shown
from idc_server.core.formula.functions import FUNCTIONS, Array, Function, truth
from idc_server.core.formula.grammar import FIELD, parse, syntax_error

# The bars columns a formula may read, by every name 通达信 gives them.
INPUTS: Final = {
    "O": "open",
    "OPEN": "open",
    "H": "high",
    "HIGH": "high",
    "L": "low",
    "LOW": "low",
    "C": "close",
    "CLOSE": "close",
    "V": "volume",
    "VOL": "volume",
}
COLUMNS: Final = ("open", "high", "low", "close", "volume")
UNSUPPORTED: Final = {
    "AMOUNT": "AMOUNT (turnover) is not supported: bars carry open, high, low, close and volume only",
    "AMO": "AMO (turnover) is not supported: bars carry open, high, low, close and volume only",
}
# 通达信 drawing attributes after an output (`MACD:(DIF-DEA)*2,COLORSTICK;`): kept, not evaluated.
STYLE: Final = re.compile(
    r"COLOR[0-9A-Z]*|LINETHICK[0-9]|NODRAW|NOTEXT|STICK|COLORSTICK|VOLSTICK|LINESTICK|"
    r"CROSSDOT|CIRCLEDOT|POINTDOT|DOTLINE|DASHLINE"
)
# The compiler walks the tree recursively, a few Python frames per level.
DEPTH_CEILING: Final = 200
_ARITHMETIC: Final = {"+", "-", "*", "/"}
_COMPARISONS: Final = {">", "<", ">=", "<=", "=", "<>"}


@dataclass(frozen=True, slots=True)
class FormulaLimits:
    """Bounds on the work one formula may ask for.

    ``max_cells`` bounds one evaluation: each step costs one cell per bar,
    windowed functions (STD, AVEDEV, WMA, SLOPE, HHVBARS, ...) one per bar
    and window bar.
    """

    max_length: int = 20_000  # characters of formula text
    max_statements: int = 500
    max_depth: int = 100  # nesting of calls and operators (parentheses alone add none), at most DEPTH_CEILING
    max_period: int = 1000  # the largest period argument, in bars
    max_bars: int = 2_000_000  # bars one evaluation may cover
    max_cells: int = 400_000_000

    def __post_init__(self) -> None:
        if not 1 <= self.max_depth <= DEPTH_CEILING:
            raise ValueError(f"max_depth must be between 1 and {DEPTH_CEILING} (the compiler recurses per level)")


@dataclass(frozen=True, slots=True)
class FormulaParameter:
    """A named constant of a formula (通达信's 参数), with its default and range."""

    name: str
    default: float
    minimum: float
    maximum: float
    doc: str = ""
    integer: bool = True  # whole numbers only (periods)

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Z][A-Z0-9_]*", self.name):
            raise InvalidArgumentError("parameters", f"name {shown(self.name)} is not an upper-case ASCII name")
        if not all(math.isfinite(value) for value in (self.default, self.minimum, self.maximum)):
            raise InvalidArgumentError(f"parameters.{self.name}", "default and range must be finite")
        if not self.minimum <= self.default <= self.maximum:
            raise InvalidArgumentError(
                f"parameters.{self.name}",
                f"default {self.default:g} is outside its range {self.minimum:g}..{self.maximum:g}",
            )

    def check(self, value: float) -> float:
        """``value`` if it is allowed, else InvalidArgumentError naming the parameter."""
        if not math.isfinite(value) or not self.minimum <= value <= self.maximum:
            raise InvalidArgumentError(
                self.name, f"must be between {self.minimum:g} and {self.maximum:g}, got {shown(value)}"
            )
        if self.integer and value != int(value):
            raise InvalidArgumentError(self.name, f"must be a whole number, got {value:g}")
        return float(value)


@dataclass(frozen=True, slots=True)
class Output:
    """One output line of a formula: its name, whether it is a signal (0/1), its drawing styles."""

    name: str
    is_signal: bool
    styles: tuple[str, ...] = ()
    step: int = field(default=-1, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Step:
    """One operation of a compiled formula, over earlier steps' results.

    ``operation``: ``input`` (``value`` names the column), ``number``,
    ``parameter`` (``value`` names it), ``sign`` ('+'/'-' in ``value``),
    an arithmetic or comparison operator, ``and``, ``or``, ``not``, or
    ``call`` (``value`` names the function; ``arguments`` in its order).
    """

    operation: str
    arguments: tuple[int, ...] = ()
    value: float | str = 0.0
    constant: bool = field(default=False, compare=False)
    boolean: bool = field(default=False, compare=False)
    parameters: frozenset[str] = field(default=frozenset(), compare=False)


@dataclass(frozen=True, slots=True)
class _ConstantCheck:
    """A function's constant arguments, checked once their values are known."""

    function: Function
    steps: tuple[int, ...]  # the constant arguments, in declaration order
    line: int
    column: int


class _Compiler:
    def __init__(self, parameters: Sequence[FormulaParameter], limits: FormulaLimits) -> None:
        self.parameters = {parameter.name: parameter for parameter in parameters}
        self.limits = limits
        self.steps: list[Step] = []
        self.index: dict[Step, int] = {}
        self.names: dict[str, int] = {}
        self.outputs: list[Output] = []
        self.checks: list[_ConstantCheck] = []
        self.inputs: set[str] = set()

    def add(self, step: Step) -> int:
        if step not in self.index:
            self.index[step] = len(self.steps)
            self.steps.append(step)
        return self.index[step]

    # --- statements

    def statement(self, tree: lark.Tree[lark.Token]) -> None:
        if tree.data == "unnamed_output":
            expression, *styles = tree.children
            unnamed = sum(1 for output in self.outputs if output.name.startswith("OUT"))
            self.define(f"OUT{unnamed + 1}", expression, styles, tree, output=True)
            return
        name, expression, *styles = tree.children
        assert isinstance(name, lark.Token)
        self.define(str(name).upper(), expression, styles, name, output=tree.data == "output")

    def define(
        self,
        name: str,
        expression: lark.Tree[lark.Token] | lark.Token | None,
        styles: Iterable[lark.Tree[lark.Token] | lark.Token | None],
        where: lark.Tree[lark.Token] | lark.Token,
        output: bool,
    ) -> None:
        line, column = _position(where)
        if name in INPUTS or name in UNSUPPORTED:
            raise syntax_error(line, column, f"{name} is an input and cannot be redefined")
        if name in self.parameters:
            raise syntax_error(line, column, f"{name} is a parameter and cannot be redefined")
        if name in self.names or any(existing.name == name for existing in self.outputs):
            raise syntax_error(line, column, f"{name} is already defined")
        assert expression is not None
        step = self.expression(expression)
        self.names[name] = step
        if output:
            self.outputs.append(Output(name, self.steps[step].boolean, self.styles(styles), step))

    def styles(self, styles: Iterable[lark.Tree[lark.Token] | lark.Token | None]) -> tuple[str, ...]:
        names = []
        for style in styles:
            assert isinstance(style, lark.Tree)
            token = style.children[0]
            assert isinstance(token, lark.Token)
            text = str(token).upper()
            if not STYLE.fullmatch(text):
                raise syntax_error(token.line or 1, token.column or 1, f"unknown drawing style {shown(text, 20)}")
            names.append(text)
        return tuple(names)

    # --- expressions

    def expression(self, tree: lark.Tree[lark.Token] | lark.Token | None) -> int:
        assert isinstance(tree, lark.Tree)
        kind = tree.data
        children = tree.children
        if kind == "number":
            return self.add(Step("number", value=float(str(children[0])), constant=True))
        if kind == "name":
            token = children[0]
            assert isinstance(token, lark.Token)
            return self.name(token)
        if kind == "call":
            return self.call(tree)
        if kind == "sign":
            operand = self.expression(children[1])
            if str(children[0]) == "+":
                return operand
            inner = self.steps[operand]
            return self.add(Step("sign", (operand,), "-", inner.constant, False, inner.parameters))
        if kind == "arith":
            left, right = self.expression(children[0]), self.expression(children[2])
            return self.binary(str(children[1]), left, right)
        if kind == "compare":
            left, right = self.expression(children[0]), self.expression(children[2])
            return self.binary(str(children[1]), left, right)
        if kind == "not_":
            operand = self.expression(children[0])
            return self.add(Step("not", (operand,), boolean=True))
        # and_ / or_
        left, right = self.expression(children[0]), self.expression(children[1])
        return self.add(Step(kind.rstrip("_"), (left, right), boolean=True))

    def binary(self, operator: str, left: int, right: int) -> int:
        a, b = self.steps[left], self.steps[right]
        if operator in _COMPARISONS:
            return self.add(Step(operator, (left, right), boolean=True))
        return self.add(
            Step(operator, (left, right), "", a.constant and b.constant, False, a.parameters | b.parameters)
        )

    def name(self, token: lark.Token) -> int:
        name = str(token).upper()
        line, column = token.line or 1, token.column or 1
        if name in self.names:
            return self.names[name]
        if name in self.parameters:
            return self.add(Step("parameter", value=name, constant=True, parameters=frozenset({name})))
        if name in INPUTS:
            self.inputs.add(INPUTS[name])
            return self.add(Step("input", value=INPUTS[name]))
        if name in UNSUPPORTED:
            raise syntax_error(line, column, UNSUPPORTED[name])
        if name in FUNCTIONS:
            raise syntax_error(line, column, f"{name} is a function: call it as {FUNCTIONS[name].signature}")
        known = ", ".join(sorted(self.parameters)) or "none"
        raise syntax_error(
            line,
            column,
            f"unknown name {shown(name, 30)} (inputs: O H L C V or OPEN HIGH LOW CLOSE VOL; "
            f"parameters: {known}; or a name defined before this line)",
        )

    def call(self, tree: lark.Tree[lark.Token]) -> int:
        token, *arguments = tree.children
        assert isinstance(token, lark.Token)
        name = str(token).upper()
        line, column = token.line or 1, token.column or 1
        function = FUNCTIONS.get(name)
        if function is None:
            raise syntax_error(line, column, f"unknown function {shown(name, 30)}")
        given = [argument for argument in arguments if argument is not None]
        if len(given) != len(function.arguments):
            raise syntax_error(
                line,
                column,
                f"{function.signature} takes {len(function.arguments)} argument"
                f"{'s' if len(function.arguments) != 1 else ''}, got {len(given)}",
            )
        steps: list[int] = []
        constants: list[int] = []
        for argument, tree_argument in zip(function.arguments, given, strict=True):
            step = self.expression(tree_argument)
            if argument.kind != "series":
                if not self.steps[step].constant:
                    where_line, where_column = _position(tree_argument)
                    raise syntax_error(
                        where_line,
                        where_column,
                        f"{function.name}'s {argument.name} must be a constant "
                        "(a number, a parameter or arithmetic on them)",
                    )
                constants.append(step)
            steps.append(step)
        if constants:
            self.checks.append(_ConstantCheck(function, tuple(constants), line, column))
        boolean = function.boolean or (name == "IF" and all(self.steps[s].boolean for s in steps[1:]))
        return self.add(Step("call", tuple(steps), name, boolean=boolean))


def _position(node: lark.Tree[lark.Token] | lark.Token | None) -> tuple[int, int]:
    if isinstance(node, lark.Token):
        return node.line or 1, node.column or 1
    if isinstance(node, lark.Tree) and not node.meta.empty:
        return node.meta.line, node.meta.column
    return 1, 1


def _check_depth(tree: lark.Tree[lark.Token], limit: int) -> None:
    pending: list[tuple[lark.Tree[lark.Token], int]] = [(tree, -1)]  # the root and each statement add none
    while pending:
        node, depth = pending.pop()
        if depth > limit:
            line, column = _position(node)
            raise syntax_error(line, column, f"nested deeper than the limit of {limit}")
        step = 0 if node.data in ("start", "assign", "output", "unnamed_output") else 1
        pending.extend((child, depth + step) for child in node.children if isinstance(child, lark.Tree))


class Formula:
    """A compiled formula: its outputs, inputs and parameters; ``evaluate`` runs it.

    Immutable and safe to share between threads.
    """

    def __init__(
        self,
        text: str,
        parameters: tuple[FormulaParameter, ...],
        limits: FormulaLimits,
        compiled: _Compiler,
    ) -> None:
        self.text = text
        self.parameters = parameters
        self.limits = limits
        self.outputs: tuple[Output, ...] = tuple(compiled.outputs)
        self.inputs: tuple[str, ...] = tuple(column for column in COLUMNS if column in compiled.inputs)
        self._steps: tuple[Step, ...] = tuple(compiled.steps)
        self._checks: tuple[_ConstantCheck, ...] = tuple(compiled.checks)
        last_use = {index: index for index in range(len(self._steps))}
        for index, step in enumerate(self._steps):
            for argument in step.arguments:
                last_use[argument] = index
        kept = {output.step for output in self.outputs}
        released: list[list[int]] = [[] for _ in self._steps]
        for index, last in last_use.items():
            if index not in kept:
                released[last].append(index)
        self._released = tuple(tuple(indices) for indices in released)
        self._scalars(self.resolve())  # the defaults must give valid periods

    def __repr__(self) -> str:
        return f"Formula({shown(self.text, 60)})"

    def resolve(self, params: Mapping[str, float] | None = None) -> dict[str, float]:
        """Every parameter's value: ``params`` (names in any case) over the defaults, each checked."""
        values = {parameter.name: parameter.default for parameter in self.parameters}
        declared = {parameter.name: parameter for parameter in self.parameters}
        for name, value in (params or {}).items():
            key = name.upper()
            if key not in declared:
                known = ", ".join(declared) or "none"
                raise InvalidArgumentError(name, f"is not a parameter of this formula (parameters: {known})")
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise InvalidArgumentError(name, f"must be a number, got {shown(value)}") from None
            values[key] = declared[key].check(number)
        return values

    def _scalars(self, values: Mapping[str, float]) -> dict[int, float]:
        """The value of every constant step, then each function's constant arguments checked."""
        scalars: dict[int, float] = {}
        for index, step in enumerate(self._steps):
            if step.constant:
                scalars[index] = _scalar(step, scalars, values)
        for check in self._checks:
            numbers = [scalars[step] for step in check.steps]
            named = sorted(frozenset().union(*(self._steps[step].parameters for step in check.steps)))
            problem = _argument_problem(check.function, numbers, self.limits.max_period)
            if problem is not None:
                where = f"line {check.line}, column {check.column}: {check.function.name}: {problem}"
                raise InvalidArgumentError(named[0] if named else FIELD, where)
        return scalars

    def warm_up(self, params: Mapping[str, float] | None = None) -> dict[str, int | None]:
        """Per output, the first bar from which it has a value at every bar, or None where that depends on the data.

        Structural: a bar can still lack a value where the data make it so
        (a division by zero, NaN in the bars); earlier bars may have values.
        """
        scalars = self._scalars(self.resolve(params))
        first: list[int | None] = []
        for step in self._steps:
            first.append(self._first(step, first, scalars))
        return {output.name: first[output.step] for output in self.outputs}

    def _first(self, step: Step, first: Sequence[int | None], scalars: Mapping[int, float]) -> int | None:
        if step.constant or step.operation in ("input", "not", "and", "or") or step.operation in _COMPARISONS:
            return 0
        if step.operation != "call":
            inner = [first[argument] for argument in step.arguments]
            return None if None in inner else max(w for w in inner if w is not None)
        function = FUNCTIONS[str(step.value)]
        series = [
            first[a]
            for a, argument in zip(step.arguments, function.arguments, strict=True)
            if argument.kind == "series"
        ]
        constants = [
            scalars[a]
            for a, argument in zip(step.arguments, function.arguments, strict=True)
            if argument.kind != "series"
        ]
        return function.warm_up(series, constants)

    def evaluate(self, columns: Mapping[str, Array], params: Mapping[str, float] | None = None) -> dict[str, Array]:
        """Each output's values, one float64 per bar (NaN where there is none; signals 1.0 or 0.0).

        ``columns`` maps ``open``, ``high``, ``low``, ``close``, ``volume``
        (those in ``inputs``) to equal-length float64 arrays; they are never
        written. ``params`` overrides parameter defaults by name.
        """
        scalars = self._scalars(self.resolve(params))
        bars = self._columns(columns)
        length = len(next(iter(bars.values()))) if bars else len(next(iter(columns.values()), ()))
        self._check_cost(length, scalars)
        results: list[Array | None] = [None] * len(self._steps)
        with np.errstate(all="ignore"):
            for index, step in enumerate(self._steps):
                results[index] = self._run(step, results, scalars, bars, length, index)
                for released in self._released[index]:
                    results[released] = None
        return {output.name: np.array(results[output.step], dtype=np.float64) for output in self.outputs}

    def _columns(self, columns: Mapping[str, Array]) -> dict[str, Array]:
        bars: dict[str, Array] = {}
        for column in self.inputs:
            if column not in columns:
                raise InvalidArgumentError(FIELD, f"reads {column}, which the bars do not have")
            values = np.asarray(columns[column], dtype=np.float64)
            if values.ndim != 1:
                raise InvalidArgumentError(FIELD, f"the {column} column must be one-dimensional")
            bars[column] = values
        lengths = {len(values) for values in bars.values()}
        if len(lengths) > 1:
            raise InvalidArgumentError(FIELD, f"the bars columns differ in length: {sorted(lengths)}")
        if lengths and max(lengths) > self.limits.max_bars:
            raise InvalidArgumentError(
                FIELD, f"covers {max(lengths)} bars, more than the limit of {self.limits.max_bars}"
            )
        return bars

    def _check_cost(self, length: int, scalars: Mapping[int, float]) -> None:
        cells = 0
        for step in self._steps:
            width = 1
            if step.operation == "call" and FUNCTIONS[str(step.value)].windowed:
                width += int(scalars[step.arguments[1]])
            cells += length * width
        if cells > self.limits.max_cells:
            raise InvalidArgumentError(
                FIELD,
                f"needs about {cells:,} cells of work over {length} bars, more than the limit of "
                f"{self.limits.max_cells:,}: use fewer bars or shorter windows",
            )

    def _run(
        self,
        step: Step,
        results: Sequence[Array | None],
        scalars: Mapping[int, float],
        bars: Mapping[str, Array],
        length: int,
        index: int,
    ) -> Array:
        if step.constant:
            return np.full(length, scalars[index])
        if step.operation == "input":
            return bars[str(step.value)]
        operands = [results[argument] for argument in step.arguments]
        arrays = [operand for operand in operands if operand is not None]
        assert len(arrays) == len(operands)
        operation = step.operation
        if operation == "sign":
            return -arrays[0]
        if operation in _ARITHMETIC:
            return _finite(_apply(operation, arrays[0], arrays[1]))
        if operation in _COMPARISONS:
            a, b = arrays
            valid = ~np.isnan(a) & ~np.isnan(b)
            return (valid & _compare(operation, a, b)).astype(np.float64)
        if operation == "not":
            return 1.0 - truth(arrays[0])
        if operation == "and":
            return truth(arrays[0]) * truth(arrays[1])
        if operation == "or":
            return np.maximum(truth(arrays[0]), truth(arrays[1]))
        function = FUNCTIONS[str(step.value)]
        values: list[Array | int | float] = []
        for argument, array, position in zip(function.arguments, arrays, step.arguments, strict=True):
            if argument.kind == "period":
                values.append(int(scalars[position]))
            elif argument.kind == "constant":
                values.append(scalars[position])
            else:
                values.append(array)
        return function.implementation(*values)


def _apply(operator: str, a: Array, b: Array) -> Array:
    if operator == "+":
        return a + b
    if operator == "-":
        return a - b
    if operator == "*":
        return a * b
    return a / b


_COMPARE: Final = {">": np.greater, "<": np.less, ">=": np.greater_equal, "<=": np.less_equal, "=": np.equal}


def _compare(operator: str, a: Array, b: Array) -> NDArray[np.bool_]:
    result: NDArray[np.bool_] = _COMPARE.get(operator, np.not_equal)(a, b)
    return result


def _finite(values: Array) -> Array:
    """``values`` with inf and -inf (a division by zero, an overflow) as NaN, in place."""
    values[~np.isfinite(values)] = np.nan
    return values


def _scalar(step: Step, scalars: Mapping[int, float], values: Mapping[str, float]) -> float:
    if step.operation == "number":
        return float(step.value)
    if step.operation == "parameter":
        return values[str(step.value)]
    operands = [scalars[argument] for argument in step.arguments]
    if step.operation == "sign":
        return -operands[0]
    a, b = operands
    with np.errstate(all="ignore"):
        result = float(_apply(step.operation, np.float64(a), np.float64(b)))  # type: ignore[arg-type]
    return result if math.isfinite(result) else math.nan


def _argument_problem(function: Function, numbers: Sequence[float], max_period: int) -> str | None:
    constants = iter(numbers)
    for argument in function.arguments:
        if argument.kind == "series":
            continue
        value = next(constants)
        if argument.kind == "period" and (
            not math.isfinite(value) or value != int(value) or not argument.minimum <= value <= max_period
        ):
            bounds = f"between {argument.minimum} and {max_period}"
            return f"{argument.name} must be a whole number of bars {bounds}, got {value:g}"
        if argument.kind == "constant" and not math.isfinite(value):
            return f"{argument.name} must be a finite number, got {shown(value)}"
    return function.check(numbers) if function.check else None


def compile_formula(
    text: str, parameters: Sequence[FormulaParameter] = (), limits: FormulaLimits | None = None
) -> Formula:
    """Parse and check ``text``.

    InvalidArgumentError on ``formula`` (line, column, what was expected) when it is wrong.
    """
    limits = limits or FormulaLimits()
    if len(text) > limits.max_length:
        raise InvalidArgumentError(FIELD, f"is {len(text)} characters long, more than the limit of {limits.max_length}")
    names = [parameter.name for parameter in parameters]
    if len(set(names)) != len(names):
        raise InvalidArgumentError("parameters", f"names repeat: {names}")
    tree = parse(text)
    statements = [child for child in tree.children if isinstance(child, lark.Tree)]
    if len(statements) > limits.max_statements:
        raise InvalidArgumentError(
            FIELD, f"has {len(statements)} statements, more than the limit of {limits.max_statements}"
        )
    _check_depth(tree, limits.max_depth)
    compiler = _Compiler(parameters, limits)
    for statement in statements:
        compiler.statement(statement)
    if not compiler.outputs:
        raise InvalidArgumentError(FIELD, "has no output: write NAME:expression; or end with an expression")
    return Formula(text, tuple(parameters), limits, compiler)
