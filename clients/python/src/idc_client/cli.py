"""The ``idc-client`` command: indicator tables, charts and symbols from an idc server.

Examples::

    idc-client symbols
    idc-client macd --target localhost:50051 --symbol SPY --start 2023-01-01 --end 2023-12-31
    idc-client macd --symbol 000001.SH --convention tdx --csv > sh.csv
    idc-client indicators --symbol SPY --start 2024-01-01 --sma 20 --ema 12 --rsi 14 --boll 20 --kdj 9 --macd
    idc-client graph --symbol SPY --width 800 --height 600 -o macd.png
    idc-client chart --symbol SPY --start 2023-01-01 --panels volume,macd,rsi,kdj --sma 20 --boll 20 --format svg
    idc-client macd --bars my_bars.csv
    idc-client macd --symbol 000001.SH-1MIN --interval 5m --start 2020-07-01 --end 2020-07-01
    idc-client symbols --prefix 000

The flags, the tables, the messages and the exit status are those of the Go
client's ``idc`` command (``clients/CLI.md`` describes both): the target
defaults to ``$IDC_TARGET``, else ``localhost:50051``; the bearer token comes
from ``$IDC_TOKEN`` or ``--token-file`` and is sent only over TLS unless
``--insecure-token`` is given; a failed call exits with its gRPC status code.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime
import json
import math
import os
import re
import sys
import unicodedata
from collections.abc import Iterator, Sequence
from typing import Any

import grpc
import numpy as np
import pandas as pd

from idc.v1 import indicator_graph_service_pb2, indicator_service_pb2, indicators_pb2
from idc_client import charts, indicators
from idc_client.barsfile import read_bars_file
from idc_client.catalogue import Description, indicator_overlay, indicator_panel
from idc_client.cli_catalogue import fn_spec, param_pair, param_values, range_text, value_text
from idc_client.client import DEFAULT_TARGET, DEFAULT_TIMEOUT, IdcClient, tls_credentials
from idc_client.errors import IntegrityError, ProtocolError, field_violations
from idc_client.frames import indicator_frame, macd_frame
from idc_client.intervals import (
    ADJUSTMENTS,
    INTERVALS,
    adjustment_name,
    interval_name,
    is_intraday,
    price_adjustment_name,
    state_name,
)

__all__ = ["build_parser", "chart_overlays", "chart_panels", "indicator_specs", "main"]

_PANELS = {
    "volume": charts.volume_panel,
    "macd": charts.macd_panel,
    "rsi": charts.rsi_panel,
    "kdj": charts.kdj_panel,
}
"""The panel names of ``chart --panels``, with their builders."""

_EXTENSIONS = {"png": "png", "svg": "svg", "jpeg": "jpg", "webp": "webp"}
"""The extension of ``chart``'s default output file, by ``--format``."""


EXIT_USAGE = 2
"""The exit status of a usage error or of a failure without a gRPC status (also UNKNOWN's code)."""

TOKEN_ENV = "IDC_TOKEN"
"""The environment variable the bearer token is read from when ``--token-file`` is not given."""

DEFAULT_RETRY_ATTEMPTS = 3
"""Attempts per call on UNAVAILABLE, the first included, as in the Go client."""

MIN_KEEPALIVE_SECONDS = 10.0
"""The shortest keepalive ping interval an idc server permits."""

_SERVICES = ("idc.v1.IndicatorService", "idc.v1.IndicatorGraphService", "idc.Indicator", "idc.IndicatorGraph")
"""The services the retry policy covers, as in the Go client."""

_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def _seconds(text: str) -> float:
    """Parse a duration given as seconds (``30``, ``2.5``) or as ``30s``, ``1m30s``, ``500ms``, as Go's CLI does."""
    try:
        value = float(text)
    except ValueError:
        parts = _DURATION.findall(text)
        if not parts or "".join(number + unit for number, unit in parts) != text:
            raise argparse.ArgumentTypeError("want seconds or a duration such as 30s") from None
        return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError("want seconds or a duration such as 30s")
    return value


def _connection_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the flags shared by every subcommand: where and how to connect (those of Go's ``idc``)."""
    connection = parser.add_argument_group("connection")
    default_target = os.environ.get("IDC_TARGET") or os.environ.get("IDC_ADDR") or DEFAULT_TARGET
    connection.add_argument(
        "--target",
        "--addr",
        default=default_target,
        help="server address host:port or a gRPC target such as dns:///host:port "
        "(default: $IDC_TARGET, else %(default)s; --addr and $IDC_ADDR are deprecated spellings)",
    )
    connection.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="deadline of each call: seconds (30, 2.5) or a duration (30s, 1m) (default: 30s)",
    )
    connection.add_argument(
        "--retry",
        type=int,
        default=DEFAULT_RETRY_ATTEMPTS,
        metavar="N",
        help="attempts per call on UNAVAILABLE; 1 turns retries off (default: %(default)s)",
    )
    connection.add_argument(
        "--keepalive",
        type=_seconds,
        default=0.0,
        metavar="DURATION",
        help="ping the server after this long without activity (at least 10s); 0 is off",
    )
    connection.add_argument(
        "--tls",
        action="store_true",
        help="connect over TLS, trusting the system's root CAs (implied by --ca, --cert and --key)",
    )
    connection.add_argument(
        "--ca", metavar="FILE", help="PEM file of the CA that signed the server's certificate; implies --tls"
    )
    connection.add_argument(
        "--cert",
        metavar="FILE",
        help="PEM file of the client certificate, for servers requiring mutual TLS; needs --key",
    )
    connection.add_argument(
        "--key", metavar="FILE", help="PEM file of the client certificate's private key; needs --cert"
    )
    connection.add_argument(
        "--token-file",
        metavar="FILE",
        help=f"file whose first line is the bearer token to send; ${TOKEN_ENV} sets the token otherwise",
    )
    connection.add_argument(
        "--insecure-token", action="store_true", help="allow sending the token without TLS (local servers only)"
    )
    connection.add_argument(
        "--token", help=f"deprecated: shows the token in process listings; use ${TOKEN_ENV} or --token-file"
    )


