"""GetMACD over Apache Arrow Flight, over the same core.

- ``do_get`` for a stored symbol: the ticket's bytes are the JSON object
  ``{"symbol": "SPY", "start_date": "2024-01-01", "end_date": "2024-12-31"}``
  (every key optional, as in GetMACDRequest).
- ``do_exchange`` for inline bars: the client writes one table with the
  columns ``date`` (date32) and ``open``, ``high``, ``low``, ``close``,
  ``volume`` (float64), and reads the reply.

Either way the reply is one table: ``date`` (date32), the five bar columns
and ``macd``, ``signal``, ``histogram`` (float64), all one row per bar of the
window. The MACD columns are full length, NaN on warm-up bars; the schema
metadata carries ``first_valid_index`` and ``symbol``. The columns wrap the
core's NumPy arrays without copying them.

Errors are ``FlightServerError`` whose message is ``STATUS: field: description``
(STATUS being NOT_FOUND or INVALID_ARGUMENT) and whose ``extra_info`` is the
JSON object ``{"status", "field", "message"}``. Arrow's own status mapping
(raising KeyError for NOT_FOUND, ValueError for INVALID_ARGUMENT) would set
the gRPC code, but it sends the server's Python traceback to the client.

    python -m bench.baselines.flight --port 50063
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.flight as flight

from idc_server.config import ServerConfig
from idc_server.core.analytics import Analytics, MACDResult
from idc_server.core.data import BAR_COLUMNS, bars_from_columns, parse_date
from idc_server.core.errors import IdcError, InvalidArgumentError, NotFoundError, field_prefix
from idc_server.core.indicators import MACDParameters
from idc_server.server import build_analytics, wait_for_signal

MACD_COLUMNS = ("macd", "signal", "histogram")
REQUEST_SCHEMA = pa.schema([("date", pa.date32()), *((name, pa.float64()) for name in BAR_COLUMNS)])
REPLY_SCHEMA = pa.schema([*REQUEST_SCHEMA, *((name, pa.float64()) for name in MACD_COLUMNS)])


def flight_error(error: IdcError) -> flight.FlightServerError:
    """The Flight error for a domain error, naming its status and field."""
    status = "NOT_FOUND" if isinstance(error, NotFoundError) else "INVALID_ARGUMENT"
    detail = {"status": status, "field": error.field, "message": str(error)}
    return flight.FlightServerError(f"{status}: {error}", extra_info=json.dumps(detail).encode())


def ticket_request(ticket: bytes) -> tuple[str, str, str]:
    """The symbol, start date and end date a ticket asks for."""
    try:
        request = json.loads(ticket)
    except ValueError:
        raise InvalidArgumentError("ticket", "must be a JSON object") from None
    if not isinstance(request, dict):
        raise InvalidArgumentError("ticket", "must be a JSON object")
    values = []
    for name in ("symbol", "start_date", "end_date"):
        value = request.get(name, "")
        if not isinstance(value, str):
            raise InvalidArgumentError(name, "must be a string")
        values.append(value)
    return values[0], values[1], values[2]


def inline_frame(table: pa.Table, max_bars: int) -> pd.DataFrame:
    """The bars frame of a client's table, validated as idc validates inline bars."""
    names = set(table.column_names)
    for field in REQUEST_SCHEMA:
        if field.name not in names:
            raise InvalidArgumentError(field.name, f"missing column; expected {REQUEST_SCHEMA.names}")
    dates = table.column("date")
    if dates.type != pa.date32():
        raise InvalidArgumentError("date", f"must be date32, got {dates.type}")
    if dates.null_count:
        raise InvalidArgumentError("date", "must not hold nulls")
    days = dates.cast(pa.int32()).to_numpy()  # date32 is int32 days since 1970-01-01: no copy for one chunk
    columns = {}
    for name in BAR_COLUMNS:
        column = table.column(name)
        try:
            column = column.cast(pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise InvalidArgumentError(name, f"must be float64, got {column.type}") from None
        columns[name] = column.to_numpy()  # nulls become NaN, which bars_from_columns rejects
    return bars_from_columns(days, columns, max_bars=max_bars)


def reply_table(result: MACDResult) -> pa.Table:
    """The reply: the window's bars and MACD columns, wrapping the core's arrays without copies."""
    selection = result.selection
    outputs = result.outputs
    arrays = [
        pa.array(np.asarray(selection.days, dtype=np.int32)).view(pa.date32()),
        *(pa.array(values) for values in selection.columns().values()),
        *(pa.array(outputs[name]) for name in MACD_COLUMNS),
    ]
    metadata = {"first_valid_index": str(result.first_valid_index), "symbol": result.symbol}
    return pa.Table.from_arrays(arrays, schema=REPLY_SCHEMA.with_metadata(metadata))


class MACDFlightServer(flight.FlightServerBase):  # type: ignore[misc]
    """GetMACD as ``do_get`` (stored symbols) and ``do_exchange`` (inline bars)."""

    def __init__(self, location: str, analytics: Analytics, max_bars: int) -> None:
        super().__init__(location)
        self._analytics = analytics
        self._max_bars = max_bars
        self._parameters = MACDParameters()

    def _macd(self, symbol: str, start_date: str, end_date: str, inline: pd.DataFrame | None) -> MACDResult:
        start = parse_date("start_date", start_date)
        end = parse_date("end_date", end_date)
        selection = self._analytics.select(symbol, start, end, inline)
        return self._analytics.macd(selection, self._parameters, self._analytics.default_convention)

    def do_get(self, context: flight.ServerCallContext, ticket: flight.Ticket) -> flight.RecordBatchStream:
        try:
            result = self._macd(*ticket_request(ticket.ticket), None)
        except IdcError as error:
            raise flight_error(error) from None
        return flight.RecordBatchStream(reply_table(result))

    def do_exchange(
        self,
        context: flight.ServerCallContext,
        descriptor: flight.FlightDescriptor,
        reader: flight.MetadataRecordBatchReader,
        writer: flight.MetadataRecordBatchWriter,
    ) -> None:
        try:
            with field_prefix("inline_bars"):
                inline = inline_frame(reader.read_all(), self._max_bars)
            result = self._macd("", "", "", inline)
        except IdcError as error:
            raise flight_error(error) from None
        table = reply_table(result)
        writer.begin(table.schema)
        writer.write_table(table)


def main(argv: Sequence[str] | None = None) -> None:
    """Serve until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m bench.baselines.flight", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="TCP port on 127.0.0.1")
    args = parser.parse_args(argv)
    config = ServerConfig()
    server = MACDFlightServer(f"grpc://127.0.0.1:{args.port}", build_analytics(config), config.max_bars)
    wait_for_signal()
    server.shutdown()


if __name__ == "__main__":
    main()
