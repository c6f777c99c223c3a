"""The replay's positional factories for the objects it builds every step (see fastobj.py)."""
from __future__ import annotations

from ..energy.snapshot import EnergySnapshot, Reading
from ..fastobj import checked as _checked, fill_source
from ..miners.model import MinerSample, MinerState
from ..policy.decision import DecisionInput, MinerView

make_reading = _checked(Reading, ("value", "ts", "source"), (1.0, 2.0, "trace"))
make_sample = _checked(MinerSample, ("name", "ts", "state", "power_w", "power_limit_w", "level", "hashrate_ths"),
                       ("m", 1.0, MinerState.MINING, 100.0, 200.0, None, 3.0))
make_view = _checked(MinerView, ("name", "priority", "caps", "sample", "zone", "last_command", "confirmed"),
                     ("m", 1, None, None, None, None, None))


_r = Reading(0.0, 0.0, "trace")
make_snapshot = _checked(EnergySnapshot, ("ts", "pv_w", "house_w", "grid_import_w", "battery_charge_w",
                                          "battery_soc_pct", "forecast"), (1.0, _r, _r, _r, _r, _r, {}))


make_input = _checked(DecisionInput, ("now", "snapshot", "miners", "stale", "stale_for_s", "prices", "climate", "tz"),
                      (1.0, None, (), (), 0.0, {}, {}, "UTC"))


def _decision_input_factory():
    """``make_decision_input(t, pv, load, grid, ch, soc, fc, views, prices, climate, tz)``: the five
    readings (source "trace"), the snapshot and the input a decision is handed, built in one call
    (the replay makes them for every decision: 262,774 a year) — the same objects the factories
    above make one call each, which it falls back to when a class cannot have a twin."""
    def composed(t, pv, load, grid, ch, soc, fc, views, prices, climate, tz):
        snap = make_snapshot(t, make_reading(pv, t, "trace"), make_reading(load, t, "trace"),
                             make_reading(grid, t, "trace"), make_reading(ch, t, "trace"),
                             make_reading(soc, t, "trace"), fc)
        return make_input(t, snap, views, (), 0.0, prices, climate, tz)

    parts = [fill_source(Reading, f"r_{name}", {"value": name, "ts": "t", "source": "'trace'"})
             for name in ("pv", "load", "grid", "ch", "soc")]
    parts.append(fill_source(EnergySnapshot, "snap", {
        "ts": "t", "pv_w": "r_pv", "house_w": "r_load", "grid_import_w": "r_grid", "battery_charge_w": "r_ch",
        "battery_soc_pct": "r_soc", "forecast": "fc"}))
    parts.append(fill_source(DecisionInput, "inp", {
        "now": "t", "snapshot": "snap", "miners": "views", "stale": "()", "stale_for_s": "0.0",
        "prices": "prices", "climate": "climate", "tz": "tz"}))
    if any(p is None for p in parts):
        return composed
    ns: dict = {}
    body: list[str] = []
    for lines, names in parts:
        body.extend(lines)
        ns.update(names)
    src = "def make(t, pv, load, grid, ch, soc, fc, views, prices, climate, tz):\n" + \
        "".join(f"    {line}\n" for line in body) + "    return inp\n"
    exec(src, ns)  # noqa: S102 - generated from dataclass field names only
    make = ns["make"]
    sample = (1.0, 2.0, 3.0, -4.0, 5.0, 60.0, {"energy_today_remaining_wh": 7.0}, (), {}, {}, "UTC")
    try:
        ok = make(*sample) == composed(*sample)
    except Exception:
        ok = False
    return make if ok else composed


make_decision_input = _decision_input_factory()