def _secure(args: argparse.Namespace) -> bool:
    """Whether the connection flags ask for TLS."""
    return bool(args.tls or args.ca or args.cert)


def _token(args: argparse.Namespace) -> str | None:
    """The bearer token: the first line of ``--token-file``, else the deprecated ``--token``, else ``$IDC_TOKEN``."""
    if args.token_file is not None:
        try:
            with open(args.token_file, encoding="utf-8") as file:
                token = file.readline().strip()
        except OSError as error:
            raise ValueError(f"--token-file: {error.strerror or error}: {args.token_file}") from None
        if not token:
            raise ValueError(f"--token-file: {args.token_file} has an empty first line")
        return token
    if args.token is not None:
        print(f"warning: --token is deprecated: use ${TOKEN_ENV} or --token-file", file=sys.stderr)
        return str(args.token)
    return os.environ.get(TOKEN_ENV) or None


def _channel_options(args: argparse.Namespace) -> list[tuple[str, Any]]:
    """The gRPC channel options of ``--retry`` and ``--keepalive``, as the Go client sets them."""
    options: list[tuple[str, Any]] = []
    if args.retry > 1:
        config = {
            "methodConfig": [
                {
                    "name": [{"service": service} for service in _SERVICES],
                    "retryPolicy": {
                        "maxAttempts": min(args.retry, 5),
                        "initialBackoff": "0.1s",
                        "maxBackoff": "1s",
                        "backoffMultiplier": 2,
                        "retryableStatusCodes": ["UNAVAILABLE"],
                    },
                }
            ],
            "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1},
        }
        options += [("grpc.enable_retries", 1), ("grpc.service_config", json.dumps(config))]
    if args.keepalive:
        options += [
            ("grpc.keepalive_time_ms", int(args.keepalive * 1000)),
            ("grpc.keepalive_timeout_ms", 20_000),
            ("grpc.keepalive_permit_without_calls", 1),
        ]
    return options


def _client(args: argparse.Namespace) -> IdcClient:
    """The client the connection flags describe.

    Raises:
        ValueError: for flags that do not go together, unreadable files, or a
            token over plaintext without ``--insecure-token``; the messages
            are those of Go's ``idc``.
    """
    if (args.cert is None) != (args.key is None):
        raise ValueError("--cert and --key go together")
    if args.retry < 1:
        raise ValueError(f"--retry must be at least 1, got {args.retry}")
    if 0 < args.keepalive < MIN_KEEPALIVE_SECONDS:
        raise ValueError(f"--keepalive {args.keepalive:g}s is below the server's minimum of 10s")
    if args.timeout <= 0:
        raise ValueError(f"--timeout must be positive, got {args.timeout:g}s")
    secure = _secure(args)
    credentials = tls_credentials(args.ca, args.cert, args.key) if secure else None
    token = _token(args)
    if token is not None and not secure and not args.insecure_token:
        raise ValueError("a bearer token needs TLS: add --tls or --ca, or --insecure-token for a server on this host")
    return IdcClient(
        args.target,
        timeout=args.timeout,
        credentials=credentials,
        token=token,
        insecure_token=args.insecure_token,
        options=_channel_options(args),
    )


def _selection_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the flags that select the bars and the convention."""
    selection = parser.add_argument_group("selection")
    source = selection.add_mutually_exclusive_group()
    source.add_argument("--symbol", help="series name, e.g. SPY or 000001.SH (default: the server's)")
    source.add_argument(
        "--bars",
        metavar="CSV",
        help="send your own daily bars instead: a CSV file with columns date, open, high, low, close, "
        "volume, spelled as --data-dir accepts them (e.g. a Yahoo Finance download or a 通达信 export)",
    )
    selection.add_argument(
        "--start",
        help="start YYYY-MM-DD or YYYY-MM-DDTHH:MM in the exchange's time zone, inclusive (default: first bar)",
    )
    selection.add_argument(
        "--end", help="end YYYY-MM-DD (the whole day) or YYYY-MM-DDTHH:MM, inclusive (default: last bar)"
    )
    selection.add_argument(
        "--convention",
        type=str.lower,
        choices=sorted(indicators.CONVENTIONS),
        help="TA-Lib's or 通达信's formulas (default: the server's, normally talib)",
    )


def _bar_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--interval`` and ``--adjust``, for the commands whose RPC takes them (not ``graph``)."""
    bars = parser.add_argument_group("bars")
    bars.add_argument(
        "--interval",
        type=str.lower,
        choices=list(INTERVALS),
        help="bar length, aggregated by the server from finer stored bars (default: 1d)",
    )
    bars.add_argument(
        "--adjust",
        type=str.lower,
        choices=list(ADJUSTMENTS),
        help="split and dividend adjustment; forward is 前复权, backward 后复权 (default: as-stored)",
    )


