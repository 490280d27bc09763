"""Tasks for the idc monorepo. `nox -l` lists them; `nox` runs the whole gate.

Every tool is installed by the session that needs it, at the versions pinned
in constraints.txt (Python), tools/go/go.mod (Go code generators) and
clients/typescript/package-lock.json (the TypeScript generator and client).
"""

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

import nox

ROOT = Path(__file__).parent
CONSTRAINTS = ("-c", str(ROOT / "constraints.txt"))
# The interpreter running nox: uv would otherwise try to download a Python.
PYTHON = sys.executable
GENERATED = ("clients/python/src/idc", "clients/go/gen", "clients/typescript/gen", "clients/schema")
TYPESCRIPT = "clients/typescript"
# The buf image of idc.v1 that consumers without the Buf Schema Registry generate from.
SCHEMA_IMAGE = "clients/schema/idc-v1.binpb"
GO_MODULES = ("clients/go", "clients/go/examples/consumer")
PYTHON_SOURCES = (
    "python-server/src",
    "python-server/tests",
    "clients/python/src/idc_client",
    "clients/python/tests",
    "clients/tests",
    "clients/article/tests",
    "tools",
    "deploy",
    "bench",
    "noxfile.py",
)
# The alternatives the benchmarks compare idc with (bench/baselines), for the bench session and its tests.
BENCH_PACKAGES = ("fastapi", "uvicorn", "uvloop", "httptools", "orjson", "urllib3")
ARTICLE_PROTOS = "clients/article/protos"

nox.options.default_venv_backend = "uv"
nox.options.sessions = ["lint", "check_generated", "breaking", "tests", "contract"]
nox.options.error_on_missing_interpreters = True


def install_project(session: nox.Session, *extra: str) -> None:
    """Install the client and server packages (not editable) plus ``extra``."""
    session.install(*CONSTRAINTS, "./clients/python", "./python-server", *extra)


def install_codegen(session: nox.Session) -> None:
    """Install buf, the Python generators, the pinned Go plugins and the TypeScript plugin."""
    session.install(*CONSTRAINTS, "buf-bin", "grpcio-tools", "mypy-protobuf", "googleapis-common-protos")
    assert session.bin is not None
    with session.chdir("tools/go"):
        session.run("go", "install", "tool", env={"GOBIN": session.bin}, external=True)
    install_typescript(session)


def install_typescript(session: nox.Session) -> None:
    """`npm ci` in clients/typescript: protoc-gen-es, tsc and the client's runtime, from the lockfile."""
    with session.chdir(TYPESCRIPT):
        session.run("npm", "ci", "--no-audit", "--no-fund", external=True)


def generate_google_rpc(session: nox.Session) -> None:
    """TypeScript code for google.rpc.BadRequest, from the pinned googleapis-common-protos' own .proto file."""
    found = session.run("python", "-c", "import google.rpc.error_details_pb2 as m; print(m.__file__)", silent=True)
    source = Path(str(found).strip()).with_suffix("").with_name("error_details.proto")
    root = Path(session.create_tmp()) / "googleapis"
    shutil.rmtree(root, ignore_errors=True)
    (root / "google/rpc").mkdir(parents=True)
    shutil.copyfile(source, root / "google/rpc/error_details.proto")
    session.run("buf", "generate", str(root), "--template", f"{TYPESCRIPT}/buf.gen.google-rpc.yaml")


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """buf lint and format, ruff, mypy on hand-written Python, tsc (strict), gofmt and go vet, deployment files."""
    install_project(
        session,
        *("buf-bin", "ruff", "mypy", "types-protobuf", "grpc-stubs", "pandas-stubs"),
        *("nox", "pytest", "hypothesis", "pillow", "cryptography", "pyyaml"),
        *BENCH_PACKAGES,
    )
    session.run("buf", "lint")
    session.run("buf", "format", "--diff", "--exit-code")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy", *PYTHON_SOURCES)
    session.run("python", "deploy/check_manifests.py")
    install_typescript(session)
    with session.chdir(TYPESCRIPT):
        session.run("npx", "--no-install", "tsc", "--noEmit", "-p", "tsconfig.json", external=True)
    for module in GO_MODULES:
        with session.chdir(module):
            unformatted = session.run("gofmt", "-l", ".", external=True, silent=True)
            if unformatted and str(unformatted).strip():
                session.error(f"gofmt would change these files in {module}:\n{unformatted}")
            session.run("go", "vet", "./...", external=True)


@nox.session(python=PYTHON)
def generate(session: nox.Session) -> None:
    """Regenerate all Python, Go and TypeScript code and the idc.v1 image from proto/ (offline, pinned plugins)."""
    install_codegen(session)
    for folder in GENERATED:
        shutil.rmtree(ROOT / folder, ignore_errors=True)
    session.run("buf", "generate")
    generate_google_rpc(session)
    (ROOT / SCHEMA_IMAGE).parent.mkdir(parents=True)
    session.run("buf", "build", "--path", "proto/idc/v1", "-o", SCHEMA_IMAGE)


@nox.session(python=PYTHON)
def check_generated(session: nox.Session) -> None:
    """Fail when `buf generate` would change the committed generated code."""
    generate(session)
    changed = session.run("git", "status", "--porcelain", "--", *GENERATED, external=True, silent=True)
    if changed and str(changed).strip():
        session.error(f"generated code is stale; run `nox -s generate` and commit:\n{changed}")


