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
    __slots__ = ("battery", "baseline", "asleep", "has_battery", "capacity_wh")

    def __init__(self, battery: BatteryConfig) -> None:
        self.has_battery = battery.capacity > 0
        self.capacity_wh = battery.capacity if self.has_battery else None
        self.battery = Battery(battery)
        self.baseline = Battery(battery)
        self.asleep = Battery(battery)

    @property
    def soc_pct(self) -> float | None:
        return self.battery.soc_pct if self.has_battery else None
