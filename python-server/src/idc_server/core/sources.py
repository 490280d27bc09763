"""What a kind of store (a folder of files today; a database or a Parquet dataset later) gives the BarStore.

A store kind is one class that implements ``BarSource``: it lists the
symbols it holds and, for one of them, returns its current ``Content``,
checked with ``check_bars``. The BarStore merges sources, bounds how often
they are listed, and turns content into responses and errors.
"""

from __future__ import annotations

import enum
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
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
    unavailable: bool = False  # the problem is the store's (a database down), not the data's: retrying may succeed


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


DEFAULT_HELD_BYTES = 256 * 1024 * 1024  # --store-cache-bytes


@dataclass(frozen=True, slots=True)
class _Held:
    size: int
    lock: threading.Lock  # the symbol's own: held while a request reads it from the store
    release: Callable[[], None]


@dataclass(frozen=True)
class HeldStats:
    """What a HeldBars holds now, its budget, and how many symbols it has let go of."""

    size_bytes: int
    symbols: int
    max_bytes: int
    released: int


class HeldBars:
    """The bars the store kinds of thousands keep: at most ``max_bytes``, the least recently used let go first.

    A source calls ``keep`` when it has read a symbol and ``touch`` when it
    serves it from memory. Going over the budget lets go of the least
    recently used others: their ``release`` forgets the content, so the next
    request reads it from the store again. A symbol whose lock is held (a
    request is reading it) is passed over, and the symbol just kept always
    stays, so the budget can be exceeded by the symbols being read. Shared
    by every source of one server process.
    """

    def __init__(self, max_bytes: int = DEFAULT_HELD_BYTES) -> None:
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._held: OrderedDict[Hashable, _Held] = OrderedDict()
        self._bytes = 0
        self.released = 0  # symbols let go of so far

    @property
    def size_bytes(self) -> int:
        """The bytes of bars held now."""
        return self._bytes

    def stats(self) -> HeldStats:
        """A consistent snapshot, for the metrics."""
        with self._lock:
            return HeldStats(self._bytes, len(self._held), self.max_bytes, self.released)

    def keep(self, key: Hashable, size: int, lock: threading.Lock, release: Callable[[], None]) -> None:
        """Count ``key``'s content (``size`` bytes) as just read, and let go of others beyond the budget."""
        with self._lock:
            if (old := self._held.pop(key, None)) is not None:
                self._bytes -= old.size
            self._held[key] = _Held(size, lock, release)
            self._bytes += size
            for other in list(self._held):
                if self._bytes <= self.max_bytes or other == key:
                    break
                held = self._held[other]
                if not held.lock.acquire(blocking=False):
                    continue  # being read now: let go of the next one instead
                try:
                    held.release()
                finally:
                    held.lock.release()
                del self._held[other]
                self._bytes -= held.size
                self.released += 1

    def touch(self, key: Hashable) -> None:
        """Count ``key`` as just used (served from memory)."""
        with self._lock:
            if key in self._held:
                self._held.move_to_end(key)
