"""The typed indicators as catalogue entries: the same values as the registry, their lookbacks, their ranges."""

from __future__ import annotations

import dataclasses
import zlib

import numpy as np
import pandas as pd
import pytest

from idc_server.core.catalogue import Entry, OutputKind, ParameterType, ParameterValue, default_catalogue
from idc_server.core.data import BarStore, bundled_data_dir
from idc_server.core.errors import InvalidArgumentError
from idc_server.core.indicators import INDICATORS, MAX_PERIOD, Convention

STORE = BarStore([bundled_data_dir()])
SERIES = {symbol: STORE.bars(symbol) for symbol in ("SPY", "000001.SH", "AAPL")}
SERIES["SPY, first 40 bars"] = SERIES["SPY"].iloc[:40]


def columns(bars: pd.DataFrame) -> dict[str, np.ndarray]:
    return {name: bars[name].to_numpy(dtype="float64") for name in bars.columns}


def random_parameters(entry: Entry, seed: int) -> dict[str, ParameterValue]:
    """Small periods (each other than its default), a k in (0, 4], any enum choice."""
    rng = np.random.default_rng(seed)
    values: dict[str, ParameterValue] = {}
    for parameter in entry.parameters:
        if parameter.type is ParameterType.INT:
            low = int(parameter.minimum or 1)
            values[parameter.name] = int(rng.choice([v for v in range(low, low + 30) if v != parameter.default]))
        elif parameter.type is ParameterType.FLOAT:
            values[parameter.name] = float(rng.uniform(0.1, 4.0))
        else:
            values[parameter.name] = str(rng.choice(parameter.choices))
    if entry.name == "idc.macd":  # fast below slow
        values["fast_period"], values["slow_period"] = sorted((int(values["fast_period"]), int(values["slow_period"])))
        values["slow_period"] = int(values["slow_period"]) + 1
    return values


def test_every_typed_indicator_is_an_idc_entry_with_its_dataclass_fields_and_defaults() -> None:
    catalogue = default_catalogue()
    assert {entry.local_name for entry in catalogue if entry.namespace == "idc"} == set(INDICATORS)
    for name, indicator in INDICATORS.items():
        entry = catalogue.get(f"idc.{name}")
        assert [p.name for p in entry.parameters] == list(indicator.parameter_names())
        assert [o.name for o in entry.outputs] == list(indicator.outputs)
        defaults = indicator.parameters()
        typed = entry.check_function
        assert typed is not None
        for parameter in entry.parameters:
            value = getattr(defaults, parameter.name)
            shown = "CONVENTION" if value is None else getattr(value, "name", value)
            assert parameter.default == shown, (name, parameter.name)
    assert [o.kind for o in catalogue.get("idc.rsi").outputs] == [OutputKind.PERCENT]
    assert [o.kind for o in catalogue.get("idc.boll").outputs] == [OutputKind.PRICE] * 3
    assert catalogue.get("idc.kdj").inputs == ("high", "low", "close")


def test_every_typed_entry_equals_the_registry_and_its_lookback_is_the_nan_head() -> None:
    catalogue = default_catalogue()
    failures: list[str] = []
    for name, indicator in INDICATORS.items():
        entry = catalogue.get(f"idc.{name}")
        for params in ({}, random_parameters(entry, zlib.crc32(name.encode()))):
            bound = entry.bind(params)
            typed = dataclasses.replace(
                indicator.parameters(),
                **{
                    key: (None if value == "CONVENTION" else type(getattr(indicator.parameters(), key))[value])
                    if key in ("std_dev", "seed")
                    else value
                    for key, value in params.items()
                },
            )
            for convention in Convention:
                lookback = bound.lookback(convention)
                for symbol, bars in SERIES.items():
                    label = f"{entry.name}{params} {convention.name} on {symbol}"
                    try:
                        expected = indicator.compute(bars, typed, convention)
                    except InvalidArgumentError as error:  # too few bars: refused the same way, re-rooted
                        refused = error.field
                        with pytest.raises(InvalidArgumentError) as caught:
                            bound.compute(columns(bars), convention)
                        assert caught.value.field == f"params.{refused}", label
                        continue
                    got = bound.compute(columns(bars), convention)
                    for output in indicator.outputs:
                        want = expected[output].to_numpy(dtype="float64")
                        if not np.array_equal(got[output], want, equal_nan=True):
                            failures.append(f"{label}: {output} differs from the registry")
                        valid = np.flatnonzero(~np.isnan(got[output]))
                        head = int(valid[0]) if len(valid) else len(bars)
                        if head != min(lookback, len(bars)):
                            failures.append(f"{label}: {output} has {head} NaN bars ahead, lookback {lookback}")
    assert not failures, "\n".join(failures)


def test_the_std_dev_enum_reaches_bollinger() -> None:
    close = columns(SERIES["SPY"])
    catalogue = default_catalogue()
    convention, sample, population = (
        catalogue.bind("idc.boll", {"std_dev": choice}).compute(close, Convention.TALIB)["upper"]
        for choice in ("convention", "sample", "population")
    )
    np.testing.assert_array_equal(convention, population)
    assert not np.array_equal(sample, population, equal_nan=True)


@pytest.mark.parametrize("name", sorted(INDICATORS))
def test_typed_ranges_are_the_dataclasses_ranges(name: str) -> None:
    entry = default_catalogue().get(f"idc.{name}")
    parameters = INDICATORS[name].parameters
    for parameter in entry.parameters:
        if parameter.type is ParameterType.INT:
            assert parameter.maximum == MAX_PERIOD
            low = int(parameter.minimum or 0)
            refused: tuple[float, ...] = (low - 1, MAX_PERIOD + 1)
            accepted: tuple[float, ...] = (low, MAX_PERIOD)
        elif parameter.type is ParameterType.FLOAT:
            assert parameter.minimum_exclusive
            refused, accepted = (0.0, 10.5), (1e-9, 10.0)
        else:
            continue
        # MACD's fast must stay below slow: hold the other one where every tested value can pass.
        extra = {"fast_period": {"slow_period": MAX_PERIOD}, "slow_period": {"fast_period": 1}}.get(
            parameter.name if name == "macd" else "", {}
        )
        impossible = {("fast_period", MAX_PERIOD), ("slow_period", 1)} if name == "macd" else set()
        for value in refused:
            with pytest.raises(InvalidArgumentError) as caught:
                parameters(**{parameter.name: value})
            assert caught.value.field == parameter.name
            with pytest.raises(InvalidArgumentError) as caught:
                entry.bind({**extra, parameter.name: value})
            assert caught.value.field == f"params.{parameter.name}"
        for value in accepted:
            if (parameter.name, value) in impossible:
                continue
            parameters(**{**extra, parameter.name: value})
            entry.bind({**extra, parameter.name: value})


def test_rules_between_parameters_and_too_short_series_name_the_parameter() -> None:
    catalogue = default_catalogue()
    with pytest.raises(InvalidArgumentError) as caught:
        catalogue.bind("idc.macd", {"fast_period": 30})
    assert str(caught.value) == "params.fast_period: must be less than slow_period (26), got 30"
    with pytest.raises(InvalidArgumentError) as caught:
        catalogue.bind("idc.sma", {"period": 50}).compute(columns(SERIES["SPY, first 40 bars"]))
    assert str(caught.value) == "params.period: needs at least 50 bars, but the series has 40"
    with pytest.raises(InvalidArgumentError) as caught:
        catalogue.bind("idc.boll", {"k": 0})
    assert str(caught.value) == "params.k: must be above 0, got 0.0"
