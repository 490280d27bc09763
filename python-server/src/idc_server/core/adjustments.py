"""Split and dividend adjustment of prices with cumulative factors (前复权 / 后复权; decision 0022).

A factor column holds, for each bar, the product of every split ratio and
dividend factor since the series began (tushare's ``adj_factor``), with the
prices as traded. Then, for bar i of n:

- backward (后复权): price[i] * factor[i] / factor[0]; the first prices are as traded;
- forward (前复权): price[i] * factor[i] / factor[n - 1]; the last prices are as traded.

Open, high, low and close are scaled alike; volumes are kept as stored.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from idc_server.core.bars import History
from idc_server.core.errors import FailedPreconditionError
from idc_server.core.sources import PriceAdjustment

ADJUSTED_COLUMNS = ("open", "high", "low", "close")


class Adjustment(enum.Enum):
    """What a request asks of the prices (idc.v1.Adjustment)."""

    AS_STORED = "as stored"
    NONE = "none"
    FORWARD = "forward"
    BACKWARD = "backward"


# What the basis of stored prices is called in a chart's title.
STORED_BASIS: Mapping[PriceAdjustment | None, str] = {
    PriceAdjustment.NONE: "unadjusted",
    PriceAdjustment.SPLITS: "split-adjusted",
    PriceAdjustment.SPLITS_AND_DIVIDENDS: "split- and dividend-adjusted",
    PriceAdjustment.NOT_NEEDED: "",
    None: "",
}
APPLIED_BASIS: Mapping[Adjustment, str] = {
    Adjustment.NONE: "unadjusted",
    Adjustment.FORWARD: "forward-adjusted",
    Adjustment.BACKWARD: "backward-adjusted",
}


@dataclass(frozen=True, slots=True)
class Adjusted:
    """A history with the adjustment applied, and which one that was."""

    history: History
    applied: Adjustment
    basis: str  # for a chart's title, e.g. "forward-adjusted"; "" when nothing needs saying


def available(has_factors: bool, stored: PriceAdjustment | None) -> tuple[Adjustment, ...]:
    """The adjustments a request for a symbol may choose (SymbolInfo.adjustments)."""
    if has_factors or stored is PriceAdjustment.NOT_NEEDED:
        return tuple(Adjustment)
    if stored is PriceAdjustment.NONE:
        return (Adjustment.AS_STORED, Adjustment.NONE)
    return (Adjustment.AS_STORED,)


def adjust(history: History, requested: Adjustment, stored: PriceAdjustment | None, name: str) -> Adjusted:
    """``history`` adjusted as requested; FailedPreconditionError (field ``adjustment``) if it cannot be.

    ``stored`` is the declared basis of the stored prices (None: not
    declared); a history with factors holds prices as traded. ``name`` is
    what messages call the series.
    """
    factors = history.factors
    if factors is None:
        if requested not in available(False, stored):
            basis = STORED_BASIS[stored] or "with no declared adjustment"
            raise FailedPreconditionError(
                "adjustment",
                f"no adjustment factors for {name} (prices stored {basis}), "
                f"so it cannot be served {APPLIED_BASIS[requested]}; only ADJUSTMENT_AS_STORED",
            )
        return Adjusted(history, requested, STORED_BASIS[stored])
    if requested in (Adjustment.AS_STORED, Adjustment.NONE):
        return Adjusted(history, requested, "unadjusted")
    anchor = factors[-1] if requested is Adjustment.FORWARD else factors[0]
    scale = factors / anchor
    columns = {name: values * scale if name in ADJUSTED_COLUMNS else values for name, values in history.columns.items()}
    adjusted = History.from_columns(
        history.times,
        columns,
        interval=history.interval,
        time_zone=history.time_zone,
        factors=None,
        version=f"{history.version}|{requested.name}",
        days=history.days,
        sessions=history.sessions,
    )
    return Adjusted(adjusted, requested, APPLIED_BASIS[requested])
