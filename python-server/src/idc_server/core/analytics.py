"""The core's entry points: what the API layer calls, with domain types only."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from idc_server.core import charts, limits
from idc_server.core.adjustments import Adjusted, Adjustment, adjust
from idc_server.core.bars import Interval
from idc_server.core.catalogue import (
    Bound,
    Catalogue,
    OutputKind,
    default_catalogue,
    request_formula_entry,
    server_catalogue,
)
from idc_server.core.data import BAR_COLUMNS, BarStore, History, SymbolSummary, check_window, history_window
from idc_server.core.data import Bound as WindowBound
from idc_server.core.errors import (
    FailedPreconditionError,
    IdcError,
    InvalidArgumentError,
    field_prefix,
    field_renamed,
    shown,
)
from idc_server.core.indicators import INDICATORS, Convention, Indicator, MACDParameters
from idc_server.core.render_cache import RenderAbandonedError, RenderCache
from idc_server.core.resample import resample

INLINE_NAME = "inline bars"  # chart title for bars a client sent
DERIVED_HISTORIES = 32  # resampled or adjusted store histories kept, the most recently used
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Selection:
    """A whole series of bars and the window of it to return.

    Indicators are computed over ``history`` and then cut to ``window``, so a
    value never depends on where the window starts.
    """

    symbol: str  # canonical store symbol; "" for inline bars
    data: History  # at the interval and adjustment served
    window: slice  # positions into history
    adjustment: Adjustment = Adjustment.AS_STORED  # the adjustment applied
    basis: str = ""  # what the prices are, for a chart's title, e.g. "split-adjusted"; "" when nothing needs saying

    @property
    def history(self) -> pd.DataFrame:
        """The whole series as a bars frame (shared: do not mutate)."""
        return self.data.frame

    @property
    def version(self) -> str:
        """Changes whenever the history's data does."""
        return self.data.version

    @property
    def bars(self) -> pd.DataFrame:
        """The bars in the window."""
        return self.history.iloc[self.window]

    @property
    def days(self) -> npt.NDArray[np.int32]:
        """The window's dates, in days since 1970-01-01."""
        return self.data.days[self.window]

    @property
    def times(self) -> npt.NDArray[np.int64]:
        """The window's bar starts, in seconds since the epoch (UTC)."""
        return self.data.times[self.window]

    @property
    def interval(self) -> Interval:
        """The interval served."""
        return self.data.interval

    @property
    def time_zone(self) -> str:
        """The IANA name of the exchange's zone."""
        return self.data.time_zone

    def columns(self) -> dict[str, npt.NDArray[np.float64]]:
        """The window's bars as NumPy columns, ``open`` to ``volume``."""
        return {name: self.data.columns[name][self.window] for name in BAR_COLUMNS}

    @property
    def name(self) -> str:
        """What to call the series in a chart title."""
        return self.symbol or INLINE_NAME


@dataclass(frozen=True, slots=True)
class IndicatorRequest:
    """One indicator to compute, with its validated parameters and output label."""

    label: str
    indicator: Indicator
    parameters: Any

    def display_name(self) -> str:
        """The indicator and its numeric parameters, e.g. "MACD(12, 26, 9)" or "BOLL(20, 2)"."""
        values = [
            f"{value:g}"
            for value in (getattr(self.parameters, name) for name in self.indicator.parameter_names())
            if isinstance(value, int | float)
        ]
        return f"{self.indicator.name.upper()}({', '.join(values)})"


