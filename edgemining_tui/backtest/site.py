"""The replay site: the trace's PV and house, a home battery in self-consumption mode, the grid as
the balance. Three copies run side by side in one replay, each with its own battery: the site with
the miners, the same site without them (the issue's "what did mining change?"), and the site with
the miners installed but asleep all the time (standby draw only: "what did the decisions change?").

Per step (flows held for the step, canonical signs)::

    net      = pv - load - miners            (+ surplus before the battery)
    charge   = battery.settle(net, dt)       (+ charging / - discharging, within its limits)
    grid     = load + miners + charge - pv   (+ import / - export)

so ``pv + import + discharge = load + miners + charge + export`` holds exactly at every step.
"""
from __future__ import annotations

from ..sim.battery import Battery, BatteryConfig


class ReplaySite:
    """The site with the miners (the other two: Baselines)."""

    __slots__ = ("battery", "has_battery", "capacity_wh")

    def __init__(self, battery: BatteryConfig) -> None:
        self.has_battery = battery.capacity > 0
        self.capacity_wh = battery.capacity if self.has_battery else None
        self.battery = Battery(battery)

    @property
    def soc_pct(self) -> float | None:
        return self.battery.soc_pct if self.has_battery else None


class Baselines:
    """The two sites that do not depend on a decision, settled ahead of the replay in one tight
    pass: without the miners, and with them asleep (standby ``idle_w`` all the time). Sums in
    W·tick, accumulated in the same order as the replay would, so the figures are the same to the
    last bit; ``imp0[k]``: the import without miners at tick k (for the largest extra import)."""

    __slots__ = ("imp0", "s_imp0", "s_exp0", "s_ch0", "s_dis0", "c_imp0", "c_exp0", "s_imp_s", "s_exp_s",
                 "soc0_end_pct")

    def __init__(self, battery: BatteryConfig, pvs, loads, sub: int, dt: float, idle_w: float,
                 pimp=None, pexp=None) -> None:
        from itertools import repeat
        baseline, asleep = Battery(battery), Battery(battery)
        settle0, settle_s = baseline.settler(dt), asleep.settler(dt)
        # a list, not an array("d"): the replay reads it every tick, and a list hands back the
        # float it holds where an array makes a new one
        imp0 = [0.0] * (len(pvs) * sub)
        s_imp0 = s_exp0 = s_ch0 = s_dis0 = c_imp0 = c_exp0 = s_imp_s = s_exp_s = 0.0
        # one row per tick: (pv, load, import price, export price), a missing price as 0
        pis = [p if p == p else 0.0 for p in pimp] if pimp is not None else repeat(0.0)
        pes = [p if p == p else 0.0 for p in pexp] if pexp is not None else repeat(0.0)
        ticks = zip(pvs, loads, pis, pes)
        if sub > 1:
            reps = range(sub)
            ticks = (row for row in ticks for _ in reps)
        k = 0
        for pv, load, pi, pe in ticks:
            net0 = pv - load
            ch0 = settle0(net0)
            grid0 = load + ch0 - pv
            grid_s = load + idle_w + settle_s(net0 - idle_w) - pv
            if grid_s > 0.0:
                s_imp_s += grid_s
            else:
                s_exp_s -= grid_s
            if grid0 > 0.0:
                s_imp0 += grid0
                c_imp0 += grid0 * pi
                imp0[k] = grid0
            else:
                s_exp0 -= grid0
                c_exp0 -= grid0 * pe
            if ch0 > 0.0:
                s_ch0 += ch0
            else:
                s_dis0 -= ch0
            k += 1
        self.imp0 = imp0
        self.s_imp0, self.s_exp0, self.s_ch0, self.s_dis0 = s_imp0, s_exp0, s_ch0, s_dis0
        self.c_imp0, self.c_exp0, self.s_imp_s, self.s_exp_s = c_imp0, c_exp0, s_imp_s, s_exp_s
        self.soc0_end_pct = baseline.soc_pct if battery.capacity > 0 else None
