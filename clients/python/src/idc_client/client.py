"""``IdcClient``: a typed, synchronous client of the idc gRPC service."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Self, cast

import grpc
import pandas as pd

from idc.v1 import (
    bars_pb2,
    indicator_graph_service_pb2,
    indicator_graph_service_pb2_grpc,
    indicator_service_pb2,
    indicator_service_pb2_grpc,
)
from idc_client.errors import IntegrityError
from idc_client.frames import macd_frame
from idc_client.image import Image, assemble_image

__all__ = ["DEFAULT_OPTIONS", "DEFAULT_TARGET", "DEFAULT_TIMEOUT", "DateLike", "IdcClient"]

DEFAULT_TARGET = "localhost:50051"
"""The address of a local idc server on its default port."""

DEFAULT_TIMEOUT = 30.0
"""The default deadline of every call, in seconds."""

DEFAULT_OPTIONS: tuple[tuple[str, Any], ...] = (
    # A GetMACD response costs about 68 bytes a bar, so the gRPC default of
    # 4 MiB would refuse histories longer than about 60k bars.
    ("grpc.max_receive_message_length", 256 * 1024 * 1024),
)
"""Channel options applied before the caller's own (which win on the same key)."""

DateLike = str | datetime.date
"""A calendar day: a ``datetime.date`` (or ``datetime``, whose date is used) or a ``"YYYY-MM-DD"`` string."""


