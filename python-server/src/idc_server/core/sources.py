"""What a kind of store (a folder of files today; a database or a Parquet dataset later) gives the BarStore.

A store kind is one class that implements ``BarSource``: it lists the
symbols it holds and, for one of them, returns its current ``Content``,
checked with ``check_bars``. The BarStore merges sources, bounds how often
they are listed, and turns content into responses and errors.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from idc_server.core.bars import ALL_DAY, UTC, History, Interval, Sessions


class PriceAdjustment(enum.Enum):
    """How a symbol's stored prices relate to the prices traded on the day."""

    NONE = "none"  # as traded
    SPLITS = "splits"  # split-adjusted only
    SPLITS_AND_DIVIDENDS = "splits_and_dividends"  # split- and dividend-adjusted
    NOT_NEEDED = "not_needed"  # nothing to adjust for, e.g. a price index


class BarTime(enum.Enum):
    """Which instant of a bar a store's timestamps mark; the server always serves the start (Bars.times)."""

    START = "start"
    END = "end"  # 通达信 and czsc minute files: the 09:31 bar holds 09:30:00-09:31:00


@dataclass(frozen=True, slots=True)
class SymbolProfile:
    """What the bars of a symbol are, as declared beside its data (a folder's symbols.toml)."""

    interval: Interval = Interval.ONE_DAY
    time_zone: str = UTC  # IANA name of the exchange's zone
    sessions: Sessions = ALL_DAY  # trading sessions, local time
    bar_time: BarTime = BarTime.START


DEFAULT_PROFILE = SymbolProfile()


@dataclass(frozen=True, slots=True)
class Listed:
    """One symbol a source holds."""

    symbol: str  # the canonical spelling
    origin: str  # what messages may call its data, e.g. the file name relative to its folder
    adjustment: PriceAdjustment | None  # None: not declared
    profile: SymbolProfile = DEFAULT_PROFILE


@dataclass(frozen=True, slots=True)
class Content:
    """One version of a symbol's data: its history, or the problem that keeps it from being served."""

    history: History | None
    problem: str = ""  # where and why, e.g. "line 7, column Close: 'n/a' is not a number"
    warning_count: int = 0  # bars served although open or close lies outside [low, high]
    first_warning: str = ""  # where and why, for the first of them


class BarSource(Protocol):
    """One kind of store. Implementations: ``data_files.FolderSource``, ``stores.dataset.DatasetSource``,
    ``stores.postgres.PostgresSource``.

    ``checks_when_listed``: whether the BarStore reads every new symbol as
    soon as it is listed (a folder of a few files, whose problems are then
    logged at start), or only when first asked for (stores of thousands).
    """

    checks_when_listed: bool

    def listing(self) -> Mapping[str, Listed]:
        """The symbols held now, by upper-cased symbol."""
        ...

    def content(self, key: str) -> Content | None:
        """The current content of a listed symbol (``key`` upper-cased); None if it is gone.

        Called on every request for the symbol, so it must be cheap when
        nothing changed. Problems are logged by the source, once per version.
        """
        ...

    def prefetch(self, keys: Sequence[str]) -> None:
        """Make ``content`` of these listed keys cheap now (a batch of round trips); a no-op where it always is."""
        ...

    def close(self) -> None:
        """Let go of what the source holds open (a database connection); a later call may open it again."""
        ...
