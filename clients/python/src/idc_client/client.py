"""``IdcClient``: a typed, synchronous client of the idc gRPC service."""

from __future__ import annotations

import datetime
import os
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
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
    indicators_pb2,
)
from idc_client.catalogue import Description, Entry, description, entry, screen_frame
from idc_client.charts import parse_format, parse_price_scale, parse_scheme, parse_theme
from idc_client.errors import IntegrityError, ProtocolError
from idc_client.frames import bars_message, indicator_frame, macd_frame, symbols_frame
from idc_client.image import Image, ImageResponse, assemble_image
from idc_client.indicators import parse_convention
from idc_client.intervals import parse_adjustment, parse_interval

__all__ = [
    "DEFAULT_OPTIONS",
    "DEFAULT_TARGET",
    "DEFAULT_TIMEOUT",
    "BarsLike",
    "DateLike",
    "IdcClient",
    "tls_credentials",
]

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
"""A window bound: a day or a time in the exchange's time zone.

A ``datetime.date`` or ``"YYYY-MM-DD"`` is a day; a ``datetime`` (or
``pandas.Timestamp``) is its wall-clock time, sent as
``"YYYY-MM-DDTHH:MM:SS"`` (only the day when it is 00:00), so give it in the
exchange's zone, as the index of a result frame is; a string
``"YYYY-MM-DDTHH:MM"`` is sent as it is.
"""


