"""The indicator catalogue: every indicator idc serves, declared one way whatever its source.

``default_catalogue()`` is the catalogue a server serves: all of TA-Lib
(``talib.*``) and the typed indicators (``idc.*``) today; 通达信 formula
files and analysts' plugins register the same ``Entry`` shape
(docs/decisions/0020-indicator-catalogue.md).
"""

from __future__ import annotations

import functools

from idc_server.core.catalogue.model import (
    Bound,
    Catalogue,
    CatalogueError,
    Entry,
    Output,
    OutputKind,
    Parameter,
    ParameterType,
    ParameterValue,
)
from idc_server.core.catalogue.ta_lib import talib_entries
from idc_server.core.catalogue.typed import typed_entries

__all__ = [
    "Bound",
    "Catalogue",
    "CatalogueError",
    "Entry",
    "Output",
    "OutputKind",
    "Parameter",
    "ParameterType",
    "ParameterValue",
    "default_catalogue",
]


@functools.cache
def default_catalogue() -> Catalogue:
    """The built-in catalogue, built once (tens of milliseconds) and shared: entries are immutable."""
    return Catalogue([*talib_entries(), *typed_entries()])
