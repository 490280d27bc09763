"""`nox -s breaking` can fail: a renamed field breaks the release baseline, an added one does not.

Each test copies the buf workspace (buf.yaml and proto/) into a temporary
folder, edits the copy, and runs the same `buf breaking` as the session
against the committed image releases/idc-v1.binpb.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "releases" / "idc-v1.binpb"
SERVICE = Path("proto/idc/v1/indicator_service.proto")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A copy of the buf workspace to edit."""
    shutil.copy(ROOT / "buf.yaml", tmp_path / "buf.yaml")
    shutil.copytree(ROOT / "proto", tmp_path / "proto")
    return tmp_path


def breaking(workspace: Path) -> subprocess.CompletedProcess[str]:
    buf = shutil.which("buf")
    assert buf, "buf is not installed (the breaking session installs buf-bin)"
    return subprocess.run(
        [buf, "breaking", "--against", str(BASELINE)],
        cwd=workspace,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def edit(path: Path, pattern: str, replacement: str) -> None:
    text = path.read_text(encoding="utf-8")
    edited, count = re.subn(pattern, replacement, text, count=1, flags=re.MULTILINE)
    assert count == 1, f"{pattern!r} is not in {path.name}"
    path.write_text(edited, encoding="utf-8")


def test_the_baseline_is_an_image_of_the_released_api() -> None:
    image = descriptor_pb2.FileDescriptorSet.FromString(BASELINE.read_bytes())
    names = {file.name for file in image.file}
    assert {"idc/v1/indicator_service.proto", "idc/v1/indicator_graph_service.proto", "idc/indicator.proto"} <= names
    service = next(file for file in image.file if file.name == "idc/v1/indicator_service.proto")
    assert "IndicatorService" in [s.name for s in service.service]


def test_the_unchanged_tree_passes(workspace: Path) -> None:
    result = breaking(workspace)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_renamed_field_fails(workspace: Path) -> None:
    edit(workspace / SERVICE, r"^(\s*)string symbol = 1;", r"\1string ticker = 1;")

    result = breaking(workspace)

    assert result.returncode != 0
    assert 'changed name from "symbol" to "ticker"' in result.stdout, result.stdout + result.stderr


def test_a_renamed_field_of_the_article_contract_fails(workspace: Path) -> None:
    article = workspace / "proto/idc/indicator.proto"
    text = article.read_text(encoding="utf-8")
    message = re.search(r"message (\w+)\s*\{[^}]*?\b(\w+) = 1;", text)
    assert message
    edit(article, rf"\b{message.group(2)} = 1;", "renamed_on_purpose = 1;")

    assert breaking(workspace).returncode != 0


def test_an_added_field_passes(workspace: Path) -> None:
    edit(
        workspace / SERVICE,
        r"^message GetMACDRequest \{\n",
        "message GetMACDRequest {\n  // Added by the test: an addition.\n  string added_by_test = 900;\n",
    )

    result = breaking(workspace)

    assert result.returncode == 0, result.stdout + result.stderr
