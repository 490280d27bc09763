"""GetMACD over REST/JSON: FastAPI on uvicorn, bodies encoded and decoded with orjson.

``POST /v1/macd`` takes ``{"symbol": "SPY", "start_date": "2024-01-01",
"end_date": "2024-12-31"}`` (every key optional, as in GetMACDRequest) or
``{"inline_bars": {"dates": [days since 1970-01-01], "open": [...], "high":
[...], "low": [...], "close": [...], "volume": [...]}}``, and answers with the
fields of GetMACDResponse::

    {"symbol": "SPY", "first_valid_index": 0,
     "bars": {"dates": [...], "open": [...], ..., "volume": [...]},
     "macd": [...], "signal": [...], "histogram": [...]}

where ``macd``, ``signal`` and ``histogram`` start at ``first_valid_index``,
as idc's do (JSON has no NaN). Errors are 400 (InvalidArgumentError) or 404
(NotFoundError) with ``{"field": ..., "message": ...}``. The selection,
validation, computation and caches are idc-server's own.

    python -m bench.baselines.rest --port 50062
"""

from __future__ import annotations

import argparse
import signal
from collections.abc import Sequence
from types import FrameType
from typing import Any, NoReturn

import orjson
import pandas as pd
import uvicorn
from fastapi import FastAPI, Request, Response

from idc_server.config import ServerConfig
from idc_server.core.analytics import Analytics, MACDResult
from idc_server.core.data import BAR_COLUMNS, bars_from_columns, parse_date
from idc_server.core.errors import IdcError, InvalidArgumentError, NotFoundError, field_prefix
from idc_server.core.indicators import MACDParameters
from idc_server.server import build_analytics

PATH = "/v1/macd"
JSON = "application/json"


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name, "")
    if not isinstance(value, str):
        raise InvalidArgumentError(name, "must be a string")
    return value


def _inline_bars(value: object, max_bars: int) -> pd.DataFrame:
    """The bars frame of an ``inline_bars`` object, validated as idc validates inline bars."""
    with field_prefix("inline_bars"):
        if not isinstance(value, dict):
            raise InvalidArgumentError("", "must be an object of columns")
        for name in ("dates", *BAR_COLUMNS):
            if not isinstance(value.get(name), list):
                raise InvalidArgumentError(name, "must be an array of numbers")
        try:
            return bars_from_columns(value["dates"], {name: value[name] for name in BAR_COLUMNS}, max_bars=max_bars)
        except (TypeError, ValueError, OverflowError):
            raise InvalidArgumentError("", "every column must hold only numbers") from None


def compute(analytics: Analytics, body: object, max_bars: int) -> MACDResult:
    """GetMACD's computation for a decoded request body."""
    if not isinstance(body, dict):
        raise InvalidArgumentError("", "the body must be a JSON object")
    start = parse_date("start_date", _text(body, "start_date"))
    end = parse_date("end_date", _text(body, "end_date"))
    inline = _inline_bars(body["inline_bars"], max_bars) if "inline_bars" in body else None
    selection = analytics.select(_text(body, "symbol"), start, end, inline)
    return analytics.macd(selection, MACDParameters(), analytics.default_convention)


def payload(result: MACDResult) -> dict[str, Any]:
    """The reply body, with NumPy arrays that orjson writes directly (OPT_SERIALIZE_NUMPY)."""
    selection = result.selection
    start = result.first_valid_index
    return {
        "symbol": result.symbol,
        "first_valid_index": start,
        "bars": {"dates": selection.days, **selection.columns()},
        **{name: values[start:] for name, values in result.outputs.items()},
    }


def error_response(error: IdcError) -> Response:
    """400 or 404 with the field at fault."""
    status = 404 if isinstance(error, NotFoundError) else 400
    return Response(orjson.dumps({"field": error.field, "message": str(error)}), status_code=status, media_type=JSON)


def create_app(config: ServerConfig | None = None) -> FastAPI:
    """The FastAPI application over a fresh core."""
    config = config or ServerConfig()
    analytics = build_analytics(config)
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    # The body is read raw and decoded with orjson rather than declared as a
    # pydantic model: validating 100,000-element float lists through pydantic
    # costs far more than the computation, and bars_from_columns validates the
    # columns anyway, as it does for idc. That gives REST its best showing.
    #
    # ``async def`` with the work done inline: the core is CPU-bound and holds
    # the GIL, so a thread-pool hop (what a plain ``def`` endpoint gets) would
    # only add a hand-off per call without running anything in parallel.
    @app.post(PATH)
    async def get_macd(request: Request) -> Response:
        try:
            try:
                body = orjson.loads(await request.body())
            except orjson.JSONDecodeError as error:
                raise InvalidArgumentError("", f"the body is not JSON: {error}") from None
            result = compute(analytics, body, config.max_bars)
        except IdcError as error:
            return error_response(error)
        return Response(orjson.dumps(payload(result), option=orjson.OPT_SERIALIZE_NUMPY), media_type=JSON)

    return app


def exit_cleanly(signum: int, frame: FrameType | None) -> NoReturn:
    """End the process with status 0."""
    raise SystemExit(0)


def main(argv: Sequence[str] | None = None) -> None:
    """Serve until SIGINT or SIGTERM, then exit with status 0."""
    parser = argparse.ArgumentParser(prog="python -m bench.baselines.rest", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="TCP port on 127.0.0.1")
    args = parser.parse_args(argv)
    app = create_app()
    # uvicorn catches SIGINT and SIGTERM while it serves, shuts down
    # gracefully, then restores these handlers and raises the signal again,
    # which would otherwise kill the process by that signal.
    signal.signal(signal.SIGINT, exit_cleanly)
    signal.signal(signal.SIGTERM, exit_cleanly)
    # The usual fastest settings: the C HTTP parser, libuv's event loop, one
    # process, no access log.
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        http="httptools",
        loop="uvloop",
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
