"""The kinds of store the server reads bars from, each named by the scheme of a data URL (``--data-url``).

One declaration per kind (``STORE_KINDS``): its URL schemes, what it is, and
how to open it as a ``BarSource``. The flag's help and its validation are
derived from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from idc_server.core.data_files import FolderSource
from idc_server.core.sources import BarSource, HeldBars


class StoreUrlError(ValueError):
    """A data URL no store kind accepts; the message says why (never echoing a password)."""


@dataclass(frozen=True, slots=True)
class StoreKind:
    """One kind of store: the schemes that select it, an example URL, and how to open one (within a budget)."""

    schemes: tuple[str, ...]
    example: str
    description: str
    open: Callable[[str, HeldBars], BarSource]


def _folder(url: str) -> Path:
    """The existing folder a file: or parquet: URL names (``parquet:///data/lake`` or ``parquet:data/lake``)."""
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise StoreUrlError(f"{parts.scheme}: URLs name a local folder; {parts.netloc!r} is a host")
    folder = Path(unquote(parts.path))
    if not folder.is_dir():
        raise StoreUrlError(f"{parts.scheme}: {str(folder)!r} is not a folder")
    return folder


def _open_folder(url: str, held: HeldBars) -> BarSource:
    return FolderSource(_folder(url))  # a folder of a few files: every one is held


def _open_dataset(url: str, held: HeldBars) -> BarSource:
    from idc_server.core.stores.dataset import DatasetSource

    return DatasetSource(_folder(url), held=held)


def _open_postgres(url: str, held: HeldBars) -> BarSource:
    from idc_server.core.stores.postgres import PostgresSource

    return PostgresSource(url, held=held)


STORE_KINDS: tuple[StoreKind, ...] = (
    StoreKind(("file",), "file:///data/bars", "a folder of CSV or Parquet files, one per symbol", _open_folder),
    StoreKind(
        ("parquet",),
        "parquet:///data/lake",
        "a Parquet dataset partitioned by symbol (symbol=SPY/*.parquet)",
        _open_dataset,
    ),
    StoreKind(
        ("postgresql", "postgres"),
        "postgresql://user@host/db",
        "a PostgreSQL (or TimescaleDB) database with idc's tables",
        _open_postgres,
    ),
)


def store_kind(url: str) -> StoreKind:
    """The kind a data URL selects; StoreUrlError if none."""
    scheme = urlsplit(url).scheme.lower()
    for kind in STORE_KINDS:
        if scheme in kind.schemes:
            return kind
    known = ", ".join(f"{kind.schemes[0]}: ({kind.example})" for kind in STORE_KINDS)
    raise StoreUrlError(f"{scheme or 'no'} scheme is not a kind of store; use one of {known}")


def open_source(url: str, held: HeldBars | None = None) -> BarSource:
    """The store a data URL names, opened (a database is connected on first use), keeping its bars within ``held``."""
    return store_kind(url).open(url, HeldBars() if held is None else held)


def check_url(url: str) -> None:
    """StoreUrlError if ``url`` names no kind of store, or a folder that does not exist (nothing is connected)."""
    kind = store_kind(url)
    if kind.open in (_open_folder, _open_dataset):
        _folder(url)
