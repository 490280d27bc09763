"""Structured logs and Prometheus metrics."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from idc_server.core.render_cache import CacheStats
from idc_server.core.sources import HeldStats
from idc_server.render_pool import PoolStats

# Fields that RPC log records carry (see interceptors.py); JSON logs put them at the top level.
RPC_FIELDS = ("method", "peer", "code", "duration_ms", "request_id")


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and any RPC fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({name: getattr(record, name) for name in RPC_FIELDS if hasattr(record, name)})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: str, log_format: str) -> None:
    """Send logs to stderr as text or JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JSONFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


class _CacheCollector(Collector):
    """Reads the render and indicator caches' counters when Prometheus scrapes."""

    def __init__(self, stats: Callable[[], CacheStats], indicator_stats: Callable[[], CacheStats] | None) -> None:
        self._stats = stats
        self._indicator_stats = indicator_stats

    def collect(self) -> Iterable[CounterMetricFamily | GaugeMetricFamily]:
        if self._indicator_stats is not None:
            indicators = self._indicator_stats()
            yield CounterMetricFamily(
                "idc_indicator_cache_hits", "Indicator values served from the cache.", value=indicators.hits
            )
            yield CounterMetricFamily(
                "idc_indicator_cache_misses", "Indicator values computed over a whole history.", value=indicators.misses
            )
            yield GaugeMetricFamily(
                "idc_indicator_cache_bytes", "Bytes held by the indicator cache.", value=indicators.size_bytes
            )
        stats = self._stats()
        yield CounterMetricFamily("idc_chart_cache_hits", "Charts served from the render cache.", value=stats.hits)
        yield CounterMetricFamily("idc_chart_cache_misses", "Charts that had to be rendered.", value=stats.misses)
        yield CounterMetricFamily(
            "idc_chart_renders_abandoned", "Renders stopped because every caller went away.", value=stats.abandoned
        )
        yield GaugeMetricFamily("idc_chart_cache_bytes", "Bytes held by the render cache.", value=stats.size_bytes)
        yield GaugeMetricFamily("idc_chart_cache_entries", "Charts held by the render cache.", value=stats.entries)


class _PoolCollector(Collector):
    """Reads the render pool's counters when Prometheus scrapes."""

    def __init__(self, stats: Callable[[], PoolStats], stalled: Callable[[], int]) -> None:
        self._stats = stats
        self._stalled = stalled

    def collect(self) -> Iterable[CounterMetricFamily | GaugeMetricFamily]:
        stats = self._stats()
        yield GaugeMetricFamily("idc_render_workers", "Render worker processes running.", value=stats.processes)
        yield GaugeMetricFamily("idc_render_workers_busy", "Render workers drawing a chart.", value=stats.busy)
        yield GaugeMetricFamily("idc_render_queued", "Charts waiting for a render worker.", value=stats.queued)
        yield CounterMetricFamily(
            "idc_render_worker_restarts", "Render workers started to replace one that ended.", value=stats.restarts
        )
        killed = CounterMetricFamily(
            "idc_render_workers_killed", "Render workers killed by the server, by reason.", labels=["reason"]
        )
        killed.add_metric(["abandoned"], stats.killed_abandoned)
        killed.add_metric(["memory"], stats.killed_memory)
        yield killed
        yield CounterMetricFamily(
            "idc_render_jobs_stopped",
            "Jobs whose callers all went away that saw the stop flag and stopped (their worker goes on).",
            value=stats.stopped,
        )
        yield CounterMetricFamily(
            "idc_render_worker_deaths", "Render workers that died without the server killing them.", value=stats.died
        )
        yield CounterMetricFamily(
            "idc_streams_stalled", "Streams cancelled because the client took no message.", value=self._stalled()
        )


class _StoreCollector(Collector):
    """Reads what the database and dataset stores hold (in the RPC process) when Prometheus scrapes."""

    def __init__(self, stats: Callable[[], HeldStats]) -> None:
        self._stats = stats

    def collect(self) -> Iterable[CounterMetricFamily | GaugeMetricFamily]:
        stats = self._stats()
        yield GaugeMetricFamily("idc_store_held_bytes", "Bytes of bars the stores hold.", value=stats.size_bytes)
        yield GaugeMetricFamily("idc_store_held_symbols", "Symbols whose bars the stores hold.", value=stats.symbols)
        yield GaugeMetricFamily(
            "idc_store_held_max_bytes", "The stores' budget (--store-cache-bytes).", value=stats.max_bytes
        )
        yield CounterMetricFamily(
            "idc_store_released",
            "Symbols let go of to stay within the budget; their next request reads the store again.",
            value=stats.released,
        )


class Metrics:
    """The server's Prometheus metrics, in a registry of their own."""

    def __init__(
        self, cache_stats: Callable[[], CacheStats], indicator_cache_stats: Callable[[], CacheStats] | None = None
    ) -> None:
        self.registry = CollectorRegistry()
        self.rpcs = Counter(
            "idc_rpcs", "Finished RPCs by method and status code.", ["method", "code"], registry=self.registry
        )
        self.latency = Histogram(
            "idc_rpc_duration_seconds",
            "RPC duration by method and status code.",
            ["method", "code"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.in_flight = Gauge("idc_rpcs_in_flight", "RPCs in progress.", ["method"], registry=self.registry)
        self.registry.register(_CacheCollector(cache_stats, indicator_cache_stats))

    def watch_pool(self, stats: Callable[[], PoolStats], stalled: Callable[[], int]) -> None:
        """Export the render pool's and the stall watch's counters."""
        self.registry.register(_PoolCollector(stats, stalled))

    def watch_stores(self, stats: Callable[[], HeldStats]) -> None:
        """Export what the database and dataset stores hold within their budget."""
        self.registry.register(_StoreCollector(stats))

    def serve(self, port: int, host: str | None = None) -> None:
        """Serve /metrics over HTTP on ``port`` (0 means off), on ``host``.

        With no ``host`` (or the wildcard ``[::]``), on every interface: IPv6
        and IPv4 both where the machine has IPv6 (a dual-stack socket on
        ``::``), else IPv4 only.
        """
        if not port:
            return
        host = (host or "").strip("[]")
        if host not in ("", "::"):
            start_http_server(port, addr=host, registry=self.registry)
            return
        try:
            start_http_server(port, addr="::", registry=self.registry)
        except OSError:  # no IPv6 here
            start_http_server(port, addr="0.0.0.0", registry=self.registry)
