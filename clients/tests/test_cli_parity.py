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

from idc_common.columns import COLUMN_ALIASES

# --bars files both CLIs must read alike: the first rows of the bundled AAPL (a Yahoo Finance download) and of
# the SSE Composite in the 通达信-style layout czsc exports (symbol,dt,open,close,high,low,vol, a 15:00 time).
BARS_FILES = {
    "yahoo.csv": "Date,Open,High,Low,Close,Adj Close,Volume\n"
    "2004-08-19,2.250714,2.275714,2.168571,2.193571,1.966391,97230000\n"
    "2004-08-20,2.193571,2.213571,2.177857,2.200000,1.972154,79195200\n"
    "2004-08-23,2.204286,2.233572,2.185714,2.220000,1.990082,63665000\n"
    "2004-08-24,2.232857,2.282143,2.227857,2.282143,2.045789,93534000\n",
    "tdx.csv": "\ufeffsymbol,dt,open,close,high,low,vol\n"
    "000001.SH,2006-11-06 15:00:00,1853.19,1886.31,1886.52,1846.01,49544517.0\n"
    "000001.SH,2006-11-07 15:00:00,1889.53,1889.53,1897.41,1862.93,54849074.0\n"
    "000001.SH,2006-11-08 15:00:00,1885.86,1866.82,1886.26,1865.22,37770454.0\n"
    "000001.SH,2006-11-09 15:00:00,1860.95,1896.48,1899.1,1858.6,44096182.0\n",
    "no-volume.csv": "date,open,high,low,close\n2024-01-02,1,2,0.5,1.5\n",
    "bad-number.csv": "date,open,high,low,close,volume\n2024-01-02,1,2,0.5,1.5,10\n2024-01-03,1,2,0.5,n/a,10\n",
    "bad-date.csv": "Date,Open,High,Low,Close,Volume\n02.01.2024,1,2,0.5,1.5,10\n",
    "high-below-low.csv": "date,open,high,low,close,volume\n2024-01-02,1,2,0.5,1.5,10\n2024-01-03,1,0.4,0.5,1.5,10\n",
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("parity")
    write_pki(path)
    for name, text in BARS_FILES.items():
        (path / name).write_text(text, encoding="utf-8")
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
    "symbols with a prefix": (["symbols", "--target", "{plain}", "--prefix", "a"], {}, 0, "default symbol: SPY"),
    "symbols csv with a prefix": (["symbols", "--target", "{plain}", "--prefix", "0", "--csv"], {}, 0, "000001.SH,"),
    "macd weekly, as stored": (
        ["macd", "--target", "{plain}", "--start", "2023-11-01", "--interval", "1w", "--adjust", "as-stored"],
        {},
        0,
        "SPY MACD(12,26,9)",
    ),
    "indicators of 1-minute bars": (
        ["indicators", "--target", "{plain}", "--symbol", "000001.SH", "--interval", "1m", "--sma", "5"],
        {},
        9,  # FAILED_PRECONDITION: 000001.SH is stored at 1 day
        "error: FAILED_PRECONDITION: ",
    ),
    "yahoo --bars": (
        ["macd", "--target", "{plain}", "--bars", "yahoo.csv", "--fast", "2", "--slow", "3", "--signal", "2"],
        {},
        0,
        "(inline bars)",
    ),
    "tdx --bars as CSV": (
        ["indicators", "--target", "{plain}", "--bars", "tdx.csv", "--sma", "2", "--csv"],
        {},
        0,
        "2006-11-07,1887.92",
    ),
    "tdx --bars chart": (
        ["chart", "--target", "{plain}", "--bars", "tdx.csv", "--panels", "volume", "-o", "tdx.png"],
        {},
        0,
        "wrote tdx.png",
    ),
    "tdx --bars graph": (
        [
            "graph",
            "--target",
            "{plain}",
            "--bars",
            "tdx.csv",
            "--fast",
            "2",
            "--slow",
            "3",
            "--signal",
            "2",
            "-o",
            "tdx-macd.png",
        ],
        {},
        0,
        "wrote",
    ),
    "--bars without volume": (["macd", "--target", "{plain}", "--bars", "no-volume.csv"], {}, 2, "no volume column"),
    "--bars with a bad number": (
        ["macd", "--target", "{plain}", "--bars", "bad-number.csv"],
        {},
        2,
        "error: --bars bad-number.csv: line 3, column close: 'n/a' is not a number",
    ),
    "--bars with a bad date": (["macd", "--target", "{plain}", "--bars", "bad-date.csv"], {}, 2, "line 2, column Date"),
    "--bars missing": (
        ["macd", "--target", "{plain}", "--bars", "none.csv"],
        {},
        2,
        "error: --bars none.csv: no such file or directory",
    ),
    "--bars the server refuses": (
        ["macd", "--target", "{plain}", "--bars", "high-below-low.csv"],
        {},
        3,
        "inline_bars.high",
    ),
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
        "of 3 symbols match on output UP, convention tdx; 2 skipped",  # the 1-minute symbols have days too few for MA20
    ),
    "screen weekly and forward-adjusted": (
        [
            *("screen", "--target", "{plain}", "--formula", "UP:C>MA(C,20);", "--symbols", "SPY,AAPL,000001.SH"),
            *("--interval", "1w", "--adjust", "forward"),
        ],
        {},
        0,
        "of 1 symbols match on output UP, convention tdx; 2 skipped",
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


@pytest.mark.parametrize("alias", sorted(COLUMN_ALIASES))
def test_both_clis_read_every_column_spelling(alias: str, go_idc: Path, folder: Path, targets: dict[str, str]) -> None:
    """A --bars file naming one column by each of idc_common.columns' aliases (upper case) reads alike in both.

    The dates come last, so that a date alias a CLI does not know is not saved by its first-column fallback,
    and factor aliases are used with --adjust forward, so that a CLI that dropped them would be refused.
    """
    ours = COLUMN_ALIASES[alias]
    header = ["open", "high", "low", "close", "volume", "date", "factor"]
    factors = ours == "factor"
    if not factors:
        header.pop()
    header = [alias.upper() if name == ours else name for name in header]
    rows = [
        [str(10 + day), str(12 + day), str(9 + day), str(11 + day), "100", f"2024-01-{day:02d}", str(factor)]
        for day, factor in ((2, 1), (3, 1), (4, 2))
    ]
    text = "\n".join([",".join(header), *(",".join(row[: len(header)]) for row in rows)]) + "\n"
    (folder / f"alias-{alias}.csv").write_text(text, encoding="utf-8")
    args = ["macd", "--target", targets["plain"], "--bars", f"alias-{alias}.csv", "--csv"]
    args += ["--fast", "2", "--slow", "3", "--signal", "2"]
    if factors:
        args += ["--adjust", "forward"]

    go, python = run_both(go_idc, folder, args, {})

    assert go == python, f"Go and Python differ for the column spelled {alias.upper()}"
    assert go[0] == 0, go
    # 前复权 halves the bars before the factor doubles: open 12, high 14, low 11, close 13 become 6, 7, 5.5, 6.5.
    first = "2024-01-02,6,7,5.5,6.5,100" if factors else "2024-01-02,12,14,11,13,100"
    assert go[1].splitlines()[1].startswith(first), go
