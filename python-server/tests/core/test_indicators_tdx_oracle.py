"""The TDX convention against MyTT, an independent implementation of the 通达信 formulas.

MyTT (PyPI ``mytt``) writes 通达信's functions (EMA, SMA(X,N,M), MA, STD,
REF, HHV, LLV) in pandas and its indicators (MACD, RSI, BOLL, KDJ) as the
通达信 formulas over them. It is to ``Convention.TDX`` what TA-Lib is to
``Convention.TALIB``. Its indicator functions round to 3 decimals; the
formulas rebuilt here from its unrounded functions are compared tightly.

Where we differ from MyTT on purpose (docs/decisions/0016):

- BOLL: 通达信's STD is the sample standard deviation, which our TDX default
  uses; MyTT's STD is the population one (ddof 0). With
  ``StdDev.POPULATION`` we match MyTT; by default our bands are wider by
  exactly sqrt(N / (N - 1)).
- KDJ: 通达信 starts at bar 0, with HHV/LLV over the bars so far and K, D
  seeded at 50; MyTT starts at bar N - 1 (full windows) seeded with the
  first RSV. That is our TALIB convention with ``KDJSeed.FIRST_RSV``, which
  matches MyTT at every bar; our TDX default converges to MyTT as the seed
  decays (factor 2/3 a bar) and is within 1e-9 from bar 100 on.
- RSI while nothing has moved: we give 0, MyTT 0/0 = NaN (never reached on
  these series).
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from MyTT import MyTT

from idc_common.columns import BAR_COLUMNS, canonical_column
from idc_server.core.indicators import (
    INDICATORS,
    BollingerParameters,
    Convention,
    KDJParameters,
    KDJSeed,
    MACDParameters,
    RSIParameters,
    StdDev,
)

TDX = Convention.TDX
SYMBOLS = ("SPY", "AAPL", "000001.SH")
MYTT_ROUNDING = 5e-4 + 1e-9  # MyTT's indicator functions round to 3 decimals
CONVERGED = 100  # from this bar on the KDJ seeds no longer matter (below 1e-9)

Array = npt.NDArray[np.float64]


def bundled(symbol: str) -> pd.DataFrame:
    """A bundled real series, read here with pandas (not with the server's data loader)."""
    raw = pd.read_csv(str(resources.files("idc_server") / "data" / f"{symbol}.csv"))
    frame = raw.rename(columns=lambda name: canonical_column(name) or name)
    dates = pd.DatetimeIndex(pd.to_datetime(frame.pop("date")), name="date")
    return frame.set_index(dates)[list(BAR_COLUMNS)].astype("float64")


def random_walk(length: int, seed: int) -> pd.DataFrame:
    """Geometric random-walk bars with consistent highs and lows."""
    rng = np.random.default_rng(seed)
    close = 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, length)))
    opens = np.concatenate([[close[0]], close[:-1]]) * np.exp(rng.normal(0.0, 0.005, length))
    high = np.maximum(opens, close) * (1 + rng.uniform(0.0, 0.02, length))
    low = np.minimum(opens, close) * (1 - rng.uniform(0.0, 0.02, length))
    volume = rng.integers(1_000, 1_000_000, length).astype("float64")
    index = pd.bdate_range("2001-01-02", periods=length, name="date")
    return pd.DataFrame({"open": opens, "high": high, "low": low, "close": close, "volume": volume}, index=index)


SERIES = [pytest.param(symbol, id=symbol) for symbol in SYMBOLS] + [
    pytest.param((length, seed), id=f"walk-{length}-{seed}") for length, seed in ((120, 1), (500, 2), (2000, 3))
]


@pytest.fixture(params=SERIES)
def bars(request: pytest.FixtureRequest) -> pd.DataFrame:
    if isinstance(request.param, str):
        return bundled(request.param)
    length, seed = request.param
    return random_walk(length, seed)


def compute(name: str, bars: pd.DataFrame, parameters: object, convention: Convention = TDX) -> pd.DataFrame:
    return INDICATORS[name].compute(bars, parameters, convention)


def tolerance(bars: pd.DataFrame) -> float:
    """1e-12 of the price level: float rounding only."""
    return 1e-12 * float(bars["close"].abs().max())


def column(frame: pd.DataFrame, name: str) -> Array:
    return frame[name].to_numpy(dtype="float64")