@nox.session(python=PYTHON)
def breaking(session: nox.Session) -> None:
    """buf breaking: idc.v1 against main (FILE rules), the article's contract against its baseline."""
    session.install(*CONSTRAINTS, "buf-bin", "protobuf")
    against_main = session.run(
        "git", "rev-parse", "--verify", "--quiet", "main:proto", external=True, silent=True, success_codes=[0, 1]
    )
    if against_main and str(against_main).strip():
        session.run("buf", "breaking", "--against", ".git#branch=main,subdir=.")
    else:
        session.log("main has no proto/ yet; nothing to compare idc.v1 against")
    session.run("python", "tools/check_article_contract.py", ARTICLE_PROTOS)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Unit tests: the server (core, and API over a real local server), the three clients, the benchmark baselines."""
    # MyTT: the independent implementation the formula functions are checked against.
    install_project(session, "pytest", "hypothesis", "pillow", "ta-lib", "mytt", "cryptography", *BENCH_PACKAGES)
    session.run("pytest", "python-server/tests", "clients/python/tests", "bench/tests", *session.posargs)
    with session.chdir("clients/go"):
        session.run("go", "test", "./...", external=True)
    install_typescript(session)
    with session.chdir(TYPESCRIPT):
        session.run("npm", "test", external=True)


@nox.session(python=PYTHON)
def contract(session: nox.Session) -> None:
    """Cross-language contract tests against the real server: Go, Python, TypeScript, and the article's clients."""
    install_project(session, "pytest", "pillow", "grpcio-tools", "ta-lib", "cryptography")
    install_typescript(session)
    with running_server(session) as target:
        # IDC_SERVER_BIN lets the Go tests start servers of their own (TLS, auth, load balancing).
        env = {"IDC_ADDR": target, "IDC_TARGET": target, "IDC_SERVER_BIN": os.path.join(session.bin, "idc-server")}
        with session.chdir("clients/go"):
            session.run("go", "test", "-count=1", "-run", "Contract", "-v", "./...", external=True, env=env)
        with session.chdir("clients/go/examples/consumer"):
            session.run("go", "run", ".", external=True, env=env)
        session.run("pytest", "clients/python/tests/test_contract.py", env=env)
        with session.chdir(TYPESCRIPT):
            session.run("npm", "run", "test:contract", external=True, env=env)
    # Both CLIs against servers of their own (plaintext, TLS, mTLS), and the README's Go and Python.
    session.run("pytest", "clients/tests")
    # The article's programs hard-code localhost:50051, so this test starts
    # `idc-server` with no arguments itself.
    session.run("pytest", "clients/article/tests")


README_CHARTS = {
    "docs/images/spy-western-light.png": [
        *("--symbol", "SPY", "--start", "2025-04-01", "--end", "2026-03-27"),
        *("--panels", "volume,macd,rsi,kdj", "--sma", "20", "--boll", "20"),
        *("--theme", "light", "--scheme", "western", "--convention", "talib"),
    ],
    "docs/images/sse-cn-dark.png": [
        *("--symbol", "000001.SH", "--start", "2025-07-01", "--end", "2026-06-16"),
        *("--panels", "volume,macd,rsi,kdj", "--sma", "5", "--sma", "20", "--boll", "20"),
        *("--theme", "dark", "--scheme", "cn", "--convention", "tdx"),
    ],
}


@nox.session(python=PYTHON, default=False)
def readme_charts(session: nox.Session) -> None:
    """Render the README's example charts with the real server and the Python client's CLI."""
    install_project(session)
    with running_server(session) as target:
        for output, flags in README_CHARTS.items():
            session.run(
                "idc-client", "chart", "--target", target, *flags, "--width", "1200", "--height", "900", "-o", output
            )


@nox.session(python=PYTHON, default=False)
def serve(session: nox.Session) -> None:
    """Run idc-server on its bundled real data (pass flags after --, e.g. -- --port 50052)."""
    install_project(session)
    session.run("idc-server", *session.posargs)


@nox.session(python=PYTHON, default=False)
def bench(session: nox.Session) -> None:
    """Benchmark idc against REST/JSON, Arrow Flight and the seed's replies; write docs/benchmarks.* (-- --help)."""
    install_project(session, *BENCH_PACKAGES, "py-spy")
    session.run("python", "-m", "bench.run", *session.posargs)


@nox.session(python=PYTHON, default=False)
def soak(session: nox.Session) -> None:
    """Soak idc-server: 20,000 mixed requests from 32 threads; no unexpected errors, bounded memory (-- --help)."""
    install_project(session)
    session.run("python", "python-server/tests/soak/soak.py", *session.posargs)


def free_port() -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_server(session: nox.Session, timeout: float = 60.0) -> Iterator[str]:
    """Start idc-server from the session's venv on a free port; yield its address."""
    assert session.bin is not None
    port = free_port()
    process = subprocess.Popen(
        [os.path.join(session.bin, "idc-server"), "--host", "127.0.0.1", "--port", str(port)],
    )
    target = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                session.error(f"idc-server exited with {process.returncode} before serving")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                session.error(f"idc-server did not listen on {target} within {timeout}s")
            time.sleep(0.1)
        yield target
    finally:
        process.terminate()
        process.wait(timeout=30)
