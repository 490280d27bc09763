"""The core must stay proto-free: no grpc, protobuf or generated code in idc_server.core."""

from __future__ import annotations

import ast
from pathlib import Path

import idc_server.core

FORBIDDEN = ("grpc", "google.protobuf", "google.rpc", "idc.", "idc_server.api")


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_core_imports_nothing_from_grpc_protobuf_or_the_api() -> None:
    core = Path(idc_server.core.__file__).parent
    sources = sorted(core.rglob("*.py"))  # subpackages too (core/catalogue, core/formula)
    assert len(sources) >= 8
    for source in sources:
        name = source.relative_to(core)
        for module in imported_modules(source):
            assert module != "idc", f"{name} imports {module}"
            assert not module.startswith(FORBIDDEN), f"{name} imports {module}"
