"""The Parquet dataset store: one directory of many symbols, partitioned by symbol (``symbol=SPY/part-0.parquet``).

This is the Hive layout Spark, DuckDB, pandas (``partition_cols``) and
pyarrow write. A request for one symbol reads only that symbol's partition
folder with ``pyarrow.dataset``: the symbol predicate is resolved to the
folder before anything is opened, so the other thousands of partitions cost
nothing (decision 0023 has the measurements). The rows of all the files in a
partition, in file-name order, must form one series; they are held to the
rules of data files (``data_files.read_table``), so a row that breaks one
(a NaN, an unsorted or duplicate date) makes the symbol invalid, named by
its row (counted from 1 across the partition's files in name order) and
column, while every other symbol is served.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds

from idc_server.core.data_files import MANIFEST, SETTLE_NS, DataFileError, FolderSource, Table, read_table
from idc_server.core.sources import DEFAULT_PROFILE, Content, HeldBars, Listed, SymbolProfile

log = logging.getLogger(__name__)

PARTITION_KEY = "symbol"  # partition folders are named symbol=<SYMBOL>
PARQUET = ".parquet"

# Per file: name, inode, size, mtime and ctime in ns, and a digest of the bytes
# while the file is too young for its times to be trusted (``SETTLE_NS``).
Signature = tuple[tuple[str, int, int, int, int, bytes], ...]


@dataclass
class _Partition:
    """One symbol's folder and what was last read from it (``content`` is replaced whole, never changed)."""

    folder: Path
    profile: SymbolProfile
    lock: threading.Lock = field(default_factory=threading.Lock)
    checked_at: float = -float("inf")
    signature: Signature | None = None
    content: Content | None = None


