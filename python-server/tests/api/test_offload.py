"""GetMACD and ComputeIndicators over more inline bars than --pooled-indicator-bars run in a render worker,
through a real server: cheap calls answer meanwhile, and a call whose caller goes is stopped there.

The render worker is frozen (SIGSTOP) before the call, so that "while it runs" lasts as long as the test
needs on any machine; a call that ran in the RPC process would not wait for it.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import grpc
import numpy as np
import pytest
import talib
from grpc_health.v1 import health_pb2, health_pb2_grpc
from support import wait_until

from idc.v1 import bars_pb2, indicators_pb2
from idc.v1 import indicator_service_pb2 as indicator_pb2
from idc.v1 import indicator_service_pb2_grpc as indicator_grpc
from idc_server.config import ServerConfig
from idc_server.render_pool import RenderPool
from idc_server.server import RunningServer, start_server

TIMEOUT = 30.0
CHEAP_CALL_SECONDS = 2.0  # "at once" on a loaded 2-core machine
THRESHOLD = ServerConfig().pooled_indicator_bars  # the documented default: 50,000


def random_walk(count: int) -> bars_pb2.Bars:
    """``count`` seeded daily bars from 1970-01-01 on."""
    rng = np.random.default_rng(count)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, count)))
    return bars_pb2.Bars(
        dates=range(count),
        open=close,
        high=close * 1.01,
        low=close * 0.99,
        close=close,
        volume=rng.integers(1_000, 1_000_000, count).astype(float),
    )


@pytest.fixture(scope="module")
def large() -> bars_pb2.Bars:
    return random_walk(THRESHOLD + 1)


@pytest.fixture
def server() -> Iterator[tuple[RunningServer, grpc.Channel]]:
    running = start_server(ServerConfig(host="127.0.0.1", port=0, render_workers=1))
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        yield running, channel
    running.stop(None)


def served(
    server: tuple[RunningServer, grpc.Channel],
) -> tuple[RenderPool, indicator_grpc.IndicatorServiceStub, health_pb2_grpc.HealthStub]:
    """The server's render pool, and stubs of the indicator and health services over its channel."""
    running, channel = server
    assert running.pool is not None
    return running.pool, indicator_grpc.IndicatorServiceStub(channel), health_pb2_grpc.HealthStub(channel)


@contextmanager
def frozen(pool: RenderPool) -> Iterator[int]:
    """The pool's one worker, stopped until the block ends (or killed by the pool meanwhile)."""
    (pid,) = pool.pids()
    os.kill(pid, signal.SIGSTOP)
    try:
        yield pid
    finally:
        if pid in pool.pids():
            os.kill(pid, signal.SIGCONT)


def talib_macd(bars: bars_pb2.Bars) -> np.ndarray:
    macd, _, _ = talib.MACD(np.array(bars.close), 12, 26, 9)
    return np.asarray(macd)


def assert_talib_macd(reply: indicator_pb2.GetMACDResponse, bars: bars_pb2.Bars) -> None:
    """The reply's MACD line (from its first valid bar on) is TA-Lib's."""
    assert reply.first_valid_index == 33  # 26 + 9 - 2 warm-up bars
    np.testing.assert_allclose(np.array(reply.macd), talib_macd(bars)[33:], rtol=1e-9, atol=1e-9)


def test_a_large_inline_getmacd_runs_in_a_worker_while_health_and_small_calls_answer(
    server: tuple[RunningServer, grpc.Channel], large: bars_pb2.Bars
) -> None:
    pool, indicators, health = served(server)
    small = random_walk(THRESHOLD)  # at the threshold: stays in the RPC process
    with frozen(pool):
        call = indicators.GetMACD.future(indicator_pb2.GetMACDRequest(inline_bars=large), timeout=120)
        wait_until(lambda: pool.stats().busy == 1, "the large call to take the worker", TIMEOUT)
        assert health.Check(health_pb2.HealthCheckRequest(), timeout=CHEAP_CALL_SECONDS).status == 1
        year = indicators.GetMACD(indicator_pb2.GetMACDRequest(symbol="SPY", start_date="2025-04-01"), timeout=2)
        assert len(year.bars.dates) > 200
        in_process = indicators.GetMACD(indicator_pb2.GetMACDRequest(inline_bars=small), timeout=60)
        assert_talib_macd(in_process, small)
        assert not call.done()
    reply = call.result()  # the worker goes on once thawed
    assert_talib_macd(reply, large)
    stats = pool.stats()
    assert (stats.busy, stats.killed_abandoned, stats.restarts) == (0, 0, 0)


