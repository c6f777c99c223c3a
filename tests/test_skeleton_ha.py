"""The Home Assistant adapter against the Home Assistant-shaped server, over real HTTP on loopback."""
from __future__ import annotations

from edgemining_tui.clock import VirtualClock
from edgemining_tui.energy.homeassistant import HomeAssistantSource
from edgemining_tui.sim.demo import demo_ha_config
from edgemining_tui.sim.ha_server import HomeAssistantServer
from edgemining_tui.sim.state import SiteState


def site(grid, charge, pv=5000.0, house=600.0):
    return SiteState(ts=1.0, pv_w=pv, house_w=house, miners_w=0.0, battery_charge_w=charge,
                     battery_soc_pct=64.0, grid_import_w=grid)


async def read(st, token="t0ken", setup=None):
    clock = VirtualClock(1_750_000_000)
    srv = await HomeAssistantServer(lambda: st, token="t0ken").start()
    if setup:
        setup(srv)
    src = HomeAssistantSource(demo_ha_config(srv.url, token).home_assistant, clock)
    try:
        return await src.read()
    finally:
        await src.close()
        await srv.close()


async def test_exporting_site_with_charging_battery_lands_in_canonical_signs():
    # the server reports the battery in kW with + meaning discharge; config says invert
    snap = await read(site(grid=-1200.0, charge=2500.0))
    assert snap.value("grid_import_w") == -1200.0
    assert snap.grid_export_w == 1200.0
    assert snap.value("battery_charge_w") == 2500.0
    assert snap.value("pv_w") == 5000.0
    assert snap.value("battery_soc_pct") == 64.0


async def test_importing_site_with_discharging_battery():
    snap = await read(site(grid=800.0, charge=-1500.0, pv=0.0))
    assert snap.value("grid_import_w") == 800.0
    assert snap.value("battery_charge_w") == -1500.0
    assert snap.value("pv_w") == 0.0


async def test_unavailable_entity_is_none_not_zero_with_reason():
    snap = await read(site(-100.0, 0.0), setup=lambda s: s.overrides.update({"sensor.grid_power": "unavailable"}))
    assert snap.value("grid_import_w") is None
    assert "unavailable" in snap.grid_import_w.error
    assert snap.value("pv_w") == 5000.0    # one bad entity does not spoil the others


async def test_bad_token_and_server_error_are_reported():
    snap = await read(site(0, 0), token="wrong")
    assert snap.value("grid_import_w") is None and "401" in snap.grid_import_w.error
    snap = await read(site(0, 0), setup=lambda s: setattr(s, "status", 500))
    assert "HTTP 500" in snap.grid_import_w.error


async def test_implausible_unit_is_refused():
    snap = await read(site(-100.0, 0.0), setup=lambda s: s.units.update({"sensor.grid_power": "MW"}))
    assert snap.value("grid_import_w") is None
    assert "unit 'MW'" in snap.grid_import_w.error