def _period_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the MACD period flags of ``macd`` and ``graph``."""
    periods = parser.add_argument_group("MACD periods")
    periods.add_argument("--fast", type=int, default=0, help="fast EMA period (default: 12)")
    periods.add_argument("--slow", type=int, default=0, help="slow EMA period (default: 26)")
    periods.add_argument("--signal", type=int, default=0, help="signal EMA period (default: 9)")


def _macd_periods(text: str) -> tuple[int, int, int]:
    """Parse ``--macd FAST,SLOW,SIGNAL``."""
    parts = text.split(",")
    try:
        fast, slow, signal = (int(part) for part in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected FAST,SLOW,SIGNAL as three integers, got {text!r}") from None
    return fast, slow, signal


def _panel_names(text: str) -> list[str]:
    """Parse ``--panels volume,macd,rsi,kdj``."""
    names = [name.strip().lower() for name in text.split(",")]
    for name in names:
        if name not in _PANELS:
            raise argparse.ArgumentTypeError(
                f"unknown panel {name!r}; expected a comma-separated list of {', '.join(_PANELS)}"
            )
    return names


def _chart_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the panel, overlay and image flags of ``chart``."""
    layout = parser.add_argument_group(
        "panels and overlays",
        "Panels are drawn below the price, top to bottom (default: volume,macd); overlays over it. "
        "A period of 0 means the server's default.",
    )
    layout.add_argument(
        "--panels",
        type=_panel_names,
        action=_InOrder,
        default=[],
        metavar="LIST",
        help=f"comma-separated panels: {', '.join(_PANELS)} (repeatable)",
    )
    layout.add_argument("--fast", type=int, default=0, help="fast EMA period of the macd panels (default: 12)")
    layout.add_argument("--slow", type=int, default=0, help="slow EMA period of the macd panels (default: 26)")
    layout.add_argument("--signal", type=int, default=0, help="signal EMA period of the macd panels (default: 9)")
    layout.add_argument(
        "--sma", type=int, action=_InOrder, default=[], metavar="PERIOD", help="simple moving average (repeatable)"
    )
    layout.add_argument(
        "--ema", type=int, action=_InOrder, default=[], metavar="PERIOD", help="exponential moving average (repeatable)"
    )
    layout.add_argument(
        "--boll", type=int, action=_InOrder, default=[], metavar="PERIOD", help="Bollinger Bands (repeatable)"
    )
    layout.add_argument("--boll-k", type=float, default=0.0, metavar="K", help="band width of --boll (default: 2)")
    spec = "[LABEL=]NAME[:K=V,...]"
    layout.add_argument(
        "--panel-fn",
        type=fn_spec,
        action=_InOrder,
        default=[],
        metavar=spec,
        help="panel of a catalogue entry; its signals are markers on the price (repeatable)",
    )
    layout.add_argument(
        "--overlay-fn",
        type=fn_spec,
        action=_InOrder,
        default=[],
        metavar=spec,
        help="overlay of a catalogue entry of prices or signals (repeatable)",
    )
    layout.add_argument(
        "--panel-formula", action=_InOrder, default=[], metavar="TEXT", help="panel of a 通达信 formula (repeatable)"
    )
    layout.add_argument(
        "--overlay-formula",
        action=_InOrder,
        default=[],
        metavar="TEXT",
        help="overlay of a 通达信 formula of prices or signals (repeatable)",
    )
    layout.add_argument(
        "--param",
        type=param_pair,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="parameter of every --panel-formula and --overlay-formula (repeatable)",
    )
    image = parser.add_argument_group("image")
    image.add_argument(
        "--format", type=str.lower, choices=list(charts.FORMATS), default="png", help="encoding (default: %(default)s)"
    )
    image.add_argument("--theme", type=str.lower, choices=list(charts.THEMES), help="colours (default: light)")
    image.add_argument(
        "--scheme",
        type=str.lower,
        choices=list(charts.SCHEMES),
        help="western: up in green; cn: up in red (default: western)",
    )
    image.add_argument(
        "--price-scale",
        type=str.lower,
        choices=list(charts.PRICE_SCALES),
        help="price axis: log when prices span a factor of 3 or more, else linear (default: auto)",
    )
    image.add_argument("--width", type=int, default=0, help="width in pixels, 200-8000 (default: 1200)")
    image.add_argument("--height", type=int, default=0, help="height in pixels, 200-8000 (default: 800)")
    image.add_argument("--dpi", type=int, default=0, help="dots per inch, 50-600; larger text and lines (default: 100)")
    image.add_argument(
        "--chunk-size", type=int, default=0, metavar="BYTES", help="largest chunk, 1024-1048576 (default: 65536)"
    )
    image.add_argument(
        "-o", "--output", help="file to write (default: chart.png, chart.svg, chart.jpg or chart.webp by --format)"
    )


def chart_panels(args: argparse.Namespace) -> list[indicator_graph_service_pb2.ChartPanel]:
    """The ``ChartPanel`` messages of the parsed ``chart --panels`` flags, in order.

    MACD panels get the ``--fast``, ``--slow`` and ``--signal`` periods.
    """
    panels = []
    for flag, value in getattr(args, "in_order", None) or []:
        if flag == "panel_fn":
            panels.append(indicator_panel(value))
        elif flag == "panel_formula":
            panels.append(indicator_panel(_formula_spec(args, value)))
        elif flag == "panels":
            for name in value:
                if name == "macd":
                    panels.append(charts.macd_panel(args.fast, args.slow, args.signal))
                else:
                    panels.append(_PANELS[name]())
    return panels