def test_tdx_macd_is_mytts_macd(bars: pd.DataFrame) -> None:
    close = bars["close"].to_numpy()
    dif = MyTT.EMA(close, 12) - MyTT.EMA(close, 26)
    dea = MyTT.EMA(dif, 9)

    ours = compute("macd", bars, MACDParameters())

    np.testing.assert_allclose(column(ours, "macd"), dif, rtol=0, atol=tolerance(bars))
    np.testing.assert_allclose(column(ours, "signal"), dea, rtol=0, atol=tolerance(bars))
    np.testing.assert_allclose(column(ours, "histogram"), 2 * (dif - dea), rtol=0, atol=tolerance(bars))
    for ours_column, theirs in zip(("macd", "signal", "histogram"), MyTT.MACD(close, 12, 26, 9), strict=True):
        np.testing.assert_allclose(column(ours, ours_column), theirs, rtol=0, atol=MYTT_ROUNDING)


@pytest.mark.parametrize("period", [6, 14, 24])
def test_tdx_rsi_is_mytts_rsi(bars: pd.DataFrame, period: int) -> None:
    close = bars["close"].to_numpy()
    change = close - MyTT.REF(close, 1)
    expected = MyTT.SMA(MyTT.MAX(change, 0), period) / MyTT.SMA(MyTT.ABS(change), period) * 100

    ours = column(compute("rsi", bars, RSIParameters(period)), "rsi")

    np.testing.assert_array_equal(np.isnan(ours), np.isnan(expected))  # bar 0 only: no previous close
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours, MyTT.RSI(close, period), rtol=0, atol=MYTT_ROUNDING)


def test_tdx_boll_with_population_std_is_mytts_boll(bars: pd.DataFrame) -> None:
    close = bars["close"].to_numpy()
    middle = MyTT.MA(close, 20)
    width = 2 * MyTT.STD(close, 20)

    ours = compute("boll", bars, BollingerParameters(20, 2.0, StdDev.POPULATION))

    np.testing.assert_allclose(column(ours, "middle"), middle, rtol=0, atol=tolerance(bars))
    np.testing.assert_allclose(column(ours, "upper"), middle + width, rtol=0, atol=1e3 * tolerance(bars))
    np.testing.assert_allclose(column(ours, "lower"), middle - width, rtol=0, atol=1e3 * tolerance(bars))
    upper, mid, lower = MyTT.BOLL(close, 20, 2)
    for ours_column, theirs in (("upper", upper), ("middle", mid), ("lower", lower)):
        np.testing.assert_allclose(column(ours, ours_column), theirs, rtol=0, atol=MYTT_ROUNDING)


def test_tdx_default_boll_is_wider_than_mytts_by_the_sample_correction(bars: pd.DataFrame) -> None:
    close = bars["close"].to_numpy()
    mytt_width = 2 * MyTT.STD(close, 20)

    ours = compute("boll", bars, BollingerParameters())
    width = column(ours, "upper") - column(ours, "middle")

    moving = mytt_width > 1e-6 * close  # a flat window has no width to compare
    np.testing.assert_allclose(width[moving] / mytt_width[moving], np.sqrt(20 / 19), rtol=1e-9)


def test_kdj_talib_convention_with_first_rsv_seed_is_mytts_kdj(bars: pd.DataFrame) -> None:
    k, d, j = MyTT.KDJ(bars["close"].to_numpy(), bars["high"].to_numpy(), bars["low"].to_numpy(), 9, 3, 3)

    ours = compute("kdj", bars, KDJParameters(9, 3, 3, KDJSeed.FIRST_RSV), Convention.TALIB)

    for ours_column, theirs in (("k", k), ("d", d), ("j", j)):
        np.testing.assert_array_equal(np.isnan(column(ours, ours_column)), np.isnan(theirs))
        np.testing.assert_allclose(column(ours, ours_column), theirs, rtol=0, atol=1e-9)


@pytest.mark.parametrize("seed", list(KDJSeed))
def test_tdx_kdj_starts_earlier_than_mytt_and_converges_to_it(bars: pd.DataFrame, seed: KDJSeed) -> None:
    k, d, j = MyTT.KDJ(bars["close"].to_numpy(), bars["high"].to_numpy(), bars["low"].to_numpy(), 9, 3, 3)

    ours = compute("kdj", bars, KDJParameters(9, 3, 3, seed))

    assert not ours.iloc[:8].isna().any().any()  # from bar 0, where MyTT has no value yet
    assert np.isnan(k[:8]).all()
    assert np.nanmax(np.abs(column(ours, "k")[8:40] - k[8:40])) > 1e-3  # the seeds differ...
    for ours_column, theirs in (("k", k), ("d", d), ("j", j)):  # ...and are forgotten
        np.testing.assert_allclose(column(ours, ours_column)[CONVERGED:], theirs[CONVERGED:], rtol=0, atol=1e-9)
