"""One server interceptor for what every call needs: limits, bearer-token auth, logs and metrics.

Limits hold for every call that gets past the token check, callers without
a token on exempt methods (health) included: calls in progress (``max_concurrent_rpcs``),
streaming calls in total and per client connection, with callers without a
token held to half the total when tokens are required. A stream whose client
has not taken the next message for ``stall_seconds`` is cancelled from a
watchdog thread (a blocked send in the sync server ends when its call is
cancelled). Every refusal is logged and counted with its code like any call.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class CallLimits:
    """What the interceptor bounds; see the module docstring."""

    max_concurrent_rpcs: int = 64
    max_streams: int = 32
    max_streams_per_peer: int = 16
    stall_seconds: float = 10.0


class Slots:
    """Counts of calls and streams in progress, taken and given back under one lock."""

    def __init__(self, limits: CallLimits, tokens_required: bool) -> None:
        self._limits = limits
        self._tokens_required = tokens_required
        self._lock = threading.Lock()
        self._calls = 0
        self._streams = 0
        self._anonymous_streams = 0
        self._per_peer: Counter[str] = Counter()

    def take_call(self) -> str | None:
        """A refusal message, or None with a call slot taken."""
        with self._lock:
            if self._calls >= self._limits.max_concurrent_rpcs:
                return (
                    f"{self._calls} calls are in progress, this server's limit (--max-concurrent-rpcs "
                    f"{self._limits.max_concurrent_rpcs}): retry shortly"
                )
            self._calls += 1
            return None

    def give_call(self) -> None:
        with self._lock:
            self._calls -= 1

    def take_stream(self, peer: str, anonymous: bool) -> str | None:
        """A refusal message, or None with a stream slot taken for ``peer``."""
        limits = self._limits
        with self._lock:
            if self._per_peer[peer] >= limits.max_streams_per_peer:
                return (
                    f"this connection already has {self._per_peer[peer]} streams in progress, the limit "
                    f"(--max-streams-per-peer {limits.max_streams_per_peer})"
                )
            if self._streams >= limits.max_streams:
                return (
                    f"{self._streams} streams are in progress, this server's limit (--max-streams {limits.max_streams})"
                )
            anonymous_limit = max(1, limits.max_streams // 2)
            if anonymous and self._tokens_required and self._anonymous_streams >= anonymous_limit:
                return (
                    f"{self._anonymous_streams} streams without a token are in progress, the limit for callers "
                    f"without one (half of --max-streams {limits.max_streams})"
                )
            self._streams += 1
            self._anonymous_streams += anonymous
            self._per_peer[peer] += 1
            return None

    def give_stream(self, peer: str, anonymous: bool) -> None:
        with self._lock:
            self._streams -= 1
            self._anonymous_streams -= anonymous
            self._per_peer[peer] -= 1
            if not self._per_peer[peer]:
                del self._per_peer[peer]


class StallWatch:
    """Cancels streams whose client has not taken a message for ``stall_seconds``."""

    def __init__(self, stall_seconds: float) -> None:
        self._stall = stall_seconds
        self._lock = threading.Lock()
        self._sending: dict[int, tuple[grpc.ServicerContext, float]] = {}
        self._thread: threading.Thread | None = None
        self.cancelled = 0

    def sending(self, key: int, context: grpc.ServicerContext) -> None:
        """A message of this stream was handed to gRPC and waits for the client's flow control."""
        with self._lock:
            self._sending[key] = (context, time.monotonic())
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="idc-stall-watch", daemon=True)
                self._thread.start()

    def sent(self, key: int) -> None:
        """The client took it (or the stream ended)."""
        with self._lock:
            self._sending.pop(key, None)

    def _watch(self) -> None:
        while True:
            time.sleep(min(0.25, self._stall / 4))
            now = time.monotonic()
            with self._lock:
                stalled = [key for key, (_, since) in self._sending.items() if now - since > self._stall]
                contexts = [self._sending.pop(key)[0] for key in stalled]
            for context in contexts:
                self.cancelled += 1
                log.info("cancelling a stream to %s: no progress for %.1fs", context.peer(), self._stall)
                context.cancel()  # type: ignore[no-untyped-call]


