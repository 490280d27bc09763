"""The ``--bars`` file of ``idc-client``: a CSV of daily bars, read as Go's ``idc --bars`` reads it.

A header, then one bar a line. Columns are matched as the server's
``--data-dir`` reader matches them (``idc_common.columns``: ``Date``, ``dt``,
``trade_date``, ``Open``, ``vol``, ... in any case and order; other columns
are dropped), so a Yahoo Finance download, a tushare export and a 通达信-style
``symbol,dt,open,close,high,low,vol`` file all work. The dates are the
column named for dates, else the first column, in one of ``DATE_FORMATS``; a
time of day is dropped. An empty value cell is NaN, which the server then
rejects naming the bar. An optional factor column (``factor``,
``adj_factor``, as ``idc_common.columns`` names it) is sent as the bars'
adjustment factors, for ``--adjust forward`` or ``backward``. The messages
are Go's, word for word
(``clients/tests/test_cli_parity.py`` checks it).
"""

from __future__ import annotations

import csv
import datetime
import math
import os
from pathlib import Path

from idc.v1 import bars_pb2
from idc_common.columns import canonical_column

__all__ = ["DATE_FORMATS", "parse_bars_csv", "read_bars_file"]

DATE_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y%m%d",
    "%Y/%m/%d",
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
)
"""The forms a date cell may take, tried in order (Go's ``barsFileDates``)."""

_VALUE_COLUMNS = ("open", "high", "low", "close", "volume")
# The factor column's spellings, for an idc_common that does not name them yet (Go's idc reads them too).
_FACTOR_ALIASES = frozenset({"factor", "adj_factor", "adjustment_factor", "adjustment_factors"})


def _our_column(name: str) -> str | None:
    """Our name for a header cell: ``idc_common.columns``' one, or ``"factor"``."""
    ours = canonical_column(name)
    if ours is None and name.strip().lower() in _FACTOR_ALIASES:
        return "factor"
    return ours


_EPOCH = datetime.date(1970, 1, 1)


def read_bars_file(path: str | os.PathLike[str]) -> bars_pb2.Bars:
    """The daily bars of the CSV file ``path``, as a ``Bars`` message to send inline.

    Raises:
        ValueError: naming ``--bars`` and the file, for a file that cannot
            be read or breaks the rules above.
    """
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as error:
        reason = (error.strerror or str(error)).lower()
        raise ValueError(f"--bars {os.fspath(path)}: {reason}") from None
    except UnicodeDecodeError as error:
        raise ValueError(f"--bars {os.fspath(path)}: not UTF-8 text: {error.reason}") from None
    try:
        return parse_bars_csv(text)
    except ValueError as error:
        raise ValueError(f"--bars {os.fspath(path)}: {error}") from None


def _date(text: str) -> datetime.date:
    for form in DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text, form).date()
        except ValueError:
            continue
    raise ValueError(
        f"'{text}' is not a date; want YYYY-MM-DD, YYYYMMDD, YYYY/MM/DD or M/D/YYYY, with or without a time"
    )


def _number(text: str) -> float:
    if not text:
        return math.nan
    # float() also takes underscores, which Go's ParseFloat does not: refuse them alike.
    if "_" in text or "x" in text.lower():
        raise ValueError(text)
    return float(text)


def parse_bars_csv(text: str) -> bars_pb2.Bars:
    """The daily bars of CSV ``text`` (see the module's description).

    Raises:
        ValueError: for a missing or repeated column, a cell that is not a
            date or a number (naming its line, the header being line 1, and
            column), or no bars.
    """
    rows = csv.reader(text.splitlines())
    header = next(rows, None)
    if header is None:
        raise ValueError("the file is empty; want a header line and one bar a line")
    index: dict[str, int] = {}
    for position, name in enumerate(header):
        ours = _our_column(name)
        if ours is None:
            continue
        if ours in index:
            raise ValueError(f"columns {header[index[ours]].strip()} and {name.strip()} both mean {ours}")
        index[ours] = position
    for name in _VALUE_COLUMNS:
        if name not in index:
            raise ValueError(
                f"no {name} column; want date, open, high, low, close and volume (or dt, trade_date, vol), any case"
            )
    date_column = index.get("date", 0)
    factor_column = index.get("factor")
    dates: list[int] = []
    values: list[list[float]] = [[] for _ in _VALUE_COLUMNS]
    factors: list[float] = []
    for record in rows:
        if not record:
            continue  # a blank line, which Go's encoding/csv skips too
        line = rows.line_num

        def cell(position: int, record: list[str] = record) -> str:
            return record[position].strip() if position < len(record) else ""

        try:
            day = _date(cell(date_column))
        except ValueError as error:
            raise ValueError(f"line {line}, column {header[date_column].strip()}: {error}") from None
        dates.append((day - _EPOCH).days)
        positions = [index[name] for name in _VALUE_COLUMNS]
        columns = list(values)
        if factor_column is not None:
            positions.append(factor_column)
            columns.append(factors)
        for column, position in zip(columns, positions, strict=True):
            text_value = cell(position)
            try:
                column.append(_number(text_value))
            except ValueError:
                raise ValueError(
                    f"line {line}, column {header[position].strip()}: '{text_value}' is not a number"
                ) from None
    if not dates:
        raise ValueError("no bars after the header")
    return bars_pb2.Bars(
        dates=dates,
        open=values[0],
        high=values[1],
        low=values[2],
        close=values[3],
        volume=values[4],
        adjustment_factors=factors,
    )
