"""A few simulated days of history for the demo, so its charts and the History panel have something to
show on the first screen. The simulated site (sim/site.py: PV with cloud dips, a house with peaks,
the demo's battery) with the demo miners following the surplus in priority order, a minute apart.

It writes only into a store that has no history older than an hour (a fresh demo data directory),
never into one with real rows.
"""
from __future__ import annotations

from typing import Any

from .battery import Battery
from .site import SimSite

STEP_S = 60.0
FAN_RPM = 5400


def prefill_demo_history(store: Any, demo: Any, now: float, *, tz_offset_s: float = 0.0,
                         sim_offset_s: float = 0.0, days: float = 3.0) -> int:
    """Energy and miner rows for ``days`` before ``now``; returns the energy rows written (0: skipped).

    ``sim_offset_s`` shifts the simulated day like the live demo's (``demo.start_hour``) so the
    history runs into the live picture without a jump."""
    if demo is None or not demo.miners:
        return 0
    old = store.query("select count(*) as n from energy where ts < ?", [now - 3600.0])
    if old and old[0]["n"]:
        return 0
    site = SimSite(demo.site, tz_offset_s)
    battery = Battery(demo.site.battery)
    miners = sorted(demo.miners, key=lambda m: m.priority)
    n = int(days * 86400 / STEP_S)
    t0 = now - n * STEP_S
    energy, samples = [], []
    for i in range(n):
        ts = t0 + i * STEP_S
        sim_ts = ts + sim_offset_s
        pv, house = site.pv_w(sim_ts), site.house_w(sim_ts)
        # the battery first takes what it can while below 80 %, the miners share the rest
        keep = min(demo.site.battery.max_charge, max(0.0, pv - house)) if battery.soc_pct < 80.0 else 0.0
        left = pv - house - keep
        draws = {}
        for m in miners:
            w = min(m.max_w, left) if left >= m.min_w else 0.0
            draws[m.name] = w
            left -= w
        miners_w = sum(draws.values())
        charge = battery.settle(pv - house - miners_w, STEP_S)
        grid = house + miners_w + charge - pv
        energy.append({"ts": ts, "pv_w": round(pv, 1), "house_w": round(house, 1), "grid_import_w": round(grid, 1),
                       "battery_charge_w": round(charge, 1), "battery_soc_pct": round(battery.soc_pct, 2),
                       "miners_w": round(miners_w, 1), "available_w": round(max(0.0, pv - house - keep), 1),
                       "stale": ""})
        for m in miners:
            w = draws[m.name]
            samples.append({"ts": ts, "name": m.name, "state": "mining" if w > 0 else "paused",
                            "power_w": round(w, 1), "power_limit_w": round(w, 1),
                            "hashrate_ths": round(w / m.efficiency_j_th, 2) if w > 0 else 0.0,
                            "temp_c": 58.0 if w > 0 else 30.0, "fan_rpm": FAN_RPM if w > 0 else 0})
    store.insert_many("energy", energy)
    store.insert_many("miner_samples", samples)
    return len(energy)