def chart_overlays(args: argparse.Namespace) -> list[indicator_graph_service_pb2.ChartOverlay]:
    """The ``ChartOverlay`` messages of the parsed ``chart`` flags, in the order they were given, as Go's ``idc``."""
    overlays = []
    for name, value in getattr(args, "in_order", None) or []:
        if name == "boll":
            overlays.append(charts.boll_overlay(value, args.boll_k))
        elif name in ("sma", "ema"):
            overlays.append({"sma": charts.sma_overlay, "ema": charts.ema_overlay}[name](value))
        elif name == "overlay_fn":
            overlays.append(indicator_overlay(value))
        elif name == "overlay_formula":
            overlays.append(indicator_overlay(_formula_spec(args, value)))
    return overlays


class _InOrder(argparse.Action):
    """Append ``(flag name, value)`` to ``args.in_order`` too, so ``indicators`` keeps the command line's order."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        value = self.const if values is None else values
        setattr(namespace, self.dest, [*getattr(namespace, self.dest), value])
        namespace.in_order = [*(getattr(namespace, "in_order", None) or []), (self.dest, value)]


def _indicator_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the repeatable indicator flags of ``indicators``."""
    group = parser.add_argument_group(
        "indicators",
        "Each flag may be repeated; columns come in the order of the flags. A column is named by its flag and "
        "period, e.g. sma20, boll20.upper; a period of 0 means the server's default.",
    )
    common: dict[str, Any] = {"type": int, "action": _InOrder, "default": [], "metavar": "PERIOD"}
    group.add_argument("--sma", help="simple moving average", **common)
    group.add_argument("--ema", help="exponential moving average", **common)
    group.add_argument(
        "--macd",
        type=_macd_periods,
        action=_InOrder,
        nargs="?",
        const=None,
        default=[],
        metavar="FAST,SLOW,SIGNAL",
        help="MACD, columns macd.macd, .signal, .histogram; with periods, macd_FAST_SLOW_SIGNAL.macd, ... "
        "(default periods: --fast, --slow and --signal)",
    )
    group.add_argument("--rsi", help="relative strength index (default 14)", **common)
    group.add_argument("--boll", help="Bollinger Bands (default 20)", **common)
    group.add_argument("--kdj", help="KDJ (default 9)", **common)
    group.add_argument("--fast", type=int, default=0, help="fast EMA period of --macd without periods (default: 12)")
    group.add_argument("--slow", type=int, default=0, help="slow EMA period of --macd without periods (default: 26)")
    group.add_argument("--signal", type=int, default=0, help="signal EMA period of --macd without periods (default: 9)")
    group.add_argument("--boll-k", type=float, default=0.0, metavar="K", help="band width of --boll (default: 2)")
    group.add_argument(
        "--fn",
        type=fn_spec,
        action=_InOrder,
        default=[],
        metavar="[LABEL=]NAME[:K=V,...]",
        help="catalogue entry, e.g. ADX:timeperiod=14, columns LABEL or LABEL.OUTPUT "
        "(LABEL defaults to the lower-case local name, adx)",
    )
    _formula_arguments(group, "通达信 formula, columns formula.NAME per output NAME (once)")


def _formula_arguments(group: argparse._ArgumentGroup, help_text: str) -> None:
    """Add ``--formula`` (kept in command-line order) and ``--param`` to ``group``."""
    group.add_argument("--formula", action=_InOrder, default=[], metavar="TEXT", help=help_text)
    group.add_argument(
        "--param",
        type=param_pair,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="the formula's parameter, declared by its header (repeatable)",
    )


def _formula_spec(args: argparse.Namespace, text: str) -> indicators_pb2.IndicatorSpec:
    """The spec of one ``--formula`` with the ``--param`` values."""
    return indicators_pb2.IndicatorSpec(formula=text, params=param_values(args.param))


