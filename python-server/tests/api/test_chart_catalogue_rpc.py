"""GetChart with catalogue entries and formulas as panels and overlays, over a real server."""

from __future__ import annotations

import io
from typing import Any

import grpc
import numpy as np
import pytest
from PIL import Image

from idc.v1 import indicator_graph_service_pb2 as graph_pb2
from idc.v1 import indicator_graph_service_pb2_grpc as graph_grpc
from idc.v1 import indicators_pb2

Panel, Overlay, Spec = graph_pb2.ChartPanel, graph_pb2.ChartOverlay, indicators_pb2.IndicatorSpec
Value = indicators_pb2.ParameterValue


@pytest.fixture(scope="module")
def graphs(channel: grpc.Channel) -> graph_grpc.IndicatorGraphServiceStub:
    return graph_grpc.IndicatorGraphServiceStub(channel)


def image(graphs: Any, **fields: Any) -> np.ndarray:
    messages = list(graphs.GetChart(graph_pb2.GetChartRequest(**fields), timeout=120))
    data = b"".join(message.chunk for message in messages[1:])
    with Image.open(io.BytesIO(data)) as decoded:
        assert decoded.size == (fields.get("width_px", 1200), fields.get("height_px", 800))
        return np.asarray(decoded.convert("RGB"))


def test_any_entry_draws_as_a_panel_an_overlay_and_markers(graphs: Any) -> None:
    window = {"symbol": "SPY", "start_date": "2024-01-01", "end_date": "2024-06-28", "width_px": 800, "height_px": 600}
    plain = image(graphs, panels=[Panel(volume=graph_pb2.VolumeParameters())], **window)
    full = image(
        graphs,
        overlays=[Overlay(indicator=Spec(name="example.DONCHIAN")), Overlay(indicator=Spec(name="talib.CDLENGULFING"))],
        panels=[
            Panel(indicator=Spec(name="talib.ADX", params={"timeperiod": Value(number=10)})),
            Panel(indicator=Spec(formula="K:SMA(C,9,1); UP:CROSS(C,MA(C,20));", label="f")),
        ],
        **window,
    )
    # Three panels now share the height where one was: the images differ in most rows.
    assert plain.shape == full.shape
    assert np.mean(np.any(plain != full, axis=(1, 2))) > 0.5


def test_a_panel_of_signals_only_adds_markers_and_no_panel(graphs: Any) -> None:
    window = {"symbol": "SPY", "start_date": "2024-01-01", "end_date": "2024-03-28", "width_px": 640, "height_px": 480}
    base = image(graphs, panels=[Panel(volume=graph_pb2.VolumeParameters())], **window)
    marked = image(
        graphs,
        panels=[Panel(volume=graph_pb2.VolumeParameters()), Panel(indicator=Spec(formula="C>REF(C,1)"))],
        **window,
    )
    changed = np.any(base != marked, axis=2)
    rows = np.flatnonzero(changed.any(axis=1))
    # Markers on the price panel (the top part); the volume panel below is the same.
    assert len(rows)
    assert rows.max() < 0.75 * base.shape[0]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"overlays": [Overlay(indicator=Spec(name="talib.ADX"))]},
            "overlays[0].indicator",
            "talib.ADX's output real is percent, not price or signal: draw it in a panel",
        ),
        ({"panels": [Panel(indicator=Spec(name="talib.NOPE"))]}, "panels[0].indicator.name", "unknown indicator"),
        (
            {"panels": [Panel(indicator=Spec(formula="X:MA(C,"))]},
            "panels[0].indicator.formula",
            "line 1, column 8",
        ),
        (
            {"panels": [Panel(indicator=Spec(name="talib.SMA"))], "convention": indicators_pb2.CONVENTION_TDX},
            "convention",
            "talib.SMA supports TALIB, not TDX",
        ),
    ],
)
def test_bad_entries_name_the_field(graphs: Any, fields: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        list(graphs.GetChart(graph_pb2.GetChartRequest(symbol="SPY", **fields), timeout=60))
    error: Any = caught.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == f"{field}: {message}" or error.details().startswith(f"{field}: {message}"), (
        error.details()
    )
