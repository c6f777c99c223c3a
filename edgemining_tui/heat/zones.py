"""Zone state each cycle: temperature against the band -> asks for heat, inside, or capped."""
from __future__ import annotations

from dataclasses import dataclass

from .config import ZoneConfig

BELOW, INSIDE, ABOVE, UNKNOWN = "below", "inside", "above", "unknown"


@dataclass(frozen=True, slots=True)
class ZoneStatus:
    name: str
    temperature: float | None
    target_min: float
    target_max: float
    state: str                # below | inside | above | unknown
    heat_demand: bool         # asks for heat (a reason to run without surplus, if allowed)
    capped: bool              # too warm: its miners are held down even with surplus
    grid_heat_allowed: bool   # grid heat permitted right now (config and price cap)
    miners: tuple[str, ...]
    reason: str

    def as_fields(self) -> dict:
        """The zone as rules see it: climate.zones.<name>.*"""
        return {"temperature": self.temperature, "target_min": self.target_min, "target_max": self.target_max,
                "heat_demand": self.heat_demand, "state": self.state}


class ZoneTracker:
    """Keeps each zone's latched demand/cap, so a zone does not flap at the band's edges."""

    def __init__(self, cfg: ZoneConfig) -> None:
        self.cfg = cfg
        self.demand = False
        self.capped = False

    def update(self, temperature: float | None, minute_of_day: int, import_price: float | None) -> ZoneStatus:
        cfg = self.cfg
        lo, hi = cfg.band_at(minute_of_day)
        h = cfg.hysteresis_c
        price_ok = cfg.max_grid_price is None or (import_price is not None and import_price <= cfg.max_grid_price)
        grid_ok = cfg.grid_heat and price_ok
        if temperature is None:
            # no reading: neither ask for heat nor cap; the miners follow the surplus alone
            self.demand = self.capped = False
            return ZoneStatus(cfg.name, None, lo, hi, UNKNOWN, False, False, grid_ok, cfg.miners,
                              f"zone {cfg.name}: no temperature reading")
        if temperature < lo:
            self.demand = True
        elif temperature >= max(lo + h, (lo + hi) / 2):
            # heat on up to the middle of the band, like a thermostat: one long run instead of
            # a start every time the room creeps over its minimum (miners wear with each start)
            self.demand = False
        if temperature > hi:
            self.capped = True
        elif temperature <= hi - h:
            self.capped = False
        if self.capped:
            state = ABOVE
            reason = f"zone {cfg.name} {temperature:.1f} °C above {hi:.1f} max"
        elif self.demand:
            state = BELOW
            reason = f"zone {cfg.name} {temperature:.1f} °C below {lo:.1f} min"
            if not cfg.grid_heat:
                reason += " (grid heat not allowed)"
            elif not price_ok:
                reason += f" (import price above {cfg.max_grid_price:g} cap)"
        else:
            state = INSIDE
            reason = f"zone {cfg.name} {temperature:.1f} °C in {lo:.1f}–{hi:.1f}"
        return ZoneStatus(cfg.name, temperature, lo, hi, state, self.demand, self.capped, grid_ok, cfg.miners,
                          reason)
