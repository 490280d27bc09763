"""Contract tests of idc_client against a real idc server.

They run only when the environment variable IDC_TARGET holds the address
of a running server, e.g.::

    idc-server --port 50051 &
    IDC_TARGET=localhost:50051 python -m pytest clients/python/tests/test_contract.py

The expected values come from the server's bundled data (SPY and 000001.SH).
"""

from __future__ import annotations

import datetime
import hashlib
import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pandas as pd
import pytest

from idc_client import IdcClient, field_violations, macd_rows
from idc_client.cli import main

TARGET = os.environ.get("IDC_TARGET", "")

pytestmark = pytest.mark.skipif(
    not TARGET,
    reason="contract tests need a running idc server: set IDC_TARGET (e.g. IDC_TARGET=localhost:50051)",
)


@pytest.fixture(scope="module")
def client() -> Iterator[IdcClient]:
    with IdcClient(TARGET, timeout=60.0) as client:
        yield client


def test_spy_macd_on_2023_12_29(client: IdcClient) -> None:
    frame = client.macd("SPY", "2023-12-29", "2023-12-29")

    assert list(frame.index) == [pd.Timestamp("2023-12-29")]
    row = frame.iloc[0]
    assert row["macd"] == pytest.approx(7.4880921771, abs=1e-6)
    assert row["signal"] == pytest.approx(7.5222453641, abs=1e-6)
    assert row["histogram"] == pytest.approx(row["macd"] - row["signal"], abs=1e-9)


def test_shanghai_composite_macd_on_2023_12_29(client: IdcClient) -> None:
    frame = client.macd("000001.SH", "2023-12-29", "2023-12-29")

    row = frame.loc["2023-12-29"]
    assert row["macd"] == pytest.approx(-22.8746222612, abs=1e-6)
    assert row["signal"] == pytest.approx(-27.6650371902, abs=1e-6)
    assert frame.attrs["symbol"] == "000001.SH"


def test_spy_2023_has_250_trading_days(client: IdcClient) -> None:
    frame = client.macd("SPY", "2023-01-01", "2023-12-31")

    assert len(frame) == 250
    assert frame.index[0] == pd.Timestamp("2023-01-03")
    assert frame.index[-1] == pd.Timestamp("2023-12-29")
    assert frame.index.is_monotonic_increasing
    assert all(dtype == np.float64 for dtype in frame.dtypes)
    assert not frame.isna().any().any()


def test_window_bounds_accept_dates(client: IdcClient) -> None:
    frame = client.macd("SPY", datetime.date(2023, 1, 1), datetime.date(2023, 12, 31))

    assert len(frame) == 250


def test_histogram_is_macd_minus_signal_on_every_bar(client: IdcClient) -> None:
    frame = client.macd("SPY", "2023-01-01", "2023-12-31")

    np.testing.assert_allclose(frame["histogram"], frame["macd"] - frame["signal"], atol=1e-9)


def test_symbols_are_case_insensitive_and_answered_canonically(client: IdcClient) -> None:
    frame = client.macd("spy", "2023-12-29", "2023-12-29")

    assert frame.attrs["symbol"] == "SPY"
    assert frame.iloc[0]["macd"] == pytest.approx(7.4880921771, abs=1e-6)


def test_empty_request_gives_the_default_symbol_whole_history_and_periods(client: IdcClient) -> None:
    frame = client.macd()

    assert frame.attrs["symbol"] == "SPY"
    assert frame.attrs["parameters"] == {"fast": 12, "slow": 26, "signal": 9}
    assert len(frame) > 8000


def test_custom_periods_are_echoed_and_change_the_values(client: IdcClient) -> None:
    default = client.macd("SPY", "2023-12-29", "2023-12-29")
    custom = client.macd("SPY", "2023-12-29", "2023-12-29", fast=5, slow=35, signal=5)

    assert custom.attrs["parameters"] == {"fast": 5, "slow": 35, "signal": 5}
    assert custom.iloc[0]["close"] == default.iloc[0]["close"]
    assert custom.iloc[0]["macd"] != pytest.approx(default.iloc[0]["macd"])


