"""The simulated site's state at one moment, in canonical signs (see energy/snapshot.py).

Vendor-shaped servers (Home Assistant, Fronius, Shelly, MQTT) serve this state in their own
native signs and units, so the real adapters can be tested against it.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class SiteState:
    ts: float
    pv_w: float
    house_w: float              # without miners
    miners_w: float
    battery_charge_w: float     # + charging, - discharging
    battery_soc_pct: float
    grid_import_w: float        # + import, - export
    temp_out_c: float = 10.0
    pv_forecast_w: float = 0.0          # expected PV power now
    pv_forecast_next_hour_wh: float = 0.0
    pv_forecast_rest_of_day_wh: float = 0.0
    rooms_c: dict[str, float] = field(default_factory=dict)
