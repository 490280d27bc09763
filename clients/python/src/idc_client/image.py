"""Images streamed by ``IndicatorGraphService.GetChart`` and ``GetMACDGraph``, and their reassembly."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from idc.v1 import indicator_graph_service_pb2
from idc_client.errors import IntegrityError, ProtocolError

__all__ = ["Image", "ImageResponse", "assemble_image"]

ImageResponse = indicator_graph_service_pb2.GetChartResponse | indicator_graph_service_pb2.GetMACDGraphResponse
"""A message of an image stream: both have the ``payload`` oneof of ``metadata`` then ``chunk``."""

_EXTENSIONS = {"image/png": ".png", "image/svg+xml": ".svg", "image/jpeg": ".jpg", "image/webp": ".webp"}


@dataclass(frozen=True, slots=True)
class Image:
    """A complete, verified image.

    Attributes:
        data: the encoded image bytes (e.g. a PNG file).
        media_type: the IANA media type of ``data``: ``"image/png"``,
            ``"image/svg+xml"``, ``"image/jpeg"`` or ``"image/webp"``.
        width_px: the image width in pixels, as stated by the server.
        height_px: the image height in pixels, as stated by the server.
        sha256: the 32-byte SHA-256 digest of ``data``.
        dpi: the resolution in dots per inch, as stated by the server and
            recorded in PNG, JPEG and WebP files; 0 from a server that does
            not report it.
    """

    data: bytes = field(repr=False)
    media_type: str
    width_px: int
    height_px: int
    sha256: bytes = field(repr=False)
    dpi: int = 0

    @property
    def size_bytes(self) -> int:
        """The length of ``data`` in bytes."""
        return len(self.data)

    @property
    def sha256_hex(self) -> str:
        """The SHA-256 digest as 64 lowercase hex digits."""
        return self.sha256.hex()

    @property
    def extension(self) -> str:
        """The usual file name extension of ``media_type``: ``".png"``, ``".svg"``, ``".jpg"`` or ``".webp"``.

        An unknown media type gives ``""``.
        """
        return _EXTENSIONS.get(self.media_type, "")

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write ``data`` to ``path`` (replacing any file there) and return the path."""
        target = Path(path)
        target.write_bytes(self.data)
        return target


def assemble_image(responses: Iterable[ImageResponse], rpc: str = "GetMACDGraph") -> Image:
    """Reassemble and verify the image of a ``GetChart`` or ``GetMACDGraph`` stream.

    ``rpc`` names the call in error messages. The first message must carry
    the metadata and every later one a chunk;
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
        raise ProtocolError(f"{rpc} stream ended without metadata")
    if first.WhichOneof("payload") != "metadata":
        raise ProtocolError(f"{rpc} stream did not start with metadata")
    metadata = first.metadata
    expected_size = metadata.size_bytes

    parts: list[bytes] = []
    received = 0
    for response in iterator:
        payload = response.WhichOneof("payload")
        if payload == "metadata":
            raise ProtocolError(f"{rpc} stream repeated its metadata")
        if payload != "chunk":
            continue  # A payload this client does not know; nothing to reassemble.
        received += len(response.chunk)
        if received > expected_size:
            raise IntegrityError(f"{rpc} stream sent more than the announced {expected_size} bytes")
        parts.append(response.chunk)

    if received != expected_size:
        raise IntegrityError(f"{rpc} stream sent {received} bytes, but the metadata announced {expected_size}")
    data = b"".join(parts)
    digest = hashlib.sha256(data).digest()
    if digest != metadata.sha256:
        raise IntegrityError(
            f"{rpc} image has SHA-256 {digest.hex()}, but the metadata announced {metadata.sha256.hex() or '(none)'}"
        )
    return Image(
        data=data,
        media_type=metadata.media_type,
        width_px=metadata.width_px,
        height_px=metadata.height_px,
        sha256=digest,
        dpi=metadata.dpi,
    )
