"""Fronius Solar API v1: GET /solar_api/v1/GetPowerFlowRealtimeData.fcgi (no auth for reads).

Native signs (research §5.3), all in W:

- ``P_PV``   + production; ``null`` while the inverter sleeps (night) or when there is no PV
- ``P_Grid`` + import / - export                       -> grid_import_w as is
- ``P_Load`` negative = consumption (generator sign)   -> house_w = -P_Load
- ``P_Akku`` + discharge / - charge; null: no battery  -> battery_charge_w = -P_Akku
- ``Inverters."1".SOC`` %                              -> battery_soc_pct

``P_Load`` is everything behind the meter, miners included (set ``house_includes_miners``).
A null is None ("unknown"), except ``P_PV`` while the inverter reports itself asleep, which is
Fronius's way of saying 0 W.
"""
from __future__ import annotations

from ..clock import Clock
from .config import FroniusConfig
from .convert import to_reading
from .httpjson import HttpJsonSource
from .snapshot import Reading, missing

PATH = "/solar_api/v1/GetPowerFlowRealtimeData.fcgi"
METER_ONLY_MODES = ("meter", "vague-meter")


class FroniusSource(HttpJsonSource):
    vendor = "Fronius"

    def __init__(self, cfg: FroniusConfig, clock: Clock, name: str = "fronius") -> None:
        super().__init__(cfg.url, cfg.timeout, clock, name)
        self.cfg = cfg

    async def request(self):
        return await self.fetch(PATH)

    def _asleep(self, data: dict) -> bool:
        """The inverter is there but produces nothing (night): its P is null or 0."""
        if str(data["Site"].get("Mode", "")) in METER_ONLY_MODES:
            return False
        invs = data.get("Inverters") or {}
        if not isinstance(invs, dict) or not invs:
            return False
        return all(isinstance(i, dict) and i.get("P") in (None, 0, 0.0) for i in invs.values())

    def parse(self, body, ts):
        head = body.get("Head", {}) if isinstance(body, dict) else {}
        status = (head.get("Status") or {}).get("Code", 0) if isinstance(head, dict) else 0
        if status not in (0, None):
            reason = (head.get("Status") or {}).get("Reason") or ""
            err = f"Fronius status code {status}" + (f" ({reason})" if reason else "")
            return {f: missing(ts, self.name, err) for f in self.provides}, {}
        data = body["Body"]["Data"]
        site = data["Site"]
        inv = self.cfg.invert

        def conv(key: str, field: str, sign: float, user_invert: bool) -> Reading:
            raw = site.get(key)
            if isinstance(raw, (int, float)) and not isinstance(raw, bool):
                raw = sign * raw
            return to_reading(raw, field, ts=ts, source=self.name, label=key, invert=user_invert)

        pv = conv("P_PV", "pv_w", 1.0, inv.pv)
        if site.get("P_PV", "absent") is None and self.cfg.pv_null_is_zero_when_asleep and self._asleep(data):
            pv = Reading(0.0, ts, self.name)
        values = {
            "pv_w": pv,
            "grid_import_w": conv("P_Grid", "grid_import_w", 1.0, inv.grid),
            "house_w": conv("P_Load", "house_w", -1.0, inv.house),
            "battery_charge_w": conv("P_Akku", "battery_charge_w", -1.0, inv.battery),
        }
        invs = data.get("Inverters") or {}
        inverter = invs.get(self.cfg.inverter) if isinstance(invs, dict) else None
        if isinstance(inverter, dict) and "SOC" in inverter:
            values["battery_soc_pct"] = to_reading(inverter["SOC"], "battery_soc_pct", ts=ts, source=self.name,
                                                   label=f"Inverters.{self.cfg.inverter}.SOC")
        else:
            values["battery_soc_pct"] = missing(ts, self.name, f"Inverters.{self.cfg.inverter}.SOC: not reported "
                                                "(no battery on this inverter?)")
        return values, {}
