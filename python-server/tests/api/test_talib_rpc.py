"""Every TA-Lib entry through ComputeIndicators against a direct ``talib`` call, bit for bit, warm-up included.

The loop starts from ListIndicators, as a client would: an entry missing from
the listing, a parameter the listing describes wrongly or a wrong mapping to
TA-Lib's arguments fails it.
"""

from __future__ import annotations

import zlib
from typing import Any

import grpc
import numpy as np
import pytest
import talib
import talib.abstract
from talib._ta_lib import MA_Type  # talib does not re-export it for type checkers
from talib_support import Columns, bar_inputs, direct_call, random_walk, same_bits

from idc.v1 import bars_pb2, catalogue_pb2, indicators_pb2
from idc.v1 import indicator_service_pb2 as indicator_pb2
from idc.v1 import indicator_service_pb2_grpc as indicator_grpc

Spec = indicators_pb2.IndicatorSpec
Value = indicators_pb2.ParameterValue
BATCH = 32  # ComputeIndicators' most indicators per request


@pytest.fixture(scope="module")
def stub(channel: grpc.Channel) -> indicator_grpc.IndicatorServiceStub:
    return indicator_grpc.IndicatorServiceStub(channel)


def other_value(parameter: catalogue_pb2.IndicatorParameter, seed: int) -> int | float | str:
    """A value other than the default, from what the listing says: a choice, or a number in the range."""
    rng = np.random.default_rng(seed)
    default = parameter.default_value
    if parameter.type == catalogue_pb2.PARAMETER_TYPE_ENUM:
        return str(rng.choice([choice for choice in parameter.choices if choice != default.choice]))
    low = parameter.minimum if parameter.HasField("minimum") else default.number - 1
    if parameter.type == catalogue_pb2.PARAMETER_TYPE_INT:
        high = min(parameter.maximum if parameter.HasField("maximum") else low + 30, low + 30)
        choices = [value for value in range(int(low), int(high) + 1) if value != default.number] or [int(low)]
        return int(rng.choice(choices))
    high = (
        parameter.maximum if parameter.HasField("maximum") else max(low, default.number) + max(abs(default.number), 1)
    )
    return float(rng.uniform(low, high))


def message(value: int | float | str) -> indicators_pb2.ParameterValue:
    return Value(choice=value) if isinstance(value, str) else Value(number=value)


def inline(columns: Columns) -> bars_pb2.Bars:
    bars = bars_pb2.Bars(dates=range(19_000, 19_000 + len(columns["close"])))
    for name, values in columns.items():
        getattr(bars, name).extend(values)
    return bars


def spy_columns(stub: Any) -> Columns:
    bars = stub.GetMACD(indicator_pb2.GetMACDRequest(symbol="SPY"), timeout=30).bars
    return {
        name: np.asarray(getattr(bars, name), dtype=np.float64) for name in ("open", "high", "low", "close", "volume")
    }


def test_every_talib_entry_through_the_rpc_equals_talib_bit_for_bit(stub: Any) -> None:
    listed = stub.ListIndicators(indicator_pb2.ListIndicatorsRequest(namespace="talib"), timeout=60).indicators
    functions = [function for function in talib.get_functions() if bar_inputs(function) is not None]
    assert sorted(entry.name for entry in listed) == sorted(f"talib.{function}" for function in functions)
    cases: list[tuple[catalogue_pb2.IndicatorEntry, dict[str, int | float | str]]] = []
    for entry in listed:
        seed = zlib.crc32(entry.name.encode())
        cases.append((entry, {}))
        cases.append((entry, {p.name: other_value(p, seed + i) for i, p in enumerate(entry.parameters)}))
    datasets: dict[str, tuple[Columns, dict[str, Any]]] = {}
    walk = random_walk(600, seed=11)
    datasets["random walk"] = (walk, {"inline_bars": inline(walk)})
    datasets["SPY"] = (spy_columns(stub), {"symbol": "SPY"})
    failures: list[str] = []
    compared = 0
    for dataset, (columns, source) in datasets.items():
        for start in range(0, len(cases), BATCH):
            batch = cases[start : start + BATCH]
            specs = [
                Spec(name=entry.name, label=f"e{start + k}", params={n: message(v) for n, v in params.items()})
                for k, (entry, params) in enumerate(batch)
            ]
            response = stub.ComputeIndicators(
                indicator_pb2.ComputeIndicatorsRequest(indicators=specs, **source), timeout=120
            )
            series = {item.name: item for item in response.series}
            for k, (entry, params) in enumerate(batch):
                function = entry.name.removeprefix("talib.")
                label = f"{entry.name}{params} on {dataset}"
                keywords = {n: getattr(MA_Type, v) if isinstance(v, str) else v for n, v in params.items()}
                abstract = talib.abstract.Function(function)
                abstract.set_parameters(keywords)
                lookback = min(abstract.lookback, len(columns["close"]))
                expected = direct_call(function, columns, params)
                names = (
                    [f"e{start + k}"]
                    if len(entry.outputs) == 1
                    else [f"e{start + k}.{output.name}" for output in entry.outputs]
                )
                for name, want in zip(names, expected, strict=True):
                    got = series[name]
                    full = np.full(len(response.dates), np.nan)
                    full[got.first_valid_index :] = got.values
                    if want.dtype != np.float64:  # integer outputs: TA-Lib's 0 on warm-up bars is no value here
                        want = want.astype(np.float64)
                        want[:lookback] = np.nan
                    if not same_bits(full, want):
                        failures.append(f"{label}: {name} differs from talib.{function}")
                    can_be_nan = "Output can be NaN or infinite" in (abstract.function_flags or [])
                    if got.first_valid_index != lookback and not can_be_nan:
                        failures.append(f"{label}: first_valid_index {got.first_valid_index}, lookback {lookback}")
                    compared += 1
    assert not failures, "\n".join(failures)
    assert compared >= 2 * 2 * len(functions)
