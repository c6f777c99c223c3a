"""The heat and price gates on surplus miners, set each cycle before the allocator runs.

Heat comes from ``DecisionInput.climate["status"]`` (heat/zones.py ZoneStatus per zone; a miner
belongs to the zone whose ``miners`` names it, else to ``MinerView.zone``). Price comes from
``DecisionInput.prices`` with the ``economics:`` switches ``mine_only_above_feed_in`` and
``grid_mining_below_break_even`` (the comparison of econ/decision.py ``mining_pays``, inlined for
speed; tests/test_price_decision.py pins that they agree). The allocator applies the gates.
"""
from __future__ import annotations

from typing import Any

from ..econ.value import value_per_kwh
from .allocator import HEAT_CAP, HEAT_DEMAND, HEAT_GRID, HEAT_NONE, Slot
from .decision import DecisionInput

_HEAT_NAMES = {HEAT_DEMAND: "demand", HEAT_GRID: "grid_heat", HEAT_CAP: "capped"}


def _p(x: float) -> str:
    """A price for a reason: 0.09, 0.064, 0.3 (three decimals at most)."""
    t = f"{x:.3f}".rstrip("0")
    return t + "0" if t.endswith(".") else t


class Gates:
    def __init__(self, economics: Any = None) -> None:
        """``economics``: the ``economics:`` section (econ/config.py) or None (no price terms)."""
        self.econ = economics
        self.on = economics is not None and bool(
            getattr(economics, "mine_only_above_feed_in", False)
            or getattr(economics, "grid_mining_below_break_even", False))
        self.exp_fixed = self.imp_fixed = None
        if self.on:
            # fixed prices need no extra; time-of-use and entity prices come in DecisionInput.prices
            for attr, src in (("exp_fixed", "export_source"), ("imp_fixed", "import_source")):
                ps = getattr(economics, src, None)
                if ps is not None and ps.fixed is not None:
                    setattr(self, attr, float(ps.fixed))
        self.gated = False          # gates were set last cycle (so they get cleared when they lapse)
        self._zsrc: Any = None
        self._zmap: dict[str, Any] = {}

    def apply(self, slots: list[Slot], inp: DecisionInput) -> tuple[dict, dict]:
        """Set each surplus slot's heat and price gates for this cycle. Returns ({miner: zone state},
        {miner: value per kWh}) for the fleet terms."""
        climate = inp.climate
        status = climate.get("status") if climate else None
        zmap = None
        if status:
            if status is not self._zsrc:
                zm: dict[str, Any] = {}
                for z in status.values():
                    for m in getattr(z, "miners", ()) or ():
                        zm[m] = z
                self._zsrc, self._zmap = status, zm
            zmap = self._zmap
        econ = self.econ if self.on else None
        self.gated = zmap is not None or econ is not None
        heat_terms: dict[str, str] = {}
        values: dict[str, float | None] = {}
        if econ is not None:
            prices = inp.prices or {}
            exp = prices.get("export")
            if exp is None:
                exp = self.exp_fixed
            imp = prices.get("import")
            if imp is None:
                imp = self.imp_fixed
            hp = prices.get("hashprice")
            if hp is None:
                hp = econ.hashprice_sats_per_th_day
            btc = prices.get("btc")
            if btc is None:
                btc = econ.btc_price
            margin = econ.margin_pct
            k = 1.0 + margin / 100.0
            feed = econ.mine_only_above_feed_in and exp is not None
            gridm = econ.grid_mining_below_break_even and imp is not None
            cur = econ.currency
            conf = econ.miner_efficiency
        for sl in slots:
            h = HEAT_NONE
            zw = note = ""
            if zmap is not None:
                z = zmap.get(sl.name)
                if z is None and sl.view.zone is not None:
                    z = status.get(sl.view.zone)
                if z is not None:
                    if z.capped:
                        h = HEAT_CAP
                    elif z.heat_demand:
                        h = HEAT_GRID if z.grid_heat_allowed else HEAT_DEMAND
                    if h:
                        zw = z.reason
                        heat_terms[sl.name] = _HEAT_NAMES[h]
                        if h == HEAT_DEMAND:
                            note = zw
            sl.heat = h
            sl.zone_why = zw
            pb = pg = ""
            if econ is not None:
                # efficiency: the economics extra's figure, the configured one, what the miner reports
                # while mining, the last it reported, the configured default
                smp = sl.view.sample
                live = smp.efficiency_j_th if smp.running else None
                if live:
                    sl.eff_seen = live
                e = prices.get(sl.eff_key) or conf.get(sl.name) or live or sl.eff_seen \
                    or econ.default_efficiency_j_th
                value = value_per_kwh(e, hp, btc) if e and e > 0 and btc and btc > 0 else None
                sl.value = values[sl.name] = value
                if value is None:
                    note = (note + "; " if note else "") + "no price check (mining value unknown)"
                else:
                    if feed and not value > (exp * k if exp > 0 else exp) + 1e-9:
                        pb = (f"feed-in {_p(exp)}{f' +{margin:g} %' if margin else ''} "
                              f"{'>' if exp > value else '≥'} mining {_p(value)} {cur}/kWh: exporting")
                    if gridm and (imp < value / k - 1e-9 or imp < 0):
                        pg = f"import {_p(imp)} < break-even {_p(value)}: mining on grid"
            sl.pblock = pb
            sl.pgrid = pg
            sl.note = note
        return heat_terms, values