def _check_formula_flags(parser: argparse.ArgumentParser, args: argparse.Namespace, formulas: int) -> None:
    """Exit with a usage error for ``--formula`` twice or empty, or ``--param`` without one or repeated."""
    if formulas > 1:
        parser.error("--formula: given twice: put every statement in one formula")
    if any(not text.strip() for text in getattr(args, "formula", [])):
        parser.error("--formula: empty formula")
    if args.param and not formulas:
        parser.error("--param sets a formula's parameters: add --formula, or give --fn its own as NAME:K=V")
    try:
        param_values(args.param)
    except argparse.ArgumentTypeError as error:
        parser.error(f"--param: {error}")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``idc-client``."""
    parser = argparse.ArgumentParser(
        prog="idc-client", description="Query indicators, charts and symbols from an idc gRPC server."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    macd = commands.add_parser("macd", help="print daily bars with MACD, signal and histogram")
    _connection_arguments(macd)
    _selection_arguments(macd)
    _bar_arguments(macd)
    _period_arguments(macd)
    macd.add_argument("--csv", action="store_true", help="print CSV, with full precision, instead of a table")

    table = commands.add_parser("indicators", help="print several indicators as one table")
    _connection_arguments(table)
    _selection_arguments(table)
    _bar_arguments(table)
    _indicator_arguments(table)
    table.add_argument("--csv", action="store_true", help="print CSV, with full precision, instead of a table")

    graph = commands.add_parser("graph", help="save a PNG chart of price over MACD")
    _connection_arguments(graph)
    _selection_arguments(graph)
    _period_arguments(graph)
    graph.add_argument("--width", type=int, default=0, help="width in pixels, 200-4000 (default: 1200)")
    graph.add_argument("--height", type=int, default=0, help="height in pixels, 200-4000 (default: 800)")
    graph.add_argument(
        "--chunk-size", type=int, default=0, metavar="BYTES", help="largest chunk, 1024-1048576 (default: 65536)"
    )
    graph.add_argument("-o", "--output", default="macd.png", help="file to write (default: %(default)s)")

    chart = commands.add_parser(
        "chart", help="save a candlestick chart with panels and overlays as PNG, SVG, JPEG or WebP"
    )
    _connection_arguments(chart)
    _selection_arguments(chart)
    _bar_arguments(chart)
    _chart_arguments(chart)

    symbols = commands.add_parser(
        "symbols", help="list the server's symbols with their dates, intervals and time zones"
    )
    _connection_arguments(symbols)
    symbols.add_argument(
        "--prefix", default="", help="list only the symbols that start with it, case-insensitive, e.g. 000"
    )
    symbols.add_argument("--csv", action="store_true", help="print CSV instead of a table")

    catalogue = commands.add_parser("catalogue", help="list the indicator catalogue, or describe one entry")
    _connection_arguments(catalogue)
    catalogue.add_argument("name", nargs="?", metavar="NAME", help="describe this entry, e.g. talib.ADX or ADX")
    catalogue.add_argument(
        "--namespace", default="", help="list one namespace only, e.g. talib, tdx, idc or a plugin's"
    )
    catalogue.add_argument(
        "--convention",
        type=str.lower,
        choices=sorted(indicators.CONVENTIONS),
        help="with NAME: the warm-up under this convention (default: the entry's)",
    )
    catalogue.add_argument(
        "--param",
        type=param_pair,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="with NAME: describe it with this parameter (repeatable)",
    )
    catalogue.add_argument("--csv", action="store_true", help="print CSV instead of a table")

    screen = commands.add_parser("screen", help="list the symbols for which a condition holds (选股)")
    _connection_arguments(screen)
    condition = screen.add_argument_group("condition", "Give one: --formula TEXT or --fn NAME.")
    _formula_arguments(condition, 'the condition as 通达信 formula, e.g. "C>MA(C,20)"')
    condition.add_argument(
        "--fn",
        type=fn_spec,
        action=_InOrder,
        default=[],
        metavar="[LABEL=]NAME[:K=V,...]",
        help="the condition as a catalogue entry, e.g. talib.CDLHAMMER",
    )
    screen.add_argument(
        "--symbols",
        type=_symbol_list,
        default=[],
        metavar="LIST",
        help="comma-separated symbols (default: every symbol)",
    )
    screen.add_argument(
        "--date",
        default="",
        help="the day YYYY-MM-DD to check: each symbol's last bar on or before it (default: last bar)",
    )
    screen.add_argument(
        "--output",
        default="",
        metavar="NAME",
        help="the output that decides (default: the only signal, or only output)",
    )
    screen.add_argument(
        "--convention",
        type=str.lower,
        choices=sorted(indicators.CONVENTIONS),
        help="the condition's formulas (default: the server's)",
    )
    _bar_arguments(screen)
    screen.add_argument("--csv", action="store_true", help="print CSV, with full precision, instead of a table")
    return parser


def _symbol_list(text: str) -> list[str]:
    """Parse ``--symbols SPY,AAPL``, dropping empty names."""
    return [name.strip() for name in text.split(",") if name.strip()]


def _label(name: str, period: int) -> str:
    """The label of an indicator flag: its name and period (``sma20``), or its name for period 0."""
    return f"{name}{period}" if period else name


def indicator_specs(args: argparse.Namespace) -> list[indicators_pb2.IndicatorSpec]:
    """The ``IndicatorSpec`` messages of the parsed ``indicators`` flags, in the order they were given.

    Labels are the flag's name and period (``sma20``, ``boll20``), or the
    name alone for period 0; ``--macd`` is labelled ``macd`` and takes the
    ``--fast``, ``--slow`` and ``--signal`` periods, ``--macd FAST,SLOW,SIGNAL``
    is labelled ``macd_FAST_SLOW_SIGNAL``. Repeating a flag with the same
    period gives a duplicate label, which the server rejects. Go's ``idc
    indicators`` builds the same list.
    """
    specs = []
    for name, value in getattr(args, "in_order", None) or []:
        if name == "macd":
            if value is None:
                specs.append(indicators.macd(args.fast, args.slow, args.signal, "macd"))
            else:
                fast, slow, signal = value
                specs.append(indicators.macd(fast, slow, signal, f"macd_{fast}_{slow}_{signal}"))
        elif name == "boll":
            specs.append(indicators.boll(value, args.boll_k, label=_label("boll", value)))
        elif name == "kdj":
            specs.append(indicators.kdj(value, label=_label("kdj", value)))
        elif name == "fn":
            specs.append(value)
        elif name == "formula":
            specs.append(_formula_spec(args, value))
        else:
            build = {"sma": indicators.sma, "ema": indicators.ema, "rsi": indicators.rsi}[name]
            specs.append(build(value, _label(name, value)))
    return specs


def _source_name(symbol: str) -> str:
    """How a result's symbol is shown: the symbol, or ``(inline bars)`` for the client's own."""
    return symbol or "(inline bars)"


class _Table:
    """What ``macd``, ``indicators`` and ``symbols`` print, byte for byte as Go's ``idc`` does.

    As text, each column is as wide as its widest cell (in terminal
    columns: two for an East Asian wide character); the first column is
    aligned left (or those ``left`` says), the others right, columns are
    separated by two spaces, and trailing spaces are trimmed. As
    CSV, the same header and cells, numbers with full precision.
    """

    def __init__(self, header: Sequence[str], csv_output: bool, left: Sequence[bool] | None = None) -> None:
        self.header = list(header)
        self.csv = csv_output
        self.rows: list[list[str]] = []
        # Which columns are aligned left; None means the first only.
        self.left = None if left is None else list(left)

    def _aligned_left(self, column: int) -> bool:
        if self.left is None:
            return column == 0
        return column < len(self.left) and self.left[column]

    def num(self, value: float, decimals: int) -> str:
        """``value`` with ``decimals`` decimals (CSV: the shortest that reads back), or ``""`` for NaN."""
        if math.isnan(value):
            return ""
        if self.csv:
            return str(np.format_float_positional(value, unique=True, trim="-"))
        return f"{value:.{decimals}f}"

    def write(self) -> None:
        """Print the table to stdout."""
        if self.csv:
            writer = csv.writer(sys.stdout, lineterminator="\n")
            writer.writerow(self.header)
            writer.writerows(self.rows)
            return
        lines = [self.header, *self.rows]
        widths = [max(_display_width(line[i]) for line in lines) for i in range(len(self.header))]
        for line in lines:
            cells = []
            for column, (cell, width) in enumerate(zip(line, widths, strict=True)):
                pad = " " * (width - _display_width(cell))
                cells.append(cell + pad if self._aligned_left(column) else pad + cell)
            print("  ".join(cells).rstrip(" "))


def _display_width(text: str) -> int:
    """The terminal columns ``text`` takes: two per East Asian wide or fullwidth character (通达信), else one."""
    return sum(2 if unicodedata.east_asian_width(char) in ("W", "F") else 1 for char in text)


def _when_header(interval: int) -> str:
    """The first column's name: ``time`` for intraday bars, whose times tell them apart, else ``date``."""
    return "time" if is_intraday(interval) else "date"


