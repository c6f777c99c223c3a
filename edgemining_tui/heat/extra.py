"""Heat in the engine: reads zone temperatures each cycle, tells the decider, accounts the heat."""
from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from .accounting import HeatLedger
from .config import HeatConfig
from .sensors import TempReader
from .zones import ZoneStatus, ZoneTracker


class HeatExtra:
    def __init__(self, cfg: HeatConfig, readers: Mapping[str, TempReader], tz: str = "UTC",
                 store: Any = None) -> None:
        self.cfg = cfg
        self.readers = dict(readers)
        self.tz = ZoneInfo(tz)
        self.trackers = {z.name: ZoneTracker(z) for z in cfg.zones}
        self.ledger = HeatLedger(tz)
        self.status: dict[str, ZoneStatus] = {}
        self.errors: dict[str, str | None] = {}
        self.store = store
        self.read_ts: dict[str, float] = {}      # when each zone's sensor last answered (epoch s)
        if store is not None:
            saved = store.get("heat_ledger")
            if saved:
                self.ledger.restore(saved)

    async def update(self, engine: Any, snapshot: Any, samples: Mapping[str, Any]) -> None:
        now = engine.clock.now()
        names = list(self.trackers)
        results = await asyncio.gather(*(self._read(n) for n in names))
        local = datetime.fromtimestamp(now, self.tz)
        minute = local.hour * 60 + local.minute
        price = None
        prices = getattr(engine, "prices_now", None)
        if callable(prices):
            price = (prices() or {}).get("import")
        zone_w: dict[str, float] = {}
        for name, (temp, err) in zip(names, results):
            self.errors[name] = err
            if temp is not None:
                self.read_ts[name] = now
            self.status[name] = self.trackers[name].update(temp, minute, price)
            zone_w[name] = sum((samples[m].power_w or 0.0) for m in self.trackers[name].cfg.miners
                               if m in samples and samples[m].power_w is not None)
        self.ledger.add(now, zone_w)
        if self.store is not None and engine.cycle_no % 12 == 0:
            await asyncio.to_thread(self.store.put, "heat_ledger", self.ledger.export(), now)

    async def _read(self, name: str) -> tuple[float | None, str | None]:
        reader = self.readers.get(name)
        if reader is None:
            return None, "no sensor"
        try:
            return await asyncio.wait_for(reader(), 5.0)
        except asyncio.TimeoutError:
            return None, "sensor did not answer in 5 s"
        except Exception as e:  # a broken sensor is a visible state, never a crash
            return None, f"sensor failed: {type(e).__name__}"

    def contribute(self, kw: dict) -> None:
        kw["climate"] = {"zones": {n: s.as_fields() | {"timestamp": self.read_ts.get(n)}
                                   for n, s in self.status.items()},
                         "status": dict(self.status)}

    def state_extra(self) -> dict:
        return {"heat": {n: {"temperature": s.temperature, "target_min": s.target_min,
                             "target_max": s.target_max, "state": s.state, "heat_demand": s.heat_demand,
                             "capped": s.capped, "grid_heat_allowed": s.grid_heat_allowed,
                             "miners": list(s.miners), "reason": s.reason, "sensor_error": self.errors.get(n),
                             "today_kwh": self.ledger.today_wh.get(n, 0.0) / 1000.0}
                         for n, s in self.status.items()}}