@dataclass(frozen=True, slots=True)
class EntryRequest:
    """One catalogue entry (by name, or a request's formula) to compute, bound to its parameters, and its label.

    ``plugins`` are the ``--plugins`` of the catalogue it comes from, so that
    a render worker process, which unpickles it, finds the same entry in its
    own catalogue.
    """

    label: str
    bound: Bound
    plugins: tuple[str, ...] = ()

    def __reduce__(self) -> tuple[object, ...]:
        entry = self.bound.entry
        formula = entry.formula if entry.namespace == "formula" else ""
        return (_entry_request, (self.label, entry.name, formula, self.bound.values, self.plugins))

    def series_names(self) -> list[str]:
        """``<label>`` for one output, ``<label>.<output>`` for several."""
        outputs = self.bound.entry.outputs
        return [self.label] if len(outputs) == 1 else [f"{self.label}.{output.name}" for output in outputs]

    def display_name(self) -> str:
        """The entry's local name and its numeric parameters, e.g. "ADX(14)"; a formula by its label."""
        entry = self.bound.entry
        if entry.namespace == "formula":
            return self.label
        values = [f"{value:g}" for value in self.bound.params.values() if isinstance(value, int | float)]
        return f"{entry.local_name}({', '.join(values)})" if values else entry.local_name


def _entry_request(
    label: str, name: str, formula: str, values: tuple[tuple[str, object], ...], plugins: tuple[str, ...]
) -> EntryRequest:
    entry = request_formula_entry(formula, label) if formula else server_catalogue(plugins).get(name)
    return EntryRequest(label, entry.bind(dict(values)), plugins)


@dataclass(frozen=True, slots=True)
class ChartRequest:
    """What to draw: overlays on the price panel, panels below it (None is volume), and the output."""

    overlays: tuple[IndicatorRequest | EntryRequest, ...]
    panels: tuple[IndicatorRequest | EntryRequest | None, ...]
    options: charts.RenderOptions


DEFAULT_PANELS: tuple[IndicatorRequest | None, ...] = (
    None,
    IndicatorRequest("macd", INDICATORS["macd"], MACDParameters()),
)


def macd_chart_request(parameters: MACDParameters, options: charts.RenderOptions) -> ChartRequest:
    """The price-over-MACD chart of GetMACDGraph."""
    return ChartRequest((), (IndicatorRequest("macd", INDICATORS["macd"], parameters),), options)


@dataclass(frozen=True, slots=True)
class SeriesResult:
    """One indicator output over a window: values from ``first_valid_index`` on."""

    name: str
    first_valid_index: int
    values: npt.NDArray[np.float64]
    kind: OutputKind = OutputKind.UNITLESS


@dataclass(frozen=True, slots=True)
class IndicatorFrame:
    """Indicator outputs over a window of dates."""

    symbol: str
    convention: Convention
    days: npt.NDArray[np.int32]  # days since 1970-01-01
    series: list[SeriesResult]
    times: npt.NDArray[np.int64] | None = None  # bar starts, seconds since the epoch (UTC)
    interval: Interval = Interval.ONE_DAY
    time_zone: str = ""
    adjustment: Adjustment = Adjustment.AS_STORED


@dataclass(frozen=True, slots=True)
class MACDResult:
    """The bars of a window with their MACD columns.

    ``outputs`` maps ``macd``, ``signal`` and ``histogram`` to values over
    the whole window, NaN before ``first_valid_index`` (warm-up bars).
    """

    symbol: str
    parameters: MACDParameters
    convention: Convention
    selection: Selection
    outputs: Mapping[str, npt.NDArray[np.float64]]
    first_valid_index: int


@dataclass(frozen=True, slots=True)
class Outputs:
    """An indicator's outputs over a whole history, as cached: read-only arrays by output name."""

    values: Mapping[str, npt.NDArray[np.float64]]

    @property
    def size_bytes(self) -> int:
        """The memory the arrays hold, which is what the indicator cache counts."""
        return sum(array.nbytes for array in self.values.values())


@dataclass(frozen=True, slots=True)
class Image:
    """An encoded image and what a client needs to check it."""

    data: bytes
    media_type: str
    width_px: int
    height_px: int
    dpi: int
    sha256: bytes = b""  # the SHA-256 digest of ``data``; computed when not given

    def __post_init__(self) -> None:
        if not self.sha256:  # once per render: a cached image is served many times
            object.__setattr__(self, "sha256", hashlib.sha256(self.data).digest())

    @property
    def size_bytes(self) -> int:
        """The encoded size, which is what the render cache counts."""
        return len(self.data)


