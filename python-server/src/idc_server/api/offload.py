"""Indicator calls (typed, catalogue entries, formulas) over many inline bars run in the render workers,
so that they never hold the RPC threads' GIL.

Small calls (and every call over the store, whose outputs the parent's
indicator cache holds) stay in-process. A large one waits for a worker in
the same bounded queue as charts, and stops as a render does when its
caller goes: see render_pool.py and docs/decisions/0011-execution-model.md.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import grpc

from idc_server.core.analytics import Analytics, Selection
from idc_server.core.render_cache import RenderAbandonedError
from idc_server.render_pool import RenderPool

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Offload:
    """Where an indicator call runs: ``pool`` for more than ``min_bars`` inline bars, else this process."""

    analytics: Analytics
    pool: RenderPool | None = None
    min_bars: int = 0  # 0: never in the pool

    def pooled(self, selection: Selection) -> bool:
        """Whether a call over ``selection`` runs in a worker."""
        return (
            self.pool is not None
            and self.min_bars > 0
            and not selection.symbol  # inline bars: store symbols' outputs are cached here
            and len(selection.data.days) > self.min_bars
        )

    def call(self, context: grpc.ServicerContext, selection: Selection, method: str, *args: Any) -> Any:
        """``analytics.<method>(*args)``, here or in a worker; aborts CANCELLED if the caller went away meanwhile."""
        if self.pool is None or not self.pooled(selection):
            return getattr(self.analytics, method)(*args)
        gone = threading.Event()
        if not context.add_callback(gone.set):
            gone.set()  # the call already ended
        try:
            return self.pool.compute(method, args, gone.is_set)
        except RenderAbandonedError:
            log.info("stopped computing %s over %d inline bars: the caller went away", method, len(selection.days))
            context.abort(grpc.StatusCode.CANCELLED, "the call was cancelled or its deadline passed")
            raise  # abort raises; this only tells type checkers
