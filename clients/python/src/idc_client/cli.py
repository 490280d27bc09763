"""The ``idc-client`` command: MACD tables and charts from an idc server.

Examples::

    idc-client macd --target localhost:50051 --symbol SPY --start 2023-01-01 --end 2023-12-31
    idc-client macd --symbol AAPL --csv > aapl.csv
    idc-client graph --symbol SPY --width 800 --height 600 -o macd.png

The target defaults to ``$IDC_TARGET``, else ``localhost:50051``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import grpc

from idc_client.client import DEFAULT_TARGET, DEFAULT_TIMEOUT, IdcClient
from idc_client.errors import IntegrityError, field_violations

__all__ = ["build_parser", "main"]


def _selection_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the flags shared by every subcommand: where to connect and which bars."""
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
    selection = parser.add_argument_group("selection")
    selection.add_argument("--symbol", help="series name, e.g. SPY or 000001.SH (default: the server's)")
    selection.add_argument("--start", help="first day YYYY-MM-DD, inclusive (default: first bar)")
    selection.add_argument("--end", help="last day YYYY-MM-DD, inclusive (default: last bar)")
    selection.add_argument("--fast", type=int, default=0, help="fast EMA period (default: 12)")
    selection.add_argument("--slow", type=int, default=0, help="slow EMA period (default: 26)")
    selection.add_argument("--signal", type=int, default=0, help="signal EMA period (default: 9)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``idc-client``."""
    parser = argparse.ArgumentParser(
        prog="idc-client", description="Query MACD indicators and charts from an idc gRPC server."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    macd = commands.add_parser("macd", help="print daily bars with MACD, signal and histogram")
    _selection_arguments(macd)
    macd.add_argument("--csv", action="store_true", help="print CSV instead of a table")

    graph = commands.add_parser("graph", help="save a PNG chart of price over MACD")
    _selection_arguments(graph)
    graph.add_argument("--width", type=int, default=0, help="width in pixels, 200-4000 (default: 1200)")
    graph.add_argument("--height", type=int, default=0, help="height in pixels, 200-4000 (default: 800)")
    graph.add_argument("-o", "--output", default="macd.png", help="file to write (default: %(default)s)")
    return parser


def _run(args: argparse.Namespace) -> None:
    """Perform the parsed command, printing its result to stdout."""
    credentials = grpc.ssl_channel_credentials() if args.tls else None
    with IdcClient(args.target, timeout=args.timeout, credentials=credentials) as client:
        if args.command == "macd":
            frame = client.macd(args.symbol, args.start, args.end, fast=args.fast, slow=args.slow, signal=args.signal)
            if args.csv:
                frame.to_csv(sys.stdout)
            else:
                parameters = frame.attrs["parameters"]
                print(
                    f"{frame.attrs['symbol']} MACD({parameters['fast']},{parameters['slow']},"
                    f"{parameters['signal']}), {len(frame)} bars"
                )
                print(frame.to_string())
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
    violations). Invalid arguments exit with status 2, as argparse does.
    """
    args = build_parser().parse_args(argv)
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
    except OSError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0
