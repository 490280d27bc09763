"""Request limits: image and chunk sizes, and a chart's estimated cost against the server's budget.

The API layer only maps request fields onto these; every limit and the
error naming it lives here, so that a new front end refuses the same
requests with the same messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from idc_server.core import charts
from idc_server.core.errors import InvalidArgumentError, ResourceExhaustedError

if TYPE_CHECKING:
    from idc_server.core.analytics import ChartRequest

MIN_IMAGE_PX = 200
MAX_MACD_GRAPH_PX = 4000  # GetMACDGraph's documented range
MAX_CHART_PX = 8000  # GetChart's
MIN_DPI, MAX_DPI = 50, 600
DEFAULT_CHUNK_BYTES, MIN_CHUNK_BYTES, MAX_CHUNK_BYTES = 64 * 1024, 1024, 1024 * 1024

# A chart's cost is bars x pixels x (1 + panels + overlays): drawing time and
# memory grow with each factor (docs/decisions/0011). An SVG has no pixels to
# fill but one path vertex per bar and series; it counts as this many pixels.
SVG_COST_PIXELS = 4_000_000
DEFAULT_MAX_CHART_COST = 1_000_000_000_000  # SPY's 8,347 bars at 4000 x 4000 with 4 panels cost 6.7e11


@dataclass(frozen=True, slots=True)
class ChartBudget:
    """What one chart may cost; see ``chart_cost``."""

    max_cost: int = DEFAULT_MAX_CHART_COST


def bounded(field: str, value: int, default: int, low: int, high: int, unit: str) -> int:
    """A size from a request: 0 means ``default``; otherwise within [low, high]."""
    if value == 0:
        return default
    if not low <= value <= high:
        raise InvalidArgumentError(field, f"must be between {low} and {high} {unit}, got {value}")
    return value


def image_size(width_px: int, height_px: int, max_px: int, max_pixels: int) -> tuple[int, int]:
    """Requested pixel sizes (0 means the default), each 200 to ``max_px``, their product at most ``max_pixels``."""
    width = bounded("width_px", width_px, charts.WIDTH_PX, MIN_IMAGE_PX, max_px, "pixels")
    height = bounded("height_px", height_px, charts.HEIGHT_PX, MIN_IMAGE_PX, max_px, "pixels")
    if width * height > max_pixels:
        raise InvalidArgumentError(
            "width_px", f"{width} x {height} = {width * height} pixels is more than this server's limit of {max_pixels}"
        )
    return width, height


def dpi(value: int) -> int:
    """A chart's dots per inch: 0 means the default; otherwise 50 to 600."""
    return bounded("dpi", value, charts.DPI, MIN_DPI, MAX_DPI, "dots per inch")


def chunk_size(value: int) -> int:
    """A stream's chunk size: 0 means 64 KiB; otherwise 1 KiB to 1 MiB."""
    return bounded("chunk_size_bytes", value, DEFAULT_CHUNK_BYTES, MIN_CHUNK_BYTES, MAX_CHUNK_BYTES, "bytes")


def chart_cost(bars: int, request: ChartRequest) -> int:
    """The estimated cost of drawing ``request`` over ``bars`` bars, in bar-pixels."""
    options = request.options
    pixels = SVG_COST_PIXELS if options.format is charts.ImageFormat.SVG else options.width_px * options.height_px
    return bars * pixels * (1 + len(request.panels) + len(request.overlays))


def admit_chart(bars: int, request: ChartRequest, budget: ChartBudget) -> None:
    """Raise ResourceExhaustedError, before any work, for a chart over the budget."""
    cost = chart_cost(bars, request)
    if cost > budget.max_cost:
        options = request.options
        raise ResourceExhaustedError(
            "",
            f"this chart of {bars} bars at {options.width_px} x {options.height_px} with "
            f"{len(request.panels)} panels and {len(request.overlays)} overlays would cost {cost:.3g} bar-pixels, "
            f"more than this server's limit of {budget.max_cost:.3g} (--max-chart-cost): "
            "ask for a shorter date window, a smaller image or fewer panels",
        )
