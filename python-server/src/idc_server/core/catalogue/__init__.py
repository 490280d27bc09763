"""The indicator catalogue: every indicator idc serves, declared one way whatever its source.

``default_catalogue()`` is the built-in catalogue: all of TA-Lib
(``talib.*``), the shipped 通达信 formula files (``tdx.*``) and the typed
indicators (``idc.*``). ``server_catalogue(plugins)`` adds analysts' plugins
(``plugins.py``), found through the ``idc.indicators`` entry points and
``--plugins`` (docs/decisions/0020-indicator-catalogue.md,
docs/decisions/0021-catalogue-api.md).
"""

from __future__ import annotations

import functools

from idc_server.core.catalogue.formulas import request_formula_entry, tdx_entries
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
from idc_server.core.catalogue.plugins import load_plugins
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
    "request_formula_entry",
    "server_catalogue",
]


@functools.cache
def default_catalogue() -> Catalogue:
    """The built-in catalogue, built once (tens of milliseconds) and shared: entries are immutable."""
    return Catalogue([*talib_entries(), *tdx_entries(), *typed_entries()])


@functools.cache
def server_catalogue(plugins: tuple[str, ...] = (), entry_points: bool = True) -> Catalogue:
    """The built-in entries plus the plugins (entry points, then ``plugins``), built once per process.

    CatalogueError, one line naming the plugin, when one cannot be loaded or
    its name is taken.
    """
    catalogue = Catalogue(default_catalogue(), plugins)
    for origin, entry in load_plugins(plugins, entry_points):
        try:
            catalogue.add(entry)
            defaults = entry.bind({})
            for convention in entry.conventions:  # ListIndicators shows these: they must work
                defaults.lookback(convention)
        except CatalogueError as error:
            raise CatalogueError(f"plugin {origin}: {error}") from None
        except Exception as error:  # an analyst's lookback or parameter rule may raise anything
            raise CatalogueError(
                f"plugin {origin}: {entry.name}: its defaults fail: {type(error).__name__}: {error}".splitlines()[0]
            ) from None
    return catalogue
