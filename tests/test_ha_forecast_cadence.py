"""Forecast entities change every 15 to 60 minutes: the REST source reads them once a minute, not
every cycle, and a failed forecast read is tried again on the next cycle. Virtual clock."""
from __future__ import annotations

from edgemining_tui.clock import VirtualClock
from edgemining_tui.energy.homeassistant import HomeAssistantSource
from edgemining_tui.sim.ha_server import HomeAssistantServer
from edgemining_tui.sim.state import SiteState

STATE = SiteState(ts=1.0, pv_w=5200.0, house_w=800.0, miners_w=0.0, battery_charge_w=1000.0,
                  battery_soc_pct=61.0, grid_import_w=-3200.0, pv_forecast_w=4200.0,
                  pv_forecast_next_hour_wh=3900.0, pv_forecast_rest_of_day_wh=15500.0)


async def test_forecasts_are_read_once_a_minute_and_a_failed_one_next_cycle():
    clock = VirtualClock()
    srv = await HomeAssistantServer(lambda: STATE, token="t").start()
    src = HomeAssistantSource(srv.source_config(token="t"), clock)
    try:
        for _ in range(12):                          # a minute of 5 s cycles
            snap = await src.read()
            assert snap.forecast["power_now_w"] == 4200.0 and snap.value("pv_w") == 5200.0
            clock.advance(5)
        assert srv.requests == 12 * 5 + 3            # the five power entities every cycle, forecasts once
        await src.read()                             # a minute on: the forecasts again
        assert srv.requests == 12 * 5 + 3 + 8
        srv.entity_status["sensor.solar_forecast_power_now"] = 500
        clock.advance(60)
        snap = await src.read()
        assert snap.forecast["power_now_w"] is None and snap.forecast["energy_next_hour_wh"] == 3900.0
        del srv.entity_status["sensor.solar_forecast_power_now"]
        before = srv.requests
        clock.advance(5)
        snap = await src.read()
        assert srv.requests == before + 6             # the failed one is not kept for a minute
        assert snap.forecast["power_now_w"] == 4200.0
    finally:
        await src.close()
        await srv.close()
