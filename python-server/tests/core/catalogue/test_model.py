"""The catalogue model: parameter validation, name lookup and the compute contract, with errors naming the field."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idc_server.core.catalogue import (
    Catalogue,
    CatalogueError,
    Entry,
    Output,
    OutputKind,
    Parameter,
    ParameterType,
    default_catalogue,
)
from idc_server.core.catalogue.model import Columns, FloatArray, Params
from idc_server.core.errors import InvalidArgumentError, field_prefix
from idc_server.core.indicators import Convention


def shifted_range(columns: Columns, params: Params, convention: Convention) -> dict[str, FloatArray]:
    """(high - low) * scale, or its sign when ``signed``, shifted by ``lag`` bars (NaN before)."""
    lag = int(params["lag"])
    spread = (columns["high"] - columns["low"]) * float(params["scale"])
    if params["signed"]:
        spread = np.sign(spread)
    out = np.full(len(spread), np.nan)
    out[lag:] = spread[: len(spread) - lag]
    return {"range": out}


def make_entry(**changes: object) -> Entry:
    declaration: dict[str, object] = {
        "name": "test.RANGE",
        "group": "Tests",
        "description": "The bar's range, lagged",
        "parameters": (
            Parameter("lag", ParameterType.INT, 1, "bars to lag", minimum=0, maximum=10),
            Parameter("scale", ParameterType.FLOAT, 1.0, "multiplier", minimum=0.0),
            Parameter("signed", ParameterType.BOOL, False, "the sign only"),
            Parameter("mode", ParameterType.ENUM, "Fast", "unused", choices=("Fast", "Slow")),
        ),
        "inputs": ("high", "low"),
        "outputs": (Output("range", OutputKind.PRICE),),
        "conventions": (Convention.TALIB, Convention.TDX),
        "lookback_function": lambda params, convention: int(params["lag"]),
        "compute_function": shifted_range,
    }
    declaration.update(changes)
    return Entry(**declaration)  # type: ignore[arg-type]


def columns(high: list[float], low: list[float]) -> dict[str, npt.NDArray[np.float64]]:
    return {"high": np.array(high), "low": np.array(low)}


def error_text(catalogue: Catalogue, name: str, params: dict[str, object] | None = None) -> str:
    with pytest.raises(InvalidArgumentError) as caught:
        catalogue.bind(name, params or {})
    return str(caught.value)


# --- parameters ------------------------------------------------------------------


def test_a_period_below_talibs_minimum_names_the_parameter_field() -> None:
    assert error_text(default_catalogue(), "talib.ADX", {"timeperiod": 0}) == (
        "params.timeperiod: 0 is below the minimum 2"
    )
    assert error_text(default_catalogue(), "talib.ADX", {"timeperiod": 1001}) == (
        "params.timeperiod: 1001 is above the maximum 1000"
    )


def test_the_api_layer_re_roots_parameter_errors_under_the_request() -> None:
    with pytest.raises(InvalidArgumentError) as caught, field_prefix("indicators[3]"):
        default_catalogue().bind("talib.ADX", {"timeperiod": 1})
    assert caught.value.field == "indicators[3].params.timeperiod"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"lag": "2"}, "params.lag: must be an integer, got '2'"),
        ({"lag": 2.5}, "params.lag: must be an integer, got 2.5"),
        ({"lag": True}, "params.lag: must be an integer, got True"),
        ({"lag": -1}, "params.lag: -1 is below the minimum 0"),
        ({"scale": float("nan")}, "params.scale: must be a finite number, got nan"),
        ({"scale": float("inf")}, "params.scale: must be a finite number, got inf"),
        ({"scale": -0.5}, "params.scale: -0.5 is below the minimum 0"),
        ({"scale": 10**400}, f"params.scale: must be a finite number, got 1{'0' * 34}...00 (401 characters)"),
        ({"lag": 10**400}, f"params.lag: 1{'0' * 34}...00 (401 characters) is above the maximum 10"),
        ({"scale": None}, "params.scale: must be a number, got None"),
        ({"signed": 1}, "params.signed: must be true or false, got 1"),
        ({"mode": "Medium"}, "params.mode: 'Medium' is not one of Fast, Slow"),
        ({"mode": 0}, "params.mode: 0 is not one of Fast, Slow"),
        ({"Lag": 1}, "params.Lag: test.RANGE has no parameter 'Lag'; its parameters are lag, scale, signed, mode"),
    ],
)
def test_bad_parameters_get_an_error_naming_the_field(params: dict[str, object], message: str) -> None:
    assert error_text(Catalogue([make_entry()]), "test.RANGE", params) == message


def test_an_unknown_parameter_of_an_entry_without_parameters_says_so() -> None:
    assert error_text(default_catalogue(), "talib.CDLDOJI", {"timeperiod": 5}) == (
        "params.timeperiod: talib.CDLDOJI has no parameter 'timeperiod'; it takes none"
    )


def test_parameters_are_canonicalised_and_missing_ones_take_their_defaults() -> None:
    entry = make_entry()
    bound = entry.bind({"lag": 2.0, "scale": 3, "mode": "slow"})
    assert bound.params == {"lag": 2, "scale": 3.0, "signed": False, "mode": "Slow"}
    assert type(bound.params["lag"]) is int
    assert type(bound.params["scale"]) is float
    assert entry.bind({}).params == entry.defaults() == {"lag": 1, "scale": 1.0, "signed": False, "mode": "Fast"}


def test_bound_parameters_are_a_cache_key_equal_for_equal_values() -> None:
    catalogue = default_catalogue()
    assert catalogue.bind("talib.ADX", {}) == catalogue.bind("adx", {"timeperiod": 14})
    assert hash(catalogue.bind("talib.ADX", {})) == hash(catalogue.bind("ADX", {"timeperiod": 14.0}))
    assert catalogue.bind("talib.ADX", {}) != catalogue.bind("talib.ADX", {"timeperiod": 15})


def test_talib_moving_average_types_are_an_enum_of_talibs_own_names() -> None:
    matype = next(p for p in default_catalogue().get("talib.BBANDS").parameters if p.name == "matype")
    assert matype.type is ParameterType.ENUM
    assert matype.default == "SMA"
    assert matype.choices[:9] == ("SMA", "EMA", "WMA", "DEMA", "TEMA", "TRIMA", "KAMA", "MAMA", "T3")
    assert default_catalogue().bind("talib.BBANDS", {"matype": "ema"}).params["matype"] == "EMA"


@pytest.mark.parametrize(
    ("parameter", "problem"),
    [
        (lambda: Parameter("n", ParameterType.INT, 0, "", minimum=1), "default is invalid"),
        (lambda: Parameter("n", ParameterType.ENUM, "A", ""), "enums need them"),
        (lambda: Parameter("n", ParameterType.INT, 1, "", choices=("A",)), "choices are for enum"),
        (lambda: Parameter("n", ParameterType.ENUM, "a", "", choices=("A",)), "not in canonical form"),
        (lambda: Parameter("1n", ParameterType.INT, 1, ""), "not an identifier"),
    ],
)
def test_malformed_parameter_declarations_are_refused(parameter: object, problem: str) -> None:
    with pytest.raises(CatalogueError, match=problem):
        parameter()  # type: ignore[operator]


# --- names -----------------------------------------------------------------------


def test_names_are_case_insensitive_and_a_bare_name_finds_the_only_entry_of_that_name() -> None:
    catalogue = default_catalogue()
    entry = catalogue.get("talib.ADX")
    assert catalogue.get("TALIB.adx") is entry
    assert catalogue.get("adx") is entry
    assert "Talib.Adx" in catalogue
    names = [e.name for e in catalogue]
    assert names == sorted(names, key=str.casefold)
    assert names[:2] == ["idc.boll", "idc.ema"]


def test_an_unknown_name_lists_close_matches() -> None:
    catalogue = default_catalogue()
    assert error_text(catalogue, "talib.ADXX") == (
        "name: unknown indicator 'talib.ADXX'; did you mean talib.ADX, talib.ADXR?"
    )
    assert error_text(catalogue, "BBAND") == "name: unknown indicator 'BBAND'; did you mean talib.BBANDS?"
    assert error_text(catalogue, "nothing.like.this") == "name: unknown indicator 'nothing.like.this'"
    assert error_text(catalogue, "") == "name: an indicator name is required, e.g. talib.ADX"


def test_an_unknown_name_error_names_the_callers_field_and_stays_short() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        default_catalogue().get("x" * 100_000, field="indicators[0].name")
    assert caught.value.field == "indicators[0].name"
    assert len(str(caught.value)) < 120
    assert "(100000 characters)" in str(caught.value)


def test_a_bare_name_in_two_namespaces_is_ambiguous_and_lists_both() -> None:
    catalogue = Catalogue([make_entry(name="test.RANGE"), make_entry(name="other.Range")])
    assert error_text(catalogue, "range") == "name: 'range' is ambiguous: other.Range, test.RANGE"
    assert catalogue.get("other.RANGE").name == "other.Range"


def test_names_differing_only_in_case_cannot_both_be_registered() -> None:
    with pytest.raises(CatalogueError, match=r"test\.Range is already registered as test\.RANGE"):
        Catalogue([make_entry(name="test.RANGE"), make_entry(name="test.Range")])


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"name": "RANGE"}, "not namespace.NAME"),
        ({"name": "Test.RANGE"}, "not namespace.NAME"),
        ({"inputs": ("close", "periods")}, "are not bar columns"),
        ({"inputs": ()}, "are not bar columns"),
        ({"outputs": (Output("a", OutputKind.PRICE), Output("a", OutputKind.PRICE))}, "must be distinct"),
        ({"conventions": ()}, "supports no convention"),
    ],
)
def test_malformed_entries_are_refused(changes: dict[str, object], problem: str) -> None:
    with pytest.raises(CatalogueError, match=problem):
        make_entry(**changes)


# --- compute -----------------------------------------------------------------------


def test_compute_gives_every_output_over_the_columns_with_its_lookback() -> None:
    bound = make_entry().bind({"lag": 2, "scale": 10})
    result = bound.compute(columns([3.0, 5.0, 4.0, 8.0], [1.0, 4.0, 4.0, 2.0]))
    assert list(result) == ["range"]
    np.testing.assert_array_equal(result["range"], [np.nan, np.nan, 20.0, 10.0])
    assert bound.lookback() == bound.lookback(Convention.TDX) == 2


def test_an_unsupported_convention_names_the_convention_field() -> None:
    bound = default_catalogue().bind("talib.SMA", {})
    with pytest.raises(InvalidArgumentError) as caught:
        bound.compute({"close": np.arange(5.0)}, Convention.TDX)
    assert str(caught.value) == "convention: talib.SMA supports TALIB, not TDX"
    with pytest.raises(InvalidArgumentError, match=r"^convention: "):
        bound.lookback(Convention.TDX)


def test_an_unspecified_convention_is_the_servers_default_where_supported_else_the_entrys_own() -> None:
    talib_only, both = default_catalogue().get("talib.SMA"), make_entry()
    assert talib_only.convention_for(None, Convention.TDX) is Convention.TALIB
    assert both.convention_for(None, Convention.TDX) is Convention.TDX
    assert both.convention_for(Convention.TALIB, Convention.TDX) is Convention.TALIB
    with pytest.raises(InvalidArgumentError, match=r"^convention: talib\.SMA supports TALIB, not TDX$"):
        talib_only.convention_for(Convention.TDX, Convention.TALIB)


def test_missing_or_unequal_input_columns_are_refused() -> None:
    bound = make_entry().bind({})
    with pytest.raises(InvalidArgumentError, match=r"^low: test\.RANGE needs the bar columns high, low$"):
        bound.compute({"high": np.ones(3)})
    with pytest.raises(InvalidArgumentError, match=r"^high: input columns differ in length: \[2, 3\]$"):
        bound.compute({"high": np.ones(3), "low": np.ones(2)})


def test_an_entry_returning_other_outputs_than_it_declares_is_a_catalogue_error() -> None:
    def wrong(columns: Columns, params: Params, convention: Convention) -> dict[str, FloatArray]:
        return {"range": np.ones(len(columns["high"]), dtype=np.float32).astype(np.float64)[:-1]}

    with pytest.raises(CatalogueError, match=r"test.RANGE returned \['range'\], not \['range'\] as float64\[3\]"):
        make_entry(compute_function=wrong).bind({}).compute(columns([1.0, 2.0, 3.0], [0.0, 0.0, 0.0]))


ANY_VALUE = st.one_of(
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=50),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=3),
    st.fractions(),
)


@settings(max_examples=300, deadline=None)
@given(value=ANY_VALUE)
def test_any_value_is_either_valid_and_in_range_or_an_invalid_argument(value: object) -> None:
    for parameter in make_entry().parameters:
        try:
            canonical = parameter.validate(value)
        except InvalidArgumentError as error:
            refusal = (error.field, len(str(error)))
            assert refusal[0] == parameter.name
            assert refusal[1] < 200
            continue
        assert parameter.validate(canonical) == canonical
        if parameter.type in (ParameterType.INT, ParameterType.FLOAT):
            assert isinstance(canonical, int if parameter.type is ParameterType.INT else float)
            assert not isinstance(canonical, bool)
            assert parameter.minimum is None or canonical >= parameter.minimum
            assert parameter.maximum is None or canonical <= parameter.maximum
        elif parameter.type is ParameterType.ENUM:
            assert canonical in parameter.choices
        else:
            assert isinstance(canonical, bool)
