"""ListSymbols pages (AIP-158) over a PostgreSQL store of 2,500 symbols, plus the bundled ones.

The time of a page over 10,000 symbols is measured in bench/stores.py, not here.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

import grpc
import psycopg
import pytest
from store_kinds import postgres_schema

from idc.v1 import indicator_service_pb2 as indicator_pb2
from idc.v1 import indicator_service_pb2_grpc as indicator_grpc
from idc_server.config import ServerConfig
from idc_server.core.data import bundled_data_dir
from idc_server.core.stores.postgres import schema_sql
from idc_server.server import start_server

STORED = 2_500
BUNDLED = sorted(path.stem for path in bundled_data_dir().glob("*.csv"))
ALL = sorted([f"T{n:05d}" for n in range(STORED)] + BUNDLED)


@pytest.fixture(scope="module")
def indicators() -> Iterator[indicator_grpc.IndicatorServiceStub]:
    with postgres_schema() as url:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(schema_sql())
            connection.execute(
                "INSERT INTO idc_symbols (symbol) SELECT 'T' || lpad(n::text, 5, '0') FROM generate_series(0, %s) n",
                (STORED - 1,),
            )
            connection.execute(
                "INSERT INTO idc_bars (symbol, ts, open, high, low, close, volume) "
                "SELECT symbol, timestamptz '2024-01-02' + d * interval '1 day', 10, 11, 9, 10 + d, 100 "
                "FROM idc_symbols, generate_series(0, 2) d"
            )
        running = start_server(ServerConfig(host="127.0.0.1", port=0, render_workers=0, data_urls=(url,)))
        try:
            with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
                yield indicator_grpc.IndicatorServiceStub(channel)
        finally:
            running.stop(None)


def walk(stub: indicator_grpc.IndicatorServiceStub, **fields: object) -> list[list[str]]:
    """Every page's symbols, following next_page_token."""
    pages, token = [], ""
    while True:
        response = stub.ListSymbols(indicator_pb2.ListSymbolsRequest(page_token=token, **fields), timeout=60)  # type: ignore[arg-type]
        pages.append([info.symbol for info in response.symbols])
        token = response.next_page_token
        if not token:
            return pages


def test_pages_of_1000_cover_every_symbol_once_in_order(indicators: indicator_grpc.IndicatorServiceStub) -> None:
    pages = walk(indicators)
    assert [len(page) for page in pages] == [1000, 1000, len(ALL) - 2000]
    assert [symbol for page in pages for symbol in page] == ALL


def test_a_page_entry_describes_the_symbols_bars(indicators: indicator_grpc.IndicatorServiceStub) -> None:
    [info] = indicators.ListSymbols(indicator_pb2.ListSymbolsRequest(prefix="t02424"), timeout=30).symbols
    assert (info.symbol, info.first_date, info.last_date, info.bar_count) == ("T02424", "2024-01-02", "2024-01-04", 3)
    assert info.state == indicator_pb2.SYMBOL_STATE_READY


def test_a_prefix_and_a_page_size_page_through_the_matching_symbols(
    indicators: indicator_grpc.IndicatorServiceStub,
) -> None:
    pages = walk(indicators, prefix="t012", page_size=30)
    assert [len(page) for page in pages] == [30, 30, 30, 10]
    assert [symbol for page in pages for symbol in page] == [f"T{n:05d}" for n in range(1200, 1300)]
    assert walk(indicators, prefix="0") == [[name for name in BUNDLED if name.startswith("0")]]
    assert walk(indicators, prefix="nothing") == [[]]


def test_an_empty_request_gets_the_first_1000_and_larger_sizes_are_capped(
    indicators: indicator_grpc.IndicatorServiceStub,
) -> None:
    for size in (0, 5000):
        response = indicators.ListSymbols(indicator_pb2.ListSymbolsRequest(page_size=size), timeout=30)
        assert [info.symbol for info in response.symbols] == ALL[:1000]
        assert response.next_page_token
        assert response.default_symbol == "SPY"


@pytest.mark.parametrize(
    ("request_fields", "field", "says"),
    [
        ({"page_size": -1}, "page_size", "-1 is negative"),
        ({"page_token": "not a token"}, "page_token", "is not a next_page_token of this server"),
        (
            {"page_token": base64.urlsafe_b64encode(b'{"v":2,"p":"","a":"T1"}').decode()},
            "page_token",
            "is not a next_page_token of this server",
        ),
    ],
)
def test_bad_page_fields_get_invalid_argument(
    indicators: indicator_grpc.IndicatorServiceStub, request_fields: dict[str, object], field: str, says: str
) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        indicators.ListSymbols(indicator_pb2.ListSymbolsRequest(**request_fields), timeout=30)  # type: ignore[arg-type]
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert str(raised.value.details()).startswith(f"{field}: {says}")


def test_a_token_for_another_prefix_gets_invalid_argument(indicators: indicator_grpc.IndicatorServiceStub) -> None:
    token = indicators.ListSymbols(indicator_pb2.ListSymbolsRequest(prefix="T", page_size=2), timeout=30)
    with pytest.raises(grpc.RpcError) as raised:
        indicators.ListSymbols(
            indicator_pb2.ListSymbolsRequest(prefix="T01", page_token=token.next_page_token), timeout=30
        )
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert raised.value.details() == "page_token: was made for prefix 'T', not 'T01': keep the prefix"
