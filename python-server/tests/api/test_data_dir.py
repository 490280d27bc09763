"""A server started with --data-dir serves the user's files beside the bundled ones, and bad files break nothing."""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import pandas as pd
import pytest
from support import wait_until

from idc.v1 import bars_pb2, indicators_pb2
from idc.v1 import indicator_service_pb2 as indicator_pb2
from idc.v1 import indicator_service_pb2_grpc as indicator_grpc
from idc_server.config import ServerConfig
from idc_server.server import RunningServer, start_server

HEADER = "date,open,high,low,close,volume\n"
ROWS = [
    "2020-01-02,10,11,9,10.5,100\n",
    "2020-01-03,10.5,12,10,11.5,200\n",
    "2020-01-06,11.5,12,11,11,150\n",
    "2020-01-07,11,11.5,10,10.25,120\n",
    "2020-01-08,10.25,11,10,10.75,130\n",
]  # lines 2 to 6 of the file
GOOD_CSV = HEADER + "".join(ROWS)


def with_row(line: int, row: str) -> str:
    """GOOD_CSV with file line ``line`` (the header is line 1) replaced."""
    rows = list(ROWS)
    rows[line - 2] = row
    return HEADER + "".join(rows)


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    return buffer.getvalue()


GOOD_FRAME = pd.read_csv(io.StringIO(GOOD_CSV))
GOOD_PARQUET = parquet_bytes(GOOD_FRAME)

