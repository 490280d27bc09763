"""A server started with --data-dir serves the user's files beside the bundled ones."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import pandas as pd
import pytest

from idc.v1 import indicator_service_pb2 as indicator_pb2
from idc.v1 import indicator_service_pb2_grpc as indicator_grpc
from idc.v1 import indicators_pb2
from idc_server.config import ServerConfig
from idc_server.server import start_server


@pytest.fixture(scope="module")
def user_data(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    folder = tmp_path_factory.mktemp("data")
    dates = pd.bdate_range("2024-01-01", periods=60)
    close = 50 + np.cumsum(np.random.default_rng(1).normal(0, 1, len(dates)))
    frame = pd.DataFrame(
        {"Vol": 1000.0, "Close": close, "Date": dates.strftime("%Y-%m-%d"), "Low": close - 1, "High": close + 1},
    ).assign(Open=close)
    frame.to_csv(folder / "MYCO.csv", index=False)
    return frame.assign(folder=str(folder))


@pytest.fixture(scope="module")
def stub(user_data: pd.DataFrame) -> Iterator[indicator_grpc.IndicatorServiceStub]:
    config = ServerConfig(host="127.0.0.1", port=0, data_dirs=(Path(user_data["folder"].iloc[0]),))
    running = start_server(config)
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        yield indicator_grpc.IndicatorServiceStub(channel)
    running.stop(None)


def test_user_symbol_is_served_with_columns_mapped_by_name(
    stub: indicator_grpc.IndicatorServiceStub, user_data: pd.DataFrame
) -> None:
    request = indicator_pb2.GetMACDRequest(symbol="myco", convention=indicators_pb2.CONVENTION_TDX)
    response = stub.GetMACD(request, timeout=10)
    assert response.symbol == "MYCO"
    np.testing.assert_array_equal(response.bars.close, user_data["Close"])
    np.testing.assert_array_equal(response.bars.volume, user_data["Vol"])
    expected = (
        user_data["Close"].ewm(span=12, adjust=False).mean() - user_data["Close"].ewm(span=26, adjust=False).mean()
    )
    np.testing.assert_allclose(response.macd, expected, rtol=1e-12)


def test_bundled_symbols_are_still_served(stub: indicator_grpc.IndicatorServiceStub) -> None:
    response = stub.GetMACD(indicator_pb2.GetMACDRequest(symbol="AAPL", start_date="2018-01-19"), timeout=10)
    assert response.macd[0] == pytest.approx(1.7824423213, abs=1e-9)
