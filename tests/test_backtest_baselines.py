"""The replay's two sites that need no decision (without the miners, with them asleep), settled
ahead in one pass (backtest/site.py Baselines), say to the last bit what settling each site tick
by tick says: any flows, decision ticks per row, prices with gaps, with and without a battery."""
from __future__ import annotations

import math

import pytest

from edgemining_tui.backtest.site import Baselines
from edgemining_tui.sim.battery import Battery, BatteryConfig

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402


def _tick_by_tick(battery, pvs, loads, sub, dt, idle_w, pimp, pexp):
    """Each site stepped on its own, tick by tick, through Battery.settle."""
    none, asleep = Battery(battery), Battery(battery)
    s = dict.fromkeys(("imp0", "exp0", "ch0", "dis0", "cimp0", "cexp0", "imp_s", "exp_s"), 0.0)
    imp0 = []
    for i, (pv, load) in enumerate(zip(pvs, loads)):
        pi = pimp[i] if pimp is not None and not math.isnan(pimp[i]) else 0.0
        pe = pexp[i] if pexp is not None and not math.isnan(pexp[i]) else 0.0
        for _ in range(sub):
            ch0 = none.settle(pv - load, dt)
            grid0 = load + ch0 - pv
            grid_s = load + idle_w + asleep.settle(pv - load - idle_w, dt) - pv
            if grid_s > 0:
                s["imp_s"] += grid_s
            else:
                s["exp_s"] -= grid_s
            if grid0 > 0:
                s["imp0"] += grid0
                s["cimp0"] += grid0 * pi
            else:
                s["exp0"] -= grid0
                s["cexp0"] -= grid0 * pe
            if ch0 > 0:
                s["ch0"] += ch0
            else:
                s["dis0"] -= ch0
            imp0.append(grid0 if grid0 > 0 else 0.0)
    return s, imp0, (none.soc_pct if battery.capacity > 0 else None)


flows = st.floats(min_value=0.0, max_value=12000.0, allow_nan=False)
prices = st.one_of(st.none(), st.floats(min_value=-0.5, max_value=0.8), st.just(math.nan))


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.lists(st.tuples(flows, flows, prices, prices), min_size=1, max_size=300),
       st.sampled_from([1, 2, 3]), st.sampled_from([0.0, 10000.0, 2500.0]), st.sampled_from([0.0, 42.5]),
       st.booleans())
def test_the_sites_without_a_decision_settle_as_tick_by_tick(rows, sub, capacity, idle_w, with_prices):
    pvs = [r[0] for r in rows]
    loads = [r[1] for r in rows]
    pimp = [math.nan if r[2] is None else r[2] for r in rows] if with_prices else None
    pexp = [math.nan if r[3] is None else r[3] for r in rows] if with_prices else None
    battery = BatteryConfig(capacity=capacity, max_charge=3000.0, max_discharge=2500.0, initial_soc=30.0)
    dt = 60.0 / sub
    b = Baselines(battery, pvs, loads, sub, dt, idle_w, pimp, pexp)
    s, imp0, soc = _tick_by_tick(battery, pvs, loads, sub, dt, idle_w, pimp, pexp)
    got = (b.s_imp0, b.s_exp0, b.s_ch0, b.s_dis0, b.c_imp0, b.c_exp0, b.s_imp_s, b.s_exp_s)
    want = (s["imp0"], s["exp0"], s["ch0"], s["dis0"], s["cimp0"], s["cexp0"], s["imp_s"], s["exp_s"])
    assert [repr(x) for x in got] == [repr(x) for x in want]
    assert list(b.imp0) == imp0 and b.soc0_end_pct == soc
