"""Encoding a finished figure: SVG with stable ids, PNG, JPEG and WebP without timestamps."""

from __future__ import annotations

import hashlib
import io
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_mixed import MixedModeRenderer
from matplotlib.backends.backend_svg import RendererSVG
from matplotlib.figure import Figure
from PIL import Image

from idc_server.core.charts.options import ImageFormat, RenderOptions

JPEG_QUALITY = 90


class _StableIdRendererSVG(RendererSVG):
    """RendererSVG whose element ids hash only their content.

    Stock RendererSVG salts ids (clip paths, markers, path collections) with a
    random uuid unless rcParams["svg.hashsalt"] is set, and rcParams are
    global, so they are not ours to change.
    """

    def _make_id(self, type: str, content: Any) -> str:
        return f"{type}{hashlib.sha256(str(content).encode('utf-8')).hexdigest()[:10]}"


def svg(fig: Figure) -> bytes:
    """The figure as SVG, sized in points (1/72 in); what FigureCanvasSVG.print_svg does, with stable ids.

    Date metadata is left out so the bytes depend only on the input.
    """
    buf = io.StringIO()
    dpi = fig.dpi
    w_in, h_in = fig.get_size_inches()
    fig.dpi = 72.0  # SVG user units are points
    metadata = {"Date": None}
    svg = _StableIdRendererSVG(w_in * 72.0, h_in * 72.0, buf, image_dpi=dpi, metadata=metadata)  # type: ignore[no-untyped-call]
    renderer = MixedModeRenderer(fig, w_in, h_in, dpi, svg)  # type: ignore[no-untyped-call]
    fig.draw(cast("RendererBase", renderer))  # a MixedModeRenderer forwards to the SVG renderer
    renderer.finalize()
    return buf.getvalue().encode("utf-8")


def raster(rgba: npt.NDArray[np.uint8], options: RenderOptions) -> bytes:
    """PNG, JPEG or WebP of an opaque RGBA pixel buffer, with the dpi recorded where the format allows."""
    height, width = rgba.shape[:2]
    image = Image.frombuffer("RGBA", (width, height), rgba, "raw", "RGBA", 0, 1).convert("RGB")
    dpi = (options.dpi, options.dpi)
    buf = io.BytesIO()
    if options.format is ImageFormat.PNG:
        image.save(buf, format="PNG", dpi=dpi, compress_level=6)  # Pillow adds no time or software chunks
    elif options.format is ImageFormat.JPEG:
        # 4:4:4 chroma keeps thin red and green lines crisp.
        image.save(buf, format="JPEG", quality=JPEG_QUALITY, subsampling=0, dpi=dpi)
    elif options.format is ImageFormat.WEBP:
        exif = Image.Exif()  # WebP has no dpi field; EXIF resolution is the common substitute
        exif[0x011A] = options.dpi  # XResolution
        exif[0x011B] = options.dpi  # YResolution
        exif[0x0128] = 2  # ResolutionUnit: inches
        image.save(
            buf, format="WEBP", lossless=True, quality=60, method=3, exif=exif
        )  # ~2x faster than the defaults, as small
    else:
        raise ValueError(f"not a raster format: {options.format}")
    return buf.getvalue()
