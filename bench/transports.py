"""The client side of every transport the benchmark compares, as the load driver calls it.

A ``Transport`` names a server (idc-server itself, or a module under
``bench.baselines`` started as ``python -m MODULE --port P``) and how to
connect to it; ``connect("127.0.0.1:P")`` returns a ``Caller``, and each
thread of the load driver uses its own.

Fairness rules, the same for every transport:

- Each Caller owns its own connection: a gRPC channel with its own
  subchannel pool (``grpc.use_local_subchannel_pool``; without it channels
  with equal arguments share one TCP connection), a Flight client likewise,
  a keep-alive HTTP connection pool of size one for REST. So N callers make
  N TCP connections.
- A Caller builds its native request object once per workload and keeps it:
  idc and seed-style the protobuf ``GetMACDRequest`` (inline bars filled from
  the NumPy columns), REST a dict holding the NumPy arrays, Flight a
  ``Ticket`` or a ``pa.Table``. What a client would build from its own data
  structures is not measured.
- Serialising that object is measured, inside every call, as the library
  does it: grpc serialises the protobuf, REST runs
  ``orjson.dumps(..., option=OPT_SERIALIZE_NUMPY)``, Flight writes the table.
- Every call decodes the whole reply into the library's native structure: a
  protobuf message, the dict of ``orjson.loads``, a ``pa.Table`` from
  ``read_all()``. ``macd`` returns its bar count, so the driver can check it.
- ``macd`` raises on any error: ``grpc.RpcError``, ``HTTPStatusError``, or a
  ``pyarrow.flight.FlightError``.
"""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import grpc
import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa
import pyarrow.flight as flight
import urllib3

from bench.workloads import InlineBars, Workload
from idc import indicator_pb2
from idc.v1 import bars_pb2, indicator_service_pb2, indicator_service_pb2_grpc

MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # idc-server's default limit, both ways
SEED_METHOD = "/bench.SeedStyle/GetMACD"
REST_PATH = "/v1/macd"

Columns = dict[str, npt.NDArray[Any]]


class Caller(Protocol):
    """One thread's client of one transport."""

    def macd(self, workload: Workload) -> int:
        """One end-to-end call; the bar count of the decoded reply. Raises on any error."""
        ...

    def columns(self, workload: Workload) -> Columns:
        """For tests: ``days`` (int), ``close`` and ``macd`` over the whole window, ``macd`` NaN on warm-up bars."""
        ...

    def close(self) -> None:
        """Close the connection."""
        ...


@dataclass(frozen=True)
class Transport:
    """A way to call GetMACD, and the server that answers it."""

    name: str  # "idc", "seed", "rest", "flight"
    label: str  # for report tables
    server_module: str | None  # started as `python -m MODULE --port P`; None: idc-server itself
    connect: Callable[[str], Caller]  # "127.0.0.1:port" -> a Caller; one Caller per thread

    def server_command(self, port: int) -> list[str]:
        """The command line of this transport's server on 127.0.0.1:``port``.

        idc-server logs warnings only, like the baselines, which log no requests.
        """
        if self.server_module is None:
            return [
                sys.executable,
                "-m",
                "idc_server",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "WARNING",
            ]
        return [sys.executable, "-m", self.server_module, "--port", str(port)]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


R = TypeVar("R")


class RequestCache(Generic[R]):
    """Native request objects by workload, built on first use.

    Keyed by identity (workloads hold NumPy arrays, so they are not hashable);
    the workload is kept alive so its id cannot be reused.
    """

    def __init__(self, build: Callable[[Workload], R]) -> None:
        self._build = build
        self._built: dict[int, tuple[Workload, R]] = {}

    def __call__(self, workload: Workload) -> R:
        entry = self._built.get(id(workload))
        if entry is None:
            entry = (workload, self._build(workload))
            self._built[id(workload)] = entry
        return entry[1]


def padded(values: Any, first_valid_index: int, count: int) -> npt.NDArray[np.float64]:
    """Values that start at ``first_valid_index``, as ``count`` values with NaN before it."""
    full = np.full(count, np.nan)
    full[first_valid_index:] = np.asarray(values, dtype=np.float64)
    return full


