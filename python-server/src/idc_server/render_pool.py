"""A bounded pool of worker processes that render charts (and compute large indicators), supervised by the server.

The RPC layer never draws: a chart is rendered in one of ``processes``
worker processes, each forked from a ``forkserver`` process that started
fresh (as ``spawn`` does: forking after gRPC's threads exist is unsafe) and
imported the core once, and each running the core's own render. The parent keeps the
render cache and its single flight (core/render_cache.py); this module only
runs the leader's render in a worker and watches it. Indicator calls over
many inline bars run there too (``compute``), with the same queue, stop and
kill:

- a render whose every caller has gone is told to stop (its checkpoints
  raise), and a worker that has not answered ``stop_seconds`` later is
  killed and replaced;
- a worker whose resident memory passes ``max_rss_bytes`` is killed and
  replaced; its call gets RESOURCE_EXHAUSTED;
- at most ``max_queued`` distinct renders wait for a worker; one more gets
  RESOURCE_EXHAUSTED at once, with a retry hint;
- a worker that dies for any other reason is replaced; its call gets
  UNAVAILABLE. An exception the core does not declare is logged in the
  worker with its traceback and reaches the caller as UNAVAILABLE naming
  its class, never UNKNOWN (``RenderFailedError``).

See docs/decisions/0011-execution-model.md.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from multiprocessing.reduction import ForkingPickler
from pathlib import Path
from typing import Any

from idc_server.core.errors import IdcError, ResourceExhaustedError, UnavailableError, of_the_server
from idc_server.core.render_cache import RenderAbandonedError
from idc_server.core.sources import DEFAULT_HELD_BYTES

log = logging.getLogger(__name__)

POLL_SECONDS = 0.02  # how often a waiting caller looks at its reply and its callers
WATCH_SECONDS = 0.05  # how often the supervisor reads a busy worker's memory (idle: it sleeps until woken)
RETRY_AFTER_SECONDS = 1.0  # the hint given with a full queue
PR_SET_PDEATHSIG = 1
PRELOAD = ("idc_server.render_pool", "idc_server.core.analytics", "idc_server.core.data")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
RENDER = "_render"  # the core's method a chart job runs; it alone takes the stop flag as its last argument
COMPUTE_METHODS = frozenset({"macd", "indicator", "entry"})  # the core's methods ``compute`` may run in a worker


class RenderFailedError(UnavailableError):
    """A worker raised something the core does not declare; logged in the worker with its traceback."""

    of_the_server = True


SHUTTING_DOWN = "the server is shutting down"


def _unavailable(reason: str) -> UnavailableError:
    """The pool's own UNAVAILABLE: about the server's state, not a field of the request."""
    return of_the_server(UnavailableError("", reason))


@dataclass(frozen=True, slots=True)
class WorkerSetup:
    """What a worker needs to build its own core: the data folders and defaults (picklable)."""

    data_dirs: tuple[Path, ...]
    default_symbol: str
    default_convention: str
    indicator_cache_bytes: int
    data_urls: tuple[str, ...] = ()  # --data-url: each worker opens its own store (and database connection)
    store_cache_bytes: int = DEFAULT_HELD_BYTES  # --store-cache-bytes: what each worker keeps of the stores' bars


@dataclass(frozen=True, slots=True)
class PoolStats:
    """Counters for metrics."""

    processes: int
    busy: int
    queued: int
    restarts: int
    killed_abandoned: int
    killed_memory: int
    died: int
    stopped: int = 0  # jobs that saw the stop flag and stopped by themselves (their worker goes on)


def die_with_parent() -> None:
    """Ask Linux to send SIGKILL to this process when its parent dies (no-op elsewhere)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def resident_bytes(pid: int) -> int:
    """A process's resident set size from /proc; 0 where it cannot be read."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as statm:
            return int(statm.read().split()[1]) * PAGE_BYTES
    except (OSError, ValueError, IndexError):
        return 0


def _stopped(stop: Any, job: int) -> bool:
    """Whether the parent asked to stop job number ``job``."""
    return bool(stop.value == job)


def _worker_main(setup: WorkerSetup, connection: multiprocessing.connection.Connection, stop: Any) -> None:
    """A worker: build the core once, then render whatever arrives until the pipe closes.

    Its parent is the fork server, which exits when the server does; the
    worker is then killed too (and would find its pipe closed anyway).
    """
    parent = os.getppid()
    die_with_parent()
    if os.getppid() != parent:  # the parent died before the line above took effect
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when workers stop
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    from idc_server.core.analytics import Analytics
    from idc_server.core.data import BarStore, bundled_data_dir
    from idc_server.core.indicators import Convention
    from idc_server.core.sources import HeldBars
    from idc_server.core.stores import open_source

    held = HeldBars(setup.store_cache_bytes)
    analytics = Analytics(
        BarStore((bundled_data_dir(), *setup.data_dirs, *(open_source(url, held) for url in setup.data_urls))),
        setup.default_symbol,
        Convention(setup.default_convention),
        render_cache_bytes=0,
        indicator_cache_bytes=setup.indicator_cache_bytes,
    )
    connection.send(("ready", os.getpid()))
    while True:
        try:
            job, method, args = connection.recv()
        except (EOFError, OSError):
            return
        try:
            if method == RENDER:
                args = (*args, functools.partial(_stopped, stop, job))
            elif method not in COMPUTE_METHODS:
                raise ValueError(f"not a method render workers run: {method!r}")
            reply: tuple[str, Any] = ("done", getattr(analytics, method)(*args))
        except RenderAbandonedError:
            reply = ("abandoned", None)
        except IdcError as error:
            reply = ("error", error)
        except MemoryError:
            reply = ("memory", None)
        except Exception as error:  # reported to the caller as a precise status, logged here
            logging.getLogger(__name__).error("render failed: %s", traceback.format_exc())
            reply = ("failed", type(error).__name__)
        connection.send(reply)


def _send(connection: multiprocessing.connection.Connection, payload: bytes) -> None:
    # The worker may be killed, and its pipe closed under this write (TypeError then, from
    # the closed handle): the caller sees the worker gone either way.
    with contextlib.suppress(OSError, TypeError, ValueError):
        connection.send_bytes(payload)  # what the worker's recv() unpickles


@dataclass
class _Worker:
    """One worker process and its pipe; ``busy`` while a caller owns it."""

    process: BaseProcess
    connection: multiprocessing.connection.Connection
    stop: Any  # shared memory: the number of the job to stop (no lock, no semaphore to leak)
    busy: bool = False
    jobs: int = 0
    killed_for: str = ""  # why the supervisor killed it: "memory" or "abandoned"
    peak_rss: int = 0


@dataclass
class _Counters:
    restarts: int = 0
    killed_abandoned: int = 0
    killed_memory: int = 0
    died: int = 0
    stopped: int = 0
    peak_rss: dict[int, int] = field(default_factory=dict)


class RenderPool:
    """``processes`` render workers, with a bounded queue in front of them."""

    def __init__(
        self,
        setup: WorkerSetup,
        processes: int,
        max_queued: int,
        max_rss_bytes: int,
        stop_seconds: float = 0.5,
        start_seconds: float = 120.0,
    ) -> None:
        self._setup = setup
        self._size = processes
        self._max_queued = max_queued
        self._max_rss = max_rss_bytes
        self._stop_seconds = stop_seconds
        self._start_seconds = start_seconds
        self._context = multiprocessing.get_context("forkserver")
        # The fork server is itself spawned, with no gRPC threads, and imports
        # the core once; every worker is a fork of it, ready in milliseconds.
        self._context.set_forkserver_preload(list(PRELOAD))
        self._lock = threading.Condition()
        self._idle: list[_Worker] = []
        self._workers: list[_Worker] = []
        self._queued = 0
        self._wanted = 0  # replacements the supervisor still has to start
        self._counters = _Counters()
        self._closed = False
        # The supervisor sleeps in the kernel (no GIL, no wake-ups) until a
        # worker dies, a job starts or a replacement is wanted: a byte on this pipe.
        self._wake_reader, self._wake_writer = os.pipe()
        os.set_blocking(self._wake_writer, False)
        self._supervisor = threading.Thread(target=self._supervise, name="idc-render-supervisor", daemon=True)

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the workers (from the supervisor thread, which outlives them) and wait until all are ready."""
        with self._lock:
            self._wanted = self._size
        self._supervisor.start()
        deadline = time.monotonic() + self._start_seconds
        with self._lock:
            while len(self._workers) < self._size:
                if not self._lock.wait(max(0.0, deadline - time.monotonic())):
                    raise OSError(f"render workers did not start within {self._start_seconds:.0f}s")

    def close(self) -> None:
        """Kill every worker now; callers still waiting get UNAVAILABLE."""
        with self._lock:
            self._closed = True
            workers = list(self._workers)
            for worker in workers:
                worker.killed_for = worker.killed_for or "closing"
            self._lock.notify_all()
        self._wake()
        for worker in workers:
            worker.process.kill()
        for worker in workers:
            worker.process.join(1.0)

    def pids(self) -> list[int]:
        """The worker processes' ids."""
        with self._lock:
            return [worker.process.pid for worker in self._workers if worker.process.pid is not None]

    def busy_pids(self) -> list[int]:
        """The ids of the workers drawing a chart now."""
        with self._lock:
            return [w.process.pid for w in self._workers if w.busy and w.process.pid is not None]

    def stats(self) -> PoolStats:
        """The counters so far."""
        with self._lock:
            counters = self._counters
            return PoolStats(
                len(self._workers),
                sum(worker.busy for worker in self._workers),
                self._queued,
                counters.restarts,
                counters.killed_abandoned,
                counters.killed_memory,
                counters.died,
                counters.stopped,
            )

    # -- rendering -------------------------------------------------------------------------------

    def render(self, selection: Any, request: Any, convention: Any, abandoned: Callable[[], bool]) -> Any:
        """The core's ``Analytics._render`` of these arguments, run in a worker.

        ``abandoned`` is polled; once it returns True the worker is told to
        stop, and killed if it does not. Raises RenderAbandonedError then,
        ResourceExhaustedError for a full queue or a worker over its memory
        limit, UnavailableError when the worker died, and the IdcError the
        render raised otherwise.
        """
        return self._job(RENDER, (selection, request, convention), abandoned)

    def compute(self, method: str, args: tuple[Any, ...], abandoned: Callable[[], bool]) -> Any:
        """The core's ``Analytics.<method>(*args)`` (one of COMPUTE_METHODS), run in a worker.

        Queued, stopped and killed as renders are, with the same errors. It
        has no checkpoints: once abandoned, its worker is killed after
        ``stop_seconds``.
        """
        if method not in COMPUTE_METHODS:
            raise ValueError(f"not a method render workers run: {method!r}")
        return self._job(method, args, abandoned)

    def _job(self, method: str, args: tuple[Any, ...], abandoned: Callable[[], bool]) -> Any:
        worker = self._acquire(abandoned)
        try:
            return self._run(worker, method, args, abandoned)
        finally:
            self._release(worker)

    def _acquire(self, abandoned: Callable[[], bool]) -> _Worker:
        with self._lock:
            if self._closed:
                raise _unavailable(SHUTTING_DOWN)
            if not self._idle and self._queued >= self._max_queued:
                raise of_the_server(
                    ResourceExhaustedError(
                        "",
                        f"all {self._size} render workers are busy and {self._queued} calls are already queued "
                        f"(--render-queue {self._max_queued}): retry in about {RETRY_AFTER_SECONDS:.0f} s",
                        retry_after_seconds=RETRY_AFTER_SECONDS,
                    )
                )
            self._queued += 1
            try:
                while not self._idle:
                    self._lock.wait(POLL_SECONDS)
                    if self._closed:
                        raise _unavailable(SHUTTING_DOWN)
                    if abandoned():
                        raise RenderAbandonedError("every caller went away while the chart was queued")
                worker = self._idle.pop()
            finally:
                self._queued -= 1
            worker.busy = True
        self._wake()  # the supervisor watches busy workers' memory
        return worker

    def _release(self, worker: _Worker) -> None:
        with self._lock:
            worker.busy = False
            if worker in self._workers and worker.process.is_alive():
                self._idle.append(worker)
                self._lock.notify()

    def _run(self, worker: _Worker, method: str, args: tuple[Any, ...], abandoned: Callable[[], bool]) -> Any:
        worker.jobs += 1
        number = worker.jobs
        # Sent from a thread of its own: a large job fills the pipe, and a
        # worker that hangs before reading it must not hang this caller too.
        # If the worker dies or is killed, the send fails and the loop below
        # sees the pipe closed.
        try:
            payload = bytes(ForkingPickler.dumps((number, method, args)))
        except Exception as error:  # a request the core cannot hand to a process is a bug: log it, say it precisely
            log.exception("a request could not be sent to a render worker")
            reason = f"the request could not be handed to a render worker ({type(error).__name__})"
            raise _unavailable(reason) from error
        threading.Thread(target=_send, args=(worker.connection, payload), daemon=True).start()
        stop_by: float | None = None
        while True:
            try:
                ready = worker.connection.poll(POLL_SECONDS)
                reply = worker.connection.recv() if ready else None
            except (EOFError, OSError):
                raise self._lost(worker) from None
            if reply is not None:
                return self._answer(worker, reply)
            if stop_by is None and abandoned():
                worker.stop.value = number
                stop_by = time.monotonic() + self._stop_seconds
            elif stop_by is not None and time.monotonic() > stop_by:
                self._kill(worker, "abandoned")
                raise RenderAbandonedError("every caller went away; the worker did not stop and was replaced")
            if self._closed:
                raise _unavailable(SHUTTING_DOWN)

    def _answer(self, worker: _Worker, reply: tuple[str, Any]) -> Any:
        kind, value = reply
        if kind == "done":
            if resident_bytes(worker.process.pid or 0) > self._max_rss * 3 // 4:
                self._kill(worker, "recycled")  # give the memory back before the next render
            return value
        if kind == "abandoned":
            with self._lock:
                self._counters.stopped += 1
            raise RenderAbandonedError("every caller went away")
        if kind == "error":
            raise value
        if kind == "memory":
            self._kill(worker, "memory")
            raise self._over_memory()
        raise RenderFailedError("", f"the render worker failed ({value}); the server log has the details")

    def _over_memory(self) -> ResourceExhaustedError:
        return of_the_server(
            ResourceExhaustedError(
                "",
                f"the call needed more than this server's per-worker memory limit of {self._max_rss >> 20} MiB "
                "(--render-worker-memory-bytes): ask for a shorter date window, fewer bars, a smaller image "
                "or fewer panels",
            )
        )

    def _lost(self, worker: _Worker) -> IdcError:
        """The error for a worker that went away mid-render, and its replacement ordered."""
        worker.process.join(1.0)
        with self._lock:
            reason = worker.killed_for
            if not reason:
                self._counters.died += 1
                log.error("render worker %s died (exit code %s)", worker.process.pid, worker.process.exitcode)
            self._retire(worker)
        if reason == "memory":
            return self._over_memory()
        if self._closed:
            return _unavailable(SHUTTING_DOWN)
        return _unavailable("the render worker stopped unexpectedly and was replaced: retry the call")

    def _kill(self, worker: _Worker, reason: str) -> None:
        with self._lock:
            if worker.killed_for:
                return
            worker.killed_for = reason
            if reason == "memory":
                self._counters.killed_memory += 1
            elif reason == "abandoned":
                self._counters.killed_abandoned += 1
        log.info("killing render worker %s (%s)", worker.process.pid, reason)
        worker.process.kill()
        worker.process.join(1.0)
        with self._lock:
            self._retire(worker)

    def _retire(self, worker: _Worker) -> None:
        """Forget a dead worker and have the supervisor start another (call with the lock held)."""
        if worker in self._workers:
            self._workers.remove(worker)
            if worker in self._idle:
                self._idle.remove(worker)
            with contextlib.suppress(OSError):
                worker.connection.close()
            if not self._closed:
                self._wanted += 1
                self._counters.restarts += 1
                self._lock.notify_all()
                self._wake()

    def _wake(self) -> None:
        """Have the supervisor look at the workers now."""
        with self._lock:  # the supervisor closes the pipe under it when the pool closes
            if self._wake_writer >= 0:
                with contextlib.suppress(OSError):  # full: it will look anyway
                    os.write(self._wake_writer, b"w")

    # -- supervision -----------------------------------------------------------------------------

    def _spawn(self, count: int) -> list[_Worker]:
        """Start ``count`` workers at once and wait until each has built its core."""
        started = []
        for _ in range(count):
            parent_end, child_end = self._context.Pipe(duplex=True)
            stop = self._context.RawValue("q", 0)
            process = self._context.Process(
                target=_worker_main,
                args=(self._setup, child_end, stop),
                name="idc-render",
                daemon=True,
            )
            try:
                process.start()
            except (OSError, RuntimeError) as error:
                log.error("could not start a render worker: %s", error)
                parent_end.close()
                child_end.close()
                continue
            child_end.close()
            started.append(_Worker(process, parent_end, stop))
        ready = []
        deadline = time.monotonic() + self._start_seconds
        for worker in started:
            try:
                if not worker.connection.poll(max(0.0, deadline - time.monotonic())):
                    raise OSError("timed out")
                worker.connection.recv()  # ("ready", pid)
                ready.append(worker)
            except (OSError, EOFError) as error:
                log.error("a render worker did not start: %s", error)
                worker.process.kill()
        return ready

    def _supervise(self) -> None:
        """Start wanted workers, kill any busy worker over its memory limit, and replace idle workers that died.

        Idle, it sleeps in the kernel on the idle workers' sentinels and its
        wake-up pipe, so a server that draws nothing pays nothing for it;
        while a worker is busy it reads that worker's memory every
        WATCH_SECONDS.
        """
        try:
            self._watch()
        finally:
            with self._lock:
                os.close(self._wake_writer)
                os.close(self._wake_reader)
                self._wake_writer = self._wake_reader = -1

    def _watch(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
                wanted = self._wanted
                workers = list(self._workers)
            if wanted:
                fresh = self._spawn(wanted)
                with self._lock:
                    self._wanted -= len(fresh)
                    if self._closed:
                        for worker in fresh:
                            worker.process.kill()
                        return
                    self._workers += fresh
                    self._idle += fresh
                    self._lock.notify_all()
                if len(fresh) < wanted:
                    time.sleep(1.0)  # do not spin on a machine that cannot start workers
                continue
            for worker in workers:
                if worker.process.pid is None:
                    continue
                if worker.busy:  # a dead busy worker is its caller's to report (its pipe closes)
                    rss = resident_bytes(worker.process.pid)
                    worker.peak_rss = max(worker.peak_rss, rss)
                    if rss > self._max_rss:
                        self._kill(worker, "memory")
                elif not worker.process.is_alive():
                    with self._lock:
                        if not worker.killed_for:
                            self._counters.died += 1
                            log.error("idle render worker %s died", worker.process.pid)
                        self._retire(worker)
            self._sleep(workers)

    def _sleep(self, workers: list[_Worker]) -> None:
        """Wait until woken, an idle worker dies, or (while any is busy) WATCH_SECONDS pass."""
        busy = any(worker.busy for worker in workers)
        idle = [worker.process.sentinel for worker in workers if not worker.busy and worker.process.pid is not None]
        ready = multiprocessing.connection.wait([self._wake_reader, *idle], WATCH_SECONDS if busy else None)
        if self._wake_reader in ready:
            with contextlib.suppress(OSError):
                os.read(self._wake_reader, 4096)
