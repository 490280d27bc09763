"""Shared fixtures: a real server on a free port and a channel to it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from store_kinds import KINDS, DatasetStore, FolderStore, PostgresStore, StoreUnderTest, postgres_schema

from idc_server.config import ServerConfig
from idc_server.server import RunningServer, start_server


@pytest.fixture(scope="session")
def server() -> Iterator[RunningServer]:
    """idc-server on the bundled data, bound to a free loopback port."""
    running = start_server(ServerConfig(host="127.0.0.1", port=0))
    yield running
    running.stop(None)


@pytest.fixture(scope="session")
def channel(server: RunningServer) -> Iterator[grpc.Channel]:
    """An insecure channel to the test server."""
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        yield channel


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreUnderTest]:
    """Each kind of store in turn (a folder, a Parquet dataset, PostgreSQL), empty, in the test's own place."""
    kind = request.param
    if kind == "file":
        (tmp_path / "files").mkdir()
        yield FolderStore(tmp_path / "files")
    elif kind == "parquet":
        (tmp_path / "lake").mkdir()
        yield DatasetStore(tmp_path / "lake")
    else:
        with postgres_schema() as url:
            postgres = PostgresStore(url, tmp_path)
            yield postgres
            postgres.close()
