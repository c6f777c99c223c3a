"""A Fronius Solar API v1 stand-in over the simulated site, on loopback.

``GET /solar_api/v1/GetPowerFlowRealtimeData.fcgi`` answers in the shape real devices send, taken
from recorded replies (tests/data/energy/fronius/): a GEN24 Plus with battery (``Mode:
bidirectional``, ``Battery_Mode``, ``SOC``), a GEN24 without battery (``Mode: meter``,
``Battery_Mode: "disabled"``, ``SOC: 0.0``, ``P_Akku: null``) or a Symo SnapINverter with a Smart
Meter (``Mode: meter``, no battery keys). Only the numbers come from the simulated site: P_Grid +
import, P_Load negative for consumption (miners included, as the meter sees them), P_Akku +
discharge, P_PV null while no inverter produces (the inverter's P is null too).

``replay`` serves recorded bodies verbatim instead (path -> JSON document), for the corpus tests.

Fault switches: ``status`` (HTTP status for every request), ``hang`` (never answer),
``garbage`` (malformed JSON), ``head_code`` (Head.Status.Code, e.g. 8 "busy"),
``overrides`` (Site key -> value, e.g. {"P_Grid": None}).
"""
from __future__ import annotations

import copy
from datetime import datetime, timezone
from typing import Any, Callable

from .http import Request, Response, StandInServer
from .state import SiteState

PATH = "/solar_api/v1/GetPowerFlowRealtimeData.fcgi"

# Key sets as recorded (tests/data/energy/fronius/gen24_storage_day.json, gen24_no_battery_day.json,
# symo_meter_day.json); the numbers are replaced by the site's.
_GEN24_SITE = {"BackupMode": False, "BatteryStandby": False, "E_Day": None, "E_Total": 7512664.4, "E_Year": None,
               "Meter_Location": "grid", "Mode": "bidirectional", "P_Akku": None, "P_Grid": None, "P_Load": None,
               "P_PV": None, "rel_Autonomy": None, "rel_SelfConsumption": None}
SHAPES: dict[str, dict[str, Any]] = {
    "gen24_battery": {
        "Inverters": {"1": {"Battery_Mode": "normal", "DT": 1, "E_Day": None, "E_Total": 7512664.4, "E_Year": None,
                            "P": None, "SOC": None}},
        "Site": dict(_GEN24_SITE),
        "Smartloads": {"Ohmpilots": {}}, "Version": "12"},
    "gen24_no_battery": {
        "Inverters": {"1": {"Battery_Mode": "disabled", "DT": 1, "E_Day": None, "E_Total": 1530193.42, "E_Year": None,
                            "P": None, "SOC": 0.0}},
        "Site": dict(_GEN24_SITE, Mode="meter"),
        "Smartloads": {"Ohmpilots": {}}, "Version": "12"},
    "symo_meter": {
        "Inverters": {"1": {"DT": 121, "E_Day": 1101.7, "E_Total": 44188000, "E_Year": 25508788, "P": None}},
        "Site": {"E_Day": 1101.7, "E_Total": 44188000, "E_Year": 25508788, "Meter_Location": "grid", "Mode": "meter",
                 "P_Akku": None, "P_Grid": None, "P_Load": None, "P_PV": None, "rel_Autonomy": None,
                 "rel_SelfConsumption": None},
        "Version": "12"},
}


class FroniusServer(StandInServer):
    GARBAGE = b'{"Body": {"Data": {"Site": {"P_Grid": 12'

    def __init__(self, get_state: Callable[[], SiteState | None] | None = None, host: str = "127.0.0.1",
                 port: int = 0, battery: bool = True, shape: str | None = None,
                 replay: dict[str, Any] | None = None) -> None:
        super().__init__(host, port)
        self.get_state = get_state or (lambda: None)
        self.battery = battery
        self.shape = shape or ("gen24_battery" if battery else "gen24_no_battery")
        if self.shape not in SHAPES:
            raise ValueError(f"shape: expected one of {', '.join(SHAPES)}")
        self.replay = replay
        self.head_code = 0
        self.overrides: dict[str, Any] = {}
        self.requests = 0

    def source_config(self, **kw):
        from ..energy.config import FroniusConfig
        return FroniusConfig(url=self.url, **kw)

    def payload(self) -> dict:
        st = self.get_state()
        data = copy.deepcopy(SHAPES[self.shape])
        site, inverter = data["Site"], data["Inverters"]["1"]
        has_battery = "SOC" in inverter and inverter.get("Battery_Mode") != "disabled"
        if st is not None:
            load = st.house_w + st.miners_w
            charge = st.battery_charge_w if has_battery else 0.0
            asleep = st.pv_w <= 0 and abs(charge) < 1
            site.update({"P_PV": None if asleep else round(max(0.0, st.pv_w), 1),
                         "P_Grid": round(st.grid_import_w, 1), "P_Load": round(-load, 1),
                         "P_Akku": round(-charge, 1) if has_battery else None})
            inverter["P"] = None if asleep else round(st.pv_w - charge, 1)
            if has_battery:
                inverter["SOC"] = round(st.battery_soc_pct, 1)
            if load > 0:
                site["rel_Autonomy"] = round(max(0.0, min(100.0, 100.0 * (1 - max(0.0, st.grid_import_w) / load))), 1)
                site["rel_SelfConsumption"] = 100.0
        site.update(self.overrides)
        ts = datetime.fromtimestamp(st.ts if st else 0, timezone.utc).isoformat()
        reason = "" if self.head_code == 0 else "simulated"
        return {"Body": {"Data": data},
                "Head": {"RequestArguments": {}, "Status": {"Code": self.head_code, "Reason": reason,
                                                            "UserMessage": ""}, "Timestamp": ts}}

    async def _handle(self, req: Request) -> Response:
        self.requests += 1
        canned = await self.canned(req)
        if canned is not None:
            return canned
        if req.path == PATH:
            return Response.json(self.payload())
        if req.path == "/solar_api/GetAPIVersion.cgi":
            return Response.json({"APIVersion": 1, "BaseURL": "/solar_api/v1/", "CompatibilityRange": "1.8-1"})
        return Response.text("Not found", 404)
