"""A bounded LRU cache of rendered images, with single-flight rendering.

Keys are normalised chart requests that include the data's version, so an
entry can never outlive the data it was drawn from. Identical requests that
arrive while a render is running wait for it instead of rendering again.
A render is abandoned only when every caller waiting for it has gone.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar


class Sized(Protocol):
    """What the cache needs to know of a value: its size in bytes."""

    @property
    def size_bytes(self) -> int: ...


class RenderAbandonedError(Exception):
    """Every caller of a render has gone, so it stopped; nobody waits for its result."""


@dataclass
class _Flight:
    """One render in progress and the callers waiting for it."""

    done: threading.Event = field(default_factory=threading.Event)
    callers: list[threading.Event] = field(default_factory=list)
    result: Sized | None = None
    error: BaseException | None = None

    def abandoned(self) -> bool:
        return all(cancelled.is_set() for cancelled in self.callers)


@dataclass(frozen=True, slots=True)
class CacheStats:
    """Counters for metrics: lookups served from the cache, renders started, renders abandoned."""

    hits: int
    misses: int
    abandoned: int
    entries: int
    size_bytes: int


V = TypeVar("V", bound=Sized)


class RenderCache(Generic[V]):
    """LRU entries up to ``max_bytes`` in total; values larger than that are not kept."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, V] = OrderedDict()
        self._size = 0
        self._flights: dict[Hashable, _Flight] = {}
        self._lock = threading.Lock()
        self._hits = self._misses = self._abandoned = 0

    def stats(self) -> CacheStats:
        """The counters so far."""
        with self._lock:
            return CacheStats(self._hits, self._misses, self._abandoned, len(self._entries), self._size)

    def get_or_render(
        self,
        key: Hashable,
        render: Callable[[Callable[[], bool]], V],
        cancelled: threading.Event,
    ) -> V:
        """The cached value for ``key``, or ``render(abandoned)``'s, rendered once for all callers.

        ``cancelled`` is set when this caller goes away. ``render`` should poll
        the ``abandoned`` function it is given and stop when it returns True.
        Raises RenderAbandonedError if this caller was cancelled before a value
        was ready.
        """
        while True:
            with self._lock:
                cached = self._entries.get(key)
                if cached is not None:
                    self._entries.move_to_end(key)
                    self._hits += 1
                    return cached
                flight = self._flights.get(key)
                leader = flight is None
                if flight is None:
                    flight = self._flights[key] = _Flight()
                    self._misses += 1
                flight.callers.append(cancelled)
            if leader:
                return self._lead(key, flight, render)
            value = self._follow(flight, cancelled)
            if value is not None:
                return value
            # The render was abandoned by its other callers while this one still
            # wants it: start again.

    def _lead(self, key: Hashable, flight: _Flight, render: Callable[[Callable[[], bool]], V]) -> V:
        try:
            value = render(flight.abandoned)
            flight.result = value
            with self._lock:
                self._store(key, value)
            return value
        except BaseException as error:
            flight.error = error
            if isinstance(error, RenderAbandonedError):
                with self._lock:
                    self._abandoned += 1
            raise
        finally:
            with self._lock:
                del self._flights[key]
            flight.done.set()

    def _follow(self, flight: _Flight, cancelled: threading.Event) -> V | None:
        while not flight.done.wait(0.05):
            if cancelled.is_set():
                raise RenderAbandonedError("the caller went away while waiting for a render")
        if flight.error is not None:
            if isinstance(flight.error, RenderAbandonedError) and not cancelled.is_set():
                return None
            raise flight.error
        return flight.result  # type: ignore[return-value]

    def _store(self, key: Hashable, value: V) -> None:
        if value.size_bytes > self._max_bytes:
            return
        self._entries[key] = value
        self._size += value.size_bytes
        while self._size > self._max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self._size -= evicted.size_bytes
