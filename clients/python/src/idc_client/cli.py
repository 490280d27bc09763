"""The ``idc-client`` command: indicator tables, charts and symbols from an idc server.

Examples::

    idc-client symbols
    idc-client macd --target localhost:50051 --symbol SPY --start 2023-01-01 --end 2023-12-31
    idc-client macd --symbol 000001.SH --convention tdx --csv > sh.csv
    idc-client indicators --symbol SPY --start 2024-01-01 --sma 20 --ema 12 --rsi 14 --boll 20 --kdj 9 --macd
    idc-client graph --symbol SPY --width 800 --height 600 -o macd.png
    idc-client chart --symbol SPY --start 2023-01-01 --panels volume,macd,rsi,kdj --sma 20 --boll 20 --format svg
    idc-client macd --bars my_bars.csv

The target defaults to ``$IDC_TARGET``, else ``localhost:50051``; the bearer
token of ``--token`` defaults to ``$IDC_TOKEN``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import grpc
import pandas as pd

from idc.v1 import indicator_graph_service_pb2, indicators_pb2
from idc_client import charts, indicators
from idc_client.client import DEFAULT_TARGET, DEFAULT_TIMEOUT, IdcClient
from idc_client.errors import IntegrityError, field_violations

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


def _connection_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the flags shared by every subcommand: where and how to connect."""
    connection = parser.add_argument_group("connection")
    connection.add_argument(
        "--target",
        default=os.environ.get("IDC_TARGET", DEFAULT_TARGET),
        help="server address host:port (default: $IDC_TARGET, else %(default)s)",
    )
    connection.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help="deadline of the call in seconds (default: %(default)s)",
    )
    connection.add_argument("--tls", action="store_true", help="connect with TLS using the system's root certificates")
    connection.add_argument(
        "--token",
        default=os.environ.get("IDC_TOKEN") or None,
        help="bearer token sent as 'authorization: Bearer TOKEN' on every call (default: $IDC_TOKEN); "
        "without --tls it crosses the network in the clear, so use that only for local testing",
    )