def grpc_channel(target: str) -> grpc.Channel:
    """A channel with a TCP connection of its own and idc-server's message limits."""
    return grpc.insecure_channel(
        target,
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.use_local_subchannel_pool", 1),
        ],
    )


def grpc_request(workload: Workload) -> indicator_service_pb2.GetMACDRequest:
    """GetMACDRequest for a workload: a symbol and window, or inline bars from its columns."""
    bars = workload.bars
    if bars is None:
        return indicator_service_pb2.GetMACDRequest(
            symbol=workload.symbol, start_date=workload.start_date, end_date=workload.end_date
        )
    return indicator_service_pb2.GetMACDRequest(
        inline_bars=bars_pb2.Bars(
            dates=bars.days.tolist(), **{name: values.tolist() for name, values in bars.columns().items()}
        ),
        start_date=workload.start_date,
        end_date=workload.end_date,
    )


class IdcCaller:
    """idc.v1.IndicatorService/GetMACD through the generated stub: packed columns."""

    def __init__(self, target: str) -> None:
        self._channel = grpc_channel(target)
        self._stub = indicator_service_pb2_grpc.IndicatorServiceStub(self._channel)
        self._requests = RequestCache(grpc_request)

    def reply(self, workload: Workload) -> indicator_service_pb2.GetMACDResponse:
        response: indicator_service_pb2.GetMACDResponse = self._stub.GetMACD(self._requests(workload))
        return response

    def macd(self, workload: Workload) -> int:
        return len(self.reply(workload).bars.dates)

    def columns(self, workload: Workload) -> Columns:
        reply = self.reply(workload)
        count = len(reply.bars.dates)
        return {
            "days": np.asarray(reply.bars.dates, dtype=np.int64),
            "close": np.asarray(reply.bars.close, dtype=np.float64),
            "macd": padded(reply.macd, reply.first_valid_index, count),
        }

    def close(self) -> None:
        self._channel.close()


class SeedCaller:
    """bench.SeedStyle/GetMACD: the same request, the article's reply of one message per bar."""

    def __init__(self, target: str) -> None:
        self._channel = grpc_channel(target)
        self._call = self._channel.unary_unary(
            SEED_METHOD,
            request_serializer=indicator_service_pb2.GetMACDRequest.SerializeToString,
            response_deserializer=indicator_pb2.MACDReply.FromString,
        )
        self._requests = RequestCache(grpc_request)

    def reply(self, workload: Workload) -> indicator_pb2.MACDReply:
        response: indicator_pb2.MACDReply = self._call(self._requests(workload))
        return response

    def macd(self, workload: Workload) -> int:
        return len(self.reply(workload).macd)

    def columns(self, workload: Workload) -> Columns:
        rows = self.reply(workload).macd
        return {
            "days": np.array([row.date for row in rows], dtype="datetime64[D]").astype(np.int64),
            "close": np.array([row.close for row in rows], dtype=np.float64),  # float32 on the wire
            "macd": np.array([row.macd for row in rows], dtype=np.float64),
        }

    def close(self) -> None:
        self._channel.close()


class HTTPStatusError(Exception):
    """A REST reply other than 200, with its decoded error body."""

    def __init__(self, status: int, body: bytes) -> None:
        try:
            detail = orjson.loads(body)
        except orjson.JSONDecodeError:
            detail = {}
        if not isinstance(detail, dict):
            detail = {}
        self.status = status
        self.field = str(detail.get("field", ""))
        self.message = str(detail.get("message", body[:200].decode(errors="replace")))
        super().__init__(f"HTTP {status}: {self.message}")


def rest_request(workload: Workload) -> dict[str, Any]:
    """The JSON body for a workload, holding the NumPy columns themselves."""
    bars = workload.bars
    body: dict[str, Any] = {}
    if bars is None:
        body["symbol"] = workload.symbol
    else:
        body["inline_bars"] = {"dates": bars.days, **bars.columns()}
    if workload.start_date:
        body["start_date"] = workload.start_date
    if workload.end_date:
        body["end_date"] = workload.end_date
    return body


