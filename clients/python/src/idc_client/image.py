"""Images streamed by ``IndicatorGraphService.GetMACDGraph``, and their reassembly."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from idc.v1 import indicator_graph_service_pb2
from idc_client.errors import IntegrityError

__all__ = ["Image", "assemble_image"]


@dataclass(frozen=True, slots=True)
class Image:
    """A complete, verified image.

    Attributes:
        data: the encoded image bytes (e.g. a PNG file).
        media_type: the IANA media type of ``data``, e.g. ``"image/png"``.
        width_px: the image width in pixels, as stated by the server.
        height_px: the image height in pixels, as stated by the server.
        sha256: the 32-byte SHA-256 digest of ``data``.
    """

    data: bytes = field(repr=False)
    media_type: str
    width_px: int
    height_px: int
    sha256: bytes = field(repr=False)

    @property
    def size_bytes(self) -> int:
        """The length of ``data`` in bytes."""
        return len(self.data)

    @property
    def sha256_hex(self) -> str:
        """The SHA-256 digest as 64 lowercase hex digits."""
        return self.sha256.hex()

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write ``data`` to ``path`` (replacing any file there) and return the path."""
        target = Path(path)
        target.write_bytes(self.data)
        return target


def assemble_image(responses: Iterable[indicator_graph_service_pb2.GetMACDGraphResponse]) -> Image:
    """Reassemble and verify the image of a ``GetMACDGraph`` stream.

    The first message must carry the metadata and every later one a chunk;
    the chunks must add up to exactly ``metadata.size_bytes`` and hash to
    ``metadata.sha256``. Reading stops as soon as the stream is known to be
    bad, so a misbehaving server cannot make the client buffer more than the
    announced size.

    Raises:
        IntegrityError: if the stream is empty, starts with a chunk, repeats
            the metadata, or its bytes differ in size or digest from the
            metadata.
    """
    iterator = iter(responses)
    first = next(iterator, None)
    if first is None:
        raise IntegrityError("GetMACDGraph stream ended without metadata")
    if first.WhichOneof("payload") != "metadata":
        raise IntegrityError("GetMACDGraph stream did not start with metadata")
    metadata = first.metadata
    expected_size = metadata.size_bytes

    parts: list[bytes] = []
    received = 0
    for response in iterator:
        payload = response.WhichOneof("payload")
        if payload == "metadata":
            raise IntegrityError("GetMACDGraph stream repeated its metadata")
        if payload != "chunk":
            continue  # A payload this client does not know; nothing to reassemble.
        received += len(response.chunk)
        if received > expected_size:
            raise IntegrityError(f"GetMACDGraph stream sent more than the announced {expected_size} bytes")
        parts.append(response.chunk)

    if received != expected_size:
        raise IntegrityError(f"GetMACDGraph stream sent {received} bytes, but the metadata announced {expected_size}")
    data = b"".join(parts)
    digest = hashlib.sha256(data).digest()
    if digest != metadata.sha256:
        raise IntegrityError(
            f"GetMACDGraph image has SHA-256 {digest.hex()}, but the metadata announced "
            f"{metadata.sha256.hex() or '(none)'}"
        )
    return Image(
        data=data,
        media_type=metadata.media_type,
        width_px=metadata.width_px,
        height_px=metadata.height_px,
        sha256=digest,
    )