CONVENTION_NAMES: Mapping[Convention, str] = {Convention.TALIB: "TA-Lib", Convention.TDX: "TDX"}


def chart_title(selection: Selection, convention: Convention) -> str:
    """A chart's title: what is drawn, at which interval, over which window, on which prices, under which convention.

    e.g. "SPY · 2023-07-03 – 2023-12-29 · split- and dividend-adjusted ·
    TA-Lib"; the interval is named unless daily, intraday windows show
    times, and the price basis is left out when there is nothing to adjust.
    """
    parts = [selection.name]
    if selection.interval is not Interval.ONE_DAY:
        parts.append(selection.interval.value)
    parts.append(charts.span_text(pd.DatetimeIndex(selection.bars.index)))
    if selection.basis:
        parts.append(selection.basis)
    parts.append(CONVENTION_NAMES[convention])
    return " · ".join(parts)


T = TypeVar("T")


def _drawn_convention(request: EntryRequest, convention: Convention) -> Convention:
    """The chart's convention where the entry supports it, else the entry's own (the API has refused an
    entry that does not support an explicitly requested one)."""
    entry = request.bound.entry
    return convention if convention in entry.conventions else entry.conventions[0]


def guarded(bound: Bound, call: Callable[[], T]) -> T:
    """``call()``, with an entry's own failure as FailedPreconditionError naming the entry (never INTERNAL).

    Domain errors (a parameter the entry refuses) pass through as they are.
    """
    try:
        return call()
    except IdcError:
        raise
    except Exception as error:  # a plugin may raise anything; CatalogueError: outputs unlike its declaration
        log.warning("indicator %s failed", bound.entry.name, exc_info=True)
        # The exception's text may name the plugin's files: the log has it, the client gets its type.
        raise FailedPreconditionError(
            "", f"indicator {bound.entry.name} failed on these bars ({type(error).__name__}); see the server's log"
        ) from None


def first_valid(values: npt.NDArray[np.float64]) -> int:
    """The index of the first non-NaN value; len(values) when there is none."""
    valid = np.flatnonzero(~np.isnan(values))
    return int(valid[0]) if len(valid) else len(values)


Renderer = Callable[[Selection, ChartRequest, Convention, Callable[[], bool]], Image]