class RestCaller:
    """POST /v1/macd with JSON over one keep-alive HTTP/1.1 connection."""

    def __init__(self, target: str) -> None:
        host, port = target.rsplit(":", 1)
        self._pool = urllib3.HTTPConnectionPool(host, int(port), maxsize=1, block=True, retries=False)
        self._requests = RequestCache(rest_request)

    def reply(self, workload: Workload) -> dict[str, Any]:
        body = orjson.dumps(self._requests(workload), option=orjson.OPT_SERIALIZE_NUMPY)
        response = self._pool.urlopen("POST", REST_PATH, body=body, headers={"Content-Type": "application/json"})
        if response.status != 200:
            raise HTTPStatusError(response.status, response.data)
        reply: dict[str, Any] = orjson.loads(response.data)
        return reply

    def macd(self, workload: Workload) -> int:
        return len(self.reply(workload)["bars"]["dates"])

    def columns(self, workload: Workload) -> Columns:
        reply = self.reply(workload)
        count = len(reply["bars"]["dates"])
        return {
            "days": np.asarray(reply["bars"]["dates"], dtype=np.int64),
            "close": np.asarray(reply["bars"]["close"], dtype=np.float64),
            "macd": padded(reply["macd"], reply["first_valid_index"], count),
        }

    def close(self) -> None:
        self._pool.close()


def flight_table(bars: InlineBars) -> pa.Table:
    """Inline bars as the table do_exchange expects: ``date`` (date32) and float64 bar columns."""
    return pa.table(
        {
            "date": pa.array(np.asarray(bars.days, dtype=np.int32)).view(pa.date32()),
            **{name: pa.array(values) for name, values in bars.columns().items()},
        }
    )


def flight_request(workload: Workload) -> flight.Ticket | pa.Table:
    """A Ticket naming a symbol and window, or the table of inline bars."""
    if workload.bars is not None:
        return flight_table(workload.bars)
    window = {"symbol": workload.symbol, "start_date": workload.start_date, "end_date": workload.end_date}
    return flight.Ticket(json.dumps(window).encode())


class FlightCaller:
    """Arrow Flight: do_get for a stored symbol, do_exchange for inline bars."""

    DESCRIPTOR = flight.FlightDescriptor.for_command(b"macd")

    def __init__(self, target: str) -> None:
        # Flight clients already keep their own subchannel pool; said here so it stays true.
        self._client = flight.FlightClient(f"grpc://{target}", generic_options=[("grpc.use_local_subchannel_pool", 1)])
        self._requests = RequestCache(flight_request)

    def reply(self, workload: Workload) -> pa.Table:
        request = self._requests(workload)
        if isinstance(request, flight.Ticket):
            table: pa.Table = self._client.do_get(request).read_all()
            return table
        writer, reader = self._client.do_exchange(self.DESCRIPTOR)
        with writer:
            writer.begin(request.schema)
            writer.write_table(request)
            writer.done_writing()
            table = reader.read_all()
        return table

    def macd(self, workload: Workload) -> int:
        return int(self.reply(workload).num_rows)

    def columns(self, workload: Workload) -> Columns:
        table = self.reply(workload)
        return {
            "days": table.column("date").cast(pa.int32()).to_numpy().astype(np.int64),
            "close": table.column("close").to_numpy(),
            "macd": table.column("macd").to_numpy(),
        }

    def close(self) -> None:
        self._client.close()


TRANSPORTS: dict[str, Transport] = {
    transport.name: transport
    for transport in (
        Transport("idc", "idc (gRPC, packed columns)", None, IdcCaller),
        Transport("seed", "seed-style (gRPC, one message per row)", "bench.baselines.seed_style", SeedCaller),
        Transport("rest", "REST/JSON (FastAPI, uvicorn, orjson)", "bench.baselines.rest", RestCaller),
        Transport("flight", "Arrow Flight", "bench.baselines.flight", FlightCaller),
    )
}
