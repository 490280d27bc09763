"""The 通达信 formula grammar (lark, LALR) and the syntax errors it reports.

``parse(text)`` returns lark's tree or raises InvalidArgumentError on field
``formula`` with the line, column and what was expected there. The tree is
only ever walked by the compiler: nothing in a formula is evaluated as Python.
"""

from __future__ import annotations

from typing import Final

import lark
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from idc_server.core.errors import InvalidArgumentError, shown

FIELD: Final = "formula"

# Precedence, loosest first: OR, AND, NOT, comparison, + -, * /, unary sign.
# Keywords and names are case-insensitive (names are upper-cased by the compiler).
GRAMMAR: Final = r"""
    start: statement? (_SEP statement?)*

    statement: NAME ":=" expr              -> assign
             | NAME ":" expr style*       -> output
             | expr style*                -> unnamed_output

    style: "," NAME

    ?expr: or_expr
    ?or_expr: and_expr
            | or_expr _OR and_expr           -> or_
    ?and_expr: not_expr
             | and_expr _AND not_expr        -> and_
    ?not_expr: comparison
             | _NOT not_expr                 -> not_
    ?comparison: sum
               | sum COMPARE sum             -> compare
    ?sum: product
        | sum ADD_OP product                 -> arith
    ?product: unary
            | product MUL_OP unary           -> arith
    ?unary: atom
          | ADD_OP unary                     -> sign
    ?atom: NUMBER                            -> number
         | NAME "(" [expr ("," expr)*] ")"   -> call
         | NAME                              -> name
         | "(" expr ")"

    _OR.2: /OR\b/i | "||"
    _AND.2: /AND\b/i | "&&"
    _NOT.2: /NOT\b/i
    COMPARE: ">=" | "<=" | "<>" | ">" | "<" | "="
    ADD_OP: "+" | "-"
    MUL_OP: "*" | "/"
    NUMBER: /(\d+(\.\d*)?|\.\d+)/
    NAME: /[A-Za-z][A-Za-z0-9_]*/
    _SEP: ";"

    COMMENT: /\{[^}]*\}/ | /\/\/[^\n]*/
    %ignore COMMENT
    %ignore /[ \t\r\n\f]+/
"""

_PARSER: Final = lark.Lark(GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=True)

# What each terminal means to a person writing a formula.
_TERMINALS: Final = {
    "RPAR": "')'",
    "LPAR": "'('",
    "COMMA": "','",
    "_SEP": "';'",
    "COLON": "':'",
    "__ANON_0": "':='",
    "NAME": "a name",
    "NUMBER": "a number",
    "COMPARE": "a comparison",
    "ADD_OP": "'+' or '-'",
    "MUL_OP": "'*' or '/'",
    "_OR": "OR",
    "_AND": "AND",
    "_NOT": "NOT",
    "$END": "the end of the formula",
}
_OPERAND: Final = frozenset({"NAME", "NUMBER", "LPAR"})


def syntax_error(line: int, column: int, description: str) -> InvalidArgumentError:
    """InvalidArgumentError on ``formula`` at ``line``:``column`` (both from 1)."""
    return InvalidArgumentError(FIELD, f"line {line}, column {column}: {description}")


def _expected(names: set[str]) -> str:
    """``expected ')'``, ``expected an expression`` or ``expected ')' or ','``."""
    if names >= _OPERAND:
        return "an expression"
    readable = sorted({_TERMINALS.get(name, name) for name in names})
    if len(readable) > 4:
        return "an operator, ',', ')' or ';'"
    return " or ".join(readable)


def _describe(error: UnexpectedInput, text: str) -> InvalidArgumentError:
    if isinstance(error, UnexpectedCharacters):
        character = str(error.char)
        if not character.isascii():
            return syntax_error(
                error.line,
                error.column,
                f"unexpected character {character!r}: names are ASCII letters, digits and '_' "
                "(text in comments may be anything)",
            )
        if character == "{":
            return syntax_error(error.line, error.column, "comment '{' is never closed with '}'")
        return syntax_error(error.line, error.column, f"unexpected character {character!r}")
    if isinstance(error, UnexpectedToken):
        expected = _expected(set(error.expected))
        if error.token.type == "$END":
            line, column = _end_position(text)
            return syntax_error(line, column, f"expected {expected}")
        return syntax_error(error.line, error.column, f"expected {expected}, got {shown(str(error.token), 20)}")
    if isinstance(error, UnexpectedEOF):
        line, column = _end_position(text)
        return syntax_error(line, column, f"expected {_expected(set(error.expected))}")
    return syntax_error(1, 1, "cannot be parsed")  # pragma: no cover - lark raises only the three above


def _end_position(text: str) -> tuple[int, int]:
    lines = text.split("\n")
    return len(lines), len(lines[-1]) + 1


def parse(text: str) -> lark.Tree[lark.Token]:
    """The syntax tree of ``text``, or InvalidArgumentError naming the line and column."""
    try:
        return _PARSER.parse(text)
    except UnexpectedInput as error:
        raise _describe(error, text) from None