class CallInterceptor(Interceptor):
    """Bounds calls and streams, rejects calls without a valid token (unless exempt), logs and counts every call."""

    def __init__(
        self,
        metrics: Metrics,
        tokens: Sequence[str],
        exempt: Sequence[str],
        max_response_bytes: int | None = None,
        limits: CallLimits = CallLimits(),
    ) -> None:
        self._metrics = metrics
        self._tokens = [token.encode() for token in tokens]
        self._exempt = tuple(exempt)
        self._max_response_bytes = max_response_bytes
        self._slots = Slots(limits, bool(tokens))
        self.stalls = StallWatch(limits.stall_seconds)

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
        authorized = not self._tokens or self.authorized(metadata.get("authorization"))
        allowed = authorized or method.startswith(self._exempt)
        admit = self._admission(handler.response_streaming, not authorized)
        return _wrap(handler, self._observe(method, metadata.get("x-request-id")), allowed, admit)

    def _admission(
        self, streaming: bool, anonymous: bool
    ) -> Callable[[grpc.ServicerContext], Callable[[], None] | None]:
        """Takes a call's slots, and returns what gives them back; aborts with RESOURCE_EXHAUSTED when full."""
        slots = self._slots

        def admit(context: grpc.ServicerContext) -> Callable[[], None] | None:
            refusal = slots.take_call()
            if refusal is not None:
                context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, refusal)
            if not streaming:
                return slots.give_call
            peer = context.peer()
            refusal = slots.take_stream(peer, anonymous)
            if refusal is not None:
                slots.give_call()
                context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, refusal)

            def give() -> None:
                slots.give_stream(peer, anonymous)
                slots.give_call()

            return give

        return admit

    def _observe(self, method: str, sent_id: str | None) -> Callable[[grpc.ServicerContext, Callable[[], Any]], Any]:
        metrics = self._metrics
        max_response_bytes = self._max_response_bytes
        stalls = self.stalls

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
                    return _observed_stream(result, context, started, record, gauge, stalls)
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
    stalls: StallWatch,
) -> Iterator[Any]:
    failed = True
    key = id(context)
    try:
        for message in stream:
            stalls.sending(key, context)
            yield message
            stalls.sent(key)
        failed = False
    except GeneratorExit:
        failed = False  # the call ended early (cancelled); final_code tells which way
        raise
    finally:
        stalls.sent(key)
        record(context, started, failed)
        gauge.dec()


def _released(stream: Iterator[Any], release: Callable[[], None] | None) -> Iterator[Any]:
    """``stream``, giving its slots back when it ends however it ends."""
    try:
        yield from stream
    finally:
        if release is not None:
            release()


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
    admit: Callable[[grpc.ServicerContext], Callable[[], None] | None],
) -> grpc.RpcMethodHandler[Any, Any]:
    """The same handler, admitted within the limits, with its behaviour observed (and refused when not allowed)."""

    def wrapped(behavior: Callable[[Any, grpc.ServicerContext], Any]) -> Callable[[Any, grpc.ServicerContext], Any]:
        def run(request: Any, context: grpc.ServicerContext) -> Any:
            if not allowed:
                return observe(context, lambda: _deny(context))
            if isinstance(request, Undecodable):
                return observe(context, lambda: _reject(context, request))
            release: list[Callable[[], None] | None] = [None]

            def call() -> Any:
                release[0] = admit(context)
                return behavior(request, context)

            try:
                result = observe(context, call)
            except BaseException:
                if release[0] is not None:
                    release[0]()
                raise
            if isinstance(result, Iterator):
                return _released(result, release[0])
            if release[0] is not None:
                release[0]()
            return result

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