# Every kind of bad file: its name, content, and what its problem must say.
BAD_FILES: dict[str, tuple[str, bytes, str]] = {
    "bad date": (
        "BADDATE.csv",
        with_row(4, "2020-13-45,11.5,12,11,11,150\n").encode(),
        "line 4, column date: '2020-13-45'",
    ),
    "date in another form": (
        "OTHERFORM.csv",
        with_row(3, "01/03/2020,10.5,12,10,11.5,200\n").encode(),
        "line 3, column date: '01/03/2020' is not a date",
    ),
    "binary": ("BINARY.csv", bytes(range(256)) * 8, "byte 0x80 is not UTF-8"),
    "Latin-1": (
        "LATIN.csv",
        (HEADER[:-1] + ",name\n" + ROWS[0][:-1] + ",Société\n").encode("latin-1"),
        "line 2, character 33: byte 0xe9 is not UTF-8",
    ),
    "empty": ("EMPTY.csv", b"", "the file is empty"),
    "blank lines only": ("BLANK.csv", b"\n\n  \n", "the file is empty"),
    "header only": ("HEADERONLY.csv", HEADER.encode(), "no bars"),
    "missing column": ("NOCLOSE.csv", b"date,open,high,low,volume\n2020-01-02,1,2,0.5,10\n", "no close column"),
    "two columns for one": (
        "TWOVOL.csv",
        b"date,open,high,low,close,vol,Volume\n2020-01-02,1,2,0.5,1,10,10\n",
        "'vol' and 'Volume' both mean volume",
    ),
    "ragged line": (
        "RAGGED.csv",
        with_row(5, "2020-01-07,11,11.5,10,10.25,120,7\n").encode(),
        "not a CSV file pandas can read",
    ),
    "duplicate dates": (
        "DUPLICATE.csv",
        with_row(4, "2020-01-03,11.5,12,11,11,150\n").encode(),
        "line 4, column date: 2020-01-03 follows 2020-01-03",
    ),
    "unsorted dates": (
        "UNSORTED.csv",
        with_row(3, "2020-01-09,10.5,12,10,11.5,200\n").encode(),
        "line 4, column date: 2020-01-06 follows 2020-01-09",
    ),
    "corrupt Parquet": (
        "CORRUPT.parquet",
        GOOD_PARQUET[:200] + bytes(100) + GOOD_PARQUET[300:],
        "not a Parquet file pyarrow can read",
    ),
    "truncated Parquet": (
        "TRUNCATED.parquet",
        GOOD_PARQUET[: len(GOOD_PARQUET) // 2],
        "not a Parquet file pyarrow can read",
    ),
    "CSV named .parquet": ("CSVINSIDE.parquet", GOOD_CSV.encode(), "not a Parquet file pyarrow can read"),
    "NaN close": (
        "NANCLOSE.csv",
        with_row(3, "2020-01-03,10.5,12,10,NaN,200\n").encode(),
        "line 3, column close: nan is not a finite number",
    ),
    "half-written last line": ("HALF.csv", (GOOD_CSV + "2020-01-09,10.75,11").encode(), "line 7, column low: no value"),
    "inf": (
        "INF.csv",
        with_row(2, "2020-01-02,10,inf,9,10.5,100\n").encode(),
        "line 2, column high: inf is not a finite number",
    ),
    "NaN in Parquet": (
        "NANPARQUET.parquet",
        parquet_bytes(GOOD_FRAME.assign(low=[9, 10, np.nan, 10, 10])),
        "row 3, column low: nan is not a finite number",
    ),
    "text for a number": (
        "TEXT.csv",
        with_row(6, "2020-01-08,10.25,11,10,10.75,n/a lots\n").encode(),
        "line 6, column volume: 'n/a lots' is not a number",
    ),
    "high below low": (
        "INVERTED.csv",
        with_row(5, "2020-01-07,11,10,11.5,10.25,120\n").encode(),
        "line 5, column high: 10.0 is below low 11.5",
    ),
    "negative volume": (
        "NEGVOL.csv",
        with_row(2, "2020-01-02,10,11,9,10.5,-100\n").encode(),
        "line 2, column volume: -100 is outside 0..1e+18",
    ),
    "volume near the largest double": (
        "HUGEVOL.csv",
        with_row(3, "2020-01-03,10.5,12,10,11.5,1.7e308\n").encode(),
        "line 3, column volume: 1.7e+308 is outside 0..1e+18",
    ),
    "high near the largest double": (
        "HUGEHIGH.csv",
        with_row(2, "2020-01-02,10,1.5e308,0,10.5,100\n").encode(),
        "line 2, column high: 1.5e+308 is outside -1e+15..1e+15",
    ),
    "every price 1e308": (
        "ALL1E308.csv",
        (HEADER + "2020-01-02,1e308,1e308,1e308,1e308,1\n").encode(),
        "line 2, column open: 1e+308 is outside -1e+15..1e+15",
    ),
}


@pytest.fixture(scope="module")
def user_data(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    folder = tmp_path_factory.mktemp("data")
    dates = pd.bdate_range("2024-01-01", periods=60)
    close = 50 + np.cumsum(np.random.default_rng(1).normal(0, 1, len(dates)))
    frame = pd.DataFrame(
        {"Vol": 1000.0, "Close": close, "Date": dates.strftime("%Y-%m-%d"), "Low": close - 1, "High": close + 1},
    ).assign(Open=close)
    frame.to_csv(folder / "MYCO.csv", index=False)
    for name, data, _ in BAD_FILES.values():
        (folder / name).write_bytes(data)
    return frame.assign(folder=str(folder))


@pytest.fixture(scope="module")
def folder(user_data: pd.DataFrame) -> Path:
    return Path(user_data["folder"].iloc[0])


@pytest.fixture(scope="module")
def server(folder: Path) -> Iterator[RunningServer]:
    running = start_server(ServerConfig(host="127.0.0.1", port=0, data_dirs=(folder,)))
    yield running
    running.stop(None)


@pytest.fixture(scope="module")
def stub(server: RunningServer) -> Iterator[indicator_grpc.IndicatorServiceStub]:
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        yield indicator_grpc.IndicatorServiceStub(channel)


def listed(stub: indicator_grpc.IndicatorServiceStub) -> dict[str, indicator_pb2.SymbolInfo]:
    return {info.symbol: info for info in stub.ListSymbols(indicator_pb2.ListSymbolsRequest(), timeout=10).symbols}


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


@pytest.mark.parametrize(("name", "data", "problem"), list(BAD_FILES.values()), ids=list(BAD_FILES))
def test_a_bad_file_makes_only_its_symbol_invalid(
    stub: indicator_grpc.IndicatorServiceStub, folder: Path, name: str, data: bytes, problem: str
) -> None:
    symbol = Path(name).stem
    symbols = listed(stub)
    info = symbols[symbol]
    assert info.state == indicator_pb2.SYMBOL_STATE_INVALID
    assert info.problem.startswith(f"{name}: ")
    assert problem in info.problem
    assert (info.first_date, info.last_date, info.bar_count) == ("", "", 0)
    assert symbols["MYCO"].state == symbols["SPY"].state == indicator_pb2.SYMBOL_STATE_READY
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetMACD(indicator_pb2.GetMACDRequest(symbol=symbol.lower()), timeout=10)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    details = caught.value.details() or ""
    assert details.startswith(f"symbol: '{symbol}' cannot be served: {name}: ")
    assert problem in details
    assert str(folder) not in details
    assert str(folder) not in info.problem
    assert stub.GetMACD(indicator_pb2.GetMACDRequest(symbol="MYCO"), timeout=10).symbol == "MYCO"


def test_bad_files_are_logged_once_with_name_and_line(folder: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="idc_server.core.data_files"):
        running = start_server(ServerConfig(host="127.0.0.1", port=0, data_dirs=(folder,)))
        try:
            with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
                stub = indicator_grpc.IndicatorServiceStub(channel)
                for _ in range(3):
                    listed(stub)
                    with pytest.raises(grpc.RpcError):
                        stub.GetMACD(indicator_pb2.GetMACDRequest(symbol="NANCLOSE"), timeout=10)
        finally:
            running.stop(None)
    messages = [record.getMessage() for record in caplog.records if "NANCLOSE.csv" in record.getMessage()]
    assert messages == [
        "data file NANCLOSE.csv is refused, so symbol NANCLOSE cannot be served: "
        "line 3, column close: nan is not a finite number"
    ]


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[Path, indicator_grpc.IndicatorServiceStub]]:
    """A server on a folder of its own, which the test changes while it runs."""
    (tmp_path / "LIVE.csv").write_text(GOOD_CSV)
    running = start_server(ServerConfig(host="127.0.0.1", port=0, data_dirs=(tmp_path,)))
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        yield tmp_path, indicator_grpc.IndicatorServiceStub(channel)
    running.stop(None)


def closes(stub: indicator_grpc.IndicatorServiceStub, symbol: str) -> list[float]:
    parameters = bars_pb2.MACDParameters(fast_period=1, slow_period=2)
    request = indicator_pb2.GetMACDRequest(symbol=symbol, parameters=parameters)
    return list(stub.GetMACD(request, timeout=10).bars.close)


def test_a_file_deleted_while_running_is_not_found_then_unlisted(
    live: tuple[Path, indicator_grpc.IndicatorServiceStub],
) -> None:
    folder, stub = live
    assert closes(stub, "LIVE") == [10.5, 11.5, 11.0, 10.25, 10.75]
    (folder / "LIVE.csv").unlink()
    with pytest.raises(grpc.RpcError) as caught:
        closes(stub, "LIVE")
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert str(folder) not in (caught.value.details() or "")
    wait_until(lambda: "LIVE" not in listed(stub), "the deleted file to leave the listing")
    assert "SPY" in listed(stub)


def test_a_file_added_while_running_is_served_without_a_restart(
    live: tuple[Path, indicator_grpc.IndicatorServiceStub],
) -> None:
    folder, stub = live
    (folder / "NEW.csv").write_text(with_row(6, "2020-01-08,10.25,11,10,10.5,130\n"))
    wait_until(lambda: "NEW" in listed(stub), "the new file to be listed")
    assert closes(stub, "new")[-1] == 10.5


def test_a_file_rewritten_with_the_same_size_and_mtime_is_read_again(
    live: tuple[Path, indicator_grpc.IndicatorServiceStub],
) -> None:
    folder, stub = live
    path = folder / "LIVE.csv"
    assert closes(stub, "LIVE")[-1] == 10.75
    before = path.stat()
    changed = GOOD_CSV.replace("10.75,130", "10.85,130")
    assert len(changed) == len(GOOD_CSV)
    path.write_text(changed)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert closes(stub, "LIVE")[-1] == 10.85


def test_a_fixed_file_is_served_again(live: tuple[Path, indicator_grpc.IndicatorServiceStub]) -> None:
    folder, stub = live
    (folder / "LIVE.csv").write_text(with_row(3, "2020-01-03,10.5,12,10,,200\n"))
    with pytest.raises(grpc.RpcError) as caught:
        closes(stub, "LIVE")
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert listed(stub)["LIVE"].state == indicator_pb2.SYMBOL_STATE_INVALID
    (folder / "LIVE.csv").write_text(GOOD_CSV)
    assert closes(stub, "LIVE")[-1] == 10.75
    assert listed(stub)["LIVE"].state == indicator_pb2.SYMBOL_STATE_READY


def test_rows_with_open_outside_the_range_are_served_and_counted(
    live: tuple[Path, indicator_grpc.IndicatorServiceStub],
) -> None:
    folder, stub = live
    # Two rows of Yahoo's SPY (matplotlib/mplfinance yahoofinance-SPY-20080101-20180101.csv) where open < low.
    (folder / "GLITCH.csv").write_text(
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        "2015-03-04,210.630005,211.199997,209.309998,210.229996,197.801392,93957400\n"
        "2015-03-05,209.419998,210.800003,209.850006,210.460007,198.019653,76873000\n"
        "2015-03-30,205.740005,208.610001,206.960007,208.250000,196.814926,96180400\n"
    )
    wait_until(lambda: "GLITCH" in listed(stub), "the new file to be listed")
    info = listed(stub)["GLITCH"]
    assert info.state == indicator_pb2.SYMBOL_STATE_READY
    assert info.bar_count == 3
    assert info.warning_count == 2
    assert info.first_warning == "GLITCH.csv: line 3, column Open: 209.419998 is below low 209.850006"
    assert closes(stub, "GLITCH") == [210.229996, 210.460007, 208.25]


def test_bundled_symbols_say_how_their_prices_are_adjusted(stub: indicator_grpc.IndicatorServiceStub) -> None:
    symbols = listed(stub)
    assert symbols["SPY"].price_adjustment == indicator_pb2.PRICE_ADJUSTMENT_SPLITS_AND_DIVIDENDS
    assert symbols["AAPL"].price_adjustment == indicator_pb2.PRICE_ADJUSTMENT_SPLITS
    assert symbols["000001.SH"].price_adjustment == indicator_pb2.PRICE_ADJUSTMENT_NOT_NEEDED
    assert symbols["MYCO"].price_adjustment == indicator_pb2.PRICE_ADJUSTMENT_UNSPECIFIED
    assert all(symbols[name].warning_count == 0 for name in ("SPY", "AAPL", "000001.SH"))
