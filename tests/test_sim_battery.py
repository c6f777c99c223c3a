"""The simulated battery (sim/battery.py): ``settle`` and the replay's per-tick ``settler(dt)`` follow
the self-consumption rule below to the last bit, for any battery and any flows (the replay's scores
were pinned with this formula: tests/test_replay_golden.py)."""
from __future__ import annotations

import math

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402

from edgemining_tui.sim.battery import Battery, BatteryConfig  # noqa: E402

FLOW_W = st.one_of(st.floats(min_value=-20000, max_value=20000), st.sampled_from([0.0, -0.0, 1e-9, -1e-9]))


@st.composite
def battery(draw) -> BatteryConfig:
    min_soc = draw(st.floats(min_value=0, max_value=100))
    return BatteryConfig(capacity=draw(st.sampled_from([0.0, 500.0, 10000.0, 13500.0])),
                         max_charge=draw(st.sampled_from([0.0, 300.0, 5000.0])),
                         max_discharge=draw(st.sampled_from([0.0, 300.0, 5000.0])),
                         min_soc=min_soc, round_trip_efficiency=draw(st.floats(min_value=1, max_value=100)),
                         initial_soc=draw(st.floats(min_value=min_soc, max_value=100)))


class _Rule:
    """Charge the least of the surplus, the limit and the room left; discharge the least of the
    shortfall, the limit and what is above min_soc; the loss split evenly between the two ways."""

    def __init__(self, cfg: BatteryConfig) -> None:
        self.cfg = cfg
        self.soc_wh = cfg.capacity * cfg.initial_soc / 100.0
        self.eff = math.sqrt(cfg.round_trip_efficiency / 100.0)
        self.min_wh = cfg.capacity * cfg.min_soc / 100.0

    def settle(self, net_w: float, dt_s: float) -> float:
        if self.cfg.capacity <= 0 or dt_s <= 0:
            return 0.0
        h = dt_s / 3600.0
        if net_w > 0:
            p = min(net_w, self.cfg.max_charge, (self.cfg.capacity - self.soc_wh) / (h * self.eff))
            p = 0.0 if p < 0 else p
            self.soc_wh += p * h * self.eff
            return p
        if net_w < 0:
            p = min(-net_w, self.cfg.max_discharge, (self.soc_wh - self.min_wh) * self.eff / h)
            p = 0.0 if p < 0 else p
            self.soc_wh -= p * h / self.eff
            return -p
        return 0.0


@settings(max_examples=60, deadline=None, derandomize=True)
@given(battery(), st.sampled_from([1.0, 5.0, 60.0, 900.0]), st.lists(FLOW_W, min_size=1, max_size=200))
def test_the_battery_settles_by_the_rule_step_by_step_and_through_the_replays_shortcut(cfg, dt_s, flows):
    rule, stepped, replay = _Rule(cfg), Battery(cfg), Battery(cfg)
    settle = replay.settler(dt_s)
    for net_w in flows:
        want = rule.settle(net_w, dt_s)
        assert repr(stepped.settle(net_w, dt_s)) == repr(want)
        assert repr(settle(net_w)) == repr(want)
        assert stepped.soc_wh == replay.soc_wh == rule.soc_wh


def test_a_full_battery_takes_nothing_and_an_empty_one_gives_nothing():
    b = Battery(BatteryConfig(capacity=10000.0, initial_soc=100.0, min_soc=10.0))
    settle = b.settler(60.0)
    assert settle(3000.0) == 0.0 and b.soc_pct == 100.0
    b = Battery(BatteryConfig(capacity=10000.0, initial_soc=10.0, min_soc=10.0))
    assert b.settler(60.0)(-3000.0) == 0.0 and b.soc_pct == 10.0