class DatasetSource:
    """The store kind of a Parquet dataset directory partitioned by symbol.

    Listing reads folder names only, and only when the folder changed.
    A symbol's files are stat'ed at most once every ``check_seconds`` (and
    hashed while younger than ``SETTLE_NS``, as coarse file times can hide a
    quick rewrite): when their names, sizes, inodes, times or bytes changed,
    the partition is read again, so a rewritten or added file reaches the
    first request after that. Price adjustments, intervals, time zones and
    sessions are declared in ``symbols.toml`` at the top of the dataset, as
    in a folder of files.
    """

    checks_when_listed = False  # thousands of symbols: each is read when first asked for

    def __init__(
        self,
        root: Path,
        *,
        held: HeldBars | None = None,
        check_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.root = root
        self._held = HeldBars() if held is None else held
        self._check_seconds = check_seconds
        self._clock = clock
        self._manifest = FolderSource(root)  # reads symbols.toml, logging its problems once
        self._partitions: dict[str, _Partition] = {}  # by upper-cased symbol
        self._listed: dict[str, Listed] = {}
        self._stamp: tuple[int, ...] | None = None  # the folder's and the manifest's times when last listed

    def listing(self) -> dict[str, Listed]:
        """The partitions now, by upper-cased symbol.

        The folder is listed again only when its own times or the manifest's
        changed (adding or removing a partition folder changes them), or
        while they are too young to trust (``SETTLE_NS``).
        """
        stamp = _stamp(self.root)
        if stamp is not None and stamp == self._stamp and time.time_ns() - max(stamp[:2]) > SETTLE_NS:
            return self._listed
        self._listed = self._list()
        self._stamp = stamp
        return self._listed

    def _list(self) -> dict[str, Listed]:
        declared = self._manifest._manifest()
        prefix = f"{PARTITION_KEY}="
        try:
            names = sorted(entry.name for entry in os.scandir(self.root) if entry.name.startswith(prefix))
        except OSError as error:
            log.warning("Parquet dataset %s cannot be listed: %s", self.root, error.strerror)
            names = []
        listed, partitions = {}, {}
        for name in names:
            symbol = name.removeprefix(prefix)
            key = symbol.upper()
            if not symbol or key in listed:
                continue  # symbol= alone, or a second spelling of the same symbol: the first wins
            adjustment, profile = declared.get(key, (None, DEFAULT_PROFILE))
            listed[key] = Listed(symbol, f"{name}/", adjustment, profile)
            known = self._partitions.get(key)
            same = known is not None and known.profile == profile
            partitions[key] = known if known is not None and same else _Partition(self.root / name, profile)
        self._partitions = partitions
        return listed

    def content(self, key: str) -> Content | None:
        """The partition's content, read again if its files changed; None if it is gone."""
        partition = self._partitions.get(key)
        if partition is None:
            return None
        content = partition.content  # read once: the budget may let go of it meanwhile
        if content is not None and self._clock() - partition.checked_at < self._check_seconds:
            self._held.touch((id(self), key))
            return content
        with partition.lock:
            now = self._clock()
            if partition.content is not None and now - partition.checked_at < self._check_seconds:
                return partition.content
            signature = _signature(partition.folder)
            if signature is None:
                return None
            if partition.content is None or signature != partition.signature:
                partition.content = content = _load(partition.folder, partition.profile, signature)
                partition.signature = signature
                size = 0 if content.history is None else content.history.size_bytes
                self._held.keep((id(self), key), size, partition.lock, functools.partial(_forget, partition))
            partition.checked_at = now
            return partition.content

    def prefetch(self, keys: Sequence[str]) -> None:
        """Nothing to batch: each file is read when asked for."""

    def close(self) -> None:
        """Nothing is held open between calls."""


def _forget(partition: _Partition) -> None:
    """Let go of a partition's bars (the budget's choice): the next request reads them again."""
    partition.content, partition.signature, partition.checked_at = None, None, -float("inf")


def _stamp(root: Path) -> tuple[int, ...] | None:
    """The dataset folder's mtime and ctime and its manifest's signature (0s if absent); None if unreadable."""
    try:
        folder = os.stat(root)
    except OSError:
        return None
    try:
        manifest = os.stat(root / MANIFEST)
        declared: tuple[int, ...] = (manifest.st_ino, manifest.st_size, manifest.st_mtime_ns, manifest.st_ctime_ns)
    except OSError:
        declared = (0, 0, 0, 0)
    return (folder.st_mtime_ns, folder.st_ctime_ns, *declared)


def _signature(folder: Path) -> Signature | None:
    """What identifies the partition's Parquet files now; None when the folder is gone."""
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except FileNotFoundError:
        return None
    signature = []
    for entry in entries:
        if entry.name.lower().endswith(PARQUET) and entry.is_file():
            stat = entry.stat()
            young = time.time_ns() - max(stat.st_mtime_ns, stat.st_ctime_ns) <= SETTLE_NS
            try:
                digest = hashlib.blake2b(Path(entry.path).read_bytes(), digest_size=16).digest() if young else b""
            except OSError:
                digest = b"unreadable"
            signature.append((entry.name, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, digest))
    return tuple(signature)


def _load(folder: Path, profile: SymbolProfile, signature: Signature) -> Content:
    """Read and check a partition's files; log what was found (once per version)."""
    files = [name for name, *_ in signature]
    version = hashlib.blake2b(repr(signature).encode(), digest_size=16).hexdigest()
    try:
        if not files:
            raise DataFileError("the partition holds no .parquet file")
        dataset = ds.dataset([str(folder / name) for name in files], format="parquet")
        # Rows are numbered from 1 across the partition's files in name order.
        version = f"{folder.name}:{version}"
        bars = read_table(Table(dataset.to_table().to_pandas(), lambda row: row + 1, "row"), profile, version)
    except DataFileError as error:
        content = Content(None, str(error))
    except (pa.ArrowException, OSError) as error:  # a file that is not Parquet, or schemas that do not merge
        content = Content(None, f"not a Parquet dataset pyarrow can read: {type(error).__name__}: {_first_line(error)}")
    else:
        content = Content(bars.history, "", bars.warning_count, bars.first_warning)
    if content.problem:
        log.warning("Parquet partition %s is refused, so it cannot be served: %s", folder.name, content.problem)
    return content


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:200] if lines else "no detail"
