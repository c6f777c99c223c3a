"""Climate zones in a replay: simulated rooms heated by the zone's miners, scored on comfort.

Each zone's room follows the first-order model of sim/room.py with the trace's outdoor
temperature; the zone trackers (heat/zones.py) turn its temperature into what the live decider
sees each cycle (``DecisionInput.climate``), so heat decisions replay as they run live.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ..heat.zones import ZoneTracker
from ..sim.room import Room

DEFAULT_OUTDOOR_C = 10.0


@dataclass
class ZoneScore:
    name: str
    inside_s: float = 0.0
    below_s: float = 0.0
    above_s: float = 0.0
    heat_wh: float = 0.0
    t_min: float = math.inf
    t_max: float = -math.inf

    def to_dict(self) -> dict:
        total = self.inside_s + self.below_s + self.above_s
        pct = (lambda x: round(100.0 * x / total, 2) if total else None)
        return {"inside_band_pct": pct(self.inside_s), "below_band_pct": pct(self.below_s),
                "above_band_pct": pct(self.above_s), "heat_kwh": round(self.heat_wh / 1000.0, 3),
                "min_c": round(self.t_min, 2) if total else None, "max_c": round(self.t_max, 2) if total else None}


class ReplayZones:
    def __init__(self, zones, tz: ZoneInfo, import_price_cap_note: bool = False) -> None:
        self.zones = list(zones)
        self.tz = tz
        self.rooms = {z.name: Room(z.room) for z in self.zones}
        self.trackers = {z.name: ZoneTracker(z) for z in self.zones}
        self.members = {z.name: tuple(z.miners) for z in self.zones}
        self.scores = {z.name: ZoneScore(z.name) for z in self.zones}
        self._next_ts = -math.inf
        self._offset = 0.0

    def _minute(self, t: float) -> int:
        if t >= self._next_ts:
            d = datetime.fromtimestamp(t, self.tz)
            self._offset = d.utcoffset().total_seconds() if d.utcoffset() else 0.0
            self._next_ts = (datetime(d.year, d.month, d.day, tzinfo=self.tz) + timedelta(days=1)).timestamp()
        return int(((t + self._offset) % 86400) // 60)

    def step(self, t: float, dt: float, outdoor_c: float | None, power: dict[str, float],
             import_price: float | None) -> dict:
        """Advance the rooms over [t, t + dt) with the miners' draw; return the decision's climate."""
        out = DEFAULT_OUTDOOR_C if outdoor_c is None else outdoor_c
        minute = self._minute(t)
        fields = {}
        status = {}
        for name, room in self.rooms.items():
            temp = room.temp_c
            st = self.trackers[name].update(temp, minute, import_price)
            status[name] = st
            fields[name] = st.as_fields()
            fields[name]["timestamp"] = t
            sc = self.scores[name]
            if temp < st.target_min:
                sc.below_s += dt
            elif temp > st.target_max:
                sc.above_s += dt
            else:
                sc.inside_s += dt
            if temp < sc.t_min:
                sc.t_min = temp
            if temp > sc.t_max:
                sc.t_max = temp
            heat = 0.0
            for m in self.members[name]:
                heat += power.get(m, 0.0)
            sc.heat_wh += heat * dt / 3600.0
            room.step(dt, heat, out)
        return {"zones": fields, "status": status, "outdoor_temperature": out}

    def to_dict(self) -> dict:
        return {n: s.to_dict() for n, s in self.scores.items()}
