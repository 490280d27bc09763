"""Every TA-Lib function through the catalogue against a direct ``talib`` call, bit for bit."""

from __future__ import annotations

import zlib

import numpy as np
import numpy.typing as npt
import pytest
import talib
import talib.abstract
from talib._ta_lib import MA_Type  # talib does not re-export it for type checkers
from talib_support import bar_inputs, direct_call, random_walk, read_only, same_bits

from idc_server.core.catalogue import Entry, OutputKind, ParameterType, ParameterValue, default_catalogue
from idc_server.core.catalogue.ta_lib import DOCUMENTED_KINDS, excluded_functions, option_info
from idc_server.core.data import BAR_COLUMNS, BarStore, bundled_data_dir
from idc_server.core.errors import InvalidArgumentError
from idc_server.core.indicators import MAX_PERIOD

Columns = dict[str, npt.NDArray[np.float64]]
FUNCTIONS = tuple(talib.get_functions())


def spy() -> Columns:
    history = BarStore((bundled_data_dir(),)).history("SPY")
    return read_only({column: history.columns[column].copy() for column in BAR_COLUMNS})


def random_parameters(entry: Entry, seed: int) -> dict[str, ParameterValue]:
    """A value for every parameter, other than its default where the range allows, within small periods."""
    rng = np.random.default_rng(seed)
    values: dict[str, ParameterValue] = {}
    for parameter in entry.parameters:
        if parameter.type is ParameterType.ENUM:
            others = [choice for choice in parameter.choices if choice != parameter.default]
            values[parameter.name] = str(rng.choice(others))
        elif parameter.type is ParameterType.INT:
            low = int(parameter.minimum if parameter.minimum is not None else 1)
            high = min(int(parameter.maximum if parameter.maximum is not None else low + 30), low + 30)
            choices = [value for value in range(low, high + 1) if value != parameter.default] or [low]
            values[parameter.name] = int(rng.choice(choices))
        else:
            assert parameter.type is ParameterType.FLOAT
            default = float(parameter.default)
            bottom = parameter.minimum if parameter.minimum is not None else default - 1.0
            top = parameter.maximum if parameter.maximum is not None else max(bottom, default) + max(abs(default), 1.0)
            values[parameter.name] = float(rng.uniform(bottom, top))
    return values


def nan_head(values: npt.NDArray[np.float64]) -> int:
    valid = np.flatnonzero(~np.isnan(values))
    return int(valid[0]) if len(valid) else len(values)


DATASETS = {
    "random walk": random_walk(600, seed=1),
    "short random walk": random_walk(25, seed=2),  # shorter than many lookbacks: all warm-up
    "SPY": spy(),
}


def test_the_catalogue_has_every_talib_function_but_those_with_non_bar_inputs() -> None:
    catalogue = default_catalogue()
    listed = {entry.local_name for entry in catalogue if entry.namespace == "talib"}
    without_bar_inputs = {function for function in FUNCTIONS if bar_inputs(function) is None}
    assert listed == set(FUNCTIONS) - without_bar_inputs
    assert without_bar_inputs == {"MAVP"}  # its ``periods`` input is a series, not a bar column
    assert set(excluded_functions()) == without_bar_inputs
    assert len(listed) == len(FUNCTIONS) - 1 > 150


def test_every_talib_entry_equals_a_direct_talib_call_bit_for_bit_with_its_lookback() -> None:
    """One loop over the installed TA-Lib: defaults and random parameters, three series, every output."""
    catalogue = default_catalogue()
    failures: list[str] = []
    compared = 0
    for function in FUNCTIONS:
        if bar_inputs(function) is None:
            continue
        entry = catalogue.get(f"talib.{function}")
        abstract = talib.abstract.Function(function)
        assert [output.name for output in entry.outputs] == abstract.output_names, function
        for params in ({}, random_parameters(entry, zlib.crc32(function.encode()))):
            bound = entry.bind(params)
            abstract.set_parameters({k: getattr(MA_Type, v) if isinstance(v, str) else v for k, v in params.items()})
            if bound.lookback() != abstract.lookback:
                failures.append(f"{function}{params}: lookback {bound.lookback()} != TA-Lib's {abstract.lookback}")
            for dataset, columns in DATASETS.items():
                label = f"{function}{params} on {dataset}"
                expected = direct_call(function, columns, params)
                try:
                    got = bound.compute(columns)
                except InvalidArgumentError as error:  # talib took these parameters directly
                    failures.append(f"{label}: {error}")
                    continue
                lookback = bound.lookback()
                for output, want in zip(entry.outputs, expected, strict=True):
                    values = got[output.name]
                    if want.dtype != np.float64:  # integer outputs: TA-Lib's 0 on warm-up bars is NaN here
                        assert not np.any(want[:lookback]), label
                        want = want.astype(np.float64)
                        want[:lookback] = np.nan
                    if not same_bits(values, want):
                        failures.append(f"{label}: {output.name} differs from talib.{function}")
                    head = nan_head(values)
                    flags = abstract.function_flags or []
                    if head < min(lookback, len(values)) or (
                        head != min(lookback, len(values)) and "Output can be NaN or infinite" not in flags
                    ):
                        failures.append(f"{label}: {output.name} has {head} NaN bars ahead, lookback {lookback}")
                    compared += 1
    assert not failures, "\n".join(failures)
    assert compared > 2 * 3 * (len(FUNCTIONS) - 1)


