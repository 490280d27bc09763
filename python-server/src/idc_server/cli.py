"""The ``idc-server`` command."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from idc_server.config import load_config


def main(argv: Sequence[str] | None = None) -> None:
    """Parse flags and IDC_* variables, then serve until interrupted."""
    config = load_config(argv)
    logging.basicConfig(
        level=config.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    from idc_server.server import serve  # after parsing, so --help stays instant

    try:
        serve(config)
    except OSError as error:
        logging.getLogger("idc_server").error("%s", error)
        sys.exit(1)
