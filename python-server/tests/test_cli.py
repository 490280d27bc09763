"""``idc-server`` as a process: a problem the operator must fix is one line on stderr and a non-zero exit."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tls_support import self_signed


def run_server(*flags: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run ``python -m idc_server`` (what the ``idc-server`` script runs) until it exits; it must not serve."""
    return subprocess.run(
        [sys.executable, "-m", "idc_server", "--host", "127.0.0.1", *flags],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def last_line(result: subprocess.CompletedProcess[str]) -> str:
    """The last line of stderr, after checking that there is no traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    return result.stderr.strip().splitlines()[-1]


def only_line(result: subprocess.CompletedProcess[str]) -> str:
    """stderr's one line: nothing else (no log line of gRPC's core before it)."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port another socket listens on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield int(other.getsockname()[1])


@pytest.mark.parametrize("flag", ["--port", "--metrics-port"])
@pytest.mark.parametrize("value", ["65536", "99999", "-1"])
def test_a_port_out_of_range_is_refused_instead_of_wrapping(flag: str, value: str) -> None:
    result = run_server(flag, value)
    assert result.returncode == 2
    assert last_line(result) == f"idc-server: error: {flag} must be a TCP port, 0-65535, got {value}"


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_port_in_use_is_named_as_such(busy_port: int, workers: str) -> None:
    result = run_server("--port", str(busy_port), "--workers", workers)
    assert result.returncode == 1
    assert only_line(result) == (
        f"idc-server: error: cannot listen on 127.0.0.1:{busy_port}: "
        f"another program is using port {busy_port}; stop it or choose another --port"
    )


def test_an_address_of_no_interface_is_named_as_such() -> None:
    result = run_server("--port", "0", "--host", "192.0.2.1")  # TEST-NET-1: never a local address
    assert result.returncode == 1
    assert only_line(result) == (
        "idc-server: error: cannot listen on 192.0.2.1:0: "
        "no network interface of this machine has the address 192.0.2.1 (--host)"
    )


def test_tls_files_that_are_not_what_their_flags_say_are_named_not_the_port(tmp_path: Path) -> None:
    cert, key = self_signed("localhost").write(tmp_path, "server")
    other_key = self_signed("localhost").write(tmp_path, "other").key
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    cases = {
        ("--tls-cert", garbage, "--tls-key", key): (
            f"--tls-cert {garbage}: not a PEM certificate (want a file with -----BEGIN CERTIFICATE-----)"
        ),
        ("--tls-cert", cert, "--tls-key", cert): (
            f"--tls-key {cert}: not a PEM private key (want a file with -----BEGIN ... PRIVATE KEY-----)"
        ),
        (
            "--tls-cert",
            cert,
            "--tls-key",
            other_key,
        ): f"--tls-key {other_key} is not the private key of --tls-cert {cert}",
        ("--tls-cert", cert, "--tls-key", key, "--tls-client-ca", garbage): (
            f"--tls-client-ca {garbage}: not a PEM file of CA certificates"
        ),
    }
    for flags, message in cases.items():
        result = run_server("--port", "0", *map(str, flags))
        assert result.returncode == 2, result.stderr
        assert last_line(result) == f"idc-server: error: {message}"
        assert "bind" not in result.stderr.lower()


def test_a_plugin_that_cannot_be_loaded_stops_the_server_naming_it(tmp_path: Path) -> None:
    (tmp_path / "clashing_plugin.py").write_text(
        "from idc_server.core.catalogue.plugins import indicator\n"
        "ENTRIES = [indicator(name='example.ZSCORE', group='g', description='d', inputs=('close',),\n"
        "    outputs=(('z', 'unitless'),), lookback=lambda: 0)(lambda close: close)]\n"
    )
    cases = {
        ("--plugins", "no_such_plugin_module:ENTRIES"): (
            "plugin no_such_plugin_module:ENTRIES: ModuleNotFoundError: No module named 'no_such_plugin_module'"
        ),
        # Beside the installed example plugin, a second example.ZSCORE is a clash.
        ("--plugins", "clashing_plugin:ENTRIES"): (
            "plugin clashing_plugin:ENTRIES: example.ZSCORE is already registered as example.ZSCORE"
        ),
    }
    for flags, reason in cases.items():
        result = subprocess.run(
            [sys.executable, "-m", "idc_server", "--host", "127.0.0.1", "--port", "0", *flags],
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
            check=False,
            env={**os.environ, "PYTHONPATH": str(tmp_path)},
        )
        assert result.returncode == 2, result.stderr
        assert last_line(result) == f"idc-server: error: {reason}"
