"""Calls other than the transport comparison, made through idc's own Python client.

Each scenario is a callable that makes one call, checks the reply is real
and returns a size (bars, series values or image bytes). ``open_scenario``
builds one per client thread from a picklable ``Scenario``, so the load
driver can run them in worker processes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import grpc
import pandas as pd
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.workloads import DECADE, YEAR, Workload, synthetic_bars
from idc_client import IdcClient, charts, indicators

# A separate TCP connection per client: grpc would otherwise share one
# between channels with the same target and options.
OWN_CONNECTION = (("grpc.use_local_subchannel_pool", 1),)


@dataclass(frozen=True)
class ChartSpec:
    """A GetChart request: a window of SPY, volume and MACD panels."""

    start_date: str = YEAR.start_date
    end_date: str = YEAR.end_date
    width_px: int = 1200
    height_px: int = 800
    format: str = "png"
    chunk_bytes: int = 0  # 0: the server's default, 64 KiB


@dataclass(frozen=True)
class Scenario:
    """What one client thread calls: ``kind`` is macd, indicators, chart or health."""

    kind: str
    address: str
    workload: str = ""  # "2500" (stored SPY decade) or "inline2500" (synthetic bars sent inline)
    chart: ChartSpec = ChartSpec()


FIVE_INDICATORS = (
    indicators.sma(20),
    indicators.ema(20),
    indicators.macd(12, 26, 9),
    indicators.rsi(14),
    indicators.boll(20, 2.0),
)


def inline_frame(count: int) -> pd.DataFrame:
    """The synthetic bars of ``bench.workloads`` as the bars DataFrame the client accepts."""
    bars = synthetic_bars(count)
    index = pd.DatetimeIndex(bars.days.astype("datetime64[D]"), name="date")
    return pd.DataFrame(bars.columns(), index=index)


def source(workload: str) -> tuple[Workload | None, pd.DataFrame | None]:
    """The stored window or the inline bars a scenario's workload names."""
    if workload == "2500":
        return DECADE, None
    if workload == "inline2500":
        return None, inline_frame(2500)
    raise ValueError(f"unknown scenario workload {workload!r}")


def open_scenario(scenario: Scenario) -> tuple[Callable[[], int], Callable[[], None]]:
    """A thread's call and the function that closes its connection."""
    if scenario.kind == "health":
        # The smallest unary call the server has, through the same interceptors:
        # what gRPC itself costs per call.
        channel = grpc.insecure_channel(scenario.address, options=OWN_CONNECTION)
        stub = health_pb2_grpc.HealthStub(channel)

        def check() -> int:
            status = stub.Check(health_pb2.HealthCheckRequest(), timeout=30)
            if status.status != health_pb2.HealthCheckResponse.SERVING:
                raise RuntimeError(f"health is {status.status}")
            return 1

        return check, channel.close
    client = IdcClient(scenario.address, options=OWN_CONNECTION)
    if scenario.kind == "macd":
        stored, _ = source(scenario.workload)
        if stored is None:
            raise ValueError("the macd scenario calls a stored symbol's window")
        window = stored

        def macd() -> int:
            response = client.macd_response(window.symbol, window.start_date, window.end_date)
            bars = len(response.bars.dates)
            if bars != window.rows or len(response.macd) != bars - response.first_valid_index:
                raise RuntimeError("GetMACD returned the wrong number of bars")
            return len(response.bars.dates)

        return macd, client.close
    if scenario.kind == "indicators":
        stored, bars = source(scenario.workload)

        def compute() -> int:
            if stored is not None:
                symbol, start, end = stored.symbol, stored.start_date, stored.end_date
                response = client.indicators_response(FIVE_INDICATORS, symbol, start, end)
            else:
                response = client.indicators_response(FIVE_INDICATORS, bars=bars)
            if len(response.series) != 9:  # SMA, EMA and RSI, and three outputs each of MACD and Bollinger
                raise RuntimeError(f"ComputeIndicators returned {len(response.series)} series")
            return sum(len(series.values) for series in response.series)

        return compute, client.close
    if scenario.kind == "chart":
        spec = scenario.chart

        def chart() -> int:
            image = client.chart(
                "SPY",
                spec.start_date,
                spec.end_date,
                panels=[charts.volume_panel(), charts.macd_panel()],
                format=spec.format,
                width=spec.width_px,
                height=spec.height_px,
                chunk_size=spec.chunk_bytes,
            )
            if (image.width_px, image.height_px) != (spec.width_px, spec.height_px) or not image.data:
                raise RuntimeError("GetChart returned the wrong image")
            return len(image.data)

        return chart, client.close
    raise ValueError(f"unknown scenario kind {scenario.kind!r}")