def _when_cells(interval: int, dates: Sequence[int], index: pd.Index) -> list[str]:
    """The first column's cells: the bars' starts in the exchange's zone for intraday bars, else their trading days."""
    if is_intraday(interval):
        return [str(cell) for cell in pd.DatetimeIndex(index).strftime("%Y-%m-%d %H:%M")]
    return [str(day) for day in np.asarray(dates, dtype="int64").astype("datetime64[D]").astype(str)]


def _bars_of(interval: int, time_zone: str) -> str:
    """What follows a heading's bar count: nothing for daily bars, `` of 1w``, `` of 5m in Asia/Shanghai``."""
    if interval in (0, INTERVALS["1d"]):
        return ""
    if is_intraday(interval) and time_zone:
        return f" of {interval_name(interval)} in {time_zone}"
    return f" of {interval_name(interval)}"


def _adjusted(adjustment: int) -> str:
    """What follows a heading's convention: ``, adjustment forward``, or nothing for prices as stored."""
    if adjustment in (0, ADJUSTMENTS["as-stored"]):
        return ""
    return f", adjustment {adjustment_name(adjustment)}"


def _print_macd(response: indicator_service_pb2.GetMACDResponse, csv_output: bool) -> None:
    """Print a GetMACD response as Go's ``idc macd`` does."""
    frame = macd_frame(response)
    interval = response.bars.interval
    columns = ["open", "high", "low", "close", "volume", "macd", "signal", "histogram"]
    decimals = [4, 4, 4, 4, 0, 6, 6, 6]
    table = _Table([_when_header(interval), *columns], csv_output)
    values = frame[columns].to_numpy(dtype=float)
    whens = _when_cells(interval, response.bars.dates, frame.index)
    for when, row in zip(whens, values, strict=True):
        table.rows.append([when, *(table.num(float(v), d) for v, d in zip(row, decimals, strict=True))])
    if not csv_output:
        parameters = response.parameters
        heading = (
            f"{_source_name(response.symbol)} MACD({parameters.fast_period},{parameters.slow_period},"
            f"{parameters.signal_period}), {len(frame)} bars{_bars_of(interval, response.bars.time_zone)}, "
            f"convention {frame.attrs['convention']}{_adjusted(response.adjustment)}"
        )
        if response.first_valid_index > 0:
            heading += f", {response.first_valid_index} warm-up bars without MACD"
        print(heading)
    table.write()


def _print_indicators(response: indicator_service_pb2.ComputeIndicatorsResponse, csv_output: bool) -> None:
    """Print a ComputeIndicators response as Go's ``idc indicators`` does."""
    frame = indicator_frame(response)
    table = _Table([_when_header(response.interval), *frame.columns], csv_output)
    whens = _when_cells(response.interval, response.dates, frame.index)
    for when, row in zip(whens, frame.to_numpy(dtype=float), strict=True):
        table.rows.append([when, *(table.num(float(value), 4) for value in row)])
    if not csv_output:
        print(
            f"{_source_name(response.symbol)}, {len(frame)} bars{_bars_of(response.interval, response.time_zone)}, "
            f"convention {frame.attrs['convention']}{_adjusted(response.adjustment)}"
        )
    table.write()