def test_rows_match_the_frame(client: IdcClient) -> None:
    response = client.macd_response("SPY", "2023-12-01", "2023-12-31")
    frame = client.macd("SPY", "2023-12-01", "2023-12-31")

    rows = macd_rows(response)

    assert [row.date for row in rows] == [timestamp.date() for timestamp in frame.index]
    assert rows[-1].date == datetime.date(2023, 12, 29)
    assert rows[-1].macd == frame.iloc[-1]["macd"]


def test_graph_is_a_verified_png_of_the_requested_size(client: IdcClient) -> None:
    from PIL import Image as PILImage  # Pillow is a test dependency only

    image = client.graph("SPY", "2023-01-01", "2023-12-31", width=800, height=600)

    assert image.media_type == "image/png"
    assert (image.width_px, image.height_px) == (800, 600)
    assert image.sha256 == hashlib.sha256(image.data).digest()
    with PILImage.open(io.BytesIO(image.data)) as decoded:
        assert decoded.format == "PNG"
        assert decoded.size == (800, 600)


def test_graph_of_an_empty_request_uses_the_default_size(client: IdcClient) -> None:
    image = client.graph()

    assert (image.width_px, image.height_px) == (1200, 800)


ERRORS: list[tuple[str, Callable[[IdcClient], Any], grpc.StatusCode, str | None]] = [
    (
        "malformed start",
        lambda c: c.macd("SPY", "2023-13-01"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "start_date",
    ),
    (
        "end before start",
        lambda c: c.macd("SPY", "2023-02-01", "2023-01-01"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "end_date",
    ),
    ("unknown symbol", lambda c: c.macd("NOPE"), grpc.StatusCode.NOT_FOUND, None),
    ("weekend window", lambda c: c.macd("SPY", "2023-01-07", "2023-01-08"), grpc.StatusCode.NOT_FOUND, None),
    (
        "negative period",
        lambda c: c.macd("SPY", fast=-1),
        grpc.StatusCode.INVALID_ARGUMENT,
        "parameters.fast_period",
    ),
    (
        "fast not below slow",
        lambda c: c.macd("SPY", fast=26, slow=12),
        grpc.StatusCode.INVALID_ARGUMENT,
        "parameters.fast_period",
    ),
    ("graph too narrow", lambda c: c.graph("SPY", width=50), grpc.StatusCode.INVALID_ARGUMENT, "width_px"),
    ("graph unknown symbol", lambda c: c.graph("NOPE"), grpc.StatusCode.NOT_FOUND, None),
]


@pytest.mark.parametrize(("call", "code", "field"), [case[1:] for case in ERRORS], ids=[case[0] for case in ERRORS])
def test_bad_requests_fail_with_the_documented_code_and_field(
    client: IdcClient, call: Callable[[IdcClient], Any], code: grpc.StatusCode, field: str | None
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        call(client)

    assert caught.value.code() == code
    if field is not None:
        assert [name for name, _ in field_violations(caught.value)] == [field]
        assert field in (caught.value.details() or "")


def test_client_still_works_after_errors(client: IdcClient) -> None:
    for _, call, _, _ in ERRORS:
        with pytest.raises(grpc.RpcError):
            call(client)

    frame = client.macd("SPY", "2023-12-29", "2023-12-29")

    assert frame.iloc[0]["macd"] == pytest.approx(7.4880921771, abs=1e-6)


def test_cli_macd_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["macd", "--target", TARGET, "--symbol", "SPY", "--start", "2023-12-20", "--end", "2023-12-29"])

    out = capsys.readouterr().out
    assert status == 0
    assert "2023-12-29" in out
    assert "7.488092" in out


def test_cli_graph_writes_the_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "macd.png"

    status = main(["graph", "--target", TARGET, "--width", "800", "--height", "600", "-o", str(output)])

    out = capsys.readouterr().out
    assert status == 0
    data = output.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert hashlib.sha256(data).hexdigest() in out


def test_cli_reports_errors_on_stderr_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["macd", "--target", TARGET, "--start", "2023-13-01"])

    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("error: INVALID_ARGUMENT: ")
    assert "  start_date: " in err
