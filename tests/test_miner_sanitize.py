"""Values from miners are sanitised at the boundary (issue 16): a non-finite or absurd reading is an
invalid value with its reason, never a number in a decision."""
from __future__ import annotations

import math

import pytest

from edgemining_tui.clock import VirtualClock
from edgemining_tui.miners.fleet import Fleet
from edgemining_tui.miners.model import Board, Capabilities, CommandResult, MinerSample, MinerState
from edgemining_tui.miners.sanitize import sanitize


class ReportingDriver:
    """A MinerDriver whose next sample a test writes (what a broken firmware or parser would hand us)."""

    def __init__(self, name: str, clock) -> None:
        self.name = name
        self.clock = clock
        self.next: dict = {}

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(power_target=True, min_w=1000, max_w=3000)

    async def read(self) -> MinerSample:
        return MinerSample(self.name, self.clock.now(), MinerState.MINING, **self.next)

    async def apply(self, command) -> CommandResult:
        return CommandResult(True, "ok", self.clock.now())

    async def close(self) -> None: ...


BAD = [
    ("power_w", math.nan, "power_w: nan is not a finite number"),
    ("power_w", math.inf, "power_w: inf is not a finite number"),
    ("power_w", -250.0, "power_w: -250 W is outside 0–50000 W"),
    ("power_w", 3.2e6, "power_w: 3.2e+06 W is outside"),
    ("power_limit_w", -math.inf, "power_limit_w: -inf is not a finite number"),
    ("power_w", "3250", "power_w: '3250' is not a number"),
    ("power_w", True, "power_w: 'True' is not a number"),
    ("hashrate_ths", 1e9, "hashrate_ths: 1e+09 TH/s is outside"),
    ("temp_c", 1500.0, "temp_c: 1500 °C is outside"),
    ("temp_c", math.nan, "temp_c: nan is not a finite number"),
    ("fan_rpm", -1, "fan_rpm: -1 rpm is outside"),
    ("uptime_s", -5.0, "uptime_s: -5 s is outside"),
]


@pytest.mark.parametrize("field,value,why", BAD, ids=[f"{f}={v!r}" for f, v, _ in BAD])
async def test_an_absurd_reading_is_none_with_its_reason(field, value, why):
    clock = VirtualClock()
    drv = ReportingDriver("m", clock)
    fleet = Fleet([drv], clock)
    drv.next = {"power_w": 2000.0, "power_limit_w": 2000.0, field: value}
    s = (await fleet.read_all())["m"]
    assert getattr(s, field) is None
    assert any(w.startswith(why) for w in s.invalid), s.invalid
    ok = {k: v for k, v in (("power_w", 2000.0), ("power_limit_w", 2000.0)) if k != field}
    for k, v in ok.items():
        assert getattr(s, k) == v, "the good readings are kept"


def test_a_clean_sample_is_untouched_and_boards_are_checked():
    s = MinerSample("m", 0.0, MinerState.MINING, power_w=3000.0, hashrate_ths=100.0, temp_c=70.0, fan_rpm=4000)
    assert sanitize(s) is s
    b = sanitize(MinerSample("m", 0.0, MinerState.MINING, boards=(Board(0, math.inf, 65.0), Board(1, 30.0, -300.0))))
    assert b.boards[0].hashrate_ths is None and b.boards[0].temp_c == 65.0
    assert b.boards[1].temp_c is None and b.boards[1].hashrate_ths == 30.0
    assert len(b.invalid) == 2


# --- the clean sample's short cut (issue 19: every miner is sanitised every cycle) -------------------
from hypothesis import given, settings, strategies as st  # noqa: E402

from edgemining_tui.miners import sanitize as _san  # noqa: E402

_ODD_NUMBERS = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(-10, 10**9),
                         st.booleans(), st.just("3250"), st.floats(-50, 20_000), st.just(-1e-9), st.just(200.5))
_ODD_TEXTS = st.one_of(st.none(), st.text(max_size=5), st.text(min_size=199, max_size=202),
                       st.sampled_from(["ok", "\x1b[31mred", "tab\there", "x" * 201, "x" * 200]), st.integers())
_NUMBERS = ("power_w", "power_limit_w", "hashrate_ths", "temp_c", "fan_rpm", "uptime_s", "chip_temp_c",
            "board_temp_c", "board_hashrate_ths", "board_chip_temp_c")
_TEXT_FIELDS = ("level", "model", "firmware", "error", "pool_user")


_SEQUENCES = st.one_of(st.lists(_ODD_TEXTS, max_size=2).map(tuple), st.lists(st.just("e"), max_size=1))


@settings(max_examples=300, deadline=None)
@given(changes=st.lists(st.one_of(st.tuples(st.sampled_from(_NUMBERS), _ODD_NUMBERS),
                                  st.tuples(st.sampled_from(_TEXT_FIELDS), _ODD_TEXTS),
                                  st.tuples(st.sampled_from(("errors", "pools")), _SEQUENCES)), max_size=2))
def test_a_sample_is_handed_back_unchanged_exactly_when_nothing_in_it_is_invalid(changes):
    """A clean sample with at most a few odd values: the short cut hands a sample back only where
    the full check finds nothing to change, and otherwise gives what the full check gives."""
    v = {"power_w": 3100.0, "power_limit_w": 3200, "hashrate_ths": 95.5, "temp_c": 71.0, "fan_rpm": 4200,
         "uptime_s": 3600.0, "chip_temp_c": 80.5, "level": "eco", "model": "S19", "firmware": "bos",
         "error": None, "pool_user": "acct.w1", "errors": ("fan 2 slow",), "pools": ("stratum+tcp://pool",)}
    numbers = dict(changes)
    v.update((k, x) for k, x in changes if not k.startswith("board_"))
    board = Board(0, numbers.get("board_hashrate_ths", 31.8), numbers.get("board_temp_c", 70.0),
                  numbers.get("board_chip_temp_c", 79.0), 63)
    s = MinerSample("m", 0.0, MinerState.MINING, boards=(board,), **v)
    full = _san._checked(s)
    out = sanitize(s)
    assert out == full and (out is s) == (full is s)
