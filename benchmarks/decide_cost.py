"""What one decision costs: the surplus allocator (3 miners, with and without prices and a heat
zone) and an Edge Mining rule step. A year of 1-minute backtest is 525,600 decisions.

    .venv/bin/python benchmarks/decide_cost.py

Prints medians of 5 runs in microseconds. (These figures were timed inside tests before; timing
belongs here, where a loaded machine cannot fail a build.)
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from _allocator_kit import inp, snap  # noqa: E402
from test_allocator_control import three  # noqa: E402
from test_rules_helpers import NOON_WED, POLICIES, SITE, SUN, TZ  # noqa: E402
from test_rules_helpers import sample as rule_sample, snap as rule_snap  # noqa: E402

from edgemining_tui.heat.config import ZoneConfig  # noqa: E402
from edgemining_tui.heat.zones import ZoneTracker  # noqa: E402
from edgemining_tui.miners.model import MinerState  # noqa: E402
from edgemining_tui.policy.config import PolicyConfig  # noqa: E402
from edgemining_tui.policy.context import build_context  # noqa: E402
from edgemining_tui.policy.decider import build_decider  # noqa: E402
from edgemining_tui.policy.decision import DecisionInput  # noqa: E402
from edgemining_tui.policy.rules_loader import load_policy  # noqa: E402


def median_us(fn, n: int, runs: int = 5) -> float:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) / n * 1e6)
    return statistics.median(out)


def allocator(priced: bool, explain: bool = True) -> float:
    d, ms, pv, site = three()
    d.explain = explain
    if priced:
        from edgemining_tui.econ.config import EconomicsConfig
        d = build_decider(PolicyConfig(), economics=EconomicsConfig())
        site.decider = d
    pv.w = 6000
    site.run(900)
    views = tuple(m.view(site.now) for m in ms.values())
    s = snap(site.now, -50.0)
    n = 20000
    if priced:
        zone = ZoneConfig(name="Office", miners=("a",), min_c=20.0, max_c=22.0, grid_heat=True)
        status = {"Office": ZoneTracker(zone).update(23.4, 600, 0.1)}
        prices = {"import": 0.30, "export": 0.05, "btc": 90000.0, "hashprice": 50.0}
        inputs = [DecisionInput(site.now + i, s, views, prices=prices, climate={"status": status}) for i in range(n)]
    else:
        inputs = [inp(site.now + i, s, *views) for i in range(n)]
    return median_us(lambda: [d.decide(x) for x in inputs], n)


def rule_step() -> tuple[float, float]:
    rs, _ = load_policy(POLICIES / "em_advanced_solar.yaml", SITE)
    ts0 = NOON_WED.timestamp()
    s = rule_snap(ts0, 2500, 600, -1500, 200, 70, {"next_hour_power": 1800})
    miner = rule_sample(state=MinerState.PAUSED)
    n = 3000
    step = median_us(lambda: [rs.decide(build_context(ts0 + 60 * i, tz=TZ, snapshot=s, sun=SUN).for_miner(miner))
                              for i in range(n)], n)
    c = build_context(ts0, tz=TZ, snapshot=s, sun=SUN)
    lookup = median_us(lambda: [c.get("energy_state.grid.exporting_power") for _ in range(20000)], 20000)
    return step, lookup


if __name__ == "__main__":
    plain = allocator(False)
    quiet = allocator(False, explain=False)
    priced = allocator(True)
    step, lookup = rule_step()
    print(f"allocator decide, 3 miners:                {plain:7.1f} us  (a year of minutes: {plain * 525600 / 1e6:.1f} s)")
    print(f"allocator decide, without words (replay): {quiet:7.1f} us  (PolicyDecider.explain = False)")
    print(f"allocator decide, prices + a heat zone:    {priced:7.1f} us")
    print(f"Edge Mining rule step (context + decide):  {step:7.1f} us")
    print(f"cached rule field lookup:                  {lookup:7.2f} us")
