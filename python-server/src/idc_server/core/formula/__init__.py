"""通达信 (TDX) formula language: parse, check and evaluate formula text with NumPy.

The stable surface (docs/formula-language.md is the language reference,
docs/decisions/0019-formula-language.md the decision)::

    formula = compile_formula("DIF:EMA(CLOSE,12)-EMA(CLOSE,26); DEA:EMA(DIF,9);", parameters, limits)
    formula.outputs        # (Output(name="DIF", is_signal=False, styles=()), ...)
    formula.inputs         # ("close",): which of open, high, low, close, volume it reads
    formula.parameters     # the FormulaParameter s it was compiled with (name, default, range, doc)
    formula.warm_up(params)             # {"DIF": 0, ...}: first bar with a value at every bar, or None
    formula.evaluate(columns, params)   # {"DIF": float64 array, ...}, one value per bar, NaN for none

    load_formula_files(folder) -> list[FormulaFile]   # one indicator per *.tdx file, header declared
    system_formula_dir()                              # the shipped 通达信 system indicators

- ``compile_formula(text, parameters=(), limits=None) -> Formula``: parses
  with a lark LALR grammar (nothing is evaluated as Python) and checks
  names, arities, constant periods and the ``FormulaLimits``. Every problem
  is an ``InvalidArgumentError`` on field ``formula`` whose text gives the
  line, column and what was expected there, e.g.
  ``formula: line 1, column 18: expected ')' or ','``.
- ``Formula.evaluate(columns, params=None)``: ``columns`` maps the column
  names in ``inputs`` to equal-length float64 arrays (never written);
  ``params`` overrides defaults by parameter name (InvalidArgumentError on
  the parameter's name when out of range). Signals (``is_signal``) are 1.0
  or 0.0. A formula is immutable and thread-safe.
- ``FUNCTIONS``: every function's declaration (name, arguments and which are
  constant periods, NumPy implementation, documented semantics).
"""

from idc_server.core.formula.compiler import (
    COLUMNS,
    INPUTS,
    Formula,
    FormulaLimits,
    FormulaParameter,
    Output,
    compile_formula,
)
from idc_server.core.formula.files import (
    KINDS,
    FileOutput,
    FormulaFile,
    load_formula_file,
    load_formula_files,
    parse_formula_file,
    read_header,
    system_formula_dir,
)
from idc_server.core.formula.functions import FUNCTIONS, Function

__all__ = [
    "COLUMNS",
    "FUNCTIONS",
    "INPUTS",
    "KINDS",
    "FileOutput",
    "Formula",
    "FormulaFile",
    "FormulaLimits",
    "FormulaParameter",
    "Function",
    "Output",
    "compile_formula",
    "load_formula_file",
    "load_formula_files",
    "parse_formula_file",
    "read_header",
    "system_formula_dir",
]
