"""通达信 formulas as catalogue entries: the shipped files as ``tdx.*``, a new file with no code, request formulas."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from talib_support import random_walk

from idc_server.core.catalogue import OutputKind, ParameterType, default_catalogue, request_formula_entry
from idc_server.core.catalogue.formulas import tdx_entries
from idc_server.core.errors import InvalidArgumentError
from idc_server.core.formula import system_formula_dir
from idc_server.core.indicators import Convention


def test_every_shipped_file_is_a_tdx_entry() -> None:
    files = sorted(path.stem for path in system_formula_dir().glob("*.tdx"))
    listed = sorted(entry.local_name for entry in default_catalogue() if entry.namespace == "tdx")
    assert listed == files
    assert len(files) == 18
    macd = default_catalogue().get("tdx.MACD")
    assert [(p.name, p.type, p.default, p.minimum, p.maximum) for p in macd.parameters] == [
        ("SHORT", ParameterType.INT, 12, 2, 200),
        ("LONG", ParameterType.INT, 26, 2, 200),
        ("MID", ParameterType.INT, 9, 2, 200),
    ]
    assert [(o.name, o.kind) for o in macd.outputs] == [
        ("DIF", OutputKind.UNITLESS),
        ("DEA", OutputKind.UNITLESS),
        ("MACD", OutputKind.UNITLESS),
    ]
    assert macd.conventions == (Convention.TDX,)
    assert macd.formula == (system_formula_dir() / "MACD.tdx").read_text(encoding="utf-8")
    boll = default_catalogue().get("tdx.BOLL")
    assert {o.kind for o in boll.outputs} == {OutputKind.PRICE}
    assert boll.parameters[1].type is ParameterType.FLOAT


@pytest.mark.parametrize("seed", [1, 2])
def test_every_tdx_entry_has_no_value_before_its_lookback_and_values_from_it(seed: int) -> None:
    columns = random_walk(300, seed)
    for entry in default_catalogue():
        if entry.namespace != "tdx":
            continue
        bound = entry.bind({})
        lookback = bound.lookback()
        for name, values in bound.compute(columns).items():
            assert not np.isnan(values[lookback:]).any(), (entry.name, name, lookback)


def test_a_new_file_is_a_new_entry_with_no_code(tmp_path: Path) -> None:
    (tmp_path / "GAP.tdx").write_text(
        "// group: custom\n"
        "// description: The gap from the previous close.\n"
        "// param: N = 1, 1..10, bars back\n"
        "// output: GAP, unitless, open minus the close N bars ago\n"
        "// output: UP, signal, the gap is up\n"
        "GAP:O-REF(C,N);\nUP:GAP>0;\n",
        encoding="utf-8",
    )
    (entry,) = tdx_entries(tmp_path)
    assert entry.name == "tdx.GAP"
    assert entry.inputs == ("open", "close")
    assert [(o.name, o.kind) for o in entry.outputs] == [("GAP", OutputKind.UNITLESS), ("UP", OutputKind.SIGNAL)]
    bound = entry.bind({"N": 2})
    values = bound.compute({"open": np.array([1.0, 3.0, 2.0, 5.0]), "close": np.array([2.0, 1.0, 4.0, 3.0])})
    np.testing.assert_array_equal(values["GAP"], [np.nan, np.nan, 0.0, 4.0])
    np.testing.assert_array_equal(values["UP"], [0.0, 0.0, 0.0, 1.0])
    assert bound.lookback() == 2


def test_request_formulas_take_header_parameters_and_kinds() -> None:
    entry = request_formula_entry("// param: N = 3, 1..9, window\n// output: M, price, the average\nM:MA(C,N);", "m3")
    assert entry.name == "formula.m3"
    assert [(p.name, p.default) for p in entry.parameters] == [("N", 3)]
    assert entry.outputs[0].kind is OutputKind.PRICE
    assert request_formula_entry("X:C>O;", "5x").outputs[0].kind is OutputKind.SIGNAL
    assert request_formula_entry("X:C-O;", "x").outputs[0].kind is OutputKind.UNITLESS
    with pytest.raises(InvalidArgumentError, match=r"params.N: 10 is above the maximum 9"):
        entry.bind({"N": 10})
    with pytest.raises(InvalidArgumentError, match=r"^formula: line 1, column 5"):
        request_formula_entry("X:C+;", "x")
