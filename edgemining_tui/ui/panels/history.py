"""History: PV, house, miners, grid and battery over 24 h or 7 d from the store's energy table, with
the energy totals that matter (mined kWh, captured surplus, extra import)."""
from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Sparkline, Static

from ..fmt import watts
from . import Panel

RANGES = {"24h": (24 * 3600.0, 144), "7d": (7 * 86400.0, 168)}
SERIES = (("pv", "PV", "solar"), ("house", "House", "house"), ("miners", "Miners", "miners"),
          ("import", "Grid import", "grid-import"), ("export", "Grid export", "grid-export"),
          ("battery", "Battery ±", "battery"))

BUCKET_SQL = """
select cast((ts - ?) / ? as int) as k, avg(pv_w) as pv, avg(house_w) as house, avg(miners_w) as miners,
       avg(max(0, coalesce(grid_import_w, 0))) as import, avg(max(0, -coalesce(grid_import_w, 0))) as export,
       avg(abs(coalesce(battery_charge_w, 0))) as battery
from energy where ts >= ? and ts <= ? group by k order by k
"""
# energy = power x time between consecutive samples (gaps longer than max_gap count as no data)
TOTALS_SQL = """
select sum(m * dt) / 3600.0 as mined_wh, sum(cap * dt) / 3600.0 as captured_wh,
       sum(ext * dt) / 3600.0 as extra_import_wh, sum(pv * dt) / 3600.0 as pv_wh, count(*) as n
from (
  select coalesce(miners_w, 0) as m, coalesce(pv_w, 0) as pv,
         max(0, coalesce(miners_w, 0) - max(0, coalesce(grid_import_w, 0))
                - max(0, -coalesce(battery_charge_w, 0))) as cap,
         min(coalesce(miners_w, 0), max(0, coalesce(grid_import_w, 0))) as ext,
         min(max(coalesce(lead(ts) over (order by ts) - ts, 0), 0), ?) as dt
  from energy where ts >= ? and ts <= ?
)
"""


def history_query(store: Any, now: float, range_key: str, max_gap_s: float = 60.0) -> dict:
    span, n = RANGES[range_key]
    start = now - span
    bucket = span / n
    rows = store.query(BUCKET_SQL, [start, bucket, start, now])
    series: dict[str, list[float]] = {k: [0.0] * n for k, _, _ in SERIES}
    for r in rows:
        k = r["k"]
        if 0 <= k < n:
            for key, _, _ in SERIES:
                series[key][k] = float(r[key] or 0.0)
    tot = store.query(TOTALS_SQL, [max_gap_s, start, now])
    totals = tot[0] if tot else {}
    return {"series": series, "totals": totals, "range": range_key, "start": start, "now": now,
            "samples": totals.get("n") or 0}


class HistoryPanel(Panel):
    title = "History"

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.range_key = "24h"
        self.loaded_at = -1e18
        self.border_title = "History"

    def compose(self) -> ComposeResult:
        yield Static("", id="history-totals")
        yield Static("", id="history-money")
        for key, text, _ in SERIES:
            with Horizontal(classes="hist-row", id=f"hist-{key}"):
                yield Static(text, classes="hist-label")
                yield Sparkline([], classes="hist-spark")
        yield Static("", id="history-axis")

    def toggle_range(self) -> None:
        self.range_key = "7d" if self.range_key == "24h" else "24h"
        self.loaded_at = -1e18

    async def load(self, store: Any, now: float, tz, max_gap_s: float = 60.0, economics: Any = None,
                   cycle_s: float = 5.0) -> None:
        data = await asyncio.to_thread(history_query, store, now, self.range_key, max_gap_s)
        if economics is not None:
            from ...econ.ledger import periods
            try:
                data["money"] = await asyncio.to_thread(periods, store, now, economics, tz=str(tz),
                                                        cycle_s=cycle_s)
            except Exception as e:   # money is a nice-to-have; never break the panel over it
                data["money_error"] = f"money: {type(e).__name__}"
        self.loaded_at = now
        self.render_data(data, tz)

    def render_data(self, data: dict, tz) -> None:
        self.border_title = f"History — last {'24 hours' if data['range'] == '24h' else '7 days'}  (r: switch)"
        for key, text, _ in SERIES:
            values = data["series"][key]
            row = self.query_one(f"#hist-{key}", Horizontal)
            peak = max(values) if values else 0.0
            avg = sum(values) / len(values) if values else 0.0
            row.query_one(".hist-label", Static).update(f"{text:<12}{watts(peak):>9} max {watts(avg):>9} avg")
            row.query_one(Sparkline).data = values
        t = data["totals"]

        def kwh(wh):
            return "—" if wh is None else f"{wh / 1000:.2f} kWh"
        mined, cap, ext = t.get("mined_wh"), t.get("captured_wh"), t.get("extra_import_wh")
        share = "" if not mined else f" ({(cap or 0) / mined * 100:.0f} % of mining)"
        self.query_one("#history-totals", Static).update(
            f"[b]Mined[/] [$miners]{kwh(mined)}[/]   [b]Captured surplus[/] [$grid-export]{kwh(cap)}[/]{share}   "
            f"[b]Extra import[/] [$grid-import]{kwh(ext)}[/]   [b]PV[/] [$solar]{kwh(t.get('pv_wh'))}[/]")
        money = data.get("money")
        if money:
            def one(label: str, m: dict) -> str:
                cur = m.get("currency", "")
                return (f"[b]{label}[/] {m.get('sats', 0):,.0f} sats, {m.get('surplus_kwh', 0):.2f} kWh from surplus, "
                        f"net {m.get('net', 0):+.2f} {cur}")
            self.query_one("#history-money", Static).update(
                one("Today", money["today"]) + "   " + one("This month", money["month"]))
        elif data.get("money_error"):
            self.query_one("#history-money", Static).update(data["money_error"])
        start = datetime.fromtimestamp(data["start"], tz).strftime("%a %H:%M")
        end = datetime.fromtimestamp(data["now"], tz).strftime("%a %H:%M")
        self.query_one("#history-axis", Static).update(
            f"{'':<33}{start} … {end}   {data['samples']} samples")
