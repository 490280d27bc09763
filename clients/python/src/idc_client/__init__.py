"""Typed Python client of the idc gRPC service: technical indicators and charts.

Quick start::

    from idc_client import IdcClient, boll, boll_overlay, macd_panel, rsi, rsi_panel, sma, sma_overlay, volume_panel

    with IdcClient("localhost:50051") as client:
        print(client.symbols())
        frame = client.macd("SPY", "2023-01-01", "2023-12-31", convention="tdx")
        minutes = client.macd("000001.SH", "2020-07-01", "2020-07-01", interval="5m")  # indexed 09:30+08:00, ...
        adjusted = client.macd("AAPL", "2014-06-01", "2014-06-30", adjustment="forward")  # 前复权
        table = client.indicators([sma(20, label="sma20"), rsi(), boll()], "SPY", "2023-01-01")
        image = client.graph("SPY", width=800, height=600)
        image.save("macd.png")
        chart = client.chart(
            "SPY",
            "2023-01-01",
            panels=[volume_panel(), macd_panel(), rsi_panel()],
            overlays=[sma_overlay(20), boll_overlay(20)],
            format="svg",
            theme="dark",
        )
        chart.save("spy.svg")

``sma``, ``ema``, ``macd``, ``rsi``, ``boll`` and ``kdj`` build the
``IndicatorSpec`` messages of ``IdcClient.indicators`` (``idc_client.macd``
is that builder; ``IdcClient.macd`` is the GetMACD call). ``volume_panel``,
``macd_panel``, ``rsi_panel``, ``kdj_panel``, ``sma_overlay``,
``ema_overlay`` and ``boll_overlay`` (also in ``idc_client.charts``) build
the panels and overlays of ``IdcClient.chart``. The generated
protobuf and gRPC modules live in the ``idc`` package (``idc.v1``), shipped
in the same distribution.
"""

from idc_client.catalogue import (
    Description,
    Entry,
    Output,
    Parameter,
    fn,
    formula,
    indicator_overlay,
    indicator_panel,
    parameter_value,
    screen_frame,
)
from idc_client.charts import (
    boll_overlay,
    ema_overlay,
    kdj_panel,
    macd_panel,
    parse_format,
    parse_price_scale,
    parse_scheme,
    parse_theme,
    rsi_panel,
    sma_overlay,
    volume_panel,
)
from idc_client.client import BarsLike, DateLike, IdcClient, tls_credentials
from idc_client.errors import IntegrityError, ProtocolError, field_violations
from idc_client.frames import (
    MACDRow,
    bars_frame,
    bars_message,
    indicator_frame,
    macd_frame,
    macd_rows,
    symbols_frame,
    time_index,
)
from idc_client.image import Image
from idc_client.indicators import boll, convention_name, ema, kdj, macd, parse_convention, rsi, sma
from idc_client.intervals import (
    adjustment_name,
    interval_name,
    is_intraday,
    parse_adjustment,
    parse_interval,
)

__all__ = [
    "BarsLike",
    "DateLike",
    "Description",
    "Entry",
    "IdcClient",
    "Image",
    "IntegrityError",
    "MACDRow",
    "Output",
    "Parameter",
    "ProtocolError",
    "adjustment_name",
    "bars_frame",
    "bars_message",
    "boll",
    "boll_overlay",
    "convention_name",
    "ema",
    "ema_overlay",
    "field_violations",
    "fn",
    "formula",
    "indicator_frame",
    "indicator_overlay",
    "indicator_panel",
    "interval_name",
    "is_intraday",
    "kdj",
    "kdj_panel",
    "macd",
    "macd_frame",
    "macd_panel",
    "macd_rows",
    "parameter_value",
    "parse_adjustment",
    "parse_convention",
    "parse_format",
    "parse_interval",
    "parse_price_scale",
    "parse_scheme",
    "parse_theme",
    "rsi",
    "rsi_panel",
    "screen_frame",
    "sma",
    "sma_overlay",
    "symbols_frame",
    "time_index",
    "tls_credentials",
    "volume_panel",
]
