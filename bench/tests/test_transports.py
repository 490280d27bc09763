"""Every transport against its real server: the same bars and MACD as the core, the same errors.

idc-server and each baseline run as subprocesses on free loopback ports,
started together once for the module.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import grpc
import numpy as np
import pyarrow.flight as flight
import pytest

from bench.transports import TRANSPORTS, Caller, Columns, HTTPStatusError, free_port
from bench.workloads import DECADE, YEAR, Workload, inline_workload, synthetic_bars
from idc_server.config import ServerConfig
from idc_server.core.analytics import Analytics
from idc_server.core.data import bars_from_columns, parse_date
from idc_server.core.indicators import MACDParameters
from idc_server.server import build_analytics

ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 90.0  # imports are slow on a busy machine without compiled bytecode
STOP_SECONDS = 15.0

WORKLOADS = [YEAR, DECADE, inline_workload(5000)]
UNKNOWN_SYMBOL = Workload("unknown", symbol="NOPE")
_BARS = synthetic_bars(100)
INVERTED = Workload("inverted", bars=dataclasses.replace(_BARS, high=_BARS.low, low=_BARS.high), rows=100)


def accepts(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def addresses(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Every transport's server, started in parallel: name -> "127.0.0.1:port"."""
    logs = tmp_path_factory.mktemp("servers")
    servers: dict[str, tuple[subprocess.Popen[bytes], int, Path]] = {}
    try:
        for name in TRANSPORTS:
            port, log = free_port(), logs / f"{name}.log"
            with log.open("wb") as output:
                process = subprocess.Popen(
                    TRANSPORTS[name].server_command(port),
                    cwd=ROOT,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                )
            servers[name] = (process, port, log)
        deadline = time.monotonic() + START_SECONDS
        for name, (process, port, log) in servers.items():
            while not accepts(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"{name} server did not start:\n{log.read_text()}")
                time.sleep(0.05)
        yield {name: f"127.0.0.1:{port}" for name, (_, port, _) in servers.items()}
    finally:
        for process, _, _ in servers.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        exits = {}
        for name, (process, _, _) in servers.items():
            try:
                exits[name] = process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                exits[name] = process.wait()
    # Reached only when the tests ran: each server exits cleanly on SIGTERM.
    assert exits == dict.fromkeys(servers, 0)


@pytest.fixture(scope="module", params=list(TRANSPORTS))
def name(request: pytest.FixtureRequest) -> str:
    return cast(str, request.param)


@pytest.fixture(scope="module")
def caller(name: str, addresses: dict[str, str]) -> Iterator[Caller]:
    connected = TRANSPORTS[name].connect(addresses[name])
    yield connected
    connected.close()


@pytest.fixture(scope="module")
def analytics() -> Analytics:
    return build_analytics(ServerConfig())


def core_columns(analytics: Analytics, workload: Workload) -> Columns:
    """What idc-server computes for a workload, in-process."""
    inline = None
    if workload.bars is not None:
        bars = workload.bars
        columns = {name: values.tolist() for name, values in bars.columns().items()}
        inline = bars_from_columns(bars.days.tolist(), columns, max_bars=ServerConfig().max_bars)
    start, end = parse_date("start_date", workload.start_date), parse_date("end_date", workload.end_date)
    selection = analytics.select(workload.symbol, start, end, inline)
    result = analytics.macd(selection, MACDParameters(), analytics.default_convention)
    return {
        "days": selection.days.astype(np.int64),
        "close": selection.columns()["close"],
        "macd": np.asarray(result.outputs["macd"]),
    }


@pytest.mark.parametrize("workload", WORKLOADS, ids=lambda workload: workload.name)
def test_replies_match_the_core(name: str, caller: Caller, analytics: Analytics, workload: Workload) -> None:
    assert caller.macd(workload) == workload.rows
    got, want = caller.columns(workload), core_columns(analytics, workload)
    if name == "seed":
        # The article's MACDData holds prices and MACD as float (32-bit).
        want = {**want, **{key: want[key].astype(np.float32).astype(np.float64) for key in ("close", "macd")}}
    assert len(want["days"]) == workload.rows
    np.testing.assert_array_equal(got["days"], want["days"])
    np.testing.assert_array_equal(got["close"], want["close"])
    np.testing.assert_array_equal(np.isnan(got["macd"]), np.isnan(want["macd"]))
    np.testing.assert_allclose(got["macd"], want["macd"], rtol=0, atol=1e-12, equal_nan=True)
    if workload.bars is not None:
        assert np.isnan(got["macd"][0])  # TA-Lib's warm-up bars arrive as NaN


def expect_error(name: str, caller: Caller, workload: Workload, status: str, field: str) -> None:
    """The call fails with ``status`` (gRPC's name for it) and names ``field``."""
    if name in ("idc", "seed"):
        with pytest.raises(grpc.RpcError) as rpc:
            caller.macd(workload)
        call = cast(grpc.Call, rpc.value)
        assert call.code().name == status
        assert (call.details() or "").startswith(f"{field}: ")
    elif name == "rest":
        with pytest.raises(HTTPStatusError) as http:
            caller.macd(workload)
        assert http.value.status == {"NOT_FOUND": 404, "INVALID_ARGUMENT": 400}[status]
        assert http.value.field == field
    else:
        with pytest.raises(flight.FlightServerError) as failed:
            caller.macd(workload)
        assert str(failed.value).startswith(f"{status}: {field}: ")
        detail = json.loads(failed.value.extra_info)
        assert (detail["status"], detail["field"]) == (status, field)


def test_unknown_symbol_is_not_found(name: str, caller: Caller) -> None:
    expect_error(name, caller, UNKNOWN_SYMBOL, "NOT_FOUND", "symbol")


def test_inverted_bars_are_invalid(name: str, caller: Caller) -> None:
    expect_error(name, caller, INVERTED, "INVALID_ARGUMENT", "inline_bars.high")
    assert caller.macd(YEAR) == YEAR.rows  # the connection survives an error


def established(port: int) -> int:
    """Established client-side TCP connections to ``port`` on this machine."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "01" and int(fields[2].rsplit(":", 1)[1], 16) == port:
                count += 1
    return count


@pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="counts connections through /proc/net")
def test_every_caller_has_its_own_connection(name: str, caller: Caller, addresses: dict[str, str]) -> None:
    caller.macd(YEAR)  # the module's caller is connected
    port = int(addresses[name].rsplit(":", 1)[1])
    before = established(port)
    callers = [TRANSPORTS[name].connect(addresses[name]) for _ in range(3)]
    try:
        for each in callers:
            assert each.macd(YEAR) == YEAR.rows
        assert established(port) == before + len(callers)
    finally:
        for each in callers:
            each.close()
