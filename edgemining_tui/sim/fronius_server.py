"""A Fronius Solar API v1 stand-in over the simulated site, on loopback.

``GET /solar_api/v1/GetPowerFlowRealtimeData.fcgi`` answers in Fronius's native shape and signs
(research §5.3): P_Grid + import, P_Load negative for consumption (miners included, as the meter
sees them), P_Akku + discharge, P_PV null while the inverter sleeps (no PV and an idle battery: the inverter's P
is null too), SOC under Inverters."1".

Fault switches: ``status`` (HTTP status for every request), ``hang`` (never answer),
``garbage`` (malformed JSON), ``head_code`` (Head.Status.Code, e.g. 8 "busy"),
``overrides`` (Site key -> value, e.g. {"P_Grid": None}), ``battery`` (False: no battery).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable

from .http import Request, Response, StandInServer
from .state import SiteState

PATH = "/solar_api/v1/GetPowerFlowRealtimeData.fcgi"


class FroniusServer(StandInServer):
    GARBAGE = b'{"Body": {"Data": {"Site": {"P_Grid": 12'
    def __init__(self, get_state: Callable[[], SiteState | None], host: str = "127.0.0.1", port: int = 0,
                 battery: bool = True) -> None:
        super().__init__(host, port)
        self.get_state = get_state
        self.battery = battery
        self.head_code = 0
        self.overrides: dict[str, Any] = {}
        self.requests = 0

    def source_config(self, **kw):
        from ..energy.config import FroniusConfig
        return FroniusConfig(url=self.url, **kw)

    def payload(self) -> dict:
        st = self.get_state()
        ts = datetime.fromtimestamp(st.ts if st else 0, timezone.utc).isoformat()
        if st is None:
            site: dict[str, Any] = {"P_PV": None, "P_Grid": None, "P_Load": None, "P_Akku": None}
            inverter: dict[str, Any] = {"DT": 1, "P": None}
        else:
            load = st.house_w + st.miners_w
            asleep = st.pv_w <= 0 and (not self.battery or abs(st.battery_charge_w) < 1)
            site = {
                "P_PV": None if asleep else round(max(0.0, st.pv_w), 1),
                "P_Grid": round(st.grid_import_w, 1),
                "P_Load": round(-load, 1),
                "P_Akku": round(-st.battery_charge_w, 1) if self.battery else None,
            }
            inverter = {"DT": 1, "P": None if asleep else round(st.pv_w - st.battery_charge_w, 1)}
            if self.battery:
                inverter.update({"SOC": round(st.battery_soc_pct, 1), "Battery_Mode": "normal"})
        site.update({"Mode": "bidirectional" if self.battery else "produce-only", "Meter_Location": "grid",
                     "BatteryStandby": False, "BackupMode": False, "E_Day": None, "E_Year": None,
                     "E_Total": 1234567.0, "rel_Autonomy": 100.0, "rel_SelfConsumption": 100.0})
        site.update(self.overrides)
        reason = "" if self.head_code == 0 else "simulated"
        return {"Body": {"Data": {"Inverters": {"1": inverter}, "Site": site, "Smartloads": {"Ohmpilots": {}},
                                  "Version": "12"}},
                "Head": {"RequestArguments": {}, "Status": {"Code": self.head_code, "Reason": reason,
                                                            "UserMessage": ""}, "Timestamp": ts}}

    async def _handle(self, req: Request) -> Response:
        self.requests += 1
        fault = await self.injected_fault()
        if fault is not None:
            return fault
        if self.garbage:
            return self.garbage_reply()
        if req.path == PATH:
            return Response.json(self.payload())
        if req.path == "/solar_api/GetAPIVersion.cgi":
            return Response.json({"APIVersion": 1, "BaseURL": "/solar_api/v1/", "CompatibilityRange": "1.8-1"})
        return Response.text("Not found", 404)
