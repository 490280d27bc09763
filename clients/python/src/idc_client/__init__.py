"""Typed Python client of the idc gRPC service: technical indicators and MACD charts.

Quick start::

    from idc_client import IdcClient, boll, rsi, sma

    with IdcClient("localhost:50051") as client:
        print(client.symbols())
        frame = client.macd("SPY", "2023-01-01", "2023-12-31", convention="tdx")
        table = client.indicators([sma(20, label="sma20"), rsi(), boll()], "SPY", "2023-01-01")
        image = client.graph("SPY", width=800, height=600)
        image.save("macd.png")

``sma``, ``ema``, ``macd``, ``rsi``, ``boll`` and ``kdj`` build the
``IndicatorSpec`` messages of ``IdcClient.indicators`` (``idc_client.macd``
is that builder; ``IdcClient.macd`` is the GetMACD call). The generated
protobuf and gRPC modules live in the ``idc`` package (``idc.v1``), shipped
in the same distribution.
"""

from idc_client.client import BarsLike, DateLike, IdcClient
from idc_client.errors import IntegrityError, field_violations
from idc_client.frames import (
    MACDRow,
    bars_frame,
    bars_message,
    indicator_frame,
    macd_frame,
    macd_rows,
    symbols_frame,
)
from idc_client.image import Image
from idc_client.indicators import boll, convention_name, ema, kdj, macd, parse_convention, rsi, sma

__all__ = [
    "BarsLike",
    "DateLike",
    "IdcClient",
    "Image",
    "IntegrityError",
    "MACDRow",
    "bars_frame",
    "bars_message",
    "boll",
    "convention_name",
    "ema",
    "field_violations",
    "indicator_frame",
    "kdj",
    "macd",
    "macd_frame",
    "macd_rows",
    "parse_convention",
    "rsi",
    "sma",
    "symbols_frame",
]
