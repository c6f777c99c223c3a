"""Scores of one replay, and how they are printed.

Definitions (docs/backtest.md has the long form):

- ``captured`` = export without miners − export with miners: surplus that went into the miners
  instead of the grid. ``captured_pct`` = captured / export without miners.
- ``fed`` = mined − captured: mining energy that came from the grid or the battery instead of
  surplus. ``fed_pct`` = fed / mined.
- ``extra_import`` = import with miners − import without miners.
- The same two scores against the site with the miners installed but asleep all the time
  (``vs_asleep``): a miner's standby draw (10-15 W, day and night) is paid whatever the policy
  does, and in a winter week it can outweigh the surplus. ``captured`` = export asleep − export;
  ``fed`` = (mined − standby) − captured, as a share of (mined − standby): what the decisions
  took from the grid or the battery.
- starts per miner per day: ``max`` = the most any miner had on one local calendar day;
  ``mean`` = all starts / (miners × days).
- ``battery.end_deficit_kwh``: how much less the battery holds at the end of the trace with the
  miners than without them (energy the miners leave owing; not part of ``fed``).
- hashes: Σ hashrate · dt from the miner model; sats = hashprice (sats per TH/s per day) · TH/s·days.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo


@dataclass
class Totals:
    pv_wh: float
    load_wh: float
    mined_wh: float
    import_wh: float
    export_wh: float
    charged_wh: float
    discharged_wh: float
    import0_wh: float
    export0_wh: float
    charged0_wh: float
    discharged0_wh: float
    max_extra_import_w: float = 0.0
    money: dict[str, float] | None = None
    import_asleep_wh: float = 0.0      # the site with the miners asleep all the time
    export_asleep_wh: float = 0.0
    standby_wh: float = 0.0            # what they draw asleep over the whole trace

    @property
    def asleep_captured_wh(self) -> float:
        return self.export_asleep_wh - self.export_wh

    @property
    def asleep_fed_wh(self) -> float:
        return self.mined_wh - self.standby_wh - self.asleep_captured_wh

    @property
    def asleep_captured_pct(self) -> float | None:
        e = self.export_asleep_wh
        return 100.0 * self.asleep_captured_wh / e if e > 0 else None

    @property
    def asleep_fed_pct(self) -> float | None:
        m = self.mined_wh - self.standby_wh
        return 100.0 * self.asleep_fed_wh / m if m > 0 else None

    @property
    def captured_wh(self) -> float:
        return self.export0_wh - self.export_wh

    @property
    def fed_wh(self) -> float:
        return self.mined_wh - self.captured_wh

    @property
    def extra_import_wh(self) -> float:
        return self.import_wh - self.import0_wh

    @property
    def captured_pct(self) -> float | None:
        return 100.0 * self.captured_wh / self.export0_wh if self.export0_wh > 0 else None

    @property
    def fed_pct(self) -> float | None:
        return 100.0 * self.fed_wh / self.mined_wh if self.mined_wh > 0 else None


@dataclass
class Result:
    label: str
    config: str
    trace: str
    decider: str
    steps: int
    step_s: float
    trace_step_s: float
    start_ts: float
    end_ts: float
    tz: str
    battery: Any
    totals: Totals
    miners: list            # SimMiner
    hashprice: float
    run_s: float
    decide_s: float
    decider_errors: int = 0
    first_error: str = ""
    soc_end_pct: float | None = None
    soc0_end_pct: float | None = None
    notes: list[str] = field(default_factory=list)
    zones: dict | None = None       # per climate zone: share of time inside its band, heat kWh
    economics: dict | None = None   # money: sats, kWh from surplus/battery/grid, feed-in forgone, grid cost, net
    decide_calls: int | None = None # decider calls (fewer than steps: quiet nights are skipped)
    oracle: dict | None = None      # backtest --oracle: the perfect-foresight bound and shares (oracle.py)

    @property
    def days(self) -> float:
        return (self.end_ts - self.start_ts) / 86400.0

    @property
    def starts_per_day_max(self) -> int:
        return max((max(m.starts_by_day.values(), default=0) for m in self.miners), default=0)

    @property
    def starts_per_day_mean(self) -> float:
        d = self.days
        n = len(self.miners)
        return sum(m.starts for m in self.miners) / (n * d) if d > 0 and n else 0.0

    @property
    def battery_deficit_wh(self) -> float | None:
        """How much less the battery holds at the end with the miners than without them."""
        if self.soc_end_pct is None or self.soc0_end_pct is None:
            return None
        return (self.soc0_end_pct - self.soc_end_pct) / 100.0 * self.battery.capacity

    @property
    def hash_th(self) -> float:
        # fsum: correctly rounded, so the printed figure is the same on every Python (3.12 changed sum)
        return math.fsum(m.th_s_s for m in self.miners)

    @property
    def sats(self) -> float:
        return self.hashprice * self.hash_th / 86400.0

    def to_dict(self) -> dict:
        calls = self.decide_calls if self.decide_calls is not None else self.steps
        t = self.totals
        tz = ZoneInfo(self.tz)

        def kwh(wh: float) -> float:
            return round(wh / 1000.0, 3)

        def pct(v: float | None) -> float | None:
            return None if v is None else round(v, 2)

        b = self.battery
        out: dict[str, Any] = {
            "label": self.label,
            "config": self.config,
            "trace": self.trace,
            "decider": self.decider,
            "start": datetime.fromtimestamp(self.start_ts, tz).isoformat(timespec="seconds"),
            "end": datetime.fromtimestamp(self.end_ts, tz).isoformat(timespec="seconds"),
            "days": round(self.days, 4),
            "steps": self.steps,
            "step_s": self.step_s,
            "trace_step_s": self.trace_step_s,
            "battery": None if not b.capacity else {
                "capacity_kwh": b.capacity / 1000.0, "max_charge_w": b.max_charge,
                "max_discharge_w": b.max_discharge, "min_soc_pct": b.min_soc,
                "round_trip_efficiency_pct": b.round_trip_efficiency, "initial_soc_pct": b.initial_soc,
                "end_soc_pct": pct(self.soc_end_pct), "end_soc_without_miners_pct": pct(self.soc0_end_pct),
                "end_deficit_kwh": kwh(self.battery_deficit_wh or 0.0)},
            "energy_kwh": {
                "pv": kwh(t.pv_wh), "load": kwh(t.load_wh), "mined": kwh(t.mined_wh),
                "import": kwh(t.import_wh), "export": kwh(t.export_wh),
                "battery_charged": kwh(t.charged_wh), "battery_discharged": kwh(t.discharged_wh),
                "battery_throughput": kwh(t.charged_wh + t.discharged_wh),
            },
            "without_miners_kwh": {
                "import": kwh(t.import0_wh), "export": kwh(t.export0_wh),
                "battery_charged": kwh(t.charged0_wh), "battery_discharged": kwh(t.discharged0_wh),
                "battery_throughput": kwh(t.charged0_wh + t.discharged0_wh),
            },
            "extra_import_kwh": kwh(t.extra_import_wh),
            "max_extra_import_w": round(t.max_extra_import_w, 1),
            "captured_kwh": kwh(t.captured_wh),
            "captured_pct": pct(t.captured_pct),
            "fed_kwh": kwh(t.fed_wh),
            "fed_pct": pct(t.fed_pct),
            "vs_asleep": {
                "standby_kwh": kwh(t.standby_wh),
                "import_kwh": kwh(t.import_asleep_wh), "export_kwh": kwh(t.export_asleep_wh),
                "captured_kwh": kwh(t.asleep_captured_wh), "captured_pct": pct(t.asleep_captured_pct),
                "fed_kwh": kwh(t.asleep_fed_wh), "fed_pct": pct(t.asleep_fed_pct),
            },
            "starts_per_miner_per_day": {"max": self.starts_per_day_max,
                                         "mean": round(self.starts_per_day_mean, 3)},
            "miners": {m.name: {**{k: (round(v, 3) if isinstance(v, float) else v)
                                   for k, v in m.stats(self.days).items()},
                                "hash_th": round(m.th_s_s, 1),
                                "sats": round(self.hashprice * m.th_s_s / 86400.0, 1)}
                       for m in self.miners},
            "hashes": self.hash_th * 1e12,
            "hash_th": round(self.hash_th, 1),
            "hashprice_sats_per_th_day": self.hashprice,
            "sats": round(self.sats, 1),
            "run_s": round(self.run_s, 3),
            "decide_s": round(self.decide_s, 3),
            "decide_us_per_call": round(1e6 * self.decide_s / calls, 2) if calls else None,
            "decide_calls": calls,
            "rows_per_s": round(self.steps / self.run_s) if self.run_s > 0 else None,
            "decider_errors": self.decider_errors,
        }
        if t.money is not None:
            m = t.money
            out["money"] = {k: round(v, 4) for k, v in m.items()}
            out["money"]["mining_cost"] = round((m["import_cost"] - m["import_cost_without_miners"])
                                                + (m["export_revenue_without_miners"] - m["export_revenue"]), 4)
        if self.zones:
            out["zones"] = self.zones
        if self.economics:
            out["economics"] = self.economics
        if self.oracle:
            out["oracle"] = self.oracle
        if self.first_error:
            out["first_decider_error"] = self.first_error
        if self.notes:
            out["notes"] = list(self.notes)
        return out


# --- text -----------------------------------------------------------------------------------
def _f(v: float | None, fmt: str = ".1f", unit: str = "") -> str:
    return "—" if v is None else f"{v:{fmt}}{unit}"


def rows_of(r: Result) -> list[tuple[str, str]]:
    """(label, value) lines for one result; compare.py lays several side by side."""
    d = r.to_dict()
    e, e0 = d["energy_kwh"], d["without_miners_kwh"]
    rows = [
        ("decider", r.decider),
        ("span", f"{d['days']:.2f} d, {r.steps} steps of {r.step_s:g} s"),
        ("PV", f"{e['pv']:.1f} kWh"),
        ("house load", f"{e['load']:.1f} kWh"),
        ("mined", f"{e['mined']:.1f} kWh"),
        ("import", f"{e['import']:.1f} kWh"),
        ("export", f"{e['export']:.1f} kWh"),
        ("battery in/out", f"{e['battery_charged']:.1f} / {e['battery_discharged']:.1f} kWh"),
        ("no miners: import", f"{e0['import']:.1f} kWh"),
        ("no miners: export", f"{e0['export']:.1f} kWh"),
        ("extra import", f"{d['extra_import_kwh']:.1f} kWh (peak {d['max_extra_import_w']:.0f} W)"),
        ("captured", f"{d['captured_kwh']:.1f} kWh = {_f(d['captured_pct'], '.1f', ' %')} of export"),
        ("fed", f"{d['fed_kwh']:.1f} kWh = {_f(d['fed_pct'], '.1f', ' %')} of mined"),
        ("standby draw", f"{d['vs_asleep']['standby_kwh']:.1f} kWh if asleep all the time"),
        ("vs asleep: captured", f"{_f(d['vs_asleep']['captured_pct'], '.1f', ' %')} of export"),
        ("vs asleep: fed", f"{_f(d['vs_asleep']['fed_pct'], '.1f', ' %')} of mined above standby"),
    ]
    if d["battery"] is not None:
        b = d["battery"]
        rows.append(("battery at end", f"{b['end_soc_pct']:.0f} % (without miners {b['end_soc_without_miners_pct']:.0f} %)"))
    rows += [
        ("starts/miner/day", f"max {d['starts_per_miner_per_day']['max']}, "
                             f"mean {d['starts_per_miner_per_day']['mean']:.1f}"),
    ]
    for name, m in d["miners"].items():
        rows.append((f"  {name}", f"{m['energy_kwh']:.1f} kWh, {m['starts']} starts "
                                  f"(max {m['starts_per_day_max']}/day), {m['sats']:.0f} sats"))
    rows += [
        ("hashes", f"{d['hashes']:.3e} ({d['hash_th'] / 1e6:.2f} EH in all)"),
        ("sats", f"{d['sats']:.0f} at {r.hashprice:g} sats/TH/day"),
    ]
    for zname, z in (d.get("zones") or {}).items():
        rows.append((f"zone {zname}", f"{_f(z['inside_band_pct'], '.1f', ' %')} of the time in band "
                                      f"({_f(z['min_c'], '.1f')}–{_f(z['max_c'], '.1f')} °C), "
                                      f"{z['heat_kwh']:.1f} kWh heat"))
    ec = d.get("economics")
    if ec:
        cur = ec.get("currency", "")
        rows.append(("mined from", f"surplus {ec.get('surplus_kwh', 0):.1f} / battery {ec.get('battery_kwh', 0):.1f}"
                                   f" / grid {ec.get('grid_kwh', 0):.1f} kWh"))
        rows.append(("money", f"earned {ec.get('value', 0):.2f}, feed-in forgone {ec.get('feed_in_forgone', 0):.2f}, "
                              f"grid cost {ec.get('grid_cost', 0):.2f}, net {ec.get('net', 0):+.2f} {cur}"))
    if "money" in d:
        rows.append(("mining cost", f"{d['money']['mining_cost']:.2f} (lost export + extra import)"))
    rows.append(("run time", f"{d['run_s']:.2f} s ({_f(d['rows_per_s'], ',.0f')} steps/s, "
                             f"decider {_f(d['decide_us_per_call'], '.1f')} µs/call)"))
    if r.decider_errors:
        rows.append(("decider errors", f"{r.decider_errors} (first: {r.first_error})"))
    return rows


def format_table(results: list[Result]) -> str:
    """One column per result; the first column names the metric."""
    cols = [rows_of(r) for r in results]
    labels = [lbl for lbl, _ in cols[0]]
    # miners can differ between configs: align by label, fill gaps
    allabels = list(labels)
    for c in cols[1:]:
        for lbl, _ in c:
            if lbl not in allabels:
                allabels.append(lbl)
    maps = [dict(c) for c in cols]
    w0 = max(len(x) for x in allabels)
    widths = [max([len(r.label)] + [len(v) for v in m.values()]) for r, m in zip(results, maps)]
    lines = [" " * w0 + "  " + "  ".join(r.label.ljust(w) for r, w in zip(results, widths)),
             " " * w0 + "  " + "  ".join("─" * w for w in widths)]
    for lbl in allabels:
        lines.append(lbl.ljust(w0) + "  " + "  ".join(m.get(lbl, "").ljust(w) for m, w in zip(maps, widths)))
    for r in results:
        for note in r.notes:
            lines.append(f"note ({r.label}): {note}")
    return "\n".join(line.rstrip() for line in lines)
