"""What a render is asked for besides its data: size, encoding, colours and price scale."""

from __future__ import annotations

import enum
from dataclasses import dataclass

# Default output size.
WIDTH_PX = 1200
HEIGHT_PX = 800
DPI = 100

# The price panel goes log (PriceScale.AUTO) when its highest value is at
# least this many times its lowest: a series that tripled reads in percent.
AUTO_LOG_RATIO = 3.0


class ImageFormat(enum.Enum):
    """Output encodings; the value is the media type."""

    PNG = "image/png"
    SVG = "image/svg+xml"
    JPEG = "image/jpeg"
    WEBP = "image/webp"


class Theme(enum.Enum):
    """Background and text colours."""

    LIGHT = "light"
    DARK = "dark"


class ColorScheme(enum.Enum):
    """Which colour means up: WESTERN up green / down red, CN up red / down green."""

    WESTERN = "western"
    CN = "cn"


class PriceScale(enum.Enum):
    """The price panel's y scale.

    AUTO is LOG when every price drawn is positive and the highest is at
    least ``AUTO_LOG_RATIO`` times the lowest, LINEAR otherwise. LOG falls
    back to LINEAR when a price is zero or negative (a log scale cannot show it).
    """

    AUTO = "auto"
    LINEAR = "linear"
    LOG = "log"


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """Output size, encoding, colours and price scale."""

    width_px: int = WIDTH_PX
    height_px: int = HEIGHT_PX
    dpi: int = DPI
    format: ImageFormat = ImageFormat.PNG
    theme: Theme = Theme.LIGHT
    scheme: ColorScheme = ColorScheme.WESTERN
    price_scale: PriceScale = PriceScale.AUTO

    def __post_init__(self) -> None:
        if self.width_px <= 0 or self.height_px <= 0 or self.dpi <= 0:
            raise ValueError(
                f"width_px, height_px and dpi must be positive, got {self.width_px}, {self.height_px}, {self.dpi}"
            )
