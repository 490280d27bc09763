"""Micro-benchmark of the 通达信 formula engine: milliseconds per evaluation over 100,000 bars.

    python -m bench.formula_engine [--bars 100000] [--repeat 7]

Prints the median wall and CPU time of ``Formula.evaluate`` (compiled once) for the
issue's MACD text, every shipped system indicator, and the functions whose
implementation is a loop (DMA with a factor per bar) or a window
(HHVBARS, STD, SLOPE over 250 bars). Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from idc_server.core.formula import compile_formula, load_formula_files, system_formula_dir
from idc_server.core.formula.compiler import Formula

EXTRA = {
    "MACD (issue text)": "DIF:EMA(CLOSE,12)-EMA(CLOSE,26); DEA:EMA(DIF,9); MACD:(DIF-DEA)*2;",
    "DMA, factor per bar (loop)": "X:DMA(C,V/HHV(V,20)*0.5);",
    "HHVBARS(C,250)": "X:HHVBARS(C,250);",
    "STD(C,250)": "X:STD(C,250);",
    "SLOPE(C,250)": "X:SLOPE(C,250);",
    "screen: golden cross with volume": "MA5:=MA(C,5); MA20:=MA(C,20); CROSS(MA5,MA20) AND V>MA(V,5)*1.5;",
}


def bars(length: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    close = 100 * np.exp(np.cumsum(rng.normal(0.0, 0.01, length)))
    opening = np.r_[close[:1], close[:-1]]
    high = np.maximum(opening, close) * 1.004
    low = np.minimum(opening, close) * 0.996
    volume = rng.integers(1_000, 1_000_000, length).astype("float64")
    return {"open": opening, "high": high, "low": low, "close": close, "volume": volume}


def median_ms(formula: Formula, columns: dict[str, np.ndarray], repeat: int) -> tuple[float, float]:
    """Median wall and CPU milliseconds of one evaluation (CPU time is steadier on a shared machine)."""
    formula.evaluate(columns)  # warm caches
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        formula.evaluate(columns)
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    columns = bars(args.bars)
    formulas = {name: compile_formula(text) for name, text in EXTRA.items()}
    formulas.update({entry.name: entry.formula for entry in load_formula_files(system_formula_dir())})
    start = time.perf_counter()
    compile_formula(EXTRA["MACD (issue text)"])
    print(f"compile MACD: {(time.perf_counter() - start) * 1000:.2f} ms")
    print(f"evaluate over {args.bars:,} bars, median of {args.repeat}: wall ms, CPU ms")
    for name, formula in formulas.items():
        wall, cpu = median_ms(formula, columns, args.repeat)
        print(f"  {name:36s} {wall:8.2f} {cpu:8.2f}")


if __name__ == "__main__":
    main()
