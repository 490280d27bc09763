"""Stock charts: a price panel with overlays over indicator panels, encoded as PNG, SVG, JPEG or WebP.

Part of the proto-free core: it takes a bars frame and indicator arrays and
returns image bytes. It knows nothing about gRPC, protobuf or request
validation. The kinds of panel and overlay are declared once each in
``kinds``; ``render`` draws any of them; ``timeaxis`` lays bars out by index
and labels them by time; ``values`` fits the y axes; ``reduce`` draws more
bars than pixel columns; ``legend``, ``theme`` and ``encode`` do what they say.
"""

from idc_server.core.charts.kinds import (
    BOLL,
    EMA,
    KDJ,
    MACD,
    OVERLAYS,
    PANELS,
    RSI,
    SMA,
    VOLUME,
    Draw,
    Overlay,
    OverlayKind,
    Panel,
    PanelKind,
    Series,
    indicator_overlay,
    indicator_panel,
    signal_markers,
)
from idc_server.core.charts.options import (
    AUTO_LOG_RATIO,
    DPI,
    HEIGHT_PX,
    WIDTH_PX,
    ColorScheme,
    ImageFormat,
    PriceScale,
    RenderOptions,
    Theme,
)
from idc_server.core.charts.render import MAX_CANDLES, build_figure, render_chart
from idc_server.core.charts.timeaxis import span_text

__all__ = [
    "AUTO_LOG_RATIO",
    "BOLL",
    "DPI",
    "EMA",
    "HEIGHT_PX",
    "KDJ",
    "MACD",
    "MAX_CANDLES",
    "OVERLAYS",
    "PANELS",
    "RSI",
    "SMA",
    "VOLUME",
    "WIDTH_PX",
    "ColorScheme",
    "Draw",
    "ImageFormat",
    "Overlay",
    "OverlayKind",
    "Panel",
    "PanelKind",
    "PriceScale",
    "RenderOptions",
    "Series",
    "Theme",
    "build_figure",
    "indicator_overlay",
    "indicator_panel",
    "render_chart",
    "signal_markers",
    "span_text",
]