def _print_symbols(client: IdcClient, prefix: str, csv_output: bool) -> None:
    """Print every page of ListSymbols for ``prefix`` as Go's ``idc symbols`` does."""
    table = _Table(["symbol", "first", "last", "bars", "state", "adjusted", "interval", "time_zone"], csv_output)
    default_symbol = ""
    for page in client.symbol_pages(prefix):
        default_symbol = page.default_symbol
        table.rows += [
            [
                info.symbol,
                info.first_date,
                info.last_date,
                str(info.bar_count),
                state_name(info.state),
                price_adjustment_name(info.price_adjustment),
                interval_name(info.interval),
                info.time_zone,
            ]
            for info in page.symbols
        ]
    table.write()
    if not csv_output:
        print(f"default symbol: {default_symbol}")


def _print_catalogue(client: IdcClient, args: argparse.Namespace) -> None:
    """Print the catalogue, or one entry described, as Go's ``idc catalogue`` does."""
    if args.name is not None:
        spec = indicators_pb2.IndicatorSpec(name=args.name, params=param_values(args.param))
        _print_description(client.describe_indicator(spec, convention=args.convention), args.csv)
        return
    entries = client.list_indicators(args.namespace)
    table = _Table(
        ["name", "group", "parameters", "outputs", "warm-up", "description"],
        args.csv,
        left=[True, True, True, True, False, True],
    )
    for entry in entries:
        table.rows.append(
            [
                entry.name,
                entry.group,
                ",".join(f"{p.name}={value_text(p.default)}" for p in entry.parameters),
                ",".join(output.name for output in entry.outputs),
                str(entry.warm_up_bars[0]) if entry.warm_up_bars else "",
                entry.description,
            ]
        )
    table.write()
    if not args.csv:
        print(f"{len(entries)} entries")


def _print_description(described: Description, csv_output: bool) -> None:
    """Print one entry as DescribeIndicator gave it, as Go's ``idc catalogue NAME`` does."""
    entry = described.entry
    parameters = _Table(
        ["parameter", "type", "value", "default", "range", "doc"],
        csv_output,
        left=[True, True, False, False, True, True],
    )
    for p in entry.parameters:
        value = value_text(described.params[p.name]) if p.name in described.params else ""
        parameters.rows.append([p.name, p.type, value, value_text(p.default), range_text(p), p.doc])
    if csv_output:
        parameters.write()
        return
    print(f"{entry.name}: {entry.description}")
    print(f"group: {entry.group}")
    print(f"inputs: {', '.join(entry.inputs)}")
    print(f"conventions: {', '.join(entry.conventions)}")
    print(f"warm-up: {described.warm_up_bars} bars under {described.convention}")
    print(f"series: {', '.join(described.series_names)}")
    if parameters.rows:
        print()
        parameters.write()
    outputs = _Table(["output", "kind", "doc"], False, left=[True, True, True])
    outputs.rows = [[output.name, output.kind, output.doc] for output in entry.outputs]
    print()
    outputs.write()
    if entry.formula:
        print(f"\nformula:\n{entry.formula.rstrip(chr(10))}")


def _print_screen(client: IdcClient, args: argparse.Namespace) -> None:
    """Print a screen's matches, as Go's ``idc screen`` does."""
    condition = args.fn[0] if args.fn else _formula_spec(args, args.formula[0])
    response = client.screen_response(
        condition,
        args.symbols,
        args.date or None,
        output=args.output,
        convention=args.convention,
        interval=args.interval,
        adjustment=args.adjust,
    )
    names = sorted({name for match in response.matches for name in match.values})
    table = _Table(["symbol", "date", *names], args.csv, left=[True, True])
    for match in response.matches:
        day = (datetime.date(1970, 1, 1) + datetime.timedelta(days=match.date)).isoformat()
        table.rows.append([match.symbol, day, *(table.num(match.values.get(name, math.nan), 4) for name in names)])
    if not args.csv:
        heading = (
            f"{len(response.matches)} of {response.evaluated_count} symbols match on output {response.output}, "
            f"convention {indicators.convention_name(response.convention)}"
        )
        if response.skipped:
            heading += f"; {len(response.skipped)} skipped"
        print(heading)
        if not response.matches:
            return
    table.write()
    if args.csv:
        return
    for skip in response.skipped:
        print(f"skipped {skip.symbol}: {skip.reason}")


def _run(args: argparse.Namespace) -> None:
    """Perform the parsed command, printing its result to stdout."""
    with _client(args) as client:
        if args.command == "symbols":
            _print_symbols(client, args.prefix, args.csv)
            return
        if args.command == "catalogue":
            _print_catalogue(client, args)
            return
        if args.command == "screen":
            _print_screen(client, args)
            return
        bars = read_bars_file(args.bars) if args.bars is not None else None
        interval = getattr(args, "interval", None)
        adjustment = getattr(args, "adjust", None)
        if args.command == "macd":
            response = client.macd_response(
                args.symbol,
                args.start,
                args.end,
                fast=args.fast,
                slow=args.slow,
                signal=args.signal,
                convention=args.convention,
                bars=bars,
                interval=interval,
                adjustment=adjustment,
            )
            _print_macd(response, args.csv)
        elif args.command == "indicators":
            _print_indicators(
                client.indicators_response(
                    indicator_specs(args),
                    args.symbol,
                    args.start,
                    args.end,
                    bars=bars,
                    convention=args.convention,
                    interval=interval,
                    adjustment=adjustment,
                ),
                args.csv,
            )
        elif args.command == "chart":
            output = args.output or f"chart.{_EXTENSIONS[args.format]}"
            image = client.chart(
                args.symbol,
                args.start,
                args.end,
                bars=bars,
                convention=args.convention,
                panels=chart_panels(args),
                overlays=chart_overlays(args),
                format=args.format,
                width=args.width,
                height=args.height,
                dpi=args.dpi,
                theme=args.theme,
                scheme=args.scheme,
                chunk_size=args.chunk_size,
                price_scale=args.price_scale,
                interval=interval,
                adjustment=adjustment,
            )
            image.save(output)
            print(
                f"wrote {output}: {image.media_type} {image.width_px}x{image.height_px} at {image.dpi} dpi, "
                f"{image.size_bytes} bytes, sha256 {image.sha256_hex}"
            )
        else:
            image = client.graph(
                args.symbol,
                args.start,
                args.end,
                fast=args.fast,
                slow=args.slow,
                signal=args.signal,
                width=args.width,
                height=args.height,
                convention=args.convention,
                bars=bars,
                chunk_size=args.chunk_size,
            )
            image.save(args.output)
            print(
                f"wrote {args.output}: {image.media_type} {image.width_px}x{image.height_px}, "
                f"{image.size_bytes} bytes, sha256 {image.sha256_hex}"
            )


