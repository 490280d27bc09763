"""The ``idc-server`` command."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from idc_server.config import load_config
from idc_server.observability import setup_logging


def main(argv: Sequence[str] | None = None) -> None:
    """Parse flags and IDC_* variables, then serve until SIGINT or SIGTERM."""
    config = load_config(argv)
    setup_logging(config.log_level, config.log_format)
    from idc_server.server import serve  # after parsing, so that --help stays instant

    try:
        serve(config)
    except OSError as error:
        logging.getLogger("idc_server").error("%s", error)
        sys.exit(1)
