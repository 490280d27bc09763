"""idc.v1's GetMACD on a grpc.aio server, over the same core and servicer code, to compare execution models.

The comparison with the sync server is like for like: the same handler
(idc's own ``IndicatorService.GetMACD``, called on the event loop: the work
is CPU-bound, so an executor would only add a hop), the same channel
options and message limits (``server.server_options``), the same
``maximum_concurrent_rpcs``, glibc's malloc tuned the same way, and the
same per-call interceptor work: idc's ``CallInterceptor`` wraps the handler
on every call (slots, token check, metrics, the reply's size check, the
access-log decision) exactly as in the sync server, and the wrapped
function runs inside one coroutine. ``--no-interceptor`` leaves it out, to
measure what it costs. See docs/decisions/0011-execution-model.md.

    python -m bench.baselines.aio --port 50062
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import grpc

from idc.v1 import indicator_service_pb2
from idc_server.api import v1
from idc_server.config import ServerConfig
from idc_server.interceptors import CallInterceptor, CallLimits
from idc_server.observability import Metrics
from idc_server.server import REFUSAL_THREADS, build_analytics, keep_large_buffers, server_options

SERVICE = indicator_service_pb2.DESCRIPTOR.services_by_name["IndicatorService"].full_name
Behavior = Callable[[Any, Any], Any]

if TYPE_CHECKING:
    AioInterceptor = grpc.aio.ServerInterceptor[Any, Any]
else:
    AioInterceptor = grpc.aio.ServerInterceptor


def get_macd_handler(service: v1.IndicatorService, coroutine: bool) -> grpc.GenericRpcHandler[Any, Any]:
    """``/idc.v1.IndicatorService/GetMACD``: the sync servicer's method, or a coroutine around it."""

    async def get_macd(
        request: indicator_service_pb2.GetMACDRequest, context: Any
    ) -> indicator_service_pb2.GetMACDResponse:
        return service.GetMACD(request, context)

    handler = grpc.unary_unary_rpc_method_handler(
        get_macd if coroutine else service.GetMACD,
        request_deserializer=indicator_service_pb2.GetMACDRequest.FromString,
        response_serializer=indicator_service_pb2.GetMACDResponse.SerializeToString,
    )
    return grpc.method_handlers_generic_handler(SERVICE, {"GetMACD": handler})


class SyncContext:
    """An aio servicer context with the sync one's ``is_active``, which the interceptor asks for."""

    def __init__(self, context: Any) -> None:
        self._context = context

    def is_active(self) -> bool:
        return not self._context.done()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


class SameInterceptorWork(AioInterceptor):
    """Runs idc's sync ``CallInterceptor`` on every call, as the sync server does, and awaits nothing more."""

    def __init__(self, interceptor: CallInterceptor) -> None:
        self._interceptor = interceptor

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(handler_call_details)
        wrapped = self._interceptor.intercept_service(lambda _: handler, handler_call_details)
        if wrapped is None or wrapped.unary_unary is None:
            return handler
        behavior: Behavior = wrapped.unary_unary

        async def run(request: Any, context: Any) -> Any:
            return behavior(request, SyncContext(context))

        return grpc.unary_unary_rpc_method_handler(
            run, request_deserializer=wrapped.request_deserializer, response_serializer=wrapped.response_serializer
        )


async def serve(port: int, interceptor: bool) -> None:
    config = ServerConfig()
    keep_large_buffers()
    analytics = build_analytics(config)
    interceptors: list[AioInterceptor] = []
    if interceptor:
        limits = CallLimits(
            config.max_concurrent_rpcs, config.max_streams, config.max_streams_per_peer, config.stream_stall_seconds
        )
        metrics = Metrics(analytics.render_cache.stats, analytics.indicator_cache.stats)
        calls = CallInterceptor(metrics, config.auth_tokens, config.auth_exempt, config.max_message_bytes, limits)
        interceptors.append(SameInterceptorWork(calls))
    server = grpc.aio.server(
        interceptors=interceptors,
        options=server_options(config, reuse_port=False),
        maximum_concurrent_rpcs=max(config.max_workers, config.max_concurrent_rpcs + REFUSAL_THREADS),
    )
    service = v1.IndicatorService(analytics, config.max_bars)
    server.add_generic_rpc_handlers((get_macd_handler(service, coroutine=not interceptor),))
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
    parser.add_argument("--no-interceptor", action="store_true", help="leave idc's per-call interceptor work out")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.port, interceptor=not args.no_interceptor))


if __name__ == "__main__":
    main()
