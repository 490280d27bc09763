"""Formulas over 100,000 bars: milliseconds per ComputeIndicators call, and per evaluation in-process.

``python -m bench.run --only formulas`` runs this section alone. The bars are
synthetic and sent inline, so every call compiles nothing (the server caches
compiled formulas by text) but evaluates the formula afresh; the in-process
figure is ``Formula.evaluate`` alone, so the difference is the RPC's cost
(about 5 MB of bars up, the series down).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import grpc

from bench import workloads
from idc.v1 import bars_pb2, indicators_pb2
from idc.v1 import indicator_service_pb2 as indicator_pb2
from idc.v1 import indicator_service_pb2_grpc as indicator_grpc
from idc_server.core.formula import compile_formula

BARS = 100_000
CALLS = 15
FORMULAS = {
    "MACD": "DIF:EMA(CLOSE,12)-EMA(CLOSE,26); DEA:EMA(DIF,9); MACD:(DIF-DEA)*2;",
    "KDJ": "RSV:=(C-LLV(L,9))/(HHV(H,9)-LLV(L,9))*100; K:SMA(RSV,3,1); D:SMA(K,3,1); J:3*K-2*D;",
}
MESSAGE_BYTES = 64 * 1024 * 1024


def _quantiles(timings: list[float]) -> dict[str, float]:
    ordered = sorted(timings)
    return {"p50": statistics.median(timings), "max": ordered[-1], "calls": len(timings)}


def _timed(call: Any, calls: int) -> list[float]:
    for _ in range(2):  # warm-up
        call()
    timings = []
    for _ in range(calls):
        began = time.perf_counter()
        call()
        timings.append(1000 * (time.perf_counter() - began))
    return timings


def formulas_comparison(address: str, calls: int = CALLS) -> list[dict[str, Any]]:
    """Each formula of ``FORMULAS`` over ``BARS`` inline bars: RPC and in-process milliseconds per call."""
    bars = workloads.synthetic_bars(BARS)
    message = bars_pb2.Bars(dates=bars.days.tolist())
    for name, values in bars.columns().items():
        getattr(message, name).extend(values.tolist())
    options = [("grpc.max_receive_message_length", MESSAGE_BYTES), ("grpc.max_send_message_length", MESSAGE_BYTES)]
    columns = bars.columns()
    rows = []
    with grpc.insecure_channel(address, options=options) as channel:
        stub = indicator_grpc.IndicatorServiceStub(channel)
        for name, text in FORMULAS.items():
            request = indicator_pb2.ComputeIndicatorsRequest(
                inline_bars=message, indicators=[indicators_pb2.IndicatorSpec(formula=text)]
            )
            rpc = _timed(lambda request=request: stub.ComputeIndicators(request, timeout=120), calls)
            formula = compile_formula(text)
            local = _timed(lambda formula=formula: formula.evaluate(columns), calls)
            rows.append(
                {
                    "formula": name,
                    "text": text,
                    "bars": BARS,
                    "rpc_ms": _quantiles(rpc),
                    "evaluate_ms": _quantiles(local),
                }
            )
    return rows


def lines(rows: list[dict[str, Any]]) -> list[str]:
    """The figures as the bench prints them."""
    return [
        f"formula {row['formula']} over {row['bars']:,} bars: ComputeIndicators {row['rpc_ms']['p50']:.1f} ms "
        f"per call (median of {row['rpc_ms']['calls']}), Formula.evaluate {row['evaluate_ms']['p50']:.1f} ms"
        for row in rows
    ]
