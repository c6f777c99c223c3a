"""The replay's battery (sim/battery.py): ``settler(dt)``, the per-tick shortcut the replay runs,
settles exactly as ``settle(net, dt)`` does, for any battery and any flows."""
from __future__ import annotations

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


@settings(max_examples=60, deadline=None, derandomize=True)
@given(battery(), st.sampled_from([1.0, 5.0, 60.0, 900.0]), st.lists(FLOW_W, min_size=1, max_size=200))
def test_the_replays_shortcut_settles_as_the_battery_does(cfg, dt_s, flows):
    slow, fast = Battery(cfg), Battery(cfg)
    settle = fast.settler(dt_s)
    for net_w in flows:
        assert repr(settle(net_w)) == repr(slow.settle(net_w, dt_s))
        assert fast.soc_wh == slow.soc_wh


def test_a_full_battery_takes_nothing_and_an_empty_one_gives_nothing():
    b = Battery(BatteryConfig(capacity=10000.0, initial_soc=100.0, min_soc=10.0))
    settle = b.settler(60.0)
    assert settle(3000.0) == 0.0 and b.soc_pct == 100.0
    b = Battery(BatteryConfig(capacity=10000.0, initial_soc=10.0, min_soc=10.0))
    assert b.settler(60.0)(-3000.0) == 0.0 and b.soc_pct == 10.0