def _explain_unavailable(details: str, args: argparse.Namespace) -> str | None:
    """What to do about a connection that failed, from grpcio's description; ``None`` if not recognised.

    The cases and their words are those of Go's ``idc`` (internal/dialflags),
    listed in ``clients/CLI.md``.
    """
    target = args.target
    if "Connection refused" in details:
        return (
            f"nothing listens on {target} (connection refused): start idc-server there, or set --target or IDC_TARGET"
        )
    if "WRONG_VERSION_NUMBER" in details:
        return f"{target} does not serve TLS: drop --tls, --ca, --cert and --key"
    if "CERTIFICATE_VERIFY_FAILED" in details or "not in peer certificate" in details:
        return (
            f"the certificate of {target} is not trusted or does not name it: "
            "pass the CA that signed it with --ca FILE, and use a host name the certificate holds"
        )
    if any(text in details for text in ("Socket closed", "Connection reset", "Broken pipe")):
        if not _secure(args):
            return f"{target} closed the connection: if it serves TLS, add --tls (or --ca FILE for a private CA)"
        if args.cert is None:
            return (
                f"{target} closed the connection after the TLS handshake: "
                "if it requires client certificates, add --cert FILE --key FILE"
            )
        return f"{target} closed the connection after the TLS handshake: it does not accept the certificate of --cert"
    return None


def _report(error: grpc.RpcError, args: argparse.Namespace) -> int:
    """Print a failed call as Go's ``idc`` does and return its exit status, the gRPC status code."""
    code = error.code()
    details = error.details() or ""
    if code == grpc.StatusCode.UNAVAILABLE:
        details = _explain_unavailable(details, args) or details
    print(f"error: {code.name}: {details}", file=sys.stderr)
    for field, description in field_violations(error):
        print(f"  {field}: {description}", file=sys.stderr)
    return int(code.value[0])


@contextlib.contextmanager
def _quiet_grpc_core() -> Iterator[None]:
    """Keep gRPC's C core from printing its own log lines (TLS handshake failures) on stderr.

    They repeat what ``_report`` then says in one line. The C core reads
    ``GRPC_VERBOSITY`` when grpcio is imported, before this command starts,
    so stderr itself is pointed at /dev/null while the call runs. Set
    ``GRPC_VERBOSITY`` (e.g. ``debug``) to see them again.
    """
    if "GRPC_VERBOSITY" in os.environ:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``idc-client`` with ``argv`` (default: the process arguments).

    Returns the exit status, as Go's ``idc`` does: 0 on success; the gRPC
    status code of a failed call (``error: CODE: details`` on stderr, with
    any field violations and, for a connection that failed, what to do);
    13 (INTERNAL) for a chart stream out of order and 15 (DATA_LOSS) for an
    image that does not match its metadata; 2 for invalid arguments and for
    files that cannot be read or written.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in ("indicators", "screen"):
        _check_formula_flags(parser, args, len(args.formula))
    if args.command == "indicators" and not indicator_specs(args):
        parser.error("indicators needs at least one of --sma, --ema, --macd, --rsi, --boll, --kdj, --fn, --formula")
    if args.command == "screen" and len(args.formula) + len(args.fn) != 1:
        parser.error("screen: give one condition, --formula TEXT or --fn NAME")
    if args.command == "chart":
        formulas = len(args.panel_formula) + len(args.overlay_formula)
        if any(not text.strip() for text in [*args.panel_formula, *args.overlay_formula]):
            parser.error("--panel-formula, --overlay-formula: empty formula")
        if args.param and not formulas:
            parser.error("--param sets a formula's parameters: add --panel-formula or --overlay-formula")
        _check_formula_flags(parser, args, min(formulas, 1))
    if args.command == "catalogue":
        if args.name is None and (args.param or args.convention):
            parser.error("--param and --convention describe one entry: add its NAME")
        try:
            param_values(args.param)
        except argparse.ArgumentTypeError as error:
            parser.error(f"--param: {error}")
    try:
        with _quiet_grpc_core():
            _run(args)
    except grpc.RpcError as error:
        return _report(error, args)
    except ProtocolError as error:
        print(f"error: INTERNAL: {error}", file=sys.stderr)
        return int(grpc.StatusCode.INTERNAL.value[0])
    except IntegrityError as error:
        print(f"error: DATA_LOSS: {error}", file=sys.stderr)
        return int(grpc.StatusCode.DATA_LOSS.value[0])
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    return 0
