"""Real ``idc-server`` processes and a real Go ``idc`` binary for the cross-language tests of this folder."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tls_support import LOOPBACK, make_ca, make_leaf

REPOSITORY = Path(__file__).resolve().parents[2]
GO_MODULE = REPOSITORY / "clients" / "go"


def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def idc_servers(*flag_sets: tuple[str, ...], seconds: float = 180.0) -> Iterator[list[str]]:
    """``python -m idc_server`` with each set of flags, on free loopback ports, until the block ends.

    The servers start together and are waited for together (each imports
    pandas and matplotlib, which takes a while on a busy machine); yields
    their targets in order.
    """
    ports = [free_port() for _ in flag_sets]
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "idc_server", "--host", "127.0.0.1", "--port", str(port), *flags],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port, flags in zip(ports, flag_sets, strict=True)
    ]
    try:
        deadline = time.monotonic() + seconds
        waiting = set(range(len(ports)))
        while waiting:
            for index in sorted(waiting):
                process = processes[index]
                assert process.poll() is None, f"idc-server {flag_sets[index]} exited with {process.returncode}"
                with socket.socket() as probe:
                    if probe.connect_ex(("127.0.0.1", ports[index])) == 0:
                        waiting.discard(index)
            assert time.monotonic() < deadline, (
                f"idc-server {[flag_sets[i] for i in waiting]} not listening in {seconds}s"
            )
            time.sleep(0.05)
        yield [f"127.0.0.1:{port}" for port in ports]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


@contextmanager
def idc_server(*flags: str) -> Iterator[str]:
    """One ``idc-server`` with ``flags`` (see ``idc_servers``); yields its target."""
    with idc_servers(flags) as (target,):
        yield target


def go_binary(folder: Path) -> Path:
    """Build the Go client's ``idc`` command into ``folder``."""
    go = shutil.which("go")
    assert go is not None, "the Go toolchain is needed: the README's Go and the Go CLI are part of the gate"
    binary = folder / "idc"
    subprocess.run([go, "build", "-o", str(binary), "./cmd/idc"], cwd=GO_MODULE, check=True, timeout=600)
    return binary


def write_pki(folder: Path) -> None:
    """Write ca.pem, server.pem, client.pem (signed by ca) and other-ca.pem, other-client.pem, with keys.

    Both CLIs read these names. Every leaf (subject "server" or "client") names localhost and 127.0.0.1.
    """
    for prefix in ("", "other-"):
        ca = make_ca(f"{prefix}test CA")
        ca.write(folder, f"{prefix}ca")
        for role in ("server", "client"):
            make_leaf(role, ca, LOOPBACK).write(folder, f"{prefix}{role}")
    os.chmod(folder, 0o755)