class Analytics:
    """Indicators and charts over a BarStore or a client's own bars."""

    def __init__(
        self,
        store: BarStore,
        default_symbol: str,
        default_convention: Convention,
        render_cache_bytes: int = 64 * 1024 * 1024,
        indicator_cache_bytes: int = 64 * 1024 * 1024,
        catalogue: Catalogue | None = None,
    ) -> None:
        self.store = store
        self._catalogue = catalogue
        self.default_symbol = store.canonical(default_symbol)
        self.default_convention = default_convention
        self.render_cache: RenderCache[Image] = RenderCache(render_cache_bytes)
        # Outputs over store symbols' whole histories; bars a client sends are computed every time.
        self.indicator_cache: RenderCache[Outputs] = RenderCache(indicator_cache_bytes)
        # What draws a chart the cache does not hold: ``_render`` here, or the
        # server's pool of worker processes running the same ``_render``.
        self.renderer: Renderer = self._render
        self.chart_budget = limits.ChartBudget()
        # Store histories resampled and adjusted, by (symbol, version, interval, adjustment): the last few served.
        self._derived: OrderedDict[tuple[str, str, Interval, Adjustment], Adjusted] = OrderedDict()
        self._derived_lock = threading.Lock()

    @property
    def catalogue(self) -> Catalogue:
        """The indicator catalogue requests name entries from (built on first use: a render worker never
        needs it whole, it looks entries up as requests arrive)."""
        if self._catalogue is None:
            self._catalogue = default_catalogue()
        return self._catalogue

    def select(
        self,
        symbol: str | None,
        start: WindowBound | None,
        end: WindowBound | None,
        inline: pd.DataFrame | History | None = None,
        *,
        interval: Interval | None = None,
        adjustment: Adjustment | None = None,
    ) -> Selection:
        """The bars to work on: ``inline`` bars if given, else a store symbol, at ``interval`` and ``adjustment``.

        An empty or None symbol means the default symbol; ``interval`` None
        means a day and ``adjustment`` None as stored. The history is
        adjusted, then resampled, then cut to the window (``history_window``).
        Raises NotFoundError for an unknown symbol or an empty window, and
        FailedPreconditionError for an interval finer than the stored one or
        an adjustment the series cannot have.
        """
        check_window(start, end)
        interval = interval or Interval.ONE_DAY
        adjustment = adjustment or Adjustment.AS_STORED
        if inline is not None:
            base = inline if isinstance(inline, History) else History(inline)
            name, stored, shown_name = "", None, INLINE_NAME
        else:
            name = self.store.canonical(symbol) if symbol else self.default_symbol
            base, stored, shown_name = self.store.history(name), self.store.price_adjustment(name), shown(name)
        if interval not in base.interval.servable():
            raise FailedPreconditionError(
                "interval", f"{shown_name} is stored at {base.interval.value}; it cannot be served at {interval.value}"
            )
        key = (name, base.version, interval, adjustment)
        derived = self._derived_history(key) if name else None
        if derived is None:
            adjusted = adjust(base, adjustment, stored, shown_name)
            derived = Adjusted(resample(adjusted.history, interval), adjusted.applied, adjusted.basis)
            if name and derived.history is not base:  # the stored history itself needs no second reference
                with self._derived_lock:
                    self._derived[key] = derived
                    while len(self._derived) > DERIVED_HISTORIES:
                        self._derived.popitem(last=False)
        history = derived.history
        return Selection(name, history, history_window(history, start, end), derived.applied, derived.basis)

    def _derived_history(self, key: tuple[str, str, Interval, Adjustment]) -> Adjusted | None:
        with self._derived_lock:
            derived = self._derived.get(key)
            if derived is not None:
                self._derived.move_to_end(key)
            return derived

    def convention(self, requested: Convention | None) -> Convention:
        """The convention to use: the requested one, or the server's default."""
        return requested or self.default_convention

    def indicator(self, selection: Selection, request: IndicatorRequest, convention: Convention) -> list[SeriesResult]:
        """One indicator's output series over the selection's history, cut to its window."""
        outputs = self._outputs(selection, request.indicator, request.parameters, convention)
        results = []
        names = request.indicator.series_names(request.label)
        for name, column, kind in zip(names, request.indicator.outputs, request.indicator.kinds, strict=True):
            values = outputs[column]
            start = first_valid(values)
            results.append(SeriesResult(name, start, values[start:], OutputKind(kind)))
        return results

    def entry_convention(self, request: EntryRequest, requested: Convention | None) -> Convention:
        """The convention an entry computes under: the requested one (which it must support), else the
        server's default where it supports that, else its own (InvalidArgumentError on ``convention``)."""
        return request.bound.entry.convention_for(requested, self.default_convention)

    def entry(self, selection: Selection, request: EntryRequest, convention: Convention) -> list[SeriesResult]:
        """A catalogue entry's output series over the selection's history, cut to its window."""
        outputs = self.entry_outputs(selection, request.bound, convention)
        results = []
        for name, output in zip(request.series_names(), request.bound.entry.outputs, strict=True):
            values = outputs[output.name]
            start = first_valid(values)
            results.append(SeriesResult(name, start, values[start:], output.kind))
        return results

    def entry_outputs(
        self, selection: Selection, bound: Bound, convention: Convention
    ) -> dict[str, npt.NDArray[np.float64]]:
        """An entry's outputs over the window, full length, NaN on warm-up bars; cached as ``_outputs`` is.

        An entry's own failure (a plugin's exception, outputs that break its
        declaration) is FAILED_PRECONDITION naming the entry, logged.
        """

        def compute(abandoned: Callable[[], bool] | None = None) -> Outputs:
            arrays = guarded(bound, lambda: bound.compute(selection.data.columns, convention))
            for array in arrays.values():
                array.setflags(write=False)
            return Outputs(arrays)

        if selection.symbol:
            key = (selection.version, bound, convention)
            outputs = self.indicator_cache.get_or_render(key, compute, threading.Event())
        else:
            outputs = compute()
        return {name: values[selection.window] for name, values in outputs.values.items()}

    def frame(self, selection: Selection, convention: Convention, series: list[SeriesResult]) -> IndicatorFrame:
        """Series from ``indicator`` calls, gathered into one frame over the window's dates."""
        return IndicatorFrame(
            selection.symbol,
            convention,
            selection.days,
            series,
            selection.times,
            selection.interval,
            selection.time_zone,
            selection.adjustment,
        )

    def macd(self, selection: Selection, parameters: MACDParameters, convention: Convention) -> MACDResult:
        """MACD over the selection's history, for the bars of its window."""
        outputs = self._outputs(selection, INDICATORS["macd"], parameters, convention)
        return MACDResult(selection.symbol, parameters, convention, selection, outputs, first_valid(outputs["macd"]))

    def chart(
        self,
        selection: Selection,
        request: ChartRequest,
        convention: Convention,
        cancelled: threading.Event | None = None,
    ) -> Image:
        """A chart of the window, from the render cache when the same chart of the same data was drawn.

        ``cancelled`` is set when the caller goes away; the render stops once
        every caller waiting for it has. Raises RenderAbandonedError then,
        and ResourceExhaustedError at once for a chart over ``chart_budget``.
        """
        limits.admit_chart(len(selection.days), request, self.chart_budget)
        key = (selection.version, selection.symbol, selection.window.start, selection.window.stop, convention, request)
        return self.render_cache.get_or_render(
            key,
            lambda abandoned: self.renderer(selection, request, convention, abandoned),
            cancelled or threading.Event(),
        )

    def _render(
        self, selection: Selection, request: ChartRequest, convention: Convention, abandoned: Callable[[], bool]
    ) -> Image:
        def checkpoint() -> None:
            if abandoned():
                raise RenderAbandonedError("every caller of this chart went away")

        checkpoint()
        overlays = []
        for index, overlay in enumerate(request.overlays):
            if isinstance(overlay, EntryRequest):
                with field_prefix(f"overlays[{index}].indicator"):
                    overlays += self._entry_overlays(selection, overlay, convention)
                continue
            with field_prefix(f"overlays[{index}].{overlay.indicator.name}"):
                lines = self._outputs(selection, overlay.indicator, overlay.parameters, convention)
            overlays.append(charts.Overlay(charts.OVERLAYS[overlay.indicator.name], overlay.display_name(), lines))
        panels = []
        for index, panel in enumerate(request.panels):
            if panel is None:
                panels.append(charts.Panel(charts.VOLUME, "Volume", {}, convention))
                continue
            if isinstance(panel, EntryRequest):
                with field_prefix(f"panels[{index}].indicator"):
                    drawn = self._entry_panel(selection, panel, convention)
                panels += drawn[0]
                overlays += drawn[1]
                continue
            with field_prefix(f"panels[{index}].{panel.indicator.name}"):
                series = self._outputs(selection, panel.indicator, panel.parameters, convention)
            kind = charts.PANELS[panel.indicator.name]
            panels.append(charts.Panel(kind, panel.display_name(), series, convention))
        bars = selection.bars
        options = request.options
        data = charts.render_chart(
            bars,
            title=chart_title(selection, convention),
            overlays=overlays,
            panels=panels,
            options=options,
            checkpoint=checkpoint,
        )
        return Image(data, options.format.value, options.width_px, options.height_px, options.dpi)

    def _entry_overlays(
        self, selection: Selection, request: EntryRequest, convention: Convention
    ) -> list[charts.Overlay]:
        """A catalogue entry over the price panel: its price outputs as lines, its signals as markers."""
        outputs = self.entry_outputs(selection, request.bound, _drawn_convention(request, convention))
        entry = request.bound.entry
        prices = [output.name for output in entry.outputs if output.kind is not OutputKind.SIGNAL]
        signals = [output.name for output in entry.outputs if output.kind is OutputKind.SIGNAL]
        drawn = []
        if prices:
            kind = charts.indicator_overlay(request.label, prices)
            drawn.append(charts.Overlay(kind, request.display_name(), {key: outputs[key] for key in prices}))
        if signals:
            kind = charts.signal_markers(request.label, signals)
            drawn.append(charts.Overlay(kind, request.display_name(), {key: outputs[key] for key in signals}))
        return drawn

    def _entry_panel(
        self, selection: Selection, request: EntryRequest, convention: Convention
    ) -> tuple[list[charts.Panel], list[charts.Overlay]]:
        """A catalogue entry as a panel of its non-signal outputs, and its signals as markers on the price panel."""
        used = _drawn_convention(request, convention)
        outputs = self.entry_outputs(selection, request.bound, used)
        entry = request.bound.entry
        lines = [output.name for output in entry.outputs if output.kind is not OutputKind.SIGNAL]
        signals = [output.name for output in entry.outputs if output.kind is OutputKind.SIGNAL]
        panels = []
        if lines:
            panel = charts.indicator_panel(request.label, lines)
            panels.append(charts.Panel(panel, request.display_name(), {key: outputs[key] for key in lines}, used))
        markers = []
        if signals:
            marks = charts.signal_markers(request.label, signals)
            markers.append(charts.Overlay(marks, request.display_name(), {key: outputs[key] for key in signals}))
        return panels, markers

    def _outputs(
        self, selection: Selection, indicator: Indicator, parameters: Any, convention: Convention
    ) -> dict[str, npt.NDArray[np.float64]]:
        """An indicator's outputs over the window, full length, NaN on warm-up bars.

        Outputs over a store symbol's history are cached, keyed by its data
        version, so a request for a window of it only slices arrays.
        """

        def compute(abandoned: Callable[[], bool] | None = None) -> Outputs:
            frame = indicator.compute(selection.history, parameters, convention)
            arrays = {name: frame[name].to_numpy(dtype="float64", copy=True) for name in indicator.outputs}
            for array in arrays.values():
                array.setflags(write=False)
            return Outputs(arrays)

        if selection.symbol:
            key = (selection.version, indicator.name, parameters, convention)
            outputs = self.indicator_cache.get_or_render(key, compute, threading.Event())
        else:
            outputs = compute()
        return {name: values[selection.window] for name, values in outputs.values.items()}

    def symbols(self) -> list[SymbolSummary]:
        """What the store holds, by symbol."""
        return self.store.summaries()


