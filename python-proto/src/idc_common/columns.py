"""The column names a bars file may use, for every reader of such files.

The server's ``--data-dir`` reader and the client's ``idc-client --bars``
reader both match a file's header through ``COLUMN_ALIASES``, so a file that
one accepts the other accepts too (a Yahoo Finance download, a Tushare
export, our own ``date,open,high,low,close,volume``).
"""

from __future__ import annotations

from collections.abc import Mapping

# The bar columns, in the order the API sends them.
BAR_COLUMNS = ("open", "high", "low", "close", "volume")

# The optional column of cumulative adjustment factors (Bars.adjustment_factors).
FACTOR_COLUMN = "factor"

# Lower-cased source column names that mean one of ours; any column order.
# Extra columns (``Adj Close``, ``symbol``) mean nothing and are dropped.
COLUMN_ALIASES: Mapping[str, str] = {
    "date": "date",
    "dt": "date",
    "datetime": "date",
    "time": "date",
    "trade_date": "date",
    "open": "open",
    "high": "high",
    "low": "low",
    "close": "close",
    "volume": "volume",
    "vol": "volume",
    "factor": FACTOR_COLUMN,
    "adj_factor": FACTOR_COLUMN,  # tushare
    "adjustment_factor": FACTOR_COLUMN,
    "adjustment_factors": FACTOR_COLUMN,
}


def canonical_column(name: object) -> str | None:
    """Our name for a file's column ``name`` (any case, outer spaces ignored), or None for an extra column."""
    return COLUMN_ALIASES.get(str(name).strip().lower())
