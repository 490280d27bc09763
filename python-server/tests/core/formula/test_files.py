"""Formula files: the loader, the 通达信 system indicators against the typed TDX indicators and MyTT.

MyTT rounds several indicators to 3 decimals (``RD``); the tests replace
``RD`` with the identity so that the unrounded values are compared. Where
MyTT's indicator is defined differently from 通达信's, the test says how
and checks the relation instead:

- BOLL: MyTT uses the population deviation; 通达信 (and the file) the sample one.
- KDJ, WR: MyTT's HHV/LLV need full windows, so its K and D are seeded at
  bar N-1 rather than bar 0; equal once the seed has decayed (KDJ) or from
  bar N-1 (WR).
- OBV: MyTT divides by 10,000.
- VR: MyTT's is the older ratio (up volume over all other volume); the file
  is 通达信's, where unchanged bars count half to each side; checked by hand.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import MyTT
import numpy as np
import pandas as pd
import pytest
from formula_support import SYMBOLS, Array, assert_same, real_columns, series, store, walk_columns
from hypothesis import given, settings
from hypothesis import strategies as st

from idc_server.core.errors import InvalidArgumentError
from idc_server.core.formula import FormulaFile, load_formula_files, parse_formula_file, system_formula_dir
from idc_server.core.indicators import (
    INDICATORS,
    BollingerParameters,
    Convention,
    KDJParameters,
    KDJSeed,
    MACDParameters,
    RSIParameters,
)

REQUIRED = {"MACD", "KDJ", "RSI", "BOLL", "DMI", "BIAS", "CCI", "WR", "OBV", "ROC", "TRIX", "DMA", "BRAR", "VR", "PSY"}
REQUIRED |= {"MTM", "EMV", "ASI"}


@pytest.fixture(scope="module")
def system() -> dict[str, FormulaFile]:
    return {entry.name: entry for entry in load_formula_files(system_formula_dir())}


@pytest.fixture(autouse=True)
def unrounded_mytt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(MyTT.MyTT, "RD", lambda values, digits=3: values)


def evaluate(entry: FormulaFile, columns: dict[str, Array], **params: float) -> dict[str, Array]:
    return entry.formula.evaluate(columns, params)


# --- the shipped files --------------------------------------------------------------------


def test_the_system_indicators_are_all_there_with_declared_headers(system: dict[str, FormulaFile]) -> None:
    assert set(system) >= REQUIRED
    for entry in system.values():
        assert entry.description, entry.name
        assert entry.group, entry.name
        assert entry.parameters, entry.name
        assert [output.name for output in entry.outputs] == [output.name for output in entry.formula.outputs]
        for parameter in entry.parameters:
            assert parameter.minimum <= parameter.default <= parameter.maximum
            assert parameter.doc


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_every_system_indicator_has_values_from_its_warm_up_on(system: dict[str, FormulaFile], symbol: str) -> None:
    columns = real_columns(symbol)
    for entry in system.values():
        result = evaluate(entry, columns)
        for name, first in entry.formula.warm_up().items():
            assert first is not None, (entry.name, name)
            assert not np.isnan(result[name][first:]).any(), (entry.name, name)
            assert first == 0 or np.isnan(result[name][first - 1]), (entry.name, name)


# --- the typed 通达信 indicators (core.indicators, Convention.TDX), to 1e-9 ---------------------


def typed(name: str, symbol: str, parameters: Any) -> pd.DataFrame:
    return INDICATORS[name].compute(store().bars(symbol), parameters, Convention.TDX)


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_macd_file_equals_the_typed_tdx_macd(system: dict[str, FormulaFile], symbol: str) -> None:
    ours = evaluate(system["MACD"], real_columns(symbol))
    expected = typed("macd", symbol, MACDParameters())
    for output, column in (("DIF", "macd"), ("DEA", "signal"), ("MACD", "histogram")):
        assert_same(ours[output], expected[column], rtol=0, atol=1e-9)


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_kdj_file_equals_the_typed_tdx_kdj_seeded_with_the_first_rsv(
    system: dict[str, FormulaFile], symbol: str
) -> None:
    # 通达信's SMA starts at its first value, so K = D = RSV on bar 0: the typed KDJSeed.FIRST_RSV.
    ours = evaluate(system["KDJ"], real_columns(symbol))
    expected = typed("kdj", symbol, KDJParameters(seed=KDJSeed.FIRST_RSV))
    for output, column in (("K", "k"), ("D", "d"), ("J", "j")):
        assert_same(ours[output], expected[column], rtol=0, atol=1e-9)


@pytest.mark.parametrize("symbol", SYMBOLS)
@pytest.mark.parametrize("period", [6, 14, 24])
def test_rsi_file_equals_the_typed_tdx_rsi(system: dict[str, FormulaFile], symbol: str, period: int) -> None:
    ours = evaluate(system["RSI"], real_columns(symbol), N1=period)
    assert_same(ours["RSI1"], typed("rsi", symbol, RSIParameters(period))["rsi"], rtol=0, atol=1e-9)


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_boll_file_equals_the_typed_tdx_bollinger_with_sample_deviation(
    system: dict[str, FormulaFile], symbol: str
) -> None:
    ours = evaluate(system["BOLL"], real_columns(symbol), M=20, P=2.0)
    expected = typed("boll", symbol, BollingerParameters(20, 2.0))
    for output, column in (("BOLL", "middle"), ("UB", "upper"), ("LB", "lower")):
        assert_same(ours[output], expected[column], rtol=0, atol=1e-9)


# --- MyTT's implementations of the same indicators ---------------------------------------------


def c(columns: dict[str, Array], *names: str) -> list[Array]:
    return [columns[name] for name in names]


# (file, parameters, MyTT's outputs in the file's output order)
SAME_AS_MYTT: list[tuple[str, dict[str, float], Callable[[dict[str, Array]], Any]]] = [
    ("MACD", {}, lambda x: MyTT.MACD(x["close"], 12, 26, 9)),
    ("RSI", {"N1": 24}, lambda x: [MyTT.RSI(x["close"], 24)]),
    ("BIAS", {}, lambda x: MyTT.BIAS(x["close"], 6, 12, 24)),
    ("PSY", {}, lambda x: MyTT.PSY(x["close"], 12, 6)),
    ("CCI", {}, lambda x: [MyTT.CCI(*c(x, "close", "high", "low"), 14)]),
    ("DMI", {}, lambda x: MyTT.DMI(*c(x, "close", "high", "low"), 14, 6)),
    ("TRIX", {"M": 20}, lambda x: MyTT.TRIX(x["close"], 12, 20)),
    ("EMV", {}, lambda x: MyTT.EMV(*c(x, "high", "low", "volume"), 14, 9)),
    ("DMA", {}, lambda x: MyTT.DFMA(x["close"], 10, 50, 10)),
    ("BRAR", {}, lambda x: MyTT.BRAR(*c(x, "open", "close", "high", "low"), 26)[::-1]),
    ("MTM", {}, lambda x: MyTT.MTM(x["close"], 12, 6)),
    ("ROC", {}, lambda x: MyTT.ROC(x["close"], 12, 6)),
    ("ASI", {}, lambda x: MyTT.ASI(*c(x, "open", "close", "high", "low"), 26, 10)),
    ("OBV", {}, lambda x: [MyTT.OBV(x["close"], x["volume"]) * 10000]),
]


@pytest.mark.parametrize("symbol", SYMBOLS)
@pytest.mark.parametrize(("name", "params", "mytt"), SAME_AS_MYTT, ids=[name for name, _, _ in SAME_AS_MYTT])
def test_system_indicator_equals_mytt(
    system: dict[str, FormulaFile], symbol: str, name: str, params: dict[str, float], mytt: Any
) -> None:
    columns = real_columns(symbol)
    ours = evaluate(system[name], columns, **params)
    expected = mytt(columns)
    scale = max(1.0, float(np.nanmax(np.abs(columns["close"]))))
    for output, values in zip(ours, expected, strict=False):
        reference = np.asarray(values, dtype="float64")
        assert_same(ours[output], reference, rtol=1e-9, atol=1e-9 * scale)


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_boll_differs_from_mytt_by_the_sample_deviation(system: dict[str, FormulaFile], symbol: str) -> None:
    columns = real_columns(symbol)
    ours = evaluate(system["BOLL"], columns)
    upper, middle, _ = MyTT.BOLL(columns["close"], 20, 2)
    assert_same(ours["BOLL"], middle, rtol=1e-12)
    assert_same((ours["UB"] - ours["BOLL"]) * math.sqrt(19 / 20), upper - middle, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_kdj_and_wr_equal_mytt_once_its_full_windows_have_caught_up(
    system: dict[str, FormulaFile], symbol: str
) -> None:
    columns = real_columns(symbol)
    kdj = evaluate(system["KDJ"], columns)
    # MyTT seeds K and D at bar 8 with RSV there; (2/3)^n of that difference is left after n bars.
    for output, values in zip(("K", "D", "J"), MyTT.KDJ(*c(columns, "close", "high", "low"), 9, 3, 3), strict=True):
        assert_same(kdj[output][120:], values[120:], rtol=0, atol=1e-9)
        assert abs(kdj[output][8] - values[8]) > 1e-9 or output == "J"
    wr = evaluate(system["WR"], columns)
    for output, values in zip(("WR1", "WR2"), MyTT.WR(*c(columns, "close", "high", "low"), 10, 6), strict=True):
        first = 9 if output == "WR1" else 5
        assert_same(wr[output][first:], values[first:], rtol=1e-12, atol=1e-12)


def test_vr_counts_unchanged_bars_half_to_each_side() -> None:
    entry = {entry.name: entry for entry in load_formula_files(system_formula_dir())}["VR"]
    columns = series(10.0, 11.0, 11.0, 10.0, 12.0)
    columns["volume"] = np.array([100.0, 200.0, 300.0, 400.0, 500.0])
    result = entry.formula.evaluate(columns, {"N": 5, "M": 1})
    # Over bars 0..4: up 200 + 500, down 400, unchanged 300 (bar 0 has no previous close).
    assert_same(result["VR"], [math.nan] * 4 + [100 * (2 * 700 + 300) / (2 * 400 + 300)], rtol=1e-15)
    assert MyTT.VR(columns["close"], columns["volume"], 5)[4] == pytest.approx(100 * 700 / 700)


# --- the loader ------------------------------------------------------------------------------

GOOD = """// group: trend
// description: Two moving averages and where they cross.
// a plain comment line
// param: FAST = 5, 1..50, the short average's bars
// param: WIDTH = 1.5, 0.5..3.0, a factor
// output: FASTMA, price, the short average
// output: UP, signal, where the close crosses above it
FASTMA:MA(CLOSE,FAST)*WIDTH;
UP:CROSS(CLOSE,FASTMA);
"""


def test_a_new_file_is_a_new_indicator_with_its_declared_parameters(tmp_path: Path) -> None:
    (tmp_path / "MYCROSS.tdx").write_text(GOOD, encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a formula", encoding="utf-8")
    [entry] = load_formula_files(tmp_path)
    assert entry.name == "MYCROSS"
    assert entry.group == "trend"
    assert entry.description == "Two moving averages and where they cross."
    assert [(p.name, p.default, p.minimum, p.maximum, p.integer) for p in entry.parameters] == [
        ("FAST", 5.0, 1.0, 50.0, True),
        ("WIDTH", 1.5, 0.5, 3.0, False),
    ]
    assert [(o.name, o.kind) for o in entry.outputs] == [("FASTMA", "price"), ("UP", "signal")]
    assert [o.is_signal for o in entry.formula.outputs] == [False, True]
    assert entry.formula.warm_up({"FAST": 7}) == {"FASTMA": 6, "UP": 0}
    assert entry.text == GOOD


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace("// group: trend\n", ""), "X.tdx: the header must declare '// group: ...'"),
        (GOOD.replace("// group: trend", "// group: trend\n// group: again"), "X.tdx: line 2: group is declared twice"),
        (
            GOOD.replace("signal, where", "price, where"),
            "X.tdx: the header's outputs [('FASTMA', False), ('UP', False)]",
        ),
        (GOOD.replace("// output: UP, signal, where the close crosses above it\n", ""), "X.tdx: the header's outputs"),
        (GOOD.replace("price, the short", "money, the short"), "X.tdx: line 6: kind 'money' is not one of price,"),
        (GOOD.replace("= 5, 1..50", "= 0, 1..50"), "X.tdx: line 4: parameters.FAST: default 0 is outside its range"),
        (GOOD.replace("= 5, 1..50,", "5"), "X.tdx: line 4: expected 'param: NAME = DEFAULT, MIN..MAX, doc'"),
        (GOOD.replace("// a plain", "// colour: red\n// a plain"), "X.tdx: line 3: unknown header key 'colour'"),
        (
            GOOD.replace("CROSS(CLOSE,FASTMA)", "CROSS(CLOSE,FASTMA"),
            "X.tdx: formula: line 9, column 22: expected ')' or ','",
        ),
    ],
)
def test_a_wrong_file_is_refused_naming_the_file_and_the_problem(text: str, message: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        parse_formula_file("X", text, "X.tdx")
    assert str(caught.value).startswith(message)


def test_an_unreadable_or_badly_named_file_is_refused_without_its_folder(tmp_path: Path) -> None:
    (tmp_path / "BAD.tdx").write_bytes(b"\xff\xfe not utf-8")
    with pytest.raises(InvalidArgumentError) as caught:
        load_formula_files(tmp_path)
    assert str(caught.value) == "BAD.tdx: cannot be read as UTF-8 text (UnicodeDecodeError)"
    assert str(tmp_path) not in str(caught.value)
    with pytest.raises(InvalidArgumentError, match="must be upper-case ASCII"):
        parse_formula_file("my-cross", GOOD, "my-cross.tdx")


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_system_indicators_take_any_parameters_in_their_declared_ranges(data: st.DataObject) -> None:
    entries = load_formula_files(system_formula_dir())
    entry = data.draw(st.sampled_from(entries), label="indicator")
    params = {}
    for parameter in entry.parameters:
        if parameter.integer:
            params[parameter.name] = float(data.draw(st.integers(int(parameter.minimum), int(parameter.maximum))))
        else:
            params[parameter.name] = data.draw(st.floats(parameter.minimum, parameter.maximum))
    length = data.draw(st.integers(0, 400), label="bars")
    result = entry.formula.evaluate(walk_columns(length, data.draw(st.integers(0, 1000))), params)
    assert list(result) == [output.name for output in entry.outputs]
    for values in result.values():
        assert values.shape == (length,)
        assert not np.isinf(values).any()
