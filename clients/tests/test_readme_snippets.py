"""The README's Go and Python examples, extracted from it, compiled and run against a real server.

The Go program is built in a module of its own that imports the client the
way the README says to before the module is published: a ``replace``
directive to this checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from readme_snippets import code_blocks
from servers import GO_MODULE, REPOSITORY, idc_server

from idc_client import IdcClient

README = REPOSITORY / "README.md"
DEFAULT_TARGET = "localhost:50051"


@pytest.fixture(scope="module")
def target() -> Iterator[str]:
    with idc_server() as address:
        yield address


def test_the_extractor_finds_the_readmes_go_and_python_programs() -> None:
    go, python = code_blocks(README, "go"), code_blocks(README, "python")
    # The MACD program, then the catalogue's, in each language.
    assert len(go) == 2, go
    assert all(program.startswith("package main\n") for program in go), go
    assert len(python) == 2, python
    assert all("IdcClient" in program for program in python), python
    assert all(DEFAULT_TARGET in program for program in go + python)
    assert "ListIndicators" in go[1]
    assert "list_indicators" in python[1]


def run_go_program(program: str, folder: Path) -> str:
    """Build and run a README Go program in a module of its own, as the README says; its stdout."""
    go = shutil.which("go")
    assert go is not None, "the Go toolchain is needed to check the README's Go"
    (folder / "main.go").write_text(program)
    # What the README tells a new module to do, pointed at this checkout; the
    # consumer example's go.sum holds the checksums, so nothing is downloaded.
    shutil.copy(GO_MODULE / "examples" / "consumer" / "go.sum", folder / "go.sum")
    environment = os.environ | {"GOFLAGS": "-mod=mod", "GOWORK": "off"}
    steps = [
        [go, "mod", "init", "example.com/readme"],
        [
            go,
            "mod",
            "edit",
            "-require=github.com/idcrpc/idc/clients/go@v0.0.0",
            f"-replace=github.com/idcrpc/idc/clients/go={GO_MODULE}",
        ],
        [go, "mod", "tidy"],
        [go, "vet", "."],
        [go, "run", "."],
    ]
    for step in steps:
        done = subprocess.run(
            step, cwd=folder, env=environment, capture_output=True, text=True, timeout=600, check=False
        )
        assert done.returncode == 0, f"{' '.join(step[1:])}:\n{done.stdout}{done.stderr}"
    return done.stdout


def test_the_readme_go_program_compiles_and_prints_the_last_macd(target: str, tmp_path: Path) -> None:
    stdout = run_go_program(code_blocks(README, "go")[0].replace(DEFAULT_TARGET, target), tmp_path)
    assert stdout == (
        "2023-12-29 close 462.58 MACD 7.4881\n"
        "48 bars from 2020-07-01 09:30 CST\n"  # the Shanghai minutes in 5-minute bars, without the lunch break
        "forward closes 50 51 51 52\n"  # 100 and 102 halved at the 2-for-1 split, by hand
    )
    assert (tmp_path / "macd.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_the_readme_python_program_runs_and_prints_the_last_macd(target: str, tmp_path: Path) -> None:
    program = code_blocks(README, "python")[0]
    done = subprocess.run(
        [sys.executable, "-c", program.replace(DEFAULT_TARGET, target)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    values = dict(line.split() for line in done.stdout.splitlines()[:4])
    assert {name: round(float(value), 6) for name, value in values.items()} == {
        "close": 462.579956,
        "macd": 7.488092,
        "signal": 7.522245,
        "histogram": -0.034153,
    }
    assert done.stdout.splitlines()[-2:] == [
        "48 bars from 2020-07-01 09:30:00+08:00",
        "forward closes [50.0, 51.0, 51.0, 52.0]",
    ]
    assert (tmp_path / "macd.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def catalogue_lines(target: str) -> list[str]:
    """What the README's catalogue programs print, computed here from the bars with TA-Lib and pandas."""
    import talib

    with IdcClient(target) as client:
        spy = client.macd("SPY", end="2023-12-29")
        closes = {symbol: client.macd(symbol, end="2024-03-28")["close"] for symbol in ("000001.SH", "AAPL", "SPY")}
    adx = talib.ADX(spy["high"].to_numpy(), spy["low"].to_numpy(), spy["close"].to_numpy(), timeperiod=14)[-1]
    # 通达信's EMA is seeded with the first close: pandas' ewm with adjust=False.
    close = spy["close"]
    dif = close.ewm(span=12, adjust=False).mean().iloc[-1] - close.ewm(span=26, adjust=False).mean().iloc[-1]
    above = [symbol for symbol, series in closes.items() if series.iloc[-1] > series.iloc[-20:].mean()]
    return [f"adx {adx:.4f} DIF {dif:.4f}", " ".join(above)]


def test_the_readme_go_catalogue_program(target: str, tmp_path: Path) -> None:
    stdout = run_go_program(code_blocks(README, "go")[1].replace(DEFAULT_TARGET, target), tmp_path)
    assert stdout.splitlines() == ["talib.ADX 14 OUTPUT_KIND_PERCENT", *catalogue_lines(target)]


def test_the_readme_python_catalogue_program(target: str, tmp_path: Path) -> None:
    program = code_blocks(README, "python")[1].replace(DEFAULT_TARGET, target)
    done = subprocess.run(
        [sys.executable, "-c", program], cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["talib.ADX 14 percent", *catalogue_lines(target)]
