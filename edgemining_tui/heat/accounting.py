"""Heat delivered: kWh of miner energy into each zone, per local day."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


class HeatLedger:
    def __init__(self, tz: str = "UTC") -> None:
        self.tz = ZoneInfo(tz)
        self.day: str | None = None
        self.today_wh: dict[str, float] = {}
        self.days: dict[str, dict[str, float]] = {}   # finished days: date -> zone -> Wh
        self._last_ts: float | None = None

    def add(self, ts: float, zone_power_w: dict[str, float]) -> None:
        """Integrate each zone's miner power since the previous call (rectangle rule, capped gap)."""
        day = datetime.fromtimestamp(ts, self.tz).date().isoformat()
        if self.day is not None and day != self.day:
            self.days[self.day] = dict(self.today_wh)
            # keep a bounded history in memory; the store keeps the rest
            for old in sorted(self.days)[:-31]:
                del self.days[old]
            self.today_wh = {}
        self.day = day
        if self._last_ts is not None:
            dt = min(max(0.0, ts - self._last_ts), 300.0)   # a long gap is not counted as heat
            for zone, w in zone_power_w.items():
                self.today_wh[zone] = self.today_wh.get(zone, 0.0) + w * dt / 3600.0
        self._last_ts = ts

    def export(self) -> dict:
        return {"day": self.day, "today_wh": self.today_wh, "days": self.days}

    def restore(self, d: dict) -> None:
        self.day = d.get("day")
        self.today_wh = dict(d.get("today_wh", {}))
        self.days = {k: dict(v) for k, v in d.get("days", {}).items()}
