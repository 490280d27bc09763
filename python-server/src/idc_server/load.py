"""``idc-server load``: upsert CSV or Parquet data files into the PostgreSQL store (``--data-url postgresql://...``)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from idc_server.core.sources import PriceAdjustment


def load_main(argv: Sequence[str], env: Mapping[str, str] | None = None) -> int:
    """Parse the load command's flags, load the files, print rows and rows/s; return the exit status."""
    env = os.environ if env is None else env
    parser = argparse.ArgumentParser(
        prog="idc-server load",
        description=(
            "Upsert daily bars from CSV or Parquet files (the columns --data-dir accepts) into a PostgreSQL "
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
        report = load_files(url, args.files, symbol=args.symbol, time_zone=args.time_zone, price_adjustment=adjustment)
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