def _date_field(value: DateLike | None) -> str:
    """The wire form of a date field: ``"YYYY-MM-DD"``, or ``""`` for "no bound"."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value  # Strings are sent as given; the server validates them.


def _channel_options(options: Sequence[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """``DEFAULT_OPTIONS`` overridden by ``options``, one entry per key."""
    merged = dict(DEFAULT_OPTIONS)
    merged.update(options)
    return list(merged.items())


class IdcClient:
    """A client of ``idc.v1.IndicatorService`` and ``idc.v1.IndicatorGraphService``.

    One client owns one gRPC channel; it is safe to share between threads.
    Use it as a context manager, or call ``close()`` when done::

        with IdcClient("localhost:50051") as client:
            frame = client.macd("SPY", "2023-01-01", "2023-12-31")
            client.graph("SPY", width=800, height=600).save("macd.png")

    Every call has a deadline: ``timeout`` seconds unless the call is given
    its own. A failed call raises the ``grpc.RpcError`` from grpcio unchanged
    (see ``error.code()``, ``error.details()`` and
    ``idc_client.field_violations(error)``).
    """

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        credentials: grpc.ChannelCredentials | None = None,
        options: Sequence[tuple[str, Any]] = (),
    ) -> None:
        """Open a channel to ``target``.

        Args:
            target: the server's address, e.g. ``"localhost:50051"`` or
                ``"dns:///idc.example.com:443"``.
            timeout: the default deadline of each call, in seconds.
            credentials: channel credentials for TLS (e.g.
                ``grpc.ssl_channel_credentials()``); ``None`` means plaintext.
            options: gRPC channel options as ``(key, value)`` pairs; they
                override ``DEFAULT_OPTIONS``.
        """
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self._target = target
        self._timeout = timeout
        channel_options = _channel_options(options)
        if credentials is None:
            self._channel = grpc.insecure_channel(target, options=channel_options)
        else:
            self._channel = grpc.secure_channel(target, credentials, options=channel_options)
        self._indicators = indicator_service_pb2_grpc.IndicatorServiceStub(self._channel)
        self._graphs = indicator_graph_service_pb2_grpc.IndicatorGraphServiceStub(self._channel)

    @property
    def target(self) -> str:
        """The address the channel connects to."""
        return self._target

    @property
    def timeout(self) -> float:
        """The default deadline of each call, in seconds."""
        return self._timeout

    def close(self) -> None:
        """Close the channel, cancelling calls in flight. Closing twice is harmless."""
        self._channel.close()

    def __enter__(self) -> Self:
        """Return the client itself."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the client."""
        self.close()

    def __repr__(self) -> str:
        """A short description naming the target."""
        return f"IdcClient({self._target!r}, timeout={self._timeout!r})"

    def _deadline(self, timeout: float | None) -> float:
        """The deadline of one call: its own ``timeout``, or the client's."""
        return self._timeout if timeout is None else timeout

    def macd_response(
        self,
        symbol: str | None = None,
        start: DateLike | None = None,
        end: DateLike | None = None,
        *,
        fast: int = 0,
        slow: int = 0,
        signal: int = 0,
        timeout: float | None = None,
    ) -> indicator_service_pb2.GetMACDResponse:
        """Call ``GetMACD`` and return the raw response message.

        Arguments are as for ``macd``.

        Raises:
            grpc.RpcError: if the call fails, e.g. INVALID_ARGUMENT for a
                malformed date or a period out of range, NOT_FOUND for an
                unknown symbol or a window without bars.
        """
        request = indicator_service_pb2.GetMACDRequest(
            start_date=_date_field(start),
            end_date=_date_field(end),
            parameters=bars_pb2.MACDParameters(fast_period=fast, slow_period=slow, signal_period=signal),
        )
        if symbol is not None:
            request.symbol = symbol
        response: indicator_service_pb2.GetMACDResponse = self._indicators.GetMACD(
            request, timeout=self._deadline(timeout)
        )
        return response

    def macd(
        self,
        symbol: str | None = None,
        start: DateLike | None = None,
        end: DateLike | None = None,
        *,
        fast: int = 0,
        slow: int = 0,
        signal: int = 0,
        timeout: float | None = None,
    ) -> pd.DataFrame:
        """Daily bars with their MACD line, signal line and histogram.

        Args:
            symbol: the series, e.g. ``"SPY"`` or ``"000001.SH"``
                (case-insensitive); ``None`` means the server's default.
            start: the first calendar day of the window, inclusive; ``None``
                means the first available bar.
            end: the last calendar day of the window, inclusive; ``None``
                means the last available bar.
            fast: the fast EMA period; 0 means the server default (12).
            slow: the slow EMA period; 0 means the server default (26).
            signal: the signal EMA period; 0 means the server default (9).
            timeout: this call's deadline in seconds; ``None`` means the
                client's.

        Returns:
            A frame indexed by a ``DatetimeIndex`` named ``"date"`` with
            float64 columns open, high, low, close, volume, macd, signal and
            histogram; ``attrs["symbol"]`` is the canonical symbol and
            ``attrs["parameters"]`` the periods used (keys fast, slow, signal).

        Raises:
            grpc.RpcError: if the call fails (see ``macd_response``).
        """
        response = self.macd_response(symbol, start, end, fast=fast, slow=slow, signal=signal, timeout=timeout)
        return macd_frame(response)

    def graph(
        self,
        symbol: str | None = None,
        start: DateLike | None = None,
        end: DateLike | None = None,
        *,
        fast: int = 0,
        slow: int = 0,
        signal: int = 0,
        width: int = 0,
        height: int = 0,
        timeout: float | None = None,
    ) -> Image:
        """A chart of price over MACD, rendered by the server and verified.

        The bars and periods are selected as in ``macd``. ``width`` and
        ``height`` are the image size in pixels (200-4000); 0 means the
        server default (1200x800). The deadline covers the whole stream.

        Raises:
            grpc.RpcError: if the call fails, e.g. INVALID_ARGUMENT for an
                image size out of range.
            IntegrityError: if the stream is malformed or the bytes do not
                match the metadata's size and SHA-256.
        """
        request = indicator_graph_service_pb2.GetMACDGraphRequest(
            start_date=_date_field(start),
            end_date=_date_field(end),
            parameters=bars_pb2.MACDParameters(fast_period=fast, slow_period=slow, signal_period=signal),
            width_px=width,
            height_px=height,
        )
        if symbol is not None:
            request.symbol = symbol
        call = self._graphs.GetMACDGraph(request, timeout=self._deadline(timeout))
        try:
            return assemble_image(call)
        except IntegrityError:
            # Stop the server sending the rest of a bad stream. The call object is
            # also a grpc.Future, whose cancel() grpc-stubs types (Call's is untyped).
            cast("grpc.Future[Any]", call).cancel()
            raise
