"""通达信 formulas as catalogue entries: the shipped files (``tdx.*``) and formula text sent in a request.

A formula file becomes ``tdx.<FILE>`` (``MACD.tdx`` is ``tdx.MACD``): its
header's parameters (INT when written without a point, else FLOAT, with
their range), the bar columns the text reads, its outputs with the kinds the
header gives, convention TDX only. A new ``.tdx`` file in
``core/formula/system`` is a new entry, with no code.

Formula text in a request compiles to an unregistered entry
``formula.<label>``; ``// param:`` and ``// output:`` header lines, if any,
declare its parameters and its outputs' kinds (otherwise boolean outputs are
signals and the others unitless).

The lookback is the latest first bar the compiler can tell from the text
(REF adds its period, and so on); outputs whose first value depends on the
data (BARSLAST, VALUEWHEN) count 0 there.
"""

from __future__ import annotations

import functools
from pathlib import Path

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
from idc_server.core.formula import (
    FileOutput,
    Formula,
    FormulaLimits,
    FormulaParameter,
    compile_formula,
    load_formula_files,
    read_header,
    system_formula_dir,
)
from idc_server.core.indicators import Convention

NAMESPACE = "tdx"
REQUEST_NAMESPACE = "formula"
REQUEST_GROUP = "Formula"
REQUEST_DESCRIPTION = "A 通达信 formula sent in the request."
FIELD = "formula"


def _parameter(parameter: FormulaParameter) -> Parameter:
    doc = parameter.doc or f"the formula's {parameter.name}"
    if parameter.integer:
        return Parameter(
            parameter.name,
            ParameterType.INT,
            int(parameter.default),
            doc,
            parameter.minimum,
            parameter.maximum,
        )
    return Parameter(parameter.name, ParameterType.FLOAT, parameter.default, doc, parameter.minimum, parameter.maximum)


def _outputs(formula: Formula, declared: tuple[FileOutput, ...]) -> tuple[Output, ...]:
    kinds = {output.name: output for output in declared}
    outputs = []
    for output in formula.outputs:
        given = kinds.get(output.name)
        if output.is_signal:
            kind = OutputKind.SIGNAL
        elif given is not None and given.kind != "signal":
            kind = OutputKind(given.kind)
        else:
            kind = OutputKind.UNITLESS
        outputs.append(Output(output.name, kind, given.doc if given else ""))
    return tuple(outputs)


def formula_entry(
    name: str, group: str, description: str, formula: Formula, declared: tuple[FileOutput, ...] = ()
) -> Entry:
    """The entry ``name`` computing ``formula``; ``declared`` outputs give kinds and docs; its text is kept."""

    def lookback(params: Params, convention: Convention) -> int:
        return max((first for first in formula.warm_up(_numbers(params)).values() if first is not None), default=0)

    def compute(columns: Columns, params: Params, convention: Convention) -> dict[str, FloatArray]:
        return formula.evaluate(columns, _numbers(params))

    return Entry(
        name=name,
        group=group,
        description=description,
        parameters=tuple(_parameter(parameter) for parameter in formula.parameters),
        inputs=formula.inputs or ("close",),  # a formula of constants still runs over some bars
        outputs=_outputs(formula, declared),
        conventions=(Convention.TDX,),
        lookback_function=lookback,
        compute_function=compute,
        formula=formula.text,
    )


def _numbers(params: Params) -> dict[str, float]:
    return {name: float(value) for name, value in params.items()}  # a formula's parameters are all numbers


def tdx_entries(folder: Path | None = None) -> list[Entry]:
    """One ``tdx.*`` entry per formula file in ``folder`` (the shipped system indicators by default)."""
    return [
        formula_entry(f"{NAMESPACE}.{file.name}", file.group, file.description, file.formula, file.outputs)
        for file in load_formula_files(folder or system_formula_dir())
    ]


@functools.lru_cache(maxsize=256)
def request_formula_entry(text: str, label: str, limits: FormulaLimits | None = None) -> Entry:
    """The unregistered entry ``formula.<label>`` for formula text from a request.

    InvalidArgumentError on ``formula`` (line, column, what was expected)
    when the text is wrong. Cached by text, so that the same formula in many
    requests is compiled once and its values share the indicator cache.
    """
    parameters, declared = read_header(text, FIELD)
    formula = compile_formula(text, parameters, limits)
    return formula_entry(f"{REQUEST_NAMESPACE}.{label}", REQUEST_GROUP, REQUEST_DESCRIPTION, formula, declared)
