from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from idc_server.core.render_cache import RenderAbandonedError, RenderCache


@dataclass(frozen=True)
class Blob:
    data: bytes

    @property
    def size_bytes(self) -> int:
        return len(self.data)


def renderer(data: bytes, calls: list[int]) -> Callable[[Callable[[], bool]], Blob]:
    def render(abandoned: Callable[[], bool]) -> Blob:
        calls.append(1)
        return Blob(data)

    return render


def test_a_hit_returns_the_cached_value_without_rendering() -> None:
    cache: RenderCache[Blob] = RenderCache(1000)
    calls: list[int] = []
    first = cache.get_or_render("k", renderer(b"png", calls), threading.Event())
    second = cache.get_or_render("k", renderer(b"other", calls), threading.Event())
    assert second is first
    assert len(calls) == 1
    stats = cache.stats()
    assert (stats.hits, stats.misses, stats.entries, stats.size_bytes) == (1, 1, 1, 3)


def test_least_recently_used_entries_go_first_when_bytes_run_out() -> None:
    cache: RenderCache[Blob] = RenderCache(10)
    calls: list[int] = []
    for key in ("a", "b", "a", "c"):  # "a" is used again, so "b" is the oldest
        cache.get_or_render(key, renderer(b"1234", calls), threading.Event())
    assert len(calls) == 3
    cache.get_or_render("b", renderer(b"1234", calls), threading.Event())
    assert len(calls) == 4
    cache.get_or_render("a", renderer(b"1234", calls), threading.Event())
    assert len(calls) == 5  # "a" was evicted by "b"
    assert cache.stats().size_bytes <= 10


def test_values_larger_than_the_cache_are_not_kept() -> None:
    cache: RenderCache[Blob] = RenderCache(2)
    calls: list[int] = []
    cache.get_or_render("k", renderer(b"toolarge", calls), threading.Event())
    cache.get_or_render("k", renderer(b"toolarge", calls), threading.Event())
    assert len(calls) == 2
    assert cache.stats().entries == 0


def test_failed_renders_are_not_cached() -> None:
    cache: RenderCache[Blob] = RenderCache(100)

    def failing(abandoned: Callable[[], bool]) -> Blob:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        cache.get_or_render("k", failing, threading.Event())
    calls: list[int] = []
    assert cache.get_or_render("k", renderer(b"ok", calls), threading.Event()).data == b"ok"


def test_identical_requests_arriving_together_render_once() -> None:
    cache: RenderCache[Blob] = RenderCache(1000)
    release = threading.Event()
    calls: list[int] = []

    def slow(abandoned: Callable[[], bool]) -> Blob:
        calls.append(1)
        assert release.wait(10)
        return Blob(b"chart")

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(cache.get_or_render, "k", slow, threading.Event()) for _ in range(4)]
        while cache.stats().misses == 0 or len(cache._flights["k"].callers) < 4:
            threading.Event().wait(0.01)
        release.set()
        results = [future.result(10) for future in futures]
    assert len(calls) == 1
    assert all(result is results[0] for result in results)


def test_render_is_abandoned_when_its_only_caller_goes() -> None:
    cache: RenderCache[Blob] = RenderCache(1000)
    gone = threading.Event()

    def until_abandoned(abandoned: Callable[[], bool]) -> Blob:
        gone.set()  # the caller goes away while the render runs
        for _ in range(1000):
            if abandoned():
                raise RenderAbandonedError("stopped")
            threading.Event().wait(0.01)
        raise AssertionError("never abandoned")

    with pytest.raises(RenderAbandonedError):
        cache.get_or_render("k", until_abandoned, gone)
    assert cache.stats().abandoned == 1
    assert cache.stats().entries == 0


def test_render_goes_on_while_another_caller_still_waits() -> None:
    cache: RenderCache[Blob] = RenderCache(1000)
    leader_gone, follower_gone = threading.Event(), threading.Event()
    joined, checked = threading.Event(), threading.Event()
    seen: list[bool] = []

    def render(abandoned: Callable[[], bool]) -> Blob:
        assert joined.wait(10)
        leader_gone.set()
        seen.append(abandoned())
        checked.set()
        return Blob(b"chart")

    with ThreadPoolExecutor(2) as pool:
        leader = pool.submit(cache.get_or_render, "k", render, leader_gone)
        while "k" not in cache._flights:
            threading.Event().wait(0.01)
        follower = pool.submit(cache.get_or_render, "k", render, follower_gone)
        while len(cache._flights["k"].callers) < 2:
            threading.Event().wait(0.01)
        joined.set()
        assert follower.result(10).data == b"chart"
        assert leader.result(10).data == b"chart"
    assert seen == [False]


def test_a_waiting_caller_that_goes_stops_waiting() -> None:
    cache: RenderCache[Blob] = RenderCache(1000)
    release = threading.Event()

    def slow(abandoned: Callable[[], bool]) -> Blob:
        assert release.wait(10)
        return Blob(b"chart")

    with ThreadPoolExecutor(2) as pool:
        leader = pool.submit(cache.get_or_render, "k", slow, threading.Event())
        while "k" not in cache._flights:
            threading.Event().wait(0.01)
        gone = threading.Event()
        gone.set()
        with pytest.raises(RenderAbandonedError):
            cache.get_or_render("k", slow, gone)
        release.set()
        assert leader.result(10).data == b"chart"
