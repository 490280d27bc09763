"""The formula language: syntax, names, outputs, warm-up, limits and hostile input (fuzzed)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from formula_support import assert_same, run, series, walk_columns
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idc_server.core.errors import InvalidArgumentError
from idc_server.core.formula import FUNCTIONS, FormulaLimits, FormulaParameter, Output, compile_formula
from idc_server.core.formula.compiler import DEPTH_CEILING

MACD_TEXT = "DIF:EMA(CLOSE,12)-EMA(CLOSE,26); DEA:EMA(DIF,9); MACD:(DIF-DEA)*2;"


def error_of(text: str, limits: FormulaLimits | None = None, parameters: tuple[FormulaParameter, ...] = ()) -> str:
    with pytest.raises(InvalidArgumentError) as caught:
        compile_formula(text, parameters, limits)
    assert caught.value.field == "formula"
    return str(caught.value)


# --- syntax ------------------------------------------------------------------------------


def test_the_issue_example_compiles_with_its_outputs_and_inputs() -> None:
    formula = compile_formula(MACD_TEXT)
    assert formula.outputs == (Output("DIF", False), Output("DEA", False), Output("MACD", False))
    assert formula.inputs == ("close",)
    assert formula.warm_up() == {"DIF": 0, "DEA": 0, "MACD": 0}


def test_names_keywords_and_functions_are_case_insensitive() -> None:
    columns = walk_columns(200, 1)
    upper = compile_formula(MACD_TEXT).evaluate(columns)
    lower = compile_formula(MACD_TEXT.lower()).evaluate(columns)
    assert upper.keys() == lower.keys()
    for name in upper:
        assert upper[name].tobytes() == lower[name].tobytes()
    assert run("x:c>o and not(c<o) Or 0;", columns).tolist() == run("X:C>O AND NOT(C<O) OR 0;", columns).tolist()


def test_short_and_long_input_names_are_the_same_columns() -> None:
    columns = walk_columns(50, 2)
    short = compile_formula("A:O+H+L+C+V;").evaluate(columns)["A"]
    long = compile_formula("A:OPEN+HIGH+LOW+CLOSE+VOL;").evaluate(columns)["A"]
    assert short.tobytes() == long.tobytes()
    assert compile_formula("A:O+H+L+C+V;").inputs == ("open", "high", "low", "close", "volume")


def test_comments_of_both_kinds_may_hold_any_text() -> None:
    text = "{均线 (moving average)} X:MA(C,2); // 注释: 收盘价\n{ multi\nline } Y:X*2 {trailing}"
    formula = compile_formula(text)
    assert [output.name for output in formula.outputs] == ["X", "Y"]
    assert_same(formula.evaluate(series(1.0, 3.0))["Y"], [math.nan, 4.0])


def test_intermediates_are_not_outputs_and_unnamed_expressions_are() -> None:
    formula = compile_formula("M:=MA(C,2); M>C; CROSS(C,M);")
    assert formula.outputs == (Output("OUT1", True), Output("OUT2", True))


def test_signals_are_the_boolean_outputs() -> None:
    formula = compile_formula(
        "A:C>O; B:CROSS(C,O); C1:C+O; D:IF(C>O,C>H,O>H); E:IF(C>O,1,C); F:EVERY(C>O,3); G:=A; G2:G; H1:NOT(A);"
    )
    assert {output.name: output.is_signal for output in formula.outputs} == {
        "A": True,
        "B": True,
        "C1": False,
        "D": True,
        "E": False,
        "F": True,
        "G2": True,
        "H1": True,
    }


def test_drawing_styles_are_kept_and_not_evaluated() -> None:
    formula = compile_formula("MACD:(C-O)*2,COLORSTICK; X:C,COLORRED,LINETHICK2; Y:C,NODRAW;")
    assert [output.styles for output in formula.outputs] == [("COLORSTICK",), ("COLORRED", "LINETHICK2"), ("NODRAW",)]


def test_names_may_start_with_a_keyword() -> None:
    formula = compile_formula("ORDER:1; NOTE:ORDER AND 1; ANDY:NOTE OR 0;")
    assert [output.name for output in formula.outputs] == ["ORDER", "NOTE", "ANDY"]
    assert formula.evaluate({"close": np.ones(2)})["ANDY"].tolist() == [1.0, 1.0]


def test_literals_precedence_and_unary_signs() -> None:
    columns = series(2.0)
    assert run("X:1+2*3-4/2;", columns).tolist() == [5.0]
    assert run("X:-C*-.5+1.;", columns).tolist() == [2.0]
    assert run("X:(1+2)*3;", columns).tolist() == [9.0]
    assert run("X:1+1>1 AND 2<3 OR 0;", columns).tolist() == [1.0]
    assert run("X:NOT 1>2;", columns).tolist() == [1.0]
    assert run("X:+C;", columns).tolist() == [2.0]


def test_equal_sub_expressions_are_computed_once() -> None:
    formula = compile_formula("X:LLV(L,9)+LLV(L,9); Y:LLV(L,9)*2;")
    calls = [step for step in formula._steps if step.operation == "call"]
    assert len(calls) == 1


# --- errors with line and column ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("DIF:EMA(CLOSE,12-EMA(CLOSE,26);", "formula: line 1, column 31: expected ')' or ',', got ';'"),
        ("X:(C+O;", "formula: line 1, column 7: expected ')', got ';'"),
        ("X:MA(C,5);\nY:MA(C,,2);", "formula: line 2, column 8: expected an expression, got ','"),
        ("X:1+", "formula: line 1, column 5: expected an expression"),
        ("X:MA(C 5);", "formula: line 1, column 8: expected an operator, ',', ')' or ';', got '5'"),
        ("{open comment X:1;", "formula: line 1, column 1: comment '{' is never closed with '}'"),
        ("X:C$2;", "formula: line 1, column 4: unexpected character '$'"),
        ("X:FOO(C);", "formula: line 1, column 3: unknown function 'FOO'"),
        ("X:MA(C);", "formula: line 1, column 3: MA(X, N) takes 2 arguments, got 1"),
        ("X:ABS(C,1);", "formula: line 1, column 3: ABS(X) takes 1 argument, got 2"),
        (
            "X:MA(C,C);",
            "formula: line 1, column 8: MA's N must be a constant (a number, a parameter or arithmetic on them)",
        ),
        ("X:MA(C,0);", "formula: line 1, column 3: MA: N must be a whole number of bars between 1 and 1000, got 0"),
        ("X:MA(C,2.5);", "formula: line 1, column 3: MA: N must be a whole number of bars between 1 and 1000, got 2.5"),
        (
            "X:REF(C,1001);",
            "formula: line 1, column 3: REF: N must be a whole number of bars between 0 and 1000, got 1001",
        ),
        ("X:STD(C,1);", "formula: line 1, column 3: STD: N must be a whole number of bars between 2 and 1000, got 1"),
        ("X:SMA(C,3,4);", "formula: line 1, column 3: SMA: M must be above 0 and at most N (3), got 4"),
        ("X:MA(C,1/0);", "formula: line 1, column 3: MA: N must be a whole number of bars between 1 and 1000, got nan"),
        ("X:MA;", "formula: line 1, column 3: MA is a function: call it as MA(X, N)"),
        ("X:C; X:O;", "formula: line 1, column 6: X is already defined"),
        ("C:=1;", "formula: line 1, column 1: C is an input and cannot be redefined"),
        (
            "X:Y; Y:1;",
            "formula: line 1, column 3: unknown name 'Y' (inputs: O H L C V or OPEN HIGH LOW CLOSE VOL; "
            "parameters: none; or a name defined before this line)",
        ),
        (
            "X:AMOUNT/VOL;",
            "formula: line 1, column 3: AMOUNT (turnover) is not supported: bars carry open, high, low, "
            "close and volume only",
        ),
        ("X:C,COLORFUL!;", "formula: line 1, column 13: unexpected character '!'"),
        ("X:C,BLINK;", "formula: line 1, column 5: unknown drawing style 'BLINK'"),
        ("X:=C;", "formula: has no output: write NAME:expression; or end with an expression"),
        ("", "formula: has no output: write NAME:expression; or end with an expression"),
    ],
)
def test_errors_give_the_line_column_and_what_was_expected(text: str, message: str) -> None:
    assert error_of(text) == message


@pytest.mark.parametrize("text", ["均线:MA(C,5);", "X:MA(C，5);", "X:MA(收盘,5);"])
def test_non_ascii_names_and_punctuation_are_refused_with_their_position(text: str) -> None:
    message = error_of(text)
    assert message.startswith("formula: line 1, column ")
    assert "names are ASCII letters, digits and '_'" in message


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('true')",
        "X:__import__(1);",
        "X:EVAL(1);",
        "X:C.__class__;",
        "X:'a';",
        "X:exec(C);",
        "X:lambda:1;",
        "import os",
    ],
)
def test_python_in_a_formula_is_just_a_syntax_error(text: str) -> None:
    assert error_of(text).startswith("formula: line 1, column ")


# --- parameters ---------------------------------------------------------------------------


PARAMETERS = (FormulaParameter("N", 5, 1, 100, "bars"), FormulaParameter("K", 2.0, 0.5, 3.0, "width", integer=False))


def test_parameters_give_constant_periods_and_override_defaults() -> None:
    formula = compile_formula("X:MA(C,N)*K; Y:REF(C,N*2-1);", PARAMETERS)
    columns = walk_columns(40, 3)
    default = formula.evaluate(columns)
    assert_same(default["X"], run("X:MA(C,5)*2;", columns))
    changed = formula.evaluate(columns, {"n": 7, "K": 0.5})
    assert_same(changed["X"], run("X:MA(C,7)*0.5;", columns))
    assert_same(changed["Y"], run("X:REF(C,13);", columns))
    assert formula.warm_up({"N": 7}) == {"X": 6, "Y": 13}


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"N": 0}, "N", "N: must be between 1 and 100, got 0.0"),
        ({"N": 2.5}, "N", "N: must be a whole number, got 2.5"),
        ({"K": math.nan}, "K", "K: must be between 0.5 and 3, got nan"),
        ({"Q": 1}, "Q", "Q: is not a parameter of this formula (parameters: N, K)"),
        ({"K": "wide"}, "K", "K: must be a number, got 'wide'"),
        ({"N": 60}, "N", "N: line 1, column 14: REF: N must be a whole number of bars between 0 and 100, got 119"),
    ],
)
def test_bad_parameter_values_name_the_parameter(params: dict[str, float], field: str, message: str) -> None:
    formula = compile_formula("X:MA(C,N)*K; REF(C,N*2-1);", PARAMETERS, FormulaLimits(max_period=100))
    with pytest.raises(InvalidArgumentError) as caught:
        formula.evaluate(walk_columns(10, 1), params)
    assert caught.value.field == field
    assert str(caught.value) == message


def test_a_parameter_cannot_be_redefined_and_must_be_declared_well() -> None:
    assert (
        error_of("N:=1; X:N;", parameters=PARAMETERS)
        == "formula: line 1, column 1: N is a parameter and cannot be redefined"
    )
    with pytest.raises(InvalidArgumentError):
        FormulaParameter("N", 0, 1, 10)
    with pytest.raises(InvalidArgumentError):
        FormulaParameter("均", 1, 1, 10)
    with pytest.raises(InvalidArgumentError):
        compile_formula("X:C;", (FormulaParameter("N", 1, 1, 2), FormulaParameter("N", 1, 1, 2)))


# --- evaluation ---------------------------------------------------------------------------


def test_evaluation_never_writes_its_inputs_and_returns_fresh_arrays() -> None:
    columns = walk_columns(100, 4)
    before = {name: values.copy() for name, values in columns.items()}
    result = compile_formula("X:C; Y:EMA(C,3); Z:C;").evaluate(columns)
    for name, values in columns.items():
        assert values.tobytes() == before[name].tobytes()
    result["X"][:] = 0.0
    assert columns["close"].tobytes() == before["close"].tobytes()
    assert result["Z"].tobytes() == before["close"].tobytes()


def test_missing_and_mismatched_columns_are_invalid_arguments() -> None:
    formula = compile_formula("X:C+V;")
    with pytest.raises(InvalidArgumentError, match="reads volume, which the bars do not have"):
        formula.evaluate({"close": np.ones(3)})
    with pytest.raises(InvalidArgumentError, match="differ in length"):
        formula.evaluate({"close": np.ones(3), "volume": np.ones(4)})


def test_no_bars_give_empty_outputs() -> None:
    result = compile_formula(MACD_TEXT + "S:CROSS(DIF,DEA); B:BARSLAST(S); HB:HHVBARS(C,0);").evaluate(
        {"close": np.empty(0)}
    )
    assert all(len(values) == 0 for values in result.values())


@pytest.mark.parametrize("symbol_seed", [1, 2])
def test_warm_up_is_the_first_bar_with_values_from_then_on(symbol_seed: int) -> None:
    text = "A:MA(C,5); B:REF(MA(C,5),3); D:STD(REF(C,2),4); E:HHV(REF(C,1),10); F:SUM(C,0); G:BARSLAST(C>O);"
    formula = compile_formula(text)
    result = formula.evaluate(walk_columns(100, symbol_seed))
    warm = formula.warm_up()
    assert warm == {"A": 4, "B": 7, "D": 5, "E": 1, "F": 0, "G": None}
    for name, first in warm.items():
        if first is not None:
            assert not np.isnan(result[name][first:]).any(), name
            assert first == 0 or np.isnan(result[name][first - 1]), name


# --- limits -------------------------------------------------------------------------------


def test_limits_bound_length_statements_depth_periods_bars_and_work() -> None:
    assert error_of("X:" + "1+" * 15_000 + "1;") == "formula: is 30004 characters long, more than the limit of 20000"
    assert error_of("X:1;" * 1000, FormulaLimits(max_length=10**6)) == (
        "formula: has 1000 statements, more than the limit of 500"
    )
    assert "nested deeper than the limit of 100" in error_of("X:" + "(C+" * 150 + "C" + ")" * 150 + ";")
    assert compile_formula("X:" + "(" * 150 + "C" + ")" * 150 + ";").outputs  # parentheses alone nest nothing
    assert "nested deeper than the limit of 100" in error_of("X:" + "ABS(" * 150 + "C" + ")" * 150 + ";")
    assert "nested deeper than the limit of 100" in error_of("X:" + "C+" * 150 + "C;")
    assert "between 1 and 1000, got 100000" in error_of("X:MA(C,100000);")
    formula = compile_formula("X:STD(C,1000)+HHVBARS(C,1000);", limits=FormulaLimits(max_cells=10**7))
    with pytest.raises(InvalidArgumentError, match=r"needs about 20,050,000 cells of work over 10000 bars"):
        formula.evaluate({"close": np.ones(10_000)})
    small = compile_formula("X:C;", limits=FormulaLimits(max_bars=100))
    with pytest.raises(InvalidArgumentError, match="covers 101 bars, more than the limit of 100"):
        small.evaluate({"close": np.ones(101)})


def test_a_million_statements_are_refused_before_parsing() -> None:
    assert "more than the limit of 20000" in error_of("X:1;" * 1_000_000)


def test_deep_nesting_within_the_text_limit_never_overflows_the_stack() -> None:
    limits = FormulaLimits(max_length=10**6, max_depth=DEPTH_CEILING)
    for text in ("X:" + "(C*" * 5000 + "C" + ")" * 5000 + ";", "X:" + "-" * 5000 + "C;", "X:" + "C+" * 9000 + "C;"):
        with pytest.raises(InvalidArgumentError) as caught:
            compile_formula(text, limits=limits)
        assert "nested deeper than the limit of 200" in str(caught.value)
    with pytest.raises(ValueError, match="max_depth"):
        FormulaLimits(max_depth=10**6)


# --- fuzzing ------------------------------------------------------------------------------

ALPHABET = st.sampled_from(
    [
        *"CHLOVN0123456789.+-*/()<>=;:,{}& |!_ \n\tAaXxé均",
        *("MA(", "REF(", "HHV(", "SMA(", "AND ", "OR ", "NOT ", "CROSS(", "IF(", ":=", "<>", ">=", "//"),
    ]
)
COLUMNS_FUZZ = walk_columns(60, 9)


def assert_only_domain_errors(text: str) -> None:
    """Values, or an InvalidArgumentError on the formula or its parameter; nothing else escapes."""
    failure: InvalidArgumentError | None = None
    try:
        formula = compile_formula(text, (FormulaParameter("N", 3, 1, 50),))
        result = formula.evaluate(COLUMNS_FUZZ)
        formula.warm_up()
    except InvalidArgumentError as error:
        failure = error
    if failure is not None:
        assert failure.field in ("formula", "N")
        return
    for values in result.values():
        assert values.dtype == np.float64
        assert values.shape == (60,)
        assert not np.isinf(values).any()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.lists(ALPHABET, max_size=40).map("".join))
def test_fuzzed_text_gives_a_result_or_a_domain_error(text: str) -> None:
    assert_only_domain_errors(text)


@st.composite
def expressions(draw: st.DrawFn, depth: int = 0) -> str:
    """Well-formed expressions over random functions, some with wrong arities or periods."""
    if depth > 3 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(["C", "O", "H", "L", "V", "N", "0", "1", "2.5", "-3", "1e9", "0.000001"]))
    choice = draw(st.integers(0, 2))
    if choice == 0:
        operator = draw(st.sampled_from(["+", "-", "*", "/", ">", "<", ">=", "<=", "=", "<>", " AND ", " OR "]))
        return f"({draw(expressions(depth + 1))}{operator}{draw(expressions(depth + 1))})"
    if choice == 1:
        return f"NOT({draw(expressions(depth + 1))})"
    function = FUNCTIONS[draw(st.sampled_from(sorted(FUNCTIONS)))]
    arity = len(function.arguments) + draw(st.sampled_from([0, 0, 0, 0, -1, 1]))
    arguments = []
    for index in range(max(arity, 0)):
        kind = function.arguments[index].kind if index < len(function.arguments) else "series"
        if kind == "series":
            arguments.append(draw(expressions(depth + 1)))
        else:
            arguments.append(draw(st.sampled_from(["0", "1", "2", "3", "7", "N", "N*2", "60", "2000", "0.5", "C"])))
    return f"{function.name}({','.join(arguments)})"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(statements=st.lists(expressions(), min_size=1, max_size=4))
def test_fuzzed_formulas_give_finite_or_missing_values_or_a_domain_error(statements: list[str]) -> None:
    text = "".join(f"X{index}:{statement};" for index, statement in enumerate(statements))
    assert_only_domain_errors(text)
