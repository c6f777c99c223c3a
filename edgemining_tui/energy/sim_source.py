"""The simulated site as an EnergySource, with no protocol in between (backtest, quick demos).

``read()`` steps the site to the clock's time (once per instant) with the miners' current draw,
so the miners' decisions feed back into the grid reading.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from ..clock import Clock
from .snapshot import EnergySnapshot, Reading, absent

if TYPE_CHECKING:
    from ..sim.site import SimSite


class SimSource:
    def __init__(self, site: "SimSite", clock: Clock, get_miners_w: Callable[[], float] | None = None,
                 name: str = "sim", step: bool = True) -> None:
        self.site = site
        self.clock = clock
        self.get_miners_w = get_miners_w or (lambda: 0.0)
        self.name = name
        self.step = step                 # False: someone else steps the site (the demo), just read it
        self.error: str | None = None    # fault switch: every reading carries this error

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def read(self) -> EnergySnapshot:
        now = self.clock.now()
        if self.error is not None:
            return EnergySnapshot.empty(now, self.name, self.error)
        st = self.site.state
        if self.step and (st is None or st.ts < now):
            try:
                miners = float(self.get_miners_w())
            except Exception:
                miners = 0.0
            st = self.site.step(now, miners)
        if st is None:
            return EnergySnapshot.empty(now, self.name, "the simulated site has not started")
        ts = st.ts if self.step else now

        def r(v: float) -> Reading:
            return Reading(float(v), ts, self.name)
        has_battery = self.site.cfg.battery.capacity > 0
        return EnergySnapshot(
            ts=now, pv_w=r(st.pv_w), house_w=r(st.house_w), grid_import_w=r(st.grid_import_w),
            battery_charge_w=r(st.battery_charge_w) if has_battery else absent(ts, self.name, "no battery"),
            battery_soc_pct=r(st.battery_soc_pct) if has_battery else absent(ts, self.name, "no battery"),
            forecast={"power_now_w": st.pv_forecast_w, "energy_next_hour_wh": st.pv_forecast_next_hour_wh,
                      "energy_today_remaining_wh": st.pv_forecast_rest_of_day_wh})
