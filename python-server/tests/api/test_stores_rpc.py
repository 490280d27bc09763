"""A server with --data-url answers from each kind of store exactly as from a folder of files.

The reference is a server over --data-dir with the same file; the MACD
values are checked against TA-Lib computed here on the file's closes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import numpy as np
import pandas as pd
import pytest
import talib
from store_kinds import StoreUnderTest, bars_frame
from support import wait_until

from idc.v1 import indicator_service_pb2 as indicator_pb2
from idc.v1 import indicator_service_pb2_grpc as indicator_grpc
from idc_server.config import ServerConfig
from idc_server.core.bars import BAR_COLUMNS
from idc_server.core.data import bundled_data_dir
from idc_server.server import start_server

WINDOW = indicator_pb2.GetMACDRequest(symbol="storedspy", start_date="2024-04-01", end_date="2025-03-31")


def spy_bars() -> pd.DataFrame:
    """The bundled SPY's last 1,500 bars, read by pandas alone."""
    frame = pd.read_csv(bundled_data_dir() / "SPY.csv", index_col=0, parse_dates=True).iloc[-1500:]
    frame.columns = [str(name).lower() for name in frame.columns]
    frame.index.name = "date"
    return frame[list(BAR_COLUMNS)]


@contextmanager
def serving(config: ServerConfig) -> Iterator[indicator_grpc.IndicatorServiceStub]:
    running = start_server(config)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            yield indicator_grpc.IndicatorServiceStub(channel)
    finally:
        running.stop(None)


def config(**fields: object) -> ServerConfig:
    return ServerConfig(host="127.0.0.1", port=0, render_workers=0, **fields)  # type: ignore[arg-type]


def test_get_macd_from_every_store_equals_the_folders_answer_and_ta_lib(store: StoreUnderTest, tmp_path: Path) -> None:
    bars = spy_bars()
    reference_folder = tmp_path / "reference"
    reference_folder.mkdir()
    bars.to_csv(reference_folder / "STOREDSPY.csv", index_label="date")
    store.write("STOREDSPY", bars)
    with serving(config(data_dirs=(reference_folder,))) as reference:
        expected = reference.GetMACD(WINDOW, timeout=30)
    with serving(config(data_urls=(store.url,))) as indicators:
        answer = indicators.GetMACD(WINDOW, timeout=30)
    assert answer.SerializeToString(deterministic=True) == expected.SerializeToString(deterministic=True)
    macd, signal, _ = talib.MACD(bars["close"].to_numpy(), 12, 26, 9)
    in_window = (bars.index >= "2024-04-01") & (bars.index <= "2025-03-31")
    assert len(answer.bars.close) == int(in_window.sum()) > 240
    np.testing.assert_allclose(answer.macd, macd[in_window], rtol=0, atol=1e-10)
    np.testing.assert_allclose(answer.signal, signal[in_window], rtol=0, atol=1e-10)


def test_a_bad_row_gets_failed_precondition_and_a_new_bar_reaches_the_next_request(store: StoreUnderTest) -> None:
    days = ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"]
    store.write("FINE", bars_frame(days, [10.0, 11.0, 12.0, 13.0]))
    store.write("BROKEN", bars_frame(days, [10.0, 11.0, 12.0, 13.0]))
    store.set_value("BROKEN", "2024-01-03", "high", 5.0)  # below its low
    with serving(config(data_urls=(store.url,))) as indicators:
        with pytest.raises(grpc.RpcError) as raised:
            indicators.GetMACD(indicator_pb2.GetMACDRequest(symbol="broken"), timeout=30)
        assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        details = str(raised.value.details())
        assert details.startswith("symbol: 'BROKEN' cannot be served: ")
        row = {"file": "line 3", "parquet": "row 2", "postgresql": "row 2 (ts 2024-01-03T00:00:00+00:00)"}[store.kind]
        assert f"{row}, column high: 5.0 is below low 10.0" in details
        assert "/" not in details.split("cannot be served: ")[1].removeprefix("symbol=BROKEN/")  # no server path

        def fine_bars() -> int:
            [fine] = indicators.ListSymbols(indicator_pb2.ListSymbolsRequest(prefix="fine"), timeout=30).symbols
            return int(fine.bar_count)

        assert fine_bars() == 4
        store.append("FINE", bars_frame(["2024-01-08"], [14.0]))
        wait_until(
            lambda: fine_bars() == 5,
            "the new bar to be served",
            seconds=10,
        )
