"""Simulated days of history for a demo's fresh data directory, so its history panel and charts
have something to show from the first frame.

The CLI calls :func:`prefill` once per demo run whose data directory has no ``history.db`` yet
(the throw-away directory, or a new ``--data-dir``), before the runtime opens it; never on a
directory with history, and never for a real site.

The days come from the simulated site (sim/site.py: PV with cloud dips, a house with peaks, the
demo's battery) with the demo miners following the surplus in priority order, a minute apart;
:func:`prefill_demo_history` also refuses a store that has history older than an hour.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .battery import Battery
from .site import SimSite

PREFILL_DAYS = 3


def prefill(data_dir: Path, cfg: Any, now: float, days: int = PREFILL_DAYS) -> int:
    """Write ``days`` simulated days ending at ``now`` into ``data_dir / "history.db"``; return
    the number of energy rows written."""
    from ..clock import VirtualClock
    from ..runtime import demo_time_offset, tz_offset_s
    from ..store.db import Store
    if getattr(cfg, "demo", None) is None:
        return 0
    store = Store(Path(data_dir) / "history.db", history=getattr(cfg, "history", None))
    try:
        return prefill_demo_history(store, cfg.demo, now, tz_offset_s=tz_offset_s(cfg, now),
                                    sim_offset_s=demo_time_offset(cfg, VirtualClock(now)), days=days)
    finally:
        store.close()


STEP_S = 60.0
ENERGY_COLS = ("ts", "pv_w", "house_w", "grid_import_w", "battery_charge_w", "battery_soc_pct", "miners_w",
               "available_w", "stale")
SAMPLE_COLS = ("ts", "name", "state", "power_w", "power_limit_w", "hashrate_ths", "temp_c", "fan_rpm")
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
        energy.append((ts, round(pv, 1), round(house, 1), round(grid, 1), round(charge, 1),
                       round(battery.soc_pct, 2), round(miners_w, 1), round(max(0.0, pv - house - keep), 1), ""))
        for m in miners:
            w = draws[m.name]
            samples.append((ts, m.name, "mining" if w > 0 else "paused", round(w, 1), round(w, 1),
                            round(w / m.efficiency_j_th, 2) if w > 0 else 0.0, 58.0 if w > 0 else 30.0,
                            FAN_RPM if w > 0 else 0))
    store.insert_rows("energy", ENERGY_COLS, energy)
    store.insert_rows("miner_samples", SAMPLE_COLS, samples)
    return len(energy)
