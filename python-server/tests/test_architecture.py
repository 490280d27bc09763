"""The core stays proto-free when it runs: importing it loads no grpc, protobuf or generated code.

The static side (every import, relative and function-level ones included)
is import-linter's, in `nox -s lint` (see .importlinter). This checks what
actually happens, including imports made through ``importlib``.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import idc_server.core

# Top-level packages (and their submodules) that must not be loaded by the core.
FORBIDDEN = ("grpc", "grpc_status", "grpc_health", "grpc_reflection", "google.protobuf", "google.rpc", "idc")
FORBIDDEN_SERVER = ("idc_server.api", "idc_server.server", "idc_server.interceptors", "idc_server.observability")

PROBE = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps(sorted(sys.modules)))
"""


def core_modules() -> list[str]:
    """Every module of the core, subpackages (catalogue, formula) included."""
    found = pkgutil.walk_packages(idc_server.core.__path__, prefix="idc_server.core.")
    return ["idc_server.core", *(module.name for module in found)]


def loaded_by(modules: list[str]) -> list[str]:
    """The names in sys.modules of a fresh interpreter after importing ``modules``."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *modules], capture_output=True, text=True, check=True, timeout=120
    )
    loaded: list[str] = json.loads(result.stdout)
    return loaded


def offenders(loaded: list[str]) -> list[str]:
    return [
        name
        for name in loaded
        if any(name == bad or name.startswith(bad + ".") for bad in (*FORBIDDEN, *FORBIDDEN_SERVER))
    ]


def test_importing_every_core_module_loads_no_grpc_protobuf_generated_code_or_api() -> None:
    modules = core_modules()
    assert {"idc_server.core.data", "idc_server.core.indicators", "idc_server.core.analytics"} <= set(modules)

    loaded = loaded_by(modules)

    assert set(modules) <= set(loaded)
    assert offenders(loaded) == []


def test_the_probe_sees_a_forbidden_module_when_one_is_loaded() -> None:
    loaded = loaded_by(["idc_server.core.data", "idc_server.api.convert"])

    assert "google.protobuf" in offenders(loaded)
    assert "idc_server.api.convert" in offenders(loaded)