def test_integer_ranges_are_what_talib_itself_checks_with_periods_capped_at_max_period() -> None:
    """TA-Lib refuses below the minimum and above the maximum its metadata gives; idc caps the maximum."""
    catalogue = default_catalogue()
    columns = DATASETS["short random walk"]
    checked = 0
    for entry in catalogue:
        if entry.namespace != "talib":
            continue
        for index, parameter in enumerate(entry.parameters):
            if parameter.type is not ParameterType.INT:
                continue
            assert parameter.minimum is not None, entry.name
            name, low = parameter.name, int(parameter.minimum)
            talib_maximum = option_info(entry.local_name, index).maximum
            assert talib_maximum is not None, entry.name
            for refused in (low - 1, int(talib_maximum) + 1):
                with pytest.raises(Exception, match="TA_BAD_PARAM"):
                    direct_call(entry.local_name, columns, {name: refused})
            for accepted in (low, MAX_PERIOD, int(talib_maximum)):
                direct_call(entry.local_name, columns, {name: accepted})
            assert parameter.maximum == MAX_PERIOD < talib_maximum
            with pytest.raises(InvalidArgumentError, match=rf"^params\.{name}: {low - 1} is below the minimum {low}$"):
                entry.bind({name: low - 1})
            with pytest.raises(InvalidArgumentError, match=rf"^params\.{name}: 1001 is above the maximum 1000$"):
                entry.bind({name: MAX_PERIOD + 1})
            checked += 1
    assert checked > 100


def test_candlestick_patterns_are_signals_with_the_documented_codes() -> None:
    """±100 everywhere; ±80 (weaker form) and ±200 (confirmed) only where SIGNAL_DOC says."""
    catalogue = default_catalogue()
    patterns = [entry for entry in catalogue if entry.group == "Pattern Recognition"]
    assert len(patterns) == len(talib.get_function_groups()["Pattern Recognition"]) > 50
    graded = {
        "CDLENGULFING": 80.0,
        "CDLHARAMI": 80.0,
        "CDLHARAMICROSS": 80.0,
        "CDLHIKKAKE": 200.0,
        "CDLHIKKAKEMOD": 200.0,
    }
    seen: dict[str, set[float]] = {}
    for entry in patterns:
        assert [output.kind for output in entry.outputs] == [OutputKind.SIGNAL]
        assert all(name in entry.outputs[0].doc for name in graded)
        codes = seen.setdefault(entry.local_name, set())
        for columns in (*DATASETS.values(), random_walk(5000, seed=3)):
            values = entry.bind({}).compute(columns)[entry.outputs[0].name]
            codes.update(np.abs(values[~np.isnan(values)]).tolist())
    for function, codes in seen.items():
        assert codes <= {0.0, 100.0, graded.get(function, 100.0)}, function
    assert set().union(*seen.values()) == {0.0, 80.0, 100.0, 200.0}


def test_documented_kinds_name_installed_functions_and_bounded_percents_stay_in_range() -> None:
    catalogue = default_catalogue()
    assert set(DOCUMENTED_KINDS) <= set(FUNCTIONS)
    for function, kind in DOCUMENTED_KINDS.items():
        assert {output.kind for output in catalogue.get(f"talib.{function}").outputs} == {kind}
    for function in ("RSI", "STOCH", "STOCHF", "WILLR", "MFI", "ADX", "DX", "AROON", "AROONOSC", "CMO", "ULTOSC"):
        for columns in DATASETS.values():
            for values in catalogue.get(f"talib.{function}").bind({}).compute(columns).values():
                finite = values[~np.isnan(values)]
                assert np.all((finite >= -100.0 - 1e-9) & (finite <= 100.0 + 1e-9)), function
    assert {output.kind for output in catalogue.get("talib.SMA").outputs} == {OutputKind.PRICE}
    assert {output.kind for output in catalogue.get("talib.SIN").outputs} == {OutputKind.UNITLESS}