MAX_SCREEN_SYMBOLS = 1000


@dataclass(frozen=True, slots=True)
class ScreenMatch:
    """A symbol for which the condition holds: the bar checked and every output's value there."""

    symbol: str
    day: int  # days since 1970-01-01
    time: int  # the bar's start, seconds since the Unix epoch (00:00 UTC of the day for daily bars)
    values: dict[str, float]


@dataclass(frozen=True, slots=True)
class ScreenSkip:
    """A symbol the condition could not be evaluated on, and why."""

    symbol: str
    reason: str


@dataclass(frozen=True, slots=True)
class ScreenResult:
    """What Screen returns: matches and skips sorted by symbol, how many were evaluated, the deciding output."""

    matches: list[ScreenMatch]
    skipped: list[ScreenSkip]
    evaluated_count: int
    output: str
    convention: Convention


def deciding_output(request: EntryRequest, output: str) -> str:
    """The output that decides a screen: ``output`` if given, else the only signal, else the only output.

    InvalidArgumentError on ``output`` listing the outputs otherwise.
    """
    outputs = request.bound.entry.outputs
    names = [item.name for item in outputs]
    if output:
        if output in names:
            return output
        raise InvalidArgumentError(
            "output", f"{request.bound.entry.name} has no output {shown(output)}; its outputs are {', '.join(names)}"
        )
    signals = [item.name for item in outputs if item.kind is OutputKind.SIGNAL]
    if len(signals) == 1:
        return signals[0]
    if len(names) == 1:
        return names[0]
    raise InvalidArgumentError("output", f"choose which output decides: one of {', '.join(names)}")


