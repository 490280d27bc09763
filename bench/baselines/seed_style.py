"""The article's way of replying, over the same core: one ``MACDData`` message per bar.

A grpcio server with one method, ``/bench.SeedStyle/GetMACD``. It accepts
idc.v1's ``GetMACDRequest`` (a symbol and window, or inline bars), so it is
driven by exactly the requests idc gets, and answers with the article's
``idc.MACDReply``, built row by row in Python as the article's servicer does
(``idc_server.api.article.macd_reply``). Only the reply's shape differs from
idc: the selection, validation, computation and caches are idc-server's own.

    python -m bench.baselines.seed_style --port 50061
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from concurrent import futures

import grpc

from idc import indicator_pb2
from idc.v1 import indicator_service_pb2
from idc_server.api import convert
from idc_server.api.article import macd_reply
from idc_server.api.errors import domain_errors
from idc_server.config import ServerConfig
from idc_server.core.analytics import Analytics
from idc_server.core.indicators import MACDParameters
from idc_server.server import build_analytics, wait_for_signal

SERVICE = "bench.SeedStyle"
METHOD = f"/{SERVICE}/GetMACD"
GRACE_SECONDS = 1.0


class SeedStyle:
    """GetMACD over idc's core, answered with the article's per-row reply."""

    def __init__(self, analytics: Analytics, max_bars: int) -> None:
        self._analytics = analytics
        self._max_bars = max_bars
        self._parameters = MACDParameters()

    def GetMACD(
        self, request: indicator_service_pb2.GetMACDRequest, context: grpc.ServicerContext
    ) -> indicator_pb2.MACDReply:
        # idc's own mapping: INVALID_ARGUMENT or NOT_FOUND, the field named in the message.
        with domain_errors(context):
            selection = convert.selection(self._analytics, request, self._max_bars)
            result = self._analytics.macd(selection, self._parameters, self._analytics.default_convention)
        return macd_reply(result)


def handler(
    servicer: SeedStyle,
) -> grpc.GenericRpcHandler[indicator_service_pb2.GetMACDRequest, indicator_pb2.MACDReply]:
    """The generic handler serving ``METHOD``."""
    method = grpc.unary_unary_rpc_method_handler(
        servicer.GetMACD,
        request_deserializer=indicator_service_pb2.GetMACDRequest.FromString,
        response_serializer=indicator_pb2.MACDReply.SerializeToString,
    )
    return grpc.method_handlers_generic_handler(SERVICE, {"GetMACD": method})


def start(port: int, config: ServerConfig | None = None) -> tuple[grpc.Server, int]:
    """Start the server on 127.0.0.1:``port`` (0 picks one); returns it and its port."""
    config = config or ServerConfig()
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=config.max_workers, thread_name_prefix="seed-rpc"),
        options=[
            ("grpc.so_reuseport", 0),
            ("grpc.max_receive_message_length", config.max_message_bytes),
            ("grpc.max_send_message_length", config.max_message_bytes),
        ],
    )
    server.add_generic_rpc_handlers((handler(SeedStyle(build_analytics(config), config.max_bars)),))
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    if bound == 0:
        raise OSError(f"could not bind 127.0.0.1:{port}")
    server.start()
    return server, bound


def main(argv: Sequence[str] | None = None) -> None:
    """Serve until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m bench.baselines.seed_style", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="TCP port on 127.0.0.1")
    args = parser.parse_args(argv)
    server, _ = start(args.port)
    wait_for_signal()
    server.stop(GRACE_SECONDS).wait()


if __name__ == "__main__":
    main()
