"""Shared fixtures: a real server on a free port and a channel to it."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

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
