"""The Parquet dataset store: a partition per symbol, read alone; rows across files form one checked series."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from store_kinds import FakeClock, bars_frame

from idc_server.core.data import BarStore
from idc_server.core.errors import FailedPreconditionError
from idc_server.core.stores.dataset import DatasetSource

DAYS = ["2024-01-02", "2024-01-03", "2024-01-04"]


def write(root: Path, symbol: str, name: str, frame: pd.DataFrame) -> None:
    folder = root / f"symbol={symbol}"
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(folder / name)


def store(root: Path) -> BarStore:
    return BarStore([DatasetSource(root, clock=FakeClock())])


def test_a_symbol_is_read_from_its_partition_alone(tmp_path: Path) -> None:
    write(tmp_path, "GOOD", "part-0.parquet", bars_frame(DAYS, [1.0, 2.0, 3.0]))
    broken = tmp_path / "symbol=BROKEN"
    broken.mkdir()
    (broken / "part-0.parquet").write_bytes(b"PAR1 this is not Parquet")
    bar_store = store(tmp_path)
    assert bar_store.symbols() == ["BROKEN", "GOOD"]
    assert list(bar_store.history("good").columns["close"]) == [1.0, 2.0, 3.0]
    with pytest.raises(FailedPreconditionError, match=r"'BROKEN' cannot be served: symbol=BROKEN/: not a Parquet"):
        bar_store.history("BROKEN")


def test_files_of_a_partition_are_one_series_in_name_order(tmp_path: Path) -> None:
    write(tmp_path, "SPLIT", "part-0.parquet", bars_frame(DAYS[:2], [1.0, 2.0]))
    write(tmp_path, "SPLIT", "part-1.parquet", bars_frame(DAYS[2:], [3.0]))
    assert list(store(tmp_path).history("SPLIT").columns["close"]) == [1.0, 2.0, 3.0]


def test_a_date_in_two_files_is_refused_naming_the_row(tmp_path: Path) -> None:
    write(tmp_path, "TWICE", "part-0.parquet", bars_frame(DAYS, [1.0, 2.0, 3.0]))
    write(tmp_path, "TWICE", "part-1.parquet", bars_frame(DAYS[2:], [3.5]))
    with pytest.raises(FailedPreconditionError) as raised:
        store(tmp_path).history("TWICE")
    assert "symbol=TWICE/: row 4, column index date: 2024-01-04 follows 2024-01-04" in str(raised.value)


def test_unsorted_rows_are_refused_naming_the_row(tmp_path: Path) -> None:
    write(tmp_path, "BACK", "part-0.parquet", bars_frame([DAYS[1], DAYS[0], DAYS[2]], [1.0, 2.0, 3.0]))
    with pytest.raises(FailedPreconditionError, match=r"row 2, column index date: 2024-01-02 follows 2024-01-03"):
        store(tmp_path).history("BACK")


def test_an_empty_partition_is_refused(tmp_path: Path) -> None:
    (tmp_path / "symbol=EMPTY").mkdir()
    with pytest.raises(FailedPreconditionError, match=r"holds no \.parquet file"):
        store(tmp_path).history("EMPTY")


def test_a_removed_partition_is_not_found_and_folders_of_other_names_are_ignored(tmp_path: Path) -> None:
    write(tmp_path, "GONE", "part-0.parquet", bars_frame(DAYS, [1.0, 2.0, 3.0]))
    (tmp_path / "_metadata_notes").mkdir()
    bar_store = BarStore([DatasetSource(tmp_path, clock=FakeClock())], relist_seconds=0)
    assert bar_store.symbols() == ["GONE"]
    for path in (tmp_path / "symbol=GONE").iterdir():
        path.unlink()
    (tmp_path / "symbol=GONE").rmdir()
    assert bar_store.symbols() == []


def test_a_partition_added_after_a_listing_is_listed(tmp_path: Path) -> None:
    write(tmp_path, "FIRST", "part-0.parquet", bars_frame(DAYS, [1.0, 2.0, 3.0]))
    bar_store = BarStore([DatasetSource(tmp_path, clock=FakeClock())], relist_seconds=0)
    assert bar_store.symbols() == ["FIRST"]
    write(tmp_path, "SECOND", "part-0.parquet", bars_frame(DAYS, [4.0, 5.0, 6.0]))
    assert bar_store.symbols() == ["FIRST", "SECOND"]
    assert list(bar_store.history("second").columns["close"]) == [4.0, 5.0, 6.0]


class FrozenTimes:
    """A directory entry whose file's times never move, as on a filesystem with coarse times."""

    def __init__(self, entry: os.DirEntry[str], times_ns: int) -> None:
        self._entry, self._times_ns = entry, times_ns
        self.name, self.path = entry.name, entry.path

    def is_file(self) -> bool:
        return self._entry.is_file()

    def is_dir(self) -> bool:
        return self._entry.is_dir()

    def stat(self) -> FrozenStat:
        return FrozenStat(self._entry.stat(), self._times_ns)


class FrozenStat:
    """A file's real stat result, but with modification and change times of ``times_ns``."""

    def __init__(self, real: os.stat_result, times_ns: int) -> None:
        self._real = real
        self.st_mtime_ns = self.st_ctime_ns = times_ns

    def __getattr__(self, name: str) -> object:
        return getattr(self._real, name)


def same_size_rewrite(path: Path, frame: pd.DataFrame) -> None:
    """Overwrite ``path`` in place (same inode) with ``frame``, which must encode to as many bytes."""
    table = pa.Table.from_pandas(frame)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="none", write_statistics=False)
    data = sink.getvalue().to_pybytes()
    assert len(data) == path.stat().st_size
    with path.open("r+b") as file:
        file.write(data)


@pytest.mark.parametrize(("age_s", "seen"), [(0.0, True), (60.0, False)])
def test_a_rewrite_that_keeps_size_inode_and_times_is_seen_while_the_file_is_young(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, age_s: float, seen: bool
) -> None:
    folder = tmp_path / "symbol=SAME"
    folder.mkdir()
    path = folder / "part-0.parquet"
    pq.write_table(
        pa.Table.from_pandas(bars_frame(DAYS, [1.0, 2.0, 3.0])), path, compression="none", write_statistics=False
    )
    frozen_at = time.time_ns() - int(age_s * 1e9)
    scandir = os.scandir

    def frozen_scandir(where: str | os.PathLike[str]) -> list[FrozenTimes]:
        return [FrozenTimes(entry, frozen_at) for entry in scandir(where)]

    monkeypatch.setattr(os, "scandir", frozen_scandir)  # as the dataset store calls it
    clock = FakeClock()
    bar_store = BarStore([DatasetSource(tmp_path, clock=clock)], relist_seconds=0)
    assert list(bar_store.history("SAME").columns["close"]) == [1.0, 2.0, 3.0]
    same_size_rewrite(path, bars_frame(DAYS, [1.0, 2.0, 4.0]))
    clock.advance(1.01)
    # Younger than the settle time, its bytes are hashed, so the rewrite is seen; older, times are trusted.
    assert list(bar_store.history("SAME").columns["close"]) == ([1.0, 2.0, 4.0] if seen else [1.0, 2.0, 3.0])
