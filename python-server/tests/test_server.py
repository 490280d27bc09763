"""Small pieces of server.py that the lifecycle tests do not single out."""

from __future__ import annotations

from idc_server.server import shown_symbols


def test_the_start_up_line_shows_twenty_symbols_and_counts_the_rest() -> None:
    symbols = [f"S{number:05d}" for number in range(10_000)]
    assert shown_symbols(symbols) == ", ".join(symbols[:20]) + " and 9980 more"
    assert shown_symbols(["AAPL", "SPY"]) == "AAPL, SPY"
