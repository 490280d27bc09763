"""Fail if the article's frozen contract (package ``idc``) differs from its baseline.

Two checks, against the copy of the article's protos in the folder given:
1. ``buf breaking`` with the PACKAGE rules, which explains a break in buf's words.
2. Descriptor equality for every message and service of package ``idc``, so
   that even a compatible addition, such as a new field, fails: the contract
   is frozen, and new work belongs in ``idc.v1``.

File names and comments may differ; names, numbers, types and labels may not.
"""

from __future__ import annotations

import json
import subprocess
import sys

from google.protobuf import descriptor_pb2

PACKAGE = "idc"
BREAKING_CONFIG = {"version": "v2", "modules": [{"path": "proto"}], "breaking": {"use": ["PACKAGE"]}}


def package_definitions(input_: str, *paths: str) -> dict[str, bytes]:
    """Serialized messages, enums and services of PACKAGE in a buf input, by name."""
    args = ["buf", "build", input_, "--exclude-source-info", "--as-file-descriptor-set", "-o", "-#format=binpb"]
    for path in paths:
        args += ["--path", path]
    image = descriptor_pb2.FileDescriptorSet.FromString(subprocess.run(args, check=True, capture_output=True).stdout)
    definitions: dict[str, bytes] = {}
    for file in image.file:
        if file.package != PACKAGE:
            continue
        for kind, items in (
            ("message", file.message_type),
            ("enum", file.enum_type),
            ("service", file.service),
        ):
            for item in items:
                definitions[f"{kind} {item.name}"] = item.SerializeToString(deterministic=True)
    return definitions


def main(baseline: str) -> int:
    breaking = subprocess.run(["buf", "breaking", ".", "--config", json.dumps(BREAKING_CONFIG), "--against", baseline])
    if breaking.returncode != 0:
        print(f"the article's contract broke against {baseline} (see above)", file=sys.stderr)
        return 1
    current = package_definitions(".", "proto/idc/indicator.proto", "proto/idc/indicator_graph.proto")
    expected = package_definitions(baseline)
    differing = sorted(name for name in current.keys() | expected.keys() if current.get(name) != expected.get(name))
    if differing:
        print(f"package {PACKAGE} is frozen, but these differ from {baseline}: {differing}", file=sys.stderr)
        return 1
    print(f"the article's contract matches {baseline}: {', '.join(sorted(expected))}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
