"""The server's single configuration object, filled from flags and IDC_* variables."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from idc_server.core.sources import DEFAULT_HELD_BYTES
from idc_server.core.stores import STORE_KINDS, StoreUrlError, check_url

DEFAULT_PORT = 50051  # the article's port
HEALTH_PREFIX = "/grpc.health.v1.Health/"
DEFAULT_MAX_CHART_COST = 1_000_000_000_000  # bar-pixels (core/limits.py)


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Everything the server can be told. Every flag has an IDC_* variable."""

    host: str = "[::]"
    port: int = DEFAULT_PORT
    workers: int = 1
    data_dirs: tuple[Path, ...] = field(default_factory=tuple)
    data_urls: tuple[str, ...] = field(default=(), repr=False)  # may hold a database password: never printed
    default_symbol: str = "SPY"
    default_convention: str = "talib"
    plugins: tuple[str, ...] = ()  # module:attribute, beside the idc.indicators entry points
    max_workers: int = 80  # threads; at least max_concurrent_rpcs + REFUSAL_THREADS are used
    max_concurrent_rpcs: int = 64
    max_streams: int = 32
    max_streams_per_peer: int = 16
    stream_stall_seconds: float = 10.0
    render_workers: int = 2  # processes; 0 renders in the RPC process (no isolation)
    render_queue: int = 16
    render_worker_memory_bytes: int = 512 * 1024 * 1024
    render_stop_seconds: float = 0.5
    pooled_indicator_bars: int = 50_000  # inline bars above which GetMACD/ComputeIndicators run in a worker; 0 never
    max_chart_cost: int = DEFAULT_MAX_CHART_COST
    max_bars: int = 500_000
    max_message_bytes: int = 64 * 1024 * 1024
    max_image_pixels: int = 16_000_000
    render_cache_bytes: int = 64 * 1024 * 1024
    indicator_cache_bytes: int = 64 * 1024 * 1024
    store_cache_bytes: int = DEFAULT_HELD_BYTES  # per process: the parent and each render worker
    chunk_size: int = 64 * 1024
    grace_seconds: float = 5.0
    max_connection_age_seconds: float = 0.0  # 0: connections live as long as clients keep them
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_client_ca: Path | None = None
    auth_tokens: tuple[str, ...] = field(default=(), repr=False)  # secrets: never printed
    auth_exempt: tuple[str, ...] = (HEALTH_PREFIX,)
    reflection: bool = True
    metrics_port: int = 0
    metrics_host: str = ""  # "" means --host
    log_level: str = "INFO"
    log_format: str = "text"

    @property
    def address(self) -> str:
        """The host:port the server binds."""
        return f"{self.host}:{self.port}"


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _parser(env: Mapping[str, str]) -> argparse.ArgumentParser:
    defaults = ServerConfig()

    def default(name: str, fallback: object) -> object:
        return env.get(f"IDC_{name}", fallback)

    parser = argparse.ArgumentParser(
        prog="idc-server",
        description=(
            "Serve indicators and charts over gRPC (idc.v1 and the article's idc package). "
            "Every flag can also be set with the IDC_* environment variable named in its help; "
            "flags win over variables. `idc-server load --help` tells how to load files into PostgreSQL."
        ),
    )

    def add(group: argparse._ArgumentGroup, flag: str, name: str, help_: str, **kwargs: object) -> None:
        fallback = kwargs.pop("fallback", getattr(defaults, flag.removeprefix("--").replace("-", "_"), None))
        shown = " (%(default)s)" if fallback not in (None, "", ()) else ""
        group.add_argument(flag, default=default(name, fallback), help=f"{help_} [IDC_{name}]{shown}", **kwargs)  # type: ignore[arg-type]

    serving = parser.add_argument_group("serving")
    add(serving, "--host", "HOST", "interface to bind")
    add(serving, "--port", "PORT", "TCP port; 0 picks a free one (not with --workers)", type=int)
    add(serving, "--workers", "WORKERS", "server processes sharing the port with SO_REUSEPORT", type=int)
    add(
        serving,
        "--max-workers",
        "MAX_WORKERS",
        "threads serving RPCs in each process; never fewer than --max-concurrent-rpcs + 8, "
        "so that every admitted call and every refusal finds a thread",
        type=int,
    )
    add(serving, "--grace-seconds", "GRACE_SECONDS", "how long in-flight calls may finish on SIGTERM", type=float)
    add(
        serving,
        "--max-connection-age-seconds",
        "MAX_CONNECTION_AGE_SECONDS",
        "close each client connection after this long (calls in flight get --grace-seconds to finish), "
        "so that round_robin clients reconnect and find new replicas; 0 means never",
        type=float,
    )
    add(
        serving, "--no-reflection", "NO_REFLECTION", "do not serve gRPC reflection", action="store_true", fallback=False
    )

    data = parser.add_argument_group("data and indicators")
    add(
        data,
        "--data-dir",
        "DATA_DIR",
        "folder of your own daily CSV or Parquet files, one per symbol named SYMBOL.csv, "
        "served beside the bundled SPY, AAPL and 000001.SH",
        type=Path,
        fallback=None,
    )
    kinds = "; ".join(f"{kind.example} ({kind.description})" for kind in STORE_KINDS)
    add(
        data,
        "--data-url",
        "DATA_URL",
        f"a store of bars served beside the bundled data and --data-dir, overriding them for the same symbol: {kinds}",
        fallback=None,
    )
    add(data, "--default-symbol", "DEFAULT_SYMBOL", "symbol used when a request names none")
    add(
        data,
        "--default-convention",
        "DEFAULT_CONVENTION",
        "indicator formulas used when a request names none: TA-Lib's or 通达信's",
        choices=["talib", "tdx"],
    )
    add(
        data,
        "--plugins",
        "PLUGINS",
        "comma-separated module:attribute of your own indicators (an Entry, a list of them, or a function "
        "returning them), loaded at start beside the installed idc.indicators entry points",
        fallback="",
    )

    limits = parser.add_argument_group("limits")
    add(
        limits,
        "--max-concurrent-rpcs",
        "MAX_CONCURRENT_RPCS",
        "calls in progress; more get RESOURCE_EXHAUSTED",
        type=int,
    )
    add(
        limits,
        "--max-streams",
        "MAX_STREAMS",
        "streaming calls (charts, Health/Watch) in progress; more get RESOURCE_EXHAUSTED. "
        "Callers without a token get at most half when tokens are required",
        type=int,
    )
    add(
        limits,
        "--max-streams-per-peer",
        "MAX_STREAMS_PER_PEER",
        "streaming calls in progress on one client connection; more get RESOURCE_EXHAUSTED",
        type=int,
    )
    add(
        limits,
        "--stream-stall-seconds",
        "STREAM_STALL_SECONDS",
        "cancel a stream whose client has not accepted the next message for this long",
        type=float,
    )
    add(
        limits,
        "--render-workers",
        "RENDER_WORKERS",
        "processes that render charts, apart from the RPC threads; 0 renders in the server process",
        type=int,
    )
    add(
        limits,
        "--render-queue",
        "RENDER_QUEUE",
        "distinct charts that may wait for a render worker; more get RESOURCE_EXHAUSTED with a retry hint",
        type=int,
    )
    add(
        limits,
        "--render-worker-memory-bytes",
        "RENDER_WORKER_MEMORY_BYTES",
        "resident memory one render worker may use; over it the worker is killed and replaced "
        "and its call gets RESOURCE_EXHAUSTED",
        type=int,
    )
    add(
        limits,
        "--render-stop-seconds",
        "RENDER_STOP_SECONDS",
        "how long a render whose callers have all gone may take to stop before its worker is killed",
        type=float,
    )
    add(
        limits,
        "--pooled-indicator-bars",
        "POOLED_INDICATOR_BARS",
        "GetMACD and ComputeIndicators calls with more inline bars than this run in a render worker "
        "(queued, stopped and killed as renders are); 0 keeps them all in the server process",
        type=int,
    )
    add(
        limits,
        "--max-chart-cost",
        "MAX_CHART_COST",
        "largest chart cost, bars x pixels x (1 + panels + overlays), an SVG counting 4,000,000 pixels; "
        "more gets RESOURCE_EXHAUSTED before any work",
        type=int,
    )
    add(limits, "--max-bars", "MAX_BARS", "most bars a request may send inline", type=int)
    add(limits, "--max-message-bytes", "MAX_MESSAGE_BYTES", "largest request or response message", type=int)
    add(
        limits,
        "--max-image-pixels",
        "MAX_IMAGE_PIXELS",
        "largest chart a request may ask for, width x height",
        type=int,
    )
    add(
        limits,
        "--render-cache-bytes",
        "RENDER_CACHE_BYTES",
        "memory for recently rendered charts; 0 turns it off",
        type=int,
    )
    add(
        limits,
        "--indicator-cache-bytes",
        "INDICATOR_CACHE_BYTES",
        "memory for indicator values over stored symbols' histories; 0 turns it off",
        type=int,
    )
    add(
        limits,
        "--store-cache-bytes",
        "STORE_CACHE_BYTES",
        "memory per process for bars read from --data-url databases and datasets, least recently used let go first "
        "(read again when next asked for); folders of files are always held",
        type=int,
    )

    security = parser.add_argument_group("security")
    add(security, "--tls-cert", "TLS_CERT", "PEM certificate chain: serve TLS", type=Path)
    add(security, "--tls-key", "TLS_KEY", "PEM private key of --tls-cert", type=Path)
    add(security, "--tls-client-ca", "TLS_CLIENT_CA", "PEM CA bundle: require client certificates (mTLS)", type=Path)
    add(
        security,
        "--auth-token-file",
        "AUTH_TOKEN_FILE",
        "file of bearer tokens, one per line; callers must send 'authorization: Bearer TOKEN'. "
        "IDC_AUTH_TOKENS may list tokens too, comma-separated",
        type=Path,
    )
    add(
        security,
        "--auth-exempt",
        "AUTH_EXEMPT",
        "comma-separated method prefixes callable without a token",
        fallback=",".join(defaults.auth_exempt),
    )

    observing = parser.add_argument_group("observability")
    add(observing, "--metrics-port", "METRICS_PORT", "serve Prometheus metrics on this port; 0 is off", type=int)
    add(
        observing,
        "--metrics-host",
        "METRICS_HOST",
        "interface for the metrics endpoint; empty means --host",
        fallback="",
    )
    add(observing, "--log-level", "LOG_LEVEL", "logging level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    add(observing, "--log-format", "LOG_FORMAT", "text, or one JSON object per line", choices=["text", "json"])
    return parser


def load_config(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> ServerConfig:
    """Build the configuration from command-line flags over IDC_* environment variables."""
    env = os.environ if env is None else env
    parser = _parser(env)
    args = parser.parse_args(argv)
    for action in parser._actions:
        # argparse checks choices only for values given as flags, not for defaults from IDC_*.
        value = getattr(args, action.dest, None)
        if action.choices is not None and value not in action.choices:
            parser.error(f"{'/'.join(action.option_strings)}: {value!r} is not one of {list(action.choices)}")

    def path(value: object) -> Path | None:
        return Path(str(value)) if value else None

    data_dir = path(args.data_dir)
    if data_dir is not None and not data_dir.is_dir():
        parser.error(f"--data-dir {data_dir} is not a folder")
    data_url = str(args.data_url or "")
    if data_url:
        try:
            check_url(data_url)
        except StoreUrlError as error:
            parser.error(f"--data-url: {error}")
    tls_cert, tls_key, tls_client_ca = path(args.tls_cert), path(args.tls_key), path(args.tls_client_ca)
    if (tls_cert is None) != (tls_key is None):
        parser.error("--tls-cert and --tls-key go together")
    if tls_client_ca is not None and tls_cert is None:
        parser.error("--tls-client-ca needs --tls-cert and --tls-key")
    for name, file in (("--tls-cert", tls_cert), ("--tls-key", tls_key), ("--tls-client-ca", tls_client_ca)):
        if file is not None and not file.is_file():
            parser.error(f"{name} {file} is not a file")
    tokens = list(_split(env.get("IDC_AUTH_TOKENS", "")))
    token_file = path(args.auth_token_file)
    if token_file is not None:
        try:
            tokens += [line.strip() for line in token_file.read_text().splitlines() if line.strip()]
        except OSError as error:
            parser.error(f"--auth-token-file: {error.strerror}: {token_file}")
    workers, port = int(args.workers), int(args.port)
    for flag, value in (("--port", port), ("--metrics-port", int(args.metrics_port))):
        if not 0 <= value <= 65535:
            parser.error(f"{flag} must be a TCP port, 0-65535, got {value}")
    if workers < 1:
        parser.error("--workers must be at least 1")
    if workers > 1 and port == 0:
        parser.error("--workers needs an explicit --port: every worker must bind the same one")
    max_connection_age = float(args.max_connection_age_seconds)
    if max_connection_age < 0:
        parser.error("--max-connection-age-seconds must be 0 (never) or more")
    for flag, value in (
        ("--max-streams", int(args.max_streams)),
        ("--max-streams-per-peer", int(args.max_streams_per_peer)),
        ("--render-queue", int(args.render_queue)),
        ("--max-chart-cost", int(args.max_chart_cost)),
        ("--render-worker-memory-bytes", int(args.render_worker_memory_bytes)),
    ):
        if value < 1:
            parser.error(f"{flag} must be at least 1")
    if int(args.render_workers) < 0:
        parser.error("--render-workers must be 0 (render in the server process) or more")
    if int(args.pooled_indicator_bars) < 0:
        parser.error("--pooled-indicator-bars must be 0 (never) or more")
    for flag, value in (
        ("--render-cache-bytes", int(args.render_cache_bytes)),
        ("--indicator-cache-bytes", int(args.indicator_cache_bytes)),
        ("--store-cache-bytes", int(args.store_cache_bytes)),
    ):
        if value < 0:
            parser.error(f"{flag} must be 0 or more")
    if float(args.stream_stall_seconds) <= 0 or float(args.render_stop_seconds) <= 0:
        parser.error("--stream-stall-seconds and --render-stop-seconds must be more than 0")
    no_reflection = args.no_reflection is True or str(args.no_reflection).lower() in ("1", "true", "yes")
    return ServerConfig(
        host=args.host,
        port=port,
        workers=workers,
        data_dirs=(data_dir,) if data_dir else (),
        data_urls=(data_url,) if data_url else (),
        default_symbol=args.default_symbol,
        default_convention=args.default_convention,
        plugins=_split(str(args.plugins)),
        max_workers=int(args.max_workers),
        max_concurrent_rpcs=int(args.max_concurrent_rpcs),
        max_streams=int(args.max_streams),
        max_streams_per_peer=int(args.max_streams_per_peer),
        stream_stall_seconds=float(args.stream_stall_seconds),
        render_workers=int(args.render_workers),
        render_queue=int(args.render_queue),
        render_worker_memory_bytes=int(args.render_worker_memory_bytes),
        render_stop_seconds=float(args.render_stop_seconds),
        pooled_indicator_bars=int(args.pooled_indicator_bars),
        max_chart_cost=int(args.max_chart_cost),
        max_bars=int(args.max_bars),
        max_message_bytes=int(args.max_message_bytes),
        max_image_pixels=int(args.max_image_pixels),
        render_cache_bytes=int(args.render_cache_bytes),
        indicator_cache_bytes=int(args.indicator_cache_bytes),
        store_cache_bytes=int(args.store_cache_bytes),
        grace_seconds=float(args.grace_seconds),
        max_connection_age_seconds=max_connection_age,
        tls_cert=tls_cert,
        tls_key=tls_key,
        tls_client_ca=tls_client_ca,
        auth_tokens=tuple(tokens),
        auth_exempt=_split(str(args.auth_exempt)),
        reflection=not no_reflection,
        metrics_port=int(args.metrics_port),
        metrics_host=str(args.metrics_host),
        log_level=args.log_level,
        log_format=args.log_format,
    )
