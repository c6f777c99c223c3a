"""Fronius Solar API v1: GET /solar_api/v1/GetPowerFlowRealtimeData.fcgi (no auth for reads).

Native signs (research §5.3), all in W:

- ``P_PV``   + production; ``null`` while the inverter sleeps (night) or when there is no PV
- ``P_Grid`` + import / - export                       -> grid_import_w as is
- ``P_Load`` negative = consumption (generator sign)   -> house_w = -P_Load
- ``P_Akku`` + discharge / - charge; null: no battery  -> battery_charge_w = -P_Akku
- ``Inverters."1".SOC`` %                              -> battery_soc_pct

``P_Load`` is everything behind the meter, miners included (set ``house_includes_miners``).
A null is None ("unknown"), except ``P_PV`` while no inverter produces (night, any Mode, also an
empty ``Inverters {}``), which is Fronius's way of saying 0 W. A battery input that is
``disabled`` (GEN24 without battery) or absent is "no battery": its ``SOC: 0.0`` is ignored.
``include_secondary_meters`` adds generator meters (a second inverter, MLoc 3..255) to PV.
"""
from __future__ import annotations

from ..clock import Clock
from .config import FroniusConfig
from .convert import to_number, to_reading
from .httpjson import HttpJsonSource
from .snapshot import Reading, absent, missing

PATH = "/solar_api/v1/GetPowerFlowRealtimeData.fcgi"
# Site.Mode values that mean a battery is installed (Fronius Solar API v1 docs)
BATTERY_MODES = ("bidirectional", "ac-coupled")
# SecondaryMeters.MLoc: 3..255 a generator (a second PV inverter), 256..511 a sub-load already in P_Load
GENERATOR_MLOC = (3, 256)


def _pv_asleep(data: dict) -> bool:
    """No inverter produces: each one's P is null or 0, or none is listed (``Inverters: {}`` at
    night). P_PV null then means a known 0 W, whatever the Mode (meter, vague-meter, produce-only)."""
    invs = data.get("Inverters")
    if not isinstance(invs, dict):
        return False
    return all(isinstance(i, dict) and i.get("P") in (None, 0, 0.0) for i in invs.values())


def _no_battery(site: dict, inverter: object) -> str | None:
    """Why this site has no battery, or None when it has one (whose values may still be missing).

    A GEN24 without a battery says ``Battery_Mode: "disabled"`` with ``SOC: 0.0`` and
    ``P_Akku: null``; a SnapINverter has neither Battery_Mode nor SOC."""
    inv = inverter if isinstance(inverter, dict) else {}
    mode = inv.get("Battery_Mode")
    if isinstance(mode, str) and mode.strip().lower() == "disabled":
        return "no battery (Battery_Mode disabled)"
    if site.get("P_Akku") is None and "SOC" not in inv and mode is None \
            and str(site.get("Mode", "")) not in BATTERY_MODES:
        return f"no battery (Mode {site.get('Mode')!s}, P_Akku null)"
    return None


class FroniusSource(HttpJsonSource):
    vendor = "Fronius"

    def __init__(self, cfg: FroniusConfig, clock: Clock, name: str = "fronius") -> None:
        super().__init__(cfg.url, cfg.timeout, clock, name)
        self.cfg = cfg

    async def request(self):
        return await self.fetch(PATH)

    def _secondary_pv(self, data: dict) -> tuple[float, str | None]:
        """The sum of the generator secondary meters' P (a second inverter), null (asleep) as 0."""
        total = 0.0
        meters = data.get("SecondaryMeters") or {}
        if not isinstance(meters, dict):
            return 0.0, "SecondaryMeters: unexpected shape"
        for key, m in meters.items():
            if not isinstance(m, dict):
                continue
            try:
                loc = to_number(m.get("MLoc"))
            except ValueError:
                continue
            if not GENERATOR_MLOC[0] <= loc < GENERATOR_MLOC[1] or m.get("Category") == "METER_CAT_BAT":
                continue
            if m.get("P") is None:
                continue
            try:
                total += to_number(m["P"])
            except ValueError as e:
                return 0.0, f"SecondaryMeters.{key}.P: {e}"
        return total, None

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

        def conv(key: str, field: str, sign: float, user_invert: bool, raw: object = "site") -> Reading:
            raw = site.get(key) if raw == "site" else raw
            if isinstance(raw, (int, float)) and not isinstance(raw, bool):
                raw = sign * raw
            return to_reading(raw, field, ts=ts, source=self.name, label=key, invert=user_invert)

        p_pv = site.get("P_PV", "absent")
        if p_pv is None and self.cfg.pv_null_is_zero_when_asleep and _pv_asleep(data):
            p_pv = 0.0
        if self.cfg.include_secondary_meters and isinstance(p_pv, (int, float)) and not isinstance(p_pv, bool):
            extra, err = self._secondary_pv(data)
            pv = missing(ts, self.name, err) if err else conv("P_PV", "pv_w", 1.0, inv.pv, p_pv + extra)
        else:
            pv = conv("P_PV", "pv_w", 1.0, inv.pv, None if p_pv == "absent" else p_pv)
        values = {
            "pv_w": pv,
            "grid_import_w": conv("P_Grid", "grid_import_w", 1.0, inv.grid),
            "house_w": conv("P_Load", "house_w", -1.0, inv.house),
        }
        invs = data.get("Inverters") or {}
        inverter = invs.get(self.cfg.inverter) if isinstance(invs, dict) else None
        no_battery = _no_battery(site, inverter)
        if no_battery is not None:
            # "no battery" is not "battery unknown": SoC 0.0 of a disabled input is ignored
            values["battery_charge_w"] = absent(ts, self.name, no_battery)
            values["battery_soc_pct"] = absent(ts, self.name, no_battery)
            return values, {}
        values["battery_charge_w"] = conv("P_Akku", "battery_charge_w", -1.0, inv.battery)
        if isinstance(inverter, dict) and "SOC" in inverter:
            values["battery_soc_pct"] = to_reading(inverter["SOC"], "battery_soc_pct", ts=ts, source=self.name,
                                                   label=f"Inverters.{self.cfg.inverter}.SOC")
        else:
            values["battery_soc_pct"] = missing(ts, self.name, f"Inverters.{self.cfg.inverter}.SOC: not reported")
        return values, {}
