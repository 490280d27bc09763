"""Go's ``idc`` and Python's ``idc-client`` against the same real servers: same exit status, same stdout, same stderr.

clients/CLI.md is the design both follow; this test is its check.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import free_port, go_binary, idc_servers, write_pki


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("parity")
    write_pki(path)
    return path


@pytest.fixture(scope="module")
def go_idc(folder: Path) -> Path:
    return go_binary(folder)


@pytest.fixture(scope="module")
def targets(folder: Path) -> Iterator[dict[str, str]]:
    """A plaintext, a TLS and a mutual-TLS server, and an address where nothing listens."""
    tls = ("--tls-cert", str(folder / "server.pem"), "--tls-key", str(folder / "server-key.pem"))
    with idc_servers((), tls, (*tls, "--tls-client-ca", str(folder / "ca.pem"))) as (plain, secured, mutual):
        yield {"plain": plain, "tls": secured, "mtls": mutual, "nothing": f"127.0.0.1:{free_port()}"}


def run_both(go_idc: Path, folder: Path, args: list[str], env: dict[str, str]) -> tuple[tuple[int, str, str], ...]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("IDC_", "GRPC_"))}
    environment |= env
    results = []
    for command in ([str(go_idc)], [sys.executable, "-m", "idc_client"]):
        done = subprocess.run(
            [*command, *args], cwd=folder, env=environment, capture_output=True, text=True, timeout=120, check=False
        )
        results.append((done.returncode, done.stdout, done.stderr))
    return tuple(results)


CASES: dict[str, tuple[list[str], dict[str, str], int, str]] = {
    # name: (arguments with {plain}, {tls}, ... for targets, environment, exit status, a line of the output)
    "symbols": (["symbols", "--target", "{plain}"], {}, 0, "default symbol: SPY"),
    "symbols csv": (["symbols", "--target", "{plain}", "--csv"], {}, 0, "SPY,1993-01-29,2026-03-27,8347"),
    "target from IDC_TARGET": (["symbols"], {"IDC_TARGET": "{plain}"}, 0, "default symbol: SPY"),
    "macd table": (
        ["macd", "--target", "{plain}", "--start", "2023-12-01", "--end", "2023-12-29"],
        {},
        0,
        "2023-12-29  463.7283  464.2539  460.6238  462.5800  122283100  7.488092  7.522245  -0.034153",
    ),
    "macd csv, tdx": (
        ["macd", "--target", "{plain}", "--symbol", "000001.SH", "--convention", "tdx", "--csv"],
        {},
        0,
        "date,open,high,low,close,volume,macd,signal,histogram",
    ),
    "indicators in flag order": (
        [
            *("indicators", "--target", "{plain}", "--start", "2024-03-25", "--end", "2024-03-28"),
            *("--rsi", "14", "--macd=5,35,5", "--sma", "20", "--macd", "--boll", "20", "--kdj", "9", "--ema", "12"),
        ],
        {},
        0,
        "SPY, 4 bars, convention talib",
    ),
    "indicators csv": (
        ["indicators", "--target", "{plain}", "--symbol", "AAPL", "--sma", "5", "--rsi", "6", "--csv"],
        {"IDC_TARGET": "{plain}"},
        0,
        "date,sma5,rsi6",
    ),
    "chart": (["chart", "--target", "{plain}", "--sma", "20", "-o", "c.svg", "--format", "svg"], {}, 0, "wrote c.svg"),
    "not found": (
        ["macd", "--target", "{plain}", "--symbol", "NOPE"],
        {},
        5,
        "error: NOT_FOUND: symbol: unknown symbol",
    ),
    "invalid argument": (["macd", "--target", "{plain}", "--start", "2023-13-01"], {}, 3, "  start_date: '2023-13-01'"),
    "nothing listens": (["symbols", "--target", "{nothing}", "--retry", "1"], {}, 14, "(connection refused)"),
    "plaintext to TLS": (["symbols", "--target", "{tls}"], {}, 14, "if it serves TLS, add --tls"),
    "TLS to plaintext": (["symbols", "--target", "{plain}", "--tls"], {}, 14, "does not serve TLS"),
    "untrusted certificate": (
        ["symbols", "--target", "{tls}", "--tls"],
        {},
        14,
        "pass the CA that signed it with --ca",
    ),
    "private CA": (["symbols", "--target", "{tls}", "--ca", "ca.pem"], {}, 0, "default symbol: SPY"),
    "mTLS without a certificate": (
        ["symbols", "--target", "{mtls}", "--ca", "ca.pem"],
        {},
        14,
        "add --cert FILE --key FILE",
    ),
    "mTLS with a foreign certificate": (
        [
            "symbols",
            "--target",
            "{mtls}",
            "--ca",
            "ca.pem",
            "--cert",
            "other-client.pem",
            "--key",
            "other-client-key.pem",
        ],
        {},
        14,
        "does not accept the certificate of --cert",
    ),
    "mTLS": (
        ["symbols", "--target", "{mtls}", "--ca", "ca.pem", "--cert", "client.pem", "--key", "client-key.pem"],
        {},
        0,
        "default symbol: SPY",
    ),
    "token over plaintext refused": (["symbols", "--target", "{plain}"], {"IDC_TOKEN": "t0ken"}, 2, "needs TLS"),
    "token over plaintext allowed": (
        ["symbols", "--target", "{plain}", "--insecure-token"],
        {"IDC_TOKEN": "t0ken"},
        0,
        "default symbol: SPY",
    ),
    # The open catalogue (the server lists the example plugin, installed beside it).
    "catalogue": (["catalogue", "--target", "{plain}"], {}, 0, "example.ZSCORE "),
    "catalogue of a namespace, csv": (
        ["catalogue", "--target", "{plain}", "--namespace", "example", "--csv"],
        {},
        0,
        "example.ZSCORE,Statistics,timeperiod=20,zscore,19,",
    ),
    "catalogue NAME": (
        ["catalogue", "--target", "{plain}", "adx", "--param", "timeperiod=20"],
        {},
        0,
        "warm-up: 39 bars under talib\n",  # TA-Lib's ADX lookback, 2 * 20 - 1
    ),
    "catalogue of a formula file": (["catalogue", "--target", "{plain}", "tdx.MACD"], {}, 0, "DEA:EMA(DIF,"),
    "indicators by name and formula": (
        [
            *("indicators", "--target", "{plain}", "--symbol", "000001.SH", "--start", "2026-06-01"),
            *("--fn", "ADX:timeperiod=14", "--formula", "// param: N = 12, 2..100, span\nDIF:EMA(C,N)-EMA(C,26);"),
            *("--param", "N=10", "--fn", "z=example.ZSCORE", "--fn", "talib.CDLDOJI", "--csv"),
        ],
        {},
        0,
        "date,adx,formula,z,cdldoji\n",
    ),
    "indicators with a bad parameter": (
        ["indicators", "--target", "{plain}", "--fn", "talib.ADX:timeperiod=0"],
        {},
        3,
        "indicators[0].params.timeperiod",
    ),
    "screen with a formula": (
        ["screen", "--target", "{plain}", "--formula", "UP:C>MA(C,20); MA20:MA(C,20);", "--date", "2024-03-28"],
        {},
        0,
        "of 3 symbols match on output UP, convention tdx",
    ),
    "screen with a pattern, csv": (
        ["screen", "--target", "{plain}", "--fn", "talib.CDLDOJI", "--symbols", "SPY,AAPL", "--csv"],
        {},
        0,
        "symbol,date",
    ),
    "chart of any spec": (
        [
            *("chart", "--target", "{plain}", "--start", "2025-01-01", "--panel-fn", "talib.ADX:timeperiod=20"),
            *("--panel-formula", "// param: N = 5, 2..100, span\nGAP:C-MA(C,N);", "--param", "N=6"),
            *("--overlay-fn", "example.DONCHIAN"),
            # --param sets N of both formulas.
            *("--overlay-formula", "// param: N = 20, 2..100, span\nUP:CROSS(C,MA(C,N));"),
            *("--format", "svg", "-o", "spec.svg"),
        ],
        {},
        0,
        "wrote spec.svg: image/svg+xml 1200x800 at 100 dpi",
    ),
    "chart overlay of a panel's kind": (
        ["chart", "--target", "{plain}", "--overlay-fn", "talib.ADX", "-o", "bad.png"],
        {},
        3,
        "overlays[0].indicator",
    ),
    "cert without key": (
        ["symbols", "--target", "{tls}", "--cert", "client.pem"],
        {},
        2,
        "--cert and --key go together",
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_both_clis_answer_alike(name: str, go_idc: Path, folder: Path, targets: dict[str, str]) -> None:
    args, env, status, line = CASES[name]
    args = [arg.format(**targets) for arg in args]
    env = {key: value.format(**targets) for key, value in env.items()}
    go, python = run_both(go_idc, folder, args, env)
    assert go == python, f"Go and Python differ for {args}"
    assert go[0] == status, go
    assert line in go[1] + go[2], go
    if status != 0:
        assert go[1] == "", go
        assert len(go[2].splitlines()) <= 2, go  # one line, and at most one field at fault