def _date_field(value: DateLike | None) -> str:
    """The wire form of a window bound: ``"YYYY-MM-DD"``, ``"YYYY-MM-DDTHH:MM:SS"``, or ``""`` for "no bound"."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0, 0):
            return value.date().isoformat()
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value  # Strings are sent as given; the server validates them.


BarsLike = pd.DataFrame | bars_pb2.Bars
"""Inline bars: a DataFrame as ``idc_client.bars_message`` takes it, or a ready ``Bars`` message."""

_Request = (
    indicator_service_pb2.GetMACDRequest
    | indicator_service_pb2.ComputeIndicatorsRequest
    | indicator_graph_service_pb2.GetMACDGraphRequest
    | indicator_graph_service_pb2.GetChartRequest
)


def _inline_bars(symbol: str | None, bars: BarsLike | None) -> bars_pb2.Bars | None:
    """The ``Bars`` message of ``bars``, after checking that ``symbol`` is not given too.

    Raises:
        ValueError: if both ``symbol`` and ``bars`` are given, or if
            ``bars_message`` refuses the frame.
        TypeError: if ``bars`` is neither a DataFrame nor a ``Bars`` message.
    """
    if bars is None:
        return None
    if symbol is not None:
        raise ValueError(f"give either symbol or bars, not both (symbol={symbol!r})")
    if isinstance(bars, bars_pb2.Bars):
        return bars
    if isinstance(bars, pd.DataFrame):
        return bars_message(bars)
    raise TypeError(f"bars must be a pandas.DataFrame or an idc.v1.Bars message, got {type(bars).__name__}")


def _set_source(request: _Request, symbol: str | None, inline_bars: bars_pb2.Bars | None) -> None:
    """Set the ``source`` oneof of ``request``; neither given leaves it unset (the server's default)."""
    if inline_bars is not None:
        request.inline_bars.SetInParent()  # Selects inline_bars even for an empty message.
        request.inline_bars.CopyFrom(inline_bars)
    elif symbol is not None:
        request.symbol = symbol


def _receive_image(call: Iterable[ImageResponse], rpc: str) -> Image:
    """Reassemble the image of the streaming ``call``, cancelling it if the stream turns out bad."""
    try:
        return assemble_image(call, rpc)
    except IntegrityError:
        # Stop the server sending the rest of a bad stream. The call object is
        # also a grpc.Future, whose cancel() grpc-stubs types (Call's is untyped).
        cast("grpc.Future[Any]", call).cancel()
        raise


def _check_token(token: str) -> str:
    """``token`` itself, if it can travel in an ``authorization`` header.

    Raises:
        ValueError: for an empty token, or one with spaces or characters other
            than printable ASCII (gRPC would refuse it as a metadata value).
    """
    if not token or not all("!" <= character <= "~" for character in token):
        raise ValueError("token must be a non-empty string of printable ASCII without spaces")
    return token


def _read_pem(path: str | os.PathLike[str], what: str) -> bytes:
    """The bytes of a PEM file, or ``ValueError`` naming ``what`` and the file."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise ValueError(f"{what} {os.fspath(path)}: {error.strerror or error}") from None
    if b"-----BEGIN " not in data:
        raise ValueError(f"{what} {os.fspath(path)}: not a PEM file")
    return data


def tls_credentials(
    ca: str | os.PathLike[str] | None = None,
    cert: str | os.PathLike[str] | None = None,
    key: str | os.PathLike[str] | None = None,
) -> grpc.ChannelCredentials:
    """TLS channel credentials from PEM files, as Go's ``idc.WithTLSFiles``.

    Args:
        ca: the CA certificate(s) that signed the server's certificate;
            ``None`` trusts the system's root CAs.
        cert: the client certificate, for servers that require mutual TLS.
        key: the private key of ``cert``.

    Raises:
        ValueError: if only one of ``cert`` and ``key`` is given, or a file
            cannot be read or holds no PEM block.
    """
    if (cert is None) != (key is None):
        raise ValueError("cert and key go together: give both for mutual TLS, or neither")
    root = _read_pem(ca, "CA file") if ca is not None else None
    chain = _read_pem(cert, "certificate file") if cert is not None else None
    private = _read_pem(key, "key file") if key is not None else None
    return grpc.ssl_channel_credentials(root_certificates=root, private_key=private, certificate_chain=chain)


def _channel_options(options: Sequence[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """``DEFAULT_OPTIONS`` overridden by ``options``, one entry per key."""
    merged = dict(DEFAULT_OPTIONS)
    merged.update(options)
    return list(merged.items())


class IdcClient:
    """A client of ``idc.v1.IndicatorService`` and ``idc.v1.IndicatorGraphService``.

    One client owns one gRPC channel; it is safe to share between threads.
    Use it as a context manager, or call ``close()`` when done::

        from idc_client import IdcClient, rsi, rsi_panel, sma, sma_overlay, volume_panel

        with IdcClient("localhost:50051") as client:
            print(client.symbols())
            frame = client.macd("SPY", "2023-01-01", "2023-12-31", convention="tdx")
            table = client.indicators([sma(20, label="sma20"), rsi()], "SPY", "2023-01-01")
            client.graph("SPY", width=800, height=600).save("macd.png")
            chart = client.chart("SPY", panels=[volume_panel(), rsi_panel()], overlays=[sma_overlay(20)], format="svg")
            chart.save("spy.svg")

    The bars come from the server's data (``symbol``) or from the caller
    (``bars=``, a DataFrame of daily OHLCV bars).

    Every call has a deadline: ``timeout`` seconds unless the call is given
    its own. With ``token=``, every call carries ``authorization: Bearer
    <token>`` for a server started with bearer tokens. A failed call raises
    the ``grpc.RpcError`` from grpcio unchanged (see ``error.code()``,
    ``error.details()`` and ``idc_client.field_violations(error)``).
    """

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        credentials: grpc.ChannelCredentials | None = None,
        options: Sequence[tuple[str, Any]] = (),
        token: str | None = None,
        insecure_token: bool = False,
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
            token: a bearer token sent as ``authorization: Bearer <token>``
                on every call; ``None`` sends none. With ``credentials`` it
                travels as gRPC call credentials, only over TLS. Without
                ``credentials`` it is sent as plain metadata over a
                plaintext channel, where anyone on the network can read it:
                say so with ``insecure_token=True`` (a server on the same
                host, tests).
            insecure_token: allow ``token`` over a plaintext channel. Without
                it, a token over plaintext still works but warns with a
                ``FutureWarning``: a later version will refuse it, as the Go
                client (``idc.WithInsecureToken``) and both CLIs
                (``--insecure-token``) already do.

        Raises:
            ValueError: for a ``timeout`` that is not positive, or a
                ``token`` that is empty or has spaces or characters other
                than printable ASCII.
        """
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self._target = target
        self._timeout = timeout
        # Metadata sent with every call: the token over plaintext, else nothing.
        self._metadata: tuple[tuple[str, str], ...] | None = None
        channel_options = _channel_options(options)
        if token is not None:
            token = _check_token(token)
        if credentials is None:
            if token is not None and not insecure_token:
                warnings.warn(
                    "IdcClient sends the token over plaintext, where anyone on the network can read it: "
                    "pass credentials (see idc_client.tls_credentials), "
                    "or insecure_token=True for a server on this host",
                    FutureWarning,
                    stacklevel=2,
                )
            if token is not None:
                self._metadata = (("authorization", f"Bearer {token}"),)
            self._channel = grpc.insecure_channel(target, options=channel_options)
        else:
            if token is not None:
                credentials = grpc.composite_channel_credentials(credentials, grpc.access_token_call_credentials(token))
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
        convention: str | None = None,
        bars: BarsLike | None = None,
        timeout: float | None = None,
        interval: str | int | None = None,
        adjustment: str | int | None = None,
    ) -> indicator_service_pb2.GetMACDResponse:
        """Call ``GetMACD`` and return the raw response message.

        Arguments are as for ``macd``. The MACD columns of the response hold
        ``len(response.bars.dates) - response.first_valid_index`` values;
        ``idc_client.macd_frame`` lines them up with the bars.

        Raises:
            ValueError: before any call, for an unknown ``convention``,
                ``interval`` or ``adjustment``, for both ``symbol`` and
                ``bars``, or for a ``bars`` frame that
                ``idc_client.bars_message`` refuses.
            grpc.RpcError: if the call fails, e.g. INVALID_ARGUMENT for a
                malformed date, a period out of range or bad inline bars,
                NOT_FOUND for an unknown symbol or a window without bars,
                FAILED_PRECONDITION for an interval finer than the symbol
                is stored at or an adjustment it has no factors for.
        """
        convention_value = parse_convention(convention)
        interval_value, adjustment_value = parse_interval(interval), parse_adjustment(adjustment)
        inline_bars = _inline_bars(symbol, bars)
        request = indicator_service_pb2.GetMACDRequest(
            start_date=_date_field(start),
            end_date=_date_field(end),
            parameters=bars_pb2.MACDParameters(fast_period=fast, slow_period=slow, signal_period=signal),
            convention=convention_value,
            interval=interval_value,
            adjustment=adjustment_value,
        )
        _set_source(request, symbol, inline_bars)
        response: indicator_service_pb2.GetMACDResponse = self._indicators.GetMACD(
            request, timeout=self._deadline(timeout), metadata=self._metadata
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
        convention: str | None = None,
        bars: BarsLike | None = None,
        timeout: float | None = None,
        interval: str | int | None = None,
        adjustment: str | int | None = None,
    ) -> pd.DataFrame:
        """Daily bars with their MACD line, signal line and histogram.

        Args:
            symbol: the series, e.g. ``"SPY"`` or ``"000001.SH"``
                (case-insensitive); ``None`` means the server's default
                (unless ``bars`` is given).
            start: the start of the window, inclusive: a day, or a time in
                the exchange's zone (see ``DateLike``); ``None`` means the
                first available bar.
            end: the end of the window, inclusive: a day (all its bars) or
                a time; ``None`` means the last available bar.
            fast: the fast EMA period; 0 means the server default (12).
            slow: the slow EMA period; 0 means the server default (26).
            signal: the signal EMA period; 0 means the server default (9).
            convention: ``"talib"`` (TA-Lib's formulas: EMAs seeded with a
                simple average, so the first ``slow + signal - 2`` bars of
                the series have no value; histogram = macd - signal) or
                ``"tdx"`` (通达信's: values from the first bar; histogram =
                2 * (macd - signal)), case-insensitive. ``None`` means the
                server's default (TA-Lib unless configured otherwise).
            bars: the client's own daily bars instead of a symbol: a
                DataFrame indexed by date with columns open, high, low,
                close and volume (see ``idc_client.bars_message``), or a
                ``Bars`` message. The MACD is computed over all of them, then
                cut to ``start``..``end``. ``symbol`` must then be ``None``.
                A ``Bars`` message of other intervals comes from
                ``idc_client.bars_message(frame, interval=...)``.
            timeout: this call's deadline in seconds; ``None`` means the
                client's.
            interval: the bar length to serve: ``"1m"``, ``"5m"``,
                ``"15m"``, ``"30m"``, ``"1h"``, ``"1d"``, ``"1w"`` or
                ``"1mo"`` (see ``idc_client.parse_interval``); ``None``
                means 1 day. The server aggregates finer stored bars; a
                finer interval than the symbol's gets FAILED_PRECONDITION.
            adjustment: the split and dividend adjustment: ``"as-stored"``,
                ``"none"``, ``"forward"`` (前复权) or ``"backward"`` (后复权),
                see ``idc_client.parse_adjustment``; ``None`` means as
                stored.

        Returns:
            A frame indexed by a time-zone-aware ``DatetimeIndex`` named
            ``"time"``, each bar's start in the exchange's zone (see
            ``idc_client.macd_frame``), with float64 columns open, high,
            low, close, volume, macd, signal and histogram; macd, signal
            and histogram are NaN on warm-up bars. ``attrs["interval"]``,
            ``attrs["time_zone"]`` and ``attrs["adjustment"]`` say how the
            bars were served.
            ``attrs["symbol"]`` is the canonical symbol (``""`` for inline
            bars), ``attrs["parameters"]`` the periods used (keys fast,
            slow, signal) and ``attrs["convention"]`` the convention used
            (``"talib"`` or ``"tdx"``).

        Raises:
            ValueError: before any call, for an unknown ``convention`` or
                for both ``symbol`` and ``bars`` (see ``macd_response``).
            grpc.RpcError: if the call fails (see ``macd_response``).
        """
        response = self.macd_response(
            symbol,
            start,
            end,
            fast=fast,
            slow=slow,
            signal=signal,
            convention=convention,
            bars=bars,
            timeout=timeout,
            interval=interval,
            adjustment=adjustment,
        )
        return macd_frame(response)

    def indicators_response(
        self,
        specs: Iterable[indicators_pb2.IndicatorSpec],
        symbol: str | None = None,
        start: DateLike | None = None,
        end: DateLike | None = None,
        *,
        bars: BarsLike | None = None,
        convention: str | None = None,
        timeout: float | None = None,
        interval: str | int | None = None,
        adjustment: str | int | None = None,
    ) -> indicator_service_pb2.ComputeIndicatorsResponse:
        """Call ``ComputeIndicators`` and return the raw response message.

        Arguments are as for ``indicators``; ``idc_client.indicator_frame``
        turns the response into the same DataFrame.

        Raises:
            ValueError: before any call, for an unknown ``convention``, for
                both ``symbol`` and ``bars``, or for a ``bars`` frame that
                ``idc_client.bars_message`` refuses.
            grpc.RpcError: if the call fails, e.g. INVALID_ARGUMENT naming
                the field (``"indicators"`` for an empty list,
                ``"indicators[0].sma.period"``, ``"indicators[1].label"``,
                ``"inline_bars.close"``, ...), NOT_FOUND for an unknown
                symbol or a window without bars.
        """
        convention_value = parse_convention(convention)
        interval_value, adjustment_value = parse_interval(interval), parse_adjustment(adjustment)
        inline_bars = _inline_bars(symbol, bars)
        request = indicator_service_pb2.ComputeIndicatorsRequest(
            start_date=_date_field(start),
            end_date=_date_field(end),
            convention=convention_value,
            indicators=specs,
            interval=interval_value,
            adjustment=adjustment_value,
        )
        _set_source(request, symbol, inline_bars)
        response: indicator_service_pb2.ComputeIndicatorsResponse = self._indicators.ComputeIndicators(
            request, timeout=self._deadline(timeout), metadata=self._metadata
        )
        return response

    def indicators(
        self,
        specs: Iterable[indicators_pb2.IndicatorSpec],
        symbol: str | None = None,
        start: DateLike | None = None,
        end: DateLike | None = None,
        *,
        bars: BarsLike | None = None,
        convention: str | None = None,
        timeout: float | None = None,
        interval: str | int | None = None,
        adjustment: str | int | None = None,
    ) -> pd.DataFrame:
        """Several indicators over one selection of daily bars, as one frame.

        Each indicator is computed over the whole series and then cut to the
        window, so a value never depends on where the window starts::

            from idc_client import boll, macd, rsi, sma

            frame = client.indicators([sma(20, label="sma20"), rsi(), boll(), macd()], "SPY", "2023-01-01")

        Args:
            specs: the indicators, 1 to 32, built with ``idc_client.sma``,
                ``ema``, ``macd``, ``rsi``, ``boll`` and ``kdj`` (or any
                ``IndicatorSpec`` message). Labels must be unique.
            symbol: the series (case-insensitive); ``None`` means the
                server's default (unless ``bars`` is given).
            start: the start of the window, inclusive: a day, or a time in
                the exchange's zone (see ``DateLike``); ``None`` means the
                first available bar.
            end: the end of the window, inclusive: a day (all its bars) or
                a time; ``None`` means the last available bar.
            bars: the client's own daily bars instead of a symbol, as for
                ``macd``; ``symbol`` must then be ``None``.
            convention: ``"talib"`` or ``"tdx"`` (case-insensitive), for
                every indicator; ``None`` means the server's default. See
                ``macd``.
            timeout: this call's deadline in seconds; ``None`` means the
                client's.
            interval: the bar length to serve, as for ``macd``.
            adjustment: the price adjustment, as for ``macd``.

        Returns:
            A frame indexed by a time-zone-aware ``DatetimeIndex`` named
            ``"time"``, as for ``macd``, with one float64 column per output
            series, named ``"<label>"`` for
            one-output indicators (sma, ema, rsi) and ``"<label>.<output>"``
            otherwise (``macd.macd``, ``macd.signal``, ``macd.histogram``,
            ``boll.upper``, ``boll.middle``, ``boll.lower``, ``kdj.k``,
            ``kdj.d``, ``kdj.j``), in request order; NaN on warm-up bars.
            ``attrs["symbol"]`` is the canonical symbol (``""`` for inline
            bars) and ``attrs["convention"]`` the convention used.

        Raises:
            ValueError: before any call, as for ``indicators_response``.
            grpc.RpcError: if the call fails (see ``indicators_response``).
        """
        response = self.indicators_response(
            specs,
            symbol,
            start,
            end,
            bars=bars,
            convention=convention,
            timeout=timeout,
            interval=interval,
            adjustment=adjustment,
        )
        return indicator_frame(response)

    def symbols_response(
        self,
        *,
        page_size: int = 0,
        page_token: str = "",
        prefix: str = "",
        timeout: float | None = None,
    ) -> indicator_service_pb2.ListSymbolsResponse:
        """Call ``ListSymbols`` once, for one page, and return the raw response message.

        Args:
            page_size: the most symbols to return; 0 means 1000, the
                server's largest page.
            page_token: the ``next_page_token`` of the previous page; empty
                means the first page.
            prefix: only the symbols that start with it, case-insensitive
                (e.g. ``"000"``); empty means all.
            timeout: this call's deadline in seconds; ``None`` means the
                client's.

        Raises:
            grpc.RpcError: if the call fails (e.g. UNAVAILABLE, or
                INVALID_ARGUMENT for a negative page size or a token the
                server did not make for this prefix).
        """
        response: indicator_service_pb2.ListSymbolsResponse = self._indicators.ListSymbols(
            indicator_service_pb2.ListSymbolsRequest(page_size=page_size, page_token=page_token, prefix=prefix),
            timeout=self._deadline(timeout),
            metadata=self._metadata,
        )
        return response

    def symbol_pages(
        self, prefix: str = "", *, page_size: int = 0, timeout: float | None = None
    ) -> Iterator[indicator_service_pb2.ListSymbolsResponse]:
        """Every page of ``ListSymbols`` for ``prefix``, fetched as the loop needs them, each with its own deadline.

        Raises:
            grpc.RpcError: if a page fails.
            ProtocolError: if the server sends a page token twice (which
                would loop for ever).
        """
        token = ""
        seen: set[str] = set()
        while True:
            page = self.symbols_response(page_size=page_size, page_token=token, prefix=prefix, timeout=timeout)
            yield page
            token = page.next_page_token
            if not token:
                return
            if token in seen:
                raise ProtocolError(f"ListSymbols: the server sent page token {token!r} twice")
            seen.add(token)

    def iter_symbols(
        self, prefix: str = "", *, page_size: int = 0, timeout: float | None = None
    ) -> Iterator[indicator_service_pb2.SymbolInfo]:
        """The ``SymbolInfo`` of every symbol that starts with ``prefix``, sorted, page by page (``symbol_pages``)."""
        for page in self.symbol_pages(prefix, page_size=page_size, timeout=timeout):
            yield from page.symbols

    def symbols(self, prefix: str = "", *, page_size: int = 0, timeout: float | None = None) -> pd.DataFrame:
        """The symbols the server has data for, every page of them, with their dates, intervals and time zones.

        Args:
            prefix: only the symbols that start with it, case-insensitive;
                empty means all.
            page_size: symbols per call; 0 means the server's 1000.
            timeout: each page's deadline in seconds; ``None`` means the
                client's.

        Returns:
            A frame indexed by the canonical symbols (sorted, index named
            ``"symbol"``), with columns as ``idc_client.symbols_frame``
            describes (first_date, last_date, bar_count, state,
            price_adjustment, interval, intervals, adjustments,
            time_zone); ``attrs["default_symbol"]`` is the symbol used when
            a request names none.

        Raises:
            grpc.RpcError: if a call fails (e.g. UNAVAILABLE).
            ProtocolError: if the server sends a page token twice.
        """
        merged = indicator_service_pb2.ListSymbolsResponse()
        for page in self.symbol_pages(prefix, page_size=page_size, timeout=timeout):
            merged.symbols.extend(page.symbols)
            merged.default_symbol = page.default_symbol
        return symbols_frame(merged)

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
        convention: str | None = None,
        bars: BarsLike | None = None,
        chunk_size: int = 0,
        timeout: float | None = None,
    ) -> Image:
        """A chart of price over MACD, rendered by the server and verified.

        The bars, periods and convention are selected as in ``macd``
        (``bars`` draws the client's own bars). ``width`` and ``height`` are
        the image size in pixels (200-4000); 0 means the server default
        (1200x800). ``chunk_size`` is the largest chunk of the stream in
        bytes (1024-1048576); 0 means 65536. The deadline covers the whole
        stream. ``chart`` draws more panels, overlays and formats.

        Raises:
            ValueError: before any call, for an unknown ``convention`` or
                for both ``symbol`` and ``bars``.
            grpc.RpcError: if the call fails, e.g. INVALID_ARGUMENT for an
                image size or chunk size out of range.
            IntegrityError: if the stream is malformed or the bytes do not
                match the metadata's size and SHA-256.
        """
        convention_value = parse_convention(convention)
        inline_bars = _inline_bars(symbol, bars)
        request = indicator_graph_service_pb2.GetMACDGraphRequest(
            start_date=_date_field(start),
            end_date=_date_field(end),
            parameters=bars_pb2.MACDParameters(fast_period=fast, slow_period=slow, signal_period=signal),
            width_px=width,
            height_px=height,
            convention=convention_value,
            chunk_size_bytes=chunk_size,
        )
        _set_source(request, symbol, inline_bars)
        return _receive_image(
            self._graphs.GetMACDGraph(request, timeout=self._deadline(timeout), metadata=self._metadata), "GetMACDGraph"
        )

    def chart(
        self,
        symbol: str | None = None,
        start: DateLike | None = None,
        end: DateLike | None = None,
        *,
        bars: BarsLike | None = None,
        convention: str | None = None,
        panels: Iterable[indicator_graph_service_pb2.ChartPanel] | None = None,
        overlays: Iterable[indicator_graph_service_pb2.ChartOverlay] | None = None,
        format: str = "png",
        width: int = 0,
        height: int = 0,
        dpi: int = 0,
        theme: str | None = None,
        scheme: str | None = None,
        chunk_size: int = 0,
        timeout: float | None = None,
        price_scale: str | None = None,
        interval: str | int | None = None,
        adjustment: str | int | None = None,
    ) -> Image:
        """A chart rendered by the server (``GetChart``), reassembled and verified.

        The chart has a candlestick price panel with the ``overlays`` drawn
        over it, then one panel per entry of ``panels``, top to bottom.
        Trading days are laid out without gaps. Identical requests over
        unchanged data are served from the server's render cache, byte for
        byte the same::

            from idc_client.charts import boll_overlay, macd_panel, rsi_panel, sma_overlay, volume_panel

            image = client.chart(
                "SPY",
                "2023-01-01",
                panels=[volume_panel(), macd_panel(), rsi_panel(14)],
                overlays=[sma_overlay(20), boll_overlay(20)],
                format="svg",
                theme="dark",
                scheme="cn",
            )
            image.save("spy" + image.extension)

        Args:
            symbol: the series (case-insensitive); ``None`` means the
                server's default (unless ``bars`` is given).
            start: the start of the window, inclusive: a day, or a time in
                the exchange's zone (see ``DateLike``); ``None`` means the
                first available bar.
            end: the end of the window, inclusive: a day (all its bars) or
                a time; ``None`` means the last available bar.
            bars: the client's own daily bars instead of a symbol, as for
                ``macd``; ``symbol`` must then be ``None``.
            convention: ``"talib"`` or ``"tdx"`` (case-insensitive), for
                every indicator; ``None`` means the server's default.
            panels: the panels below the price, at most 6, built with
                ``idc_client.charts.volume_panel``, ``macd_panel``,
                ``rsi_panel`` and ``kdj_panel``. ``None`` or empty means a
                volume panel and a MACD(12, 26, 9) panel.
            overlays: the lines over the price, at most 8, built with
                ``idc_client.charts.sma_overlay``, ``ema_overlay`` and
                ``boll_overlay``.
            format: ``"png"``, ``"svg"``, ``"jpeg"`` (quality 90) or
                ``"webp"`` (lossless), case-insensitive.
            width: the image width in pixels (200-8000); 0 means 1200.
            height: the image height in pixels (200-8000); 0 means 800.
                ``width * height`` may not exceed the server's pixel limit
                (16,000,000 by default).
            dpi: the resolution (50-600), recorded in PNG, JPEG and WebP
                files; 0 means 100. Pixel sizes stay as requested: a higher
                dpi makes text and lines larger.
            theme: ``"light"`` or ``"dark"``, case-insensitive; ``None``
                means light.
            scheme: ``"western"`` (up in green) or ``"cn"`` (up in red),
                case-insensitive; ``None`` means Western.
            chunk_size: the largest chunk of the stream in bytes
                (1024-1048576); 0 means 65536.
            timeout: this call's deadline in seconds, covering the whole
                stream; ``None`` means the client's. When it passes, the
                server stops rendering.
            price_scale: ``"auto"``, ``"linear"`` or ``"log"``,
                case-insensitive; ``None`` means auto (log when the
                window's prices span a factor of 3 or more).
            interval: the bar length to draw, as for ``macd``; intraday
                bars are drawn without gaps for breaks and nights.
            adjustment: the price adjustment, as for ``macd``.

        Returns:
            The verified image; ``media_type``, ``width_px``, ``height_px``
            and ``dpi`` are as the server announced them.

        Raises:
            ValueError: before any call, for an unknown ``format``,
                ``theme``, ``scheme``, ``price_scale``, ``convention``,
                ``interval`` or ``adjustment``, for both ``symbol``
                and ``bars``, or for a ``bars`` frame that
                ``idc_client.bars_message`` refuses.
            grpc.RpcError: if the call fails: INVALID_ARGUMENT naming the
                field (``"panels[0]"`` for a panel with nothing set,
                ``"panels[1].rsi.period"``, ``"overlays[0]"``, ``"dpi"``,
                ``"width_px"`` for an image over the pixel limit,
                ``"chunk_size_bytes"``, ``"start_date"``, ...), NOT_FOUND for
                an unknown symbol or a window without bars,
                DEADLINE_EXCEEDED when the deadline passes.
            IntegrityError: if the stream is malformed or the bytes do not
                match the metadata's size and SHA-256.
        """
        request = indicator_graph_service_pb2.GetChartRequest(
            start_date=_date_field(start),
            end_date=_date_field(end),
            convention=parse_convention(convention),
            panels=panels or (),
            overlays=overlays or (),
            format=parse_format(format),
            width_px=width,
            height_px=height,
            dpi=dpi,
            theme=parse_theme(theme),
            color_scheme=parse_scheme(scheme),
            chunk_size_bytes=chunk_size,
            price_scale=parse_price_scale(price_scale),
            interval=parse_interval(interval),
            adjustment=parse_adjustment(adjustment),
        )
        _set_source(request, symbol, _inline_bars(symbol, bars))
        return _receive_image(
            self._graphs.GetChart(request, timeout=self._deadline(timeout), metadata=self._metadata), "GetChart"
        )

    # The open catalogue (idc_client.catalogue builds the specs and reads the answers).

    def list_indicators(self, namespace: str = "", *, timeout: float | None = None) -> list[Entry]:
        """The server's indicator catalogue, sorted by name.

        Every TA-Lib function (``talib.*``), the 通达信 formula files
        (``tdx.*``), the typed indicators (``idc.*``) and the operator's
        plugins, each with its parameters, inputs, outputs, conventions and
        warm-up::

            adx = next(e for e in client.list_indicators("talib") if e.name == "talib.ADX")
            adx.param("timeperiod").default  # 14

        Args:
            namespace: keep one namespace's entries only (``"talib"``,
                case-insensitive); empty means all, an unknown one none.
            timeout: this call's deadline in seconds; ``None`` means the
                client's.

        Raises:
            grpc.RpcError: if the call fails (e.g. UNAVAILABLE).
        """
        response: indicator_service_pb2.ListIndicatorsResponse = self._indicators.ListIndicators(
            indicator_service_pb2.ListIndicatorsRequest(namespace=namespace),
            timeout=self._deadline(timeout),
            metadata=self._metadata,
        )
        return [entry(message) for message in response.indicators]

    def describe_indicator(
        self, spec: indicators_pb2.IndicatorSpec, *, convention: str | None = None, timeout: float | None = None
    ) -> Description:
        """Check one spec without bars: its entry, parameters with defaults filled in, and warm-up.

        Args:
            spec: built with ``idc_client.fn``, ``formula`` or a typed
                builder.
            convention: ``"talib"`` or ``"tdx"``; ``None`` means the one a
                request would get.
            timeout: this call's deadline in seconds.

        Raises:
            ValueError: for an unknown ``convention``, before any call.
            grpc.RpcError: INVALID_ARGUMENT for a bad spec, with fields under
                ``"spec"`` (``"spec.params.timeperiod"``, ``"spec.name"``).
        """
        request = indicator_service_pb2.DescribeIndicatorRequest(spec=spec, convention=parse_convention(convention))
        response: indicator_service_pb2.DescribeIndicatorResponse = self._indicators.DescribeIndicator(
            request, timeout=self._deadline(timeout), metadata=self._metadata
        )
        return description(response)

    def screen_response(
        self,
        condition: indicators_pb2.IndicatorSpec,
        symbols: Iterable[str] = (),
        date: DateLike | None = None,
        *,
        output: str = "",
        convention: str | None = None,
        interval: str | int | None = None,
        adjustment: str | int | None = None,
        timeout: float | None = None,
    ) -> indicator_service_pb2.ScreenResponse:
        """Call ``Screen`` and return the raw response; arguments are as for ``screen``."""
        request = indicator_service_pb2.ScreenRequest(
            condition=condition,
            output=output,
            symbols=list(symbols),
            date=_date_field(date),
            convention=parse_convention(convention),
            interval=parse_interval(interval),
            adjustment=parse_adjustment(adjustment),
        )
        response: indicator_service_pb2.ScreenResponse = self._indicators.Screen(
            request, timeout=self._deadline(timeout), metadata=self._metadata
        )
        return response

    def screen(
        self,
        condition: indicators_pb2.IndicatorSpec,
        symbols: Iterable[str] = (),
        date: DateLike | None = None,
        *,
        output: str = "",
        convention: str | None = None,
        interval: str | int | None = None,
        adjustment: str | int | None = None,
        timeout: float | None = None,
    ) -> pd.DataFrame:
        """The symbols for which a condition holds on one bar (选股), with the values that decided.

        ::

            frame = client.screen(formula("C>MA(C,20)"), ["SPY", "AAPL"], "2024-03-28")
            frame = client.screen(fn("talib.CDLHAMMER"))  # every symbol, each one's last bar

        Args:
            condition: the spec whose output decides: it holds where the
                value is non-zero and not NaN.
            symbols: the symbols to screen, 1 to 1000; empty means all.
            date: the day to check (each symbol's last bar on or before
                it); ``None`` means each symbol's last bar.
            output: the deciding output's name as the entry lists it;
                empty means the only signal output, or the only output.
            convention: ``"talib"`` or ``"tdx"``; ``None`` means the
                server's default.
            interval: the bar length the condition is computed on, e.g.
                ``"1w"``; ``None`` means daily. Symbols stored too coarse
                for it are skipped.
            adjustment: ``"forward"``, ``"backward"``, ``"none"`` or
                ``"as-stored"`` (the default); symbols that cannot take it
                are skipped.
            timeout: this call's deadline in seconds.

        Returns:
            The frame of ``idc_client.screen_frame``: one row per match,
            indexed by symbol, with ``date``, ``time`` and the condition's
            values; ``attrs["skipped"]`` holds the symbols that could not be
            evaluated and why.

        Raises:
            ValueError: for an unknown ``convention`` or a malformed
                ``date``, before any call.
            grpc.RpcError: INVALID_ARGUMENT for a bad condition (fields
                under ``"condition"``) or output, NOT_FOUND for an unknown
                listed symbol.
        """
        return screen_frame(
            self.screen_response(
                condition,
                symbols,
                date,
                output=output,
                convention=convention,
                interval=interval,
                adjustment=adjustment,
                timeout=timeout,
            )
        )
