"""One server interceptor for what every call needs: bearer-token auth, logs and metrics."""

from __future__ import annotations

import hmac
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import grpc
from google.protobuf.message import Message

from idc_server.observability import Metrics

log = logging.getLogger("idc_server.rpc")
DEADLINE_SLACK_SECONDS = 0.25
QUIET_PREFIXES = ("/grpc.health.v1.Health/",)  # probes call these every few seconds: log at DEBUG


def final_code(context: grpc.ServicerContext, failed: bool) -> grpc.StatusCode:
    """The status a call ended with, as far as the server can tell."""
    code = context.code()  # type: ignore[attr-defined]
    if isinstance(code, grpc.StatusCode):
        return code
    if failed:
        return grpc.StatusCode.UNKNOWN
    if not context.is_active():
        # A client whose deadline passes cancels the call a moment before the
        # server's own copy of that deadline expires.
        remaining = context.time_remaining()
        expired = remaining is not None and remaining <= DEADLINE_SLACK_SECONDS
        return grpc.StatusCode.DEADLINE_EXCEEDED if expired else grpc.StatusCode.CANCELLED
    return grpc.StatusCode.OK


if TYPE_CHECKING:
    Interceptor = grpc.ServerInterceptor[Any, Any]
else:
    Interceptor = grpc.ServerInterceptor


class CallInterceptor(Interceptor):
    """Rejects calls without a valid token (unless exempt), then logs and counts every call."""

    def __init__(
        self, metrics: Metrics, tokens: Sequence[str], exempt: Sequence[str], max_response_bytes: int | None = None
    ) -> None:
        self._metrics = metrics
        self._tokens = [token.encode() for token in tokens]
        self._exempt = tuple(exempt)
        self._max_response_bytes = max_response_bytes

    def authorized(self, header: str | None) -> bool:
        """Whether an ``authorization`` header carries one of the tokens, compared in constant time."""
        scheme, _, token = (header or "").partition(" ")
        presented = token.strip().encode()
        matches = [hmac.compare_digest(presented, expected) for expected in self._tokens]
        return scheme.lower() == "bearer" and any(matches)

    def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None], details: Any
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = continuation(details)
        if handler is None:
            return None
        method: str = details.method
        metadata = {key: value for key, value in details.invocation_metadata if isinstance(value, str)}
        allowed = not self._tokens or method.startswith(self._exempt) or self.authorized(metadata.get("authorization"))
        return _wrap(handler, self._observe(method, metadata.get("x-request-id")), allowed)

    def _observe(self, method: str, sent_id: str | None) -> Callable[[grpc.ServicerContext, Callable[[], Any]], Any]:
        metrics = self._metrics
        max_response_bytes = self._max_response_bytes

        def record(context: grpc.ServicerContext, started: float, failed: bool) -> None:
            code = final_code(context, failed)
            duration = time.perf_counter() - started
            metrics.rpcs.labels(method, code.name).inc()
            metrics.latency.labels(method, code.name).observe(duration)
            level = logging.DEBUG if method.startswith(QUIET_PREFIXES) else logging.INFO
            if not log.isEnabledFor(level):
                return  # skip building the record, peer and request id included, when nobody reads it
            request_id = sent_id or uuid.uuid4().hex
            log.log(
                level,
                "%s %s %.1fms",
                method,
                code.name,
                duration * 1000,
                extra={
                    "method": method,
                    "peer": context.peer(),
                    "code": code.name,
                    "duration_ms": round(duration * 1000, 3),
                    "request_id": request_id,
                },
            )

        def observe(context: grpc.ServicerContext, call: Callable[[], Any]) -> Any:
            started = time.perf_counter()
            gauge = metrics.in_flight.labels(method)
            gauge.inc()
            failed = True
            try:
                result = call()
                if isinstance(result, Iterator):
                    return _observed_stream(result, context, started, record, gauge)
                if max_response_bytes is not None and isinstance(result, Message):
                    _check_size(context, result, max_response_bytes)
                failed = False
                record(context, started, failed)
                gauge.dec()
                return result
            except BaseException:
                record(context, started, failed)
                gauge.dec()
                raise

        return observe


def _observed_stream(
    stream: Iterator[Any],
    context: grpc.ServicerContext,
    started: float,
    record: Callable[[grpc.ServicerContext, float, bool], None],
    gauge: Any,
) -> Iterator[Any]:
    failed = True
    try:
        yield from stream
        failed = False
    except GeneratorExit:
        failed = False  # the call ended early (cancelled); final_code tells which way
        raise
    finally:
        record(context, started, failed)
        gauge.dec()


class Undecodable:
    """A request whose bytes did not decode; its handler answers INVALID_ARGUMENT instead of gRPC's INTERNAL."""

    def __init__(self, error: Exception) -> None:
        self.error = error


def _check_size(context: grpc.ServicerContext, response: Message, limit: int) -> None:
    """RESOURCE_EXHAUSTED, said here so that it is logged and counted as such, for a reply over ``limit``.

    gRPC would refuse to send it anyway, but after the call had been counted as OK.
    """
    size = response.ByteSize()
    if size > limit:
        context.abort(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            f"the response is {size} bytes, more than this server's limit of {limit} (--max-message-bytes): "
            "ask for a shorter date window or fewer indicators",
        )


def _tolerant(deserialize: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    def decode(data: bytes) -> Any:
        try:
            return deserialize(data)
        except Exception as error:
            return Undecodable(error)

    return decode


def _reject(context: grpc.ServicerContext, request: Undecodable) -> None:
    context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"the request does not decode: {str(request.error)[:200]}")


def _deny(context: grpc.ServicerContext) -> None:
    context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or invalid bearer token in the authorization metadata")


def _wrap(
    handler: grpc.RpcMethodHandler[Any, Any],
    observe: Callable[[grpc.ServicerContext, Callable[[], Any]], Any],
    allowed: bool,
) -> grpc.RpcMethodHandler[Any, Any]:
    """The same handler, with its behaviour observed (and refused when not allowed)."""

    def wrapped(behavior: Callable[[Any, grpc.ServicerContext], Any]) -> Callable[[Any, grpc.ServicerContext], Any]:
        def run(request: Any, context: grpc.ServicerContext) -> Any:
            if not allowed:
                return observe(context, lambda: _deny(context))
            if isinstance(request, Undecodable):
                return observe(context, lambda: _reject(context, request))
            return observe(context, lambda: behavior(request, context))

        return run

    deserializer = handler.request_deserializer
    if deserializer is not None and not handler.request_streaming:
        deserializer = _tolerant(deserializer)

    kinds = (
        ("unary_unary", grpc.unary_unary_rpc_method_handler),
        ("unary_stream", grpc.unary_stream_rpc_method_handler),
        ("stream_unary", grpc.stream_unary_rpc_method_handler),
        ("stream_stream", grpc.stream_stream_rpc_method_handler),
    )
    for kind, make in kinds:
        behavior = getattr(handler, kind)
        if behavior is not None:
            return make(
                wrapped(behavior),
                request_deserializer=deserializer,
                response_serializer=handler.response_serializer,
            )
    raise AssertionError(f"a method handler of no known kind: {handler}")
