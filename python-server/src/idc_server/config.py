"""The server's single configuration object, filled from flags and IDC_* variables."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PORT = 50051  # the article's port


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Everything the server can be told. Every flag has an IDC_* variable."""

    host: str = "[::]"
    port: int = DEFAULT_PORT
    data_dirs: tuple[Path, ...] = field(default_factory=tuple)
    default_symbol: str = "SPY"
    default_convention: str = "talib"
    max_workers: int = 16
    max_bars: int = 500_000
    max_message_bytes: int = 64 * 1024 * 1024
    max_image_pixels: int = 16_000_000
    render_cache_bytes: int = 64 * 1024 * 1024
    chunk_size: int = 64 * 1024
    grace_seconds: float = 5.0
    log_level: str = "INFO"

    @property
    def address(self) -> str:
        """The host:port the server binds."""
        return f"{self.host}:{self.port}"


def _parser(env: Mapping[str, str]) -> argparse.ArgumentParser:
    defaults = ServerConfig()

    def default(name: str, fallback: object) -> object:
        return env.get(f"IDC_{name}", fallback)

    parser = argparse.ArgumentParser(
        prog="idc-server",
        description=(
            "Serve MACD indicators and charts over gRPC (idc.v1 and the article's idc package). "
            "Every flag can also be set with the IDC_* environment variable named in its help."
        ),
    )
    parser.add_argument(
        "--host", default=default("HOST", defaults.host), help="interface to bind (IDC_HOST; default %(default)s)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=default("PORT", defaults.port),
        help="TCP port, 0 picks a free one (IDC_PORT; default %(default)s)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=default("DATA_DIR", None),
        help=(
            "folder of your own daily CSV files, one per symbol named SYMBOL.csv, served beside "
            "the bundled SPY, AAPL and 000001.SH (IDC_DATA_DIR)"
        ),
    )
    parser.add_argument(
        "--default-symbol",
        default=default("DEFAULT_SYMBOL", defaults.default_symbol),
        help="symbol used when a request names none (IDC_DEFAULT_SYMBOL; default %(default)s)",
    )
    parser.add_argument(
        "--default-convention",
        default=default("DEFAULT_CONVENTION", defaults.default_convention),
        choices=["talib", "tdx"],
        help=(
            "indicator formulas used when a request names none: TA-Lib's or 通达信's "
            "(IDC_DEFAULT_CONVENTION; default %(default)s)"
        ),
    )
    parser.add_argument(
        "--max-bars",
        type=int,
        default=default("MAX_BARS", defaults.max_bars),
        help="most bars a request may send inline (IDC_MAX_BARS; default %(default)s)",
    )
    parser.add_argument(
        "--max-message-bytes",
        type=int,
        default=default("MAX_MESSAGE_BYTES", defaults.max_message_bytes),
        help="largest request or response message, in bytes (IDC_MAX_MESSAGE_BYTES; default %(default)s)",
    )
    parser.add_argument(
        "--max-image-pixels",
        type=int,
        default=default("MAX_IMAGE_PIXELS", defaults.max_image_pixels),
        help="largest chart a request may ask for, width x height (IDC_MAX_IMAGE_PIXELS; default %(default)s)",
    )
    parser.add_argument(
        "--render-cache-bytes",
        type=int,
        default=default("RENDER_CACHE_BYTES", defaults.render_cache_bytes),
        help="memory for recently rendered charts; 0 turns the cache off (IDC_RENDER_CACHE_BYTES; default %(default)s)",
    )
    parser.add_argument(
        "--max-workers",
        type=int,
        default=default("MAX_WORKERS", defaults.max_workers),
        help="threads serving RPCs (IDC_MAX_WORKERS; default %(default)s)",
    )
    parser.add_argument(
        "--grace-seconds",
        type=float,
        default=default("GRACE_SECONDS", defaults.grace_seconds),
        help="how long in-flight calls may finish on shutdown (IDC_GRACE_SECONDS; default %(default)s)",
    )
    parser.add_argument(
        "--log-level",
        default=default("LOG_LEVEL", defaults.log_level),
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="logging level (IDC_LOG_LEVEL; default %(default)s)",
    )
    return parser


def load_config(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> ServerConfig:
    """Build the configuration from command-line flags over IDC_* environment variables."""
    parser = _parser(os.environ if env is None else env)
    args = parser.parse_args(argv)
    for action in parser._actions:
        # argparse checks choices only for values given as flags, not for defaults from IDC_*.
        value = getattr(args, action.dest, None)
        if action.choices is not None and value not in action.choices:
            parser.error(f"{'/'.join(action.option_strings)}: {value!r} is not one of {list(action.choices)}")
    data_dir = Path(args.data_dir) if args.data_dir else None
    if data_dir is not None and not data_dir.is_dir():
        parser.error(f"--data-dir {data_dir} is not a folder")
    return ServerConfig(
        host=args.host,
        port=int(args.port),
        data_dirs=(data_dir,) if data_dir else (),
        default_symbol=args.default_symbol,
        default_convention=args.default_convention,
        max_workers=int(args.max_workers),
        max_bars=int(args.max_bars),
        max_message_bytes=int(args.max_message_bytes),
        max_image_pixels=int(args.max_image_pixels),
        render_cache_bytes=int(args.render_cache_bytes),
        grace_seconds=float(args.grace_seconds),
        log_level=args.log_level,
    )
