"""``idc-client``'s connection flags, as Go's ``idc`` takes them, and ``tls_credentials``."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from idc_client import tls_credentials
from idc_client.cli import _seconds, main


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30", 30.0), ("2.5", 2.5), ("30s", 30.0), ("1m", 60.0), ("1m30s", 90.0), ("500ms", 0.5), ("1h", 3600.0)],
)
def test_durations_are_seconds_or_go_durations(text: str, seconds: float) -> None:
    assert _seconds(text) == seconds


@pytest.mark.parametrize("text", ["soon", "30x", "s", "1m 30s", "nan", "inf", ""])
def test_other_durations_are_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="want seconds or a duration such as 30s"):
        _seconds(text)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--keepalive", "5s"], "error: --keepalive 5s is below the server's minimum of 10s\n"),
        (["--retry", "0"], "error: --retry must be at least 1, got 0\n"),
        (["--timeout", "0"], "error: --timeout must be positive, got 0s\n"),
        (["--key", "k.pem"], "error: --cert and --key go together\n"),
    ],
)
def test_flags_that_cannot_work_exit_2_before_any_call(
    flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["symbols", "--target", "127.0.0.1:1", *flags]) == 2
    assert capsys.readouterr().err == message


def test_a_missing_ca_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "none.pem"
    assert main(["symbols", "--target", "127.0.0.1:1", "--ca", str(missing)]) == 2
    assert capsys.readouterr().err == f"error: CA file {missing}: No such file or directory\n"


def test_tls_credentials_refuses_a_file_without_pem(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not pem\n")
    with pytest.raises(ValueError, match=r"certificate file .*junk.pem: not a PEM file"):
        tls_credentials(cert=junk, key=junk)
    with pytest.raises(ValueError, match="cert and key go together"):
        tls_credentials(cert=junk)
