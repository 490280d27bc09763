"""``idc-server load``: upsert CSV or Parquet data files into the PostgreSQL store (``--data-url postgresql://...``)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from idc_server.core.bars import ALL_DAY, parse_sessions, zone
from idc_server.core.data_files import INTERVAL_NAMES
from idc_server.core.sources import BarTime, PriceAdjustment, SymbolProfile


def load_main(argv: Sequence[str], env: Mapping[str, str] | None = None) -> int:
    """Parse the load command's flags, load the files, print rows and rows/s; return the exit status."""
    env = os.environ if env is None else env
    parser = argparse.ArgumentParser(
        prog="idc-server load",
        description=(
            "Upsert bars from CSV or Parquet files (the columns --data-dir accepts) into a PostgreSQL "
            "database, creating idc's tables (idc_symbols, idc_bars) if missing. A file's symbol is its name "
            "without the suffix, e.g. SPY.csv is SPY."
        ),
    )
    parser.add_argument(
        "--data-url",
        default=env.get("IDC_DATA_URL"),
        help="postgresql://user[:password]@host[:port]/database [IDC_DATA_URL]",
    )
    parser.add_argument("--symbol", help="the symbol of the one file given (default: its name)")
    parser.add_argument("--time-zone", default="UTC", help="IANA time zone of the exchange (%(default)s)")
    parser.add_argument(
        "--interval", default="1d", choices=list(INTERVAL_NAMES), help="the files' bar length (%(default)s)"
    )
    parser.add_argument(
        "--sessions",
        default="",
        help="trading sessions in local time, comma-separated, e.g. 09:30-11:30,13:00-15:00 (default: the whole day)",
    )
    parser.add_argument(
        "--bar-time",
        default="start",
        choices=[member.value for member in BarTime],
        help="what an intraday file's times mark: each bar's start or its end (%(default)s); stored as the start",
    )
    parser.add_argument(
        "--price-adjustment",
        choices=[member.value for member in PriceAdjustment],
        help="how the file's prices are adjusted (default: keep what the database says)",
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    args = parser.parse_args(argv)
    url = str(args.data_url or "")
    if not url.startswith(("postgresql://", "postgres://")):
        parser.error("--data-url (or IDC_DATA_URL) must be a postgresql:// URL")
    import psycopg

    from idc_server.core.stores.loader import LoadError, load_files

    adjustment = PriceAdjustment(args.price_adjustment) if args.price_adjustment else None
    try:
        zone(args.time_zone)
        sessions = parse_sessions(args.sessions.split(",")) if args.sessions else ALL_DAY
    except ValueError as error:
        parser.error(str(error))
    interval = INTERVAL_NAMES[args.interval]
    if args.bar_time == BarTime.END.value and not interval.intraday:
        parser.error("--bar-time end is for intraday intervals only")
    profile = SymbolProfile(interval, args.time_zone, sessions, BarTime(args.bar_time))
    try:
        report = load_files(url, args.files, symbol=args.symbol, profile=profile, price_adjustment=adjustment)
    except LoadError as error:
        print(f"idc-server load: error: {error}", file=sys.stderr)
        return 1
    except psycopg.Error as error:
        print(f"idc-server load: error: the database refused: {str(error).strip().splitlines()[0]}", file=sys.stderr)
        return 1
    print(
        f"loaded {report.rows} rows from {report.files} files in {report.seconds:.3f} s "
        f"({report.rows_per_second:,.0f} rows/s)"
    )
    return 0
