"""Extract the fenced code blocks of a Markdown file, so that tests can compile and run the README's examples."""

from __future__ import annotations

import re
from pathlib import Path

_FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)


def code_blocks(markdown: Path, language: str) -> list[str]:
    """The bodies of the fenced blocks of ``markdown`` tagged ``language`` (e.g. ``go``, ``python``), in order."""
    return [body for lang, body in _FENCE.findall(markdown.read_text(encoding="utf-8")) if lang == language]
