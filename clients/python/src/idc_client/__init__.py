"""Typed Python client of the idc gRPC service: MACD indicators and charts.

Quick start::

    from idc_client import IdcClient

    with IdcClient("localhost:50051") as client:
        frame = client.macd("SPY", "2023-01-01", "2023-12-31")
        image = client.graph("SPY", width=800, height=600)
        image.save("macd.png")

The generated protobuf and gRPC modules live in the ``idc`` package
(``idc.v1``), shipped in the same distribution.
"""

from idc_client.client import IdcClient
from idc_client.errors import IntegrityError, field_violations
from idc_client.frames import MACDRow, macd_frame, macd_rows
from idc_client.image import Image

__all__ = [
    "IdcClient",
    "Image",
    "IntegrityError",
    "MACDRow",
    "field_violations",
    "macd_frame",
    "macd_rows",
]