def compute_request(bars: bars_pb2.Bars) -> indicator_pb2.ComputeIndicatorsRequest:
    spec = indicators_pb2.IndicatorSpec
    return indicator_pb2.ComputeIndicatorsRequest(
        inline_bars=bars,
        indicators=[spec(sma=indicators_pb2.SMAParameters(period=20)), spec(rsi=indicators_pb2.RSIParameters())],
    )


@pytest.mark.parametrize("leave", ["cancel", "deadline"])
def test_a_large_inline_computeindicators_whose_caller_goes_is_stopped_in_its_worker(
    server: tuple[RunningServer, grpc.Channel], large: bars_pb2.Bars, leave: str
) -> None:
    pool, indicators, _ = served(server)
    with frozen(pool) as pid:
        call: Any = indicators.ComputeIndicators.future(
            compute_request(large), timeout=120 if leave == "cancel" else 2.0
        )
        wait_until(lambda: pool.stats().busy == 1, "the large call to take the worker", TIMEOUT)
        if leave == "cancel":
            call.cancel()
        wait_until(lambda: pool.stats().killed_abandoned == 1, "the frozen worker to be killed", TIMEOUT)
    with pytest.raises(grpc.FutureCancelledError if leave == "cancel" else grpc.RpcError) as caught:
        call.result()
    if leave == "deadline":
        assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED  # type: ignore[attr-defined]
    wait_until(lambda: pool.pids() != [pid] and len(pool.pids()) == 1, "a replacement worker", TIMEOUT)
    assert pool.stats().busy == 0
    reply = indicators.ComputeIndicators(compute_request(large), timeout=120)  # the replacement computes it
    sma = np.full(len(reply.dates), np.nan)
    (first,) = [series for series in reply.series if series.name == "sma"]
    sma[first.first_valid_index :] = first.values
    expected = talib.SMA(np.array(large.close), 20)
    np.testing.assert_allclose(sma[19:], expected[19:], rtol=1e-9, atol=1e-9)


def test_catalogue_entries_and_formulas_over_many_inline_bars_run_in_a_worker(
    server: tuple[RunningServer, grpc.Channel], large: bars_pb2.Bars
) -> None:
    pool, indicators, health = served(server)
    spec = indicators_pb2.IndicatorSpec
    request = indicator_pb2.ComputeIndicatorsRequest(
        inline_bars=large,
        indicators=[
            spec(name="talib.ADX", params={"timeperiod": indicators_pb2.ParameterValue(number=14)}),
            spec(formula="M:MA(C,10);", label="ma10"),
        ],
    )
    with frozen(pool):
        call = indicators.ComputeIndicators.future(request, timeout=120)
        wait_until(lambda: pool.stats().busy == 1, "the large call to take the worker", TIMEOUT)
        assert health.Check(health_pb2.HealthCheckRequest(), timeout=CHEAP_CALL_SECONDS).status == 1
        assert not call.done()
    reply = call.result()
    by_name = {series.name: series for series in reply.series}
    high, low, close = (np.array(column) for column in (large.high, large.low, large.close))
    for name, expected in (("adx", talib.ADX(high, low, close, 14)), ("ma10", talib.SMA(close, 10))):
        series = by_name[name]
        np.testing.assert_allclose(series.values, expected[series.first_valid_index :], rtol=1e-9, err_msg=name)
    assert pool.stats().busy == 0


def test_a_full_queue_refuses_a_large_call_at_once_naming_the_limit_not_a_field(large: bars_pb2.Bars) -> None:
    running = start_server(ServerConfig(host="127.0.0.1", port=0, render_workers=1, render_queue=1))
    try:
        pool = running.pool
        assert pool is not None
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel, frozen(pool):
            indicators = indicator_grpc.IndicatorServiceStub(channel)
            running_call: Any = indicators.GetMACD.future(indicator_pb2.GetMACDRequest(inline_bars=large), timeout=60)
            wait_until(lambda: pool.stats().busy == 1, "the first call to take the worker", TIMEOUT)
            queued: Any = indicators.ComputeIndicators.future(compute_request(large), timeout=60)
            wait_until(lambda: pool.stats().queued == 1, "the second call to wait in the queue", TIMEOUT)
            for refused in (
                lambda: indicators.GetMACD(indicator_pb2.GetMACDRequest(inline_bars=large), timeout=10),
                lambda: indicators.ComputeIndicators(compute_request(large), timeout=10),
            ):
                with pytest.raises(grpc.RpcError) as caught:
                    refused()
                error: Any = caught.value
                assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                assert error.details() == (
                    "all 1 render workers are busy and 1 calls are already queued (--render-queue 1): "
                    "retry in about 1 s"
                )
            running_call.cancel()
            queued.cancel()
    finally:
        running.stop(None)
