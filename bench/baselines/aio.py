"""idc.v1's GetMACD on a grpc.aio server, over the same core and servicer code, to compare execution models.

The handler is idc's own ``IndicatorService.GetMACD``, called on the event
loop (the work is CPU-bound, so an executor would only add a hop). No
interceptor runs: against the sync server's figures, this flatters aio by
about 0.05 ms a call (docs/decisions/0011).

    python -m bench.baselines.aio --port 50062
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Sequence
from typing import Any

import grpc

from idc.v1 import indicator_service_pb2
from idc_server.api import v1
from idc_server.config import ServerConfig
from idc_server.server import build_analytics


def get_macd_handler(service: v1.IndicatorService) -> grpc.GenericRpcHandler[Any, Any]:
    """``/idc.v1.IndicatorService/GetMACD`` as a coroutine around the sync servicer's method."""

    async def get_macd(
        request: indicator_service_pb2.GetMACDRequest, context: Any
    ) -> indicator_service_pb2.GetMACDResponse:
        return service.GetMACD(request, context)

    handler = grpc.unary_unary_rpc_method_handler(
        get_macd,
        request_deserializer=indicator_service_pb2.GetMACDRequest.FromString,
        response_serializer=indicator_service_pb2.GetMACDResponse.SerializeToString,
    )
    return grpc.method_handlers_generic_handler(SERVICE, {"GetMACD": handler})


SERVICE = indicator_service_pb2.DESCRIPTOR.services_by_name["IndicatorService"].full_name


async def serve(port: int) -> None:
    config = ServerConfig()
    server = grpc.aio.server(
        options=[
            ("grpc.so_reuseport", 0),
            ("grpc.max_receive_message_length", config.max_message_bytes),
            ("grpc.max_send_message_length", config.max_message_bytes),
        ]
    )
    service = v1.IndicatorService(build_analytics(config), config.max_bars)
    server.add_generic_rpc_handlers((get_macd_handler(service),))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()
    await server.stop(1.0)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(serve(parser.parse_args(argv).port))


if __name__ == "__main__":
    main()
