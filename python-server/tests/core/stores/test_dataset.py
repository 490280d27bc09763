"""The Parquet dataset store: a partition per symbol, read alone; rows across files form one checked series."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
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
