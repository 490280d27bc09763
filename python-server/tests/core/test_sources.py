"""HeldBars: the byte budget of the stores of thousands (hand-counted sizes, no store)."""

from __future__ import annotations

import threading

from idc_server.core.sources import HeldBars


class Symbol:
    """What a source keeps of one symbol: its bars until let go of."""

    def __init__(self, held: HeldBars, name: str, size: int) -> None:
        self.name, self.size, self.lock = name, size, threading.Lock()
        self.bars: str | None = f"{name} bars"
        self.held = held

    def read(self) -> None:
        self.bars = f"{self.name} bars"
        self.held.keep(self.name, self.size, self.lock, self.forget)

    def forget(self) -> None:
        self.bars = None


def test_over_the_budget_the_least_recently_used_go_first() -> None:
    held = HeldBars(250)
    a, b, c = (Symbol(held, name, 100) for name in "abc")
    a.read()
    b.read()
    held.touch("a")
    c.read()
    assert (a.bars, b.bars, c.bars) == ("a bars", None, "c bars")
    assert (held.size_bytes, held.released) == (200, 1)


def test_a_symbol_being_read_is_passed_over() -> None:
    held = HeldBars(150)
    a, b, c = (Symbol(held, name, 100) for name in "abc")
    a.read()
    b.read()  # over the budget: a goes
    a.read()  # over again: b goes
    with b.lock:  # b is being read by another request
        b.read()
        c.read()  # a is the least recently used and free: it goes; b stays although over
    assert (a.bars, b.bars, c.bars) == (None, "b bars", "c bars")
    assert held.size_bytes == 200


def test_the_symbol_just_read_stays_even_alone_over_the_budget() -> None:
    held = HeldBars(0)
    a, b = Symbol(held, "a", 100), Symbol(held, "b", 100)
    a.read()
    assert (a.bars, held.size_bytes) == ("a bars", 100)
    b.read()
    assert (a.bars, b.bars, held.size_bytes, held.released) == (None, "b bars", 100, 1)


def test_a_symbol_read_again_is_counted_once_at_its_new_size() -> None:
    held = HeldBars(1000)
    a = Symbol(held, "a", 100)
    a.read()
    a.size = 300
    a.read()
    assert (held.size_bytes, held.released) == (300, 0)