def _selection_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the flags that select the bars and the convention."""
    selection = parser.add_argument_group("selection")
    source = selection.add_mutually_exclusive_group()
    source.add_argument("--symbol", help="series name, e.g. SPY or 000001.SH (default: the server's)")
    source.add_argument(
        "--bars",
        metavar="CSV",
        help="send your own daily bars instead: a CSV file with a date column first and columns "
        "open, high, low, close, volume",
    )
    selection.add_argument("--start", help="first day YYYY-MM-DD, inclusive (default: first bar)")
    selection.add_argument("--end", help="last day YYYY-MM-DD, inclusive (default: last bar)")
    selection.add_argument(
        "--convention",
        type=str.lower,
        choices=sorted(indicators.CONVENTIONS),
        help="TA-Lib's or 通达信's formulas (default: the server's, normally talib)",
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
        action="append",
        default=[],
        metavar="LIST",
        help=f"comma-separated panels: {', '.join(_PANELS)} (repeatable)",
    )
    layout.add_argument("--fast", type=int, default=0, help="fast EMA period of the macd panels (default: 12)")
    layout.add_argument("--slow", type=int, default=0, help="slow EMA period of the macd panels (default: 26)")
    layout.add_argument("--signal", type=int, default=0, help="signal EMA period of the macd panels (default: 9)")
    layout.add_argument(
        "--sma", type=int, action="append", default=[], metavar="PERIOD", help="simple moving average (repeatable)"
    )
    layout.add_argument(
        "--ema", type=int, action="append", default=[], metavar="PERIOD", help="exponential moving average (repeatable)"
    )
    layout.add_argument(
        "--boll", type=int, action="append", default=[], metavar="PERIOD", help="Bollinger Bands (repeatable)"
    )
    layout.add_argument("--boll-k", type=float, default=0.0, metavar="K", help="band width of --boll (default: 2)")
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
    for names in args.panels:
        for name in names:
            if name == "macd":
                panels.append(charts.macd_panel(args.fast, args.slow, args.signal))
            else:
                panels.append(_PANELS[name]())
    return panels


def chart_overlays(args: argparse.Namespace) -> list[indicator_graph_service_pb2.ChartOverlay]:
    """The ``ChartOverlay`` messages of the parsed ``chart`` flags, in the order sma, ema, boll."""
    overlays = [charts.sma_overlay(period) for period in args.sma]
    overlays += [charts.ema_overlay(period) for period in args.ema]
    overlays += [charts.boll_overlay(period, args.boll_k) for period in args.boll]
    return overlays


def _indicator_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the repeatable indicator flags of ``indicators``."""
    group = parser.add_argument_group(
        "indicators",
        "Each flag may be repeated. A column is named by its flag and period, e.g. sma20, boll20.upper; "
        "a period of 0 means the server's default.",
    )
    group.add_argument("--sma", type=int, action="append", default=[], metavar="PERIOD", help="simple moving average")
    group.add_argument(
        "--ema", type=int, action="append", default=[], metavar="PERIOD", help="exponential moving average"
    )
    group.add_argument(
        "--macd",
        type=_macd_periods,
        action="append",
        nargs="?",
        const=(0, 0, 0),
        default=[],
        metavar="FAST,SLOW,SIGNAL",
        help="MACD (default periods 12,26,9)",
    )
    group.add_argument(
        "--rsi", type=int, action="append", default=[], metavar="PERIOD", help="relative strength index (default 14)"
    )
    group.add_argument(
        "--boll", type=int, action="append", default=[], metavar="PERIOD", help="Bollinger Bands, k = 2 (default 20)"
    )
    group.add_argument("--kdj", type=int, action="append", default=[], metavar="PERIOD", help="KDJ (default 9)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``idc-client``."""
    parser = argparse.ArgumentParser(
        prog="idc-client", description="Query indicators, charts and symbols from an idc gRPC server."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    macd = commands.add_parser("macd", help="print daily bars with MACD, signal and histogram")
    _connection_arguments(macd)
    _selection_arguments(macd)
    _period_arguments(macd)
    macd.add_argument("--csv", action="store_true", help="print CSV instead of a table")

    table = commands.add_parser("indicators", help="print several indicators as one table")
    _connection_arguments(table)
    _selection_arguments(table)
    _indicator_arguments(table)
    table.add_argument("--csv", action="store_true", help="print CSV instead of a table")

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
    _chart_arguments(chart)

    symbols = commands.add_parser("symbols", help="list the server's symbols with their date ranges")
    _connection_arguments(symbols)
    symbols.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    return parser


def _label(name: str, period: int) -> str:
    """The label of an indicator flag: its name and period (``sma20``), or its name for period 0."""
    return f"{name}{period}" if period else name


def indicator_specs(args: argparse.Namespace) -> list[indicators_pb2.IndicatorSpec]:
    """The ``IndicatorSpec`` messages of the parsed ``indicators`` flags, in the order sma, ema, macd, rsi, boll, kdj.

    Labels are the flag's name and period (``sma20``, ``boll20``), or the
    name alone for period 0; a MACD with periods is labelled
    ``macd_FAST_SLOW_SIGNAL``. Repeating a flag with the same period gives a
    duplicate label, which the server rejects.
    """
    specs = [indicators.sma(period, _label("sma", period)) for period in args.sma]
    specs += [indicators.ema(period, _label("ema", period)) for period in args.ema]
    for fast, slow, signal in args.macd:
        label = f"macd_{fast}_{slow}_{signal}" if (fast, slow, signal) != (0, 0, 0) else "macd"
        specs.append(indicators.macd(fast, slow, signal, label))
    specs += [indicators.rsi(period, _label("rsi", period)) for period in args.rsi]
    specs += [indicators.boll(period, label=_label("boll", period)) for period in args.boll]
    specs += [indicators.kdj(period, label=_label("kdj", period)) for period in args.kdj]
    return specs


def _read_bars(path: str | None) -> pd.DataFrame | None:
    """The bars of the ``--bars`` CSV file, indexed by its first column, or ``None`` without one."""
    if path is None:
        return None
    return pd.read_csv(path, index_col=0, parse_dates=[0])


def _source_name(symbol: str) -> str:
    """How a result's symbol is shown: the symbol, or ``(inline bars)`` for the client's own."""
    return symbol or "(inline bars)"


def _print_frame(frame: pd.DataFrame, csv: bool, heading: str) -> None:
    """Print ``frame`` as CSV, or as a table under ``heading``."""
    if csv:
        frame.to_csv(sys.stdout)
    else:
        print(heading)
        print(frame.to_string())


def _run(args: argparse.Namespace) -> None:
    """Perform the parsed command, printing its result to stdout."""
    credentials = grpc.ssl_channel_credentials() if args.tls else None
    with IdcClient(args.target, timeout=args.timeout, credentials=credentials, token=args.token) as client:
        if args.command == "symbols":
            frame = client.symbols()
            _print_frame(frame, args.csv, f"{len(frame)} symbols, default {frame.attrs['default_symbol']}")
            return
        bars = _read_bars(args.bars)
        if args.command == "macd":
            frame = client.macd(
                args.symbol,
                args.start,
                args.end,
                fast=args.fast,
                slow=args.slow,
                signal=args.signal,
                convention=args.convention,
                bars=bars,
            )
            parameters = frame.attrs["parameters"]
            heading = (
                f"{_source_name(frame.attrs['symbol'])} MACD({parameters['fast']},{parameters['slow']},"
                f"{parameters['signal']}) {frame.attrs['convention']}, {len(frame)} bars"
            )
            _print_frame(frame, args.csv, heading)
        elif args.command == "indicators":
            frame = client.indicators(
                indicator_specs(args), args.symbol, args.start, args.end, bars=bars, convention=args.convention
            )
            heading = f"{_source_name(frame.attrs['symbol'])} {frame.attrs['convention']}, {len(frame)} bars"
            _print_frame(frame, args.csv, heading)
        elif args.command == "chart":
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
            )
            path = image.save(args.output or f"chart.{_EXTENSIONS[args.format]}")
            print(
                f"wrote {path}: {image.size_bytes} bytes, {image.media_type}, "
                f"{image.width_px}x{image.height_px} px at {image.dpi} dpi, sha256 {image.sha256_hex}"
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
            path = image.save(args.output)
            print(
                f"wrote {path}: {image.size_bytes} bytes, {image.media_type}, "
                f"{image.width_px}x{image.height_px} px, sha256 {image.sha256_hex}"
            )


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``idc-client`` with ``argv`` (default: the process arguments).

    Returns the exit status: 0 on success, 1 if the call failed (the error
    is printed to stderr as ``error: CODE: details``, followed by any field
    violations) or a file could not be read or written. Invalid arguments
    exit with status 2, as argparse does; ``indicators`` needs at least one
    indicator flag.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "indicators" and not indicator_specs(args):
        parser.error("indicators needs at least one of --sma, --ema, --macd, --rsi, --boll, --kdj")
    try:
        _run(args)
    except grpc.RpcError as error:
        print(f"error: {error.code().name}: {error.details()}", file=sys.stderr)
        for field, description in field_violations(error):
            print(f"  {field}: {description}", file=sys.stderr)
        return 1
    except IntegrityError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0