class Screener:
    """Screen (选股): one condition over many stored symbols, each symbol's failure a skip, not an error."""

    def __init__(self, analytics: Analytics) -> None:
        self.analytics = analytics

    def symbols(self, requested: list[str]) -> list[str]:
        """The canonical symbols to screen: ``requested`` (NotFoundError on ``symbols[i]``), or every one."""
        store = self.analytics.store
        if len(requested) > MAX_SCREEN_SYMBOLS:
            raise InvalidArgumentError("symbols", f"at most {MAX_SCREEN_SYMBOLS} symbols, got {len(requested)}")
        if not requested:
            return store.symbols()
        chosen = []
        for index, symbol in enumerate(requested):
            with field_renamed("symbol", f"symbols[{index}]"):
                chosen.append(store.canonical(symbol))
        return sorted(set(chosen))

    def screen(
        self,
        request: EntryRequest,
        output: str,
        symbols: list[str],
        day: date | None,
        convention: Convention,
        *,
        interval: Interval | None = None,
        adjustment: Adjustment | None = None,
    ) -> ScreenResult:
        """Evaluate ``request`` on each symbol's last bar on or before ``day`` (None: its last bar).

        Each symbol's whole history is served at ``interval`` and ``adjustment``
        (None: daily, as stored); a symbol that cannot be (stored too coarse,
        no adjustment factors) is skipped with the reason.
        """
        decider = deciding_output(request, output)
        lookback = request.bound.lookback(convention)
        names = dict(zip((item.name for item in request.bound.entry.outputs), request.series_names(), strict=True))
        matches: list[ScreenMatch] = []
        skipped: list[ScreenSkip] = []
        evaluated = 0
        for symbol in self.symbols(symbols):
            try:
                whole = self.analytics.select(symbol, None, None, interval=interval, adjustment=adjustment)
                history = whole.data
                position = _bar_on_or_before(history.days, day)
                if position is None:
                    skipped.append(ScreenSkip(symbol, f"no bar on or before {day}"))
                    continue
                if len(history.days) <= lookback:
                    skipped.append(
                        ScreenSkip(
                            symbol,
                            f"history too short: {len(history.days)} bars, the indicator needs {lookback + 1}",
                        )
                    )
                    continue
                if position < lookback:
                    skipped.append(ScreenSkip(symbol, f"warm-up: the first {lookback} bars have no value"))
                    continue
                selection = Selection(symbol, history, slice(position, position + 1), whole.adjustment, whole.basis)
                outputs = self.analytics.entry_outputs(selection, request.bound, convention)
            except IdcError as error:  # the symbol's data problem, or the indicator refusing its history
                skipped.append(ScreenSkip(symbol, str(error)))
                continue
            evaluated += 1
            value = float(outputs[decider][0])
            if value != 0 and not np.isnan(value):
                day_number = int(history.days[position])
                values = {names[name]: float(column[0]) for name, column in outputs.items()}
                matches.append(ScreenMatch(symbol, day_number, int(history.times[position]), values))
        return ScreenResult(matches, skipped, evaluated, decider, convention)


def _bar_on_or_before(days: npt.NDArray[np.int32], day: date | None) -> int | None:
    """The position of the last bar on or before ``day`` (None: the last bar); None when there is none."""
    if not len(days):
        return None
    if day is None:
        return len(days) - 1
    position = int(np.searchsorted(days, (day - EPOCH).days, side="right")) - 1
    return position if position >= 0 else None


EPOCH = date(1970, 1, 1)
