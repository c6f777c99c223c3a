"""The whole first-run setup driven by keys at 80×24: Home Assistant-shaped server on an ephemeral
loopback port, emulated miners on 127.0.N.x (found by a real pyasic scan), and the config it writes
loaded by load_config and run for one engine cycle."""
from __future__ import annotations

import os
import stat

import pytest

from edgemining_tui.clock import RealClock, VirtualClock
from edgemining_tui.config import load_config
from edgemining_tui.sim.ha_server import HomeAssistantServer
from edgemining_tui.sim.state import SiteState
from edgemining_tui.ui.setup.app import SetupApp
from edgemining_tui.ui.setup.screens import (DoneScreen, EnergyKindScreen, FlowScreen, HaConnectScreen,
                                             HaEntitiesScreen, MinerEditScreen, MinersScreen, PolicyScreen,
                                             ReviewScreen, SiteScreen)
from edgemining_tui.ui.setup.secrets_file import read_secrets

TOKEN = "eyJ0eXAiOiJKV1Qi.test-token.sig"
SIZE = (80, 24)

# canonical: PV 3.2 kW, house 0.9 kW, exporting 1.1 kW, battery charging 1.2 kW. The server's
# battery entity is kW and + discharging (like many inverters), so it reads -1.2 until flipped.
SITE = SiteState(ts=0.0, pv_w=3200.0, house_w=900.0, miners_w=0.0, battery_charge_w=1200.0,
                 battery_soc_pct=56.0, grid_import_w=-1100.0)
EXTRA = {
    "sensor.fridge_power": ("Fridge", "W", "power", lambda s: 85.0),
    "sensor.heat_pump_power": ("Heat pump", "kW", "power", lambda s: 0.4),
    "sensor.phone_battery": ("Phone battery", "%", "battery", lambda s: 80.0),
}


def _subnet_bases():
    """Loopback /24s for this run's emulators; away from 127.0.x, which other suites use."""
    for i in range(8):
        yield f"127.77.{(os.getpid() + 31 * i) % 250 + 1}"


@pytest.fixture
async def ha():
    srv = await HomeAssistantServer(lambda: SITE, token=TOKEN, extra=EXTRA).start()
    yield srv
    await srv.close()


@pytest.fixture
async def emulated():
    from edgemining_tui.emulators.fleet import demo_specs, start_emulators
    error = None
    for base in _subnet_bases():
        try:
            handle = await start_emulators(demo_specs(f"{base}.0", standard_ports=True), RealClock())
            break
        except OSError as e:  # taken by a concurrent run: try the next range
            error = e
    else:  # pragma: no cover - loopback aliases unavailable
        pytest.skip(f"cannot bind emulators on 127.77.x.x: {error}")
    yield f"{base}.0/29"
    await handle.stop()


async def settle(pilot) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def type_into(pilot, selector: str, text: str) -> None:
    """Clear a field with ctrl+u and type into it. Pilot keys cost ~70 ms each, so a long text is
    pasted up to its last three characters, which are typed."""
    inp = pilot.app.screen.query_one(selector)
    inp.focus()
    await pilot.press("ctrl+u")
    assert inp.value[: inp.cursor_position] == ""
    inp.value = text[:-3]
    inp.cursor_position = len(inp.value)
    await pilot.press(*text[-3:])
    assert inp.value == text


def status(app) -> str:
    return str(app.screen.query_one("#status").render())


async def test_setup_end_to_end_with_home_assistant_and_emulated_miners(tmp_path, ha, emulated):
    cfg_path = tmp_path / "config" / "edgemining-tui" / "config.yaml"
    app = SetupApp(cfg_path, default_subnet="192.168.1.0/24")
    async with app.run_test(size=SIZE) as pilot:
        # 1 site
        assert isinstance(app.screen, SiteScreen)
        await type_into(pilot, "#site-name", "Test farm")
        await type_into(pilot, "#site-tz", "Mars/Olympus")
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, SiteScreen) and "Unknown time zone" in status(app)
        await type_into(pilot, "#site-tz", "Europe/Berlin")
        await pilot.press("ctrl+n")
        # 2 energy: Home Assistant
        assert isinstance(app.screen, EnergyKindScreen)
        await pilot.press("enter")
        assert isinstance(app.screen, HaConnectScreen)
        await type_into(pilot, "#ha-url", ha.url)
        await pilot.press("ctrl+n")                       # not tested yet: refused
        assert isinstance(app.screen, HaConnectScreen) and "Test the connection" in status(app)
        await type_into(pilot, "#ha-token", "wrong-token")
        await pilot.press("enter")
        await settle(pilot)
        assert "Wrong token" in str(app.screen.query_one("#verdict").render())
        await type_into(pilot, "#ha-token", TOKEN)
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert "OK" in str(app.screen.query_one("#verdict").render())
        assert app.screen.query_one("#ha-token").value == ""       # never shown again
        await pilot.press("ctrl+n")
        # entities: guessed, then one changed through the search
        assert isinstance(app.screen, HaEntitiesScreen)
        await settle(pilot)
        st = app.state
        assert st.entities == {"pv": "sensor.pv_power", "house": "sensor.house_power",
                               "grid": "sensor.grid_power", "battery": "sensor.battery_power",
                               "soc": "sensor.battery_soc"}
        await pilot.press("down", "enter")                # the house row: pick through search
        await pilot.press(*"fridge")
        opts = app.screen.query_one("#entity-list")
        assert opts.option_count == 1
        await pilot.press("enter")
        assert st.entities["house"] == "sensor.fridge_power"
        await pilot.press("up", "enter", *"house", "enter")   # changed my mind: back to the house sensor
        assert st.entities["house"] == "sensor.house_power"
        # SoC list is filtered to battery sensors: the fridge is not offered there
        await pilot.press("down", "down")                 # picking moved the cursor on to grid
        assert app.screen.role == "soc"
        assert {o.id for o in app.screen.query_one("#entity-list")._options} == {
            "sensor.battery_soc", "sensor.phone_battery"}
        # the optional PV forecast (the last row) is guessed from the server's states
        assert st.forecast_entity == "sensor.solar_forecast_energy_today_remaining"
        await pilot.press("ctrl+n")
        # live flow: battery sign is the vendor's, the user flips it with one key
        assert isinstance(app.screen, FlowScreen)
        await settle(pilot)
        line = str(app.screen.query_one("#flow-line").render())
        assert "PV 3.20 kW" in line and "exporting 1.10 kW" in line and "discharging 1.20 kW" in line
        assert "press b" in str(app.screen.query_one("#balance").render())
        await pilot.press("b")
        await settle(pilot)
        line = str(app.screen.query_one("#flow-line").render())
        assert "battery charging 1.20 kW" in line and "SoC 56 %" in line
        assert "Adds up" in str(app.screen.query_one("#balance").render())
        assert st.inverts["battery"] is True
        await pilot.press("y")
        # 3 miners: scan the emulators' range with pyasic's identification
        assert isinstance(app.screen, MinersScreen)
        await type_into(pilot, "#subnet", "10.0.0.0/8")
        await pilot.press("enter")
        assert "at most a /22" in status(app)
        await type_into(pilot, "#subnet", emulated)
        await pilot.press("enter")
        await settle(pilot)
        assert "4 miners answered" in status(app)
        families = {m.family for m in st.found}
        assert families == {"braiins", "luxos", "avalon", "bitaxe"}
        bitaxe = next(m for m in st.found if m.family == "bitaxe")
        # AxeOS v2.14 pauses and resumes; its frequency options are offered as levels
        assert bitaxe.manage and bitaxe.control.startswith("levels 400 MHz") and bitaxe.firmware == "v2.14.0"
        braiins = next(m for m in st.found if m.family == "braiins")
        assert braiins.control.startswith("power target") and braiins.max_w == 3300
        table = app.screen.query_one("#miners")
        assert table.has_focus and table.row_count == 4
        table.move_cursor(row=table.get_row_index(braiins.host))
        await pilot.press("e")
        assert isinstance(app.screen, MinerEditScreen)
        await type_into(pilot, "#e-name", "garage-s19")
        await type_into(pilot, "#e-max", "3000")
        await type_into(pilot, "#e-min", "3100")
        await pilot.press("enter")
        assert isinstance(app.screen, MinerEditScreen)    # min above max: refused
        await type_into(pilot, "#e-min", "1500")
        await pilot.press("enter")
        assert isinstance(app.screen, MinersScreen)
        assert (braiins.name, braiins.limit_min_w, braiins.limit_max_w) == ("garage-s19", 1500, 3000)
        luxos = next(m for m in st.found if m.family == "luxos")
        table.move_cursor(row=table.get_row_index(luxos.host))
        await pilot.press("space")                        # not this one
        assert not luxos.manage
        await pilot.press("ctrl+n")
        # 4 policy: battery first at 80 %
        assert isinstance(app.screen, PolicyScreen)
        await pilot.press("down", "enter")
        assert app.screen.choice == "battery"
        await type_into(pilot, "#p-soc", "80")
        await pilot.press("ctrl+n")
        # 5 review: valid, written on w
        assert isinstance(app.screen, ReviewScreen)
        assert "Valid" in status(app), status(app)
        yaml_text = app.screen.text
        assert TOKEN not in yaml_text and "${HA_TOKEN}" in yaml_text
        assert not cfg_path.exists()                      # nothing written before the review step
        await pilot.press("w")
        assert isinstance(app.screen, DoneScreen)
        await pilot.press("n")
    assert app.return_value == "done"

    # the secret: in secrets.env, mode 0600, nowhere in the config
    secrets = cfg_path.parent / "secrets.env"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    assert read_secrets(secrets) == {"HA_TOKEN": TOKEN}
    text = cfg_path.read_text()
    assert TOKEN not in text
    cfg = load_config(cfg_path, env={"HA_TOKEN": TOKEN})
    assert cfg.site.observe_only is True and cfg.site.timezone == "Europe/Berlin"
    assert cfg.energy.home_assistant.battery.invert is True
    assert cfg.energy.home_assistant.token == TOKEN
    names = [m.name for m in cfg.miners]
    assert names[0] == "garage-s19" and names[1].startswith("avalon-q-home-") and names[2].startswith("gamma-")
    assert len(names) == 3
    assert cfg.miners[0].capabilities.max_w == 3000 and cfg.miners[0].family == "braiins"
    assert cfg.policy.battery.priority_soc == 80 and cfg.policy.battery.capacity is None
    assert cfg.energy.home_assistant.forecast_energy_today_remaining.entity == \
        "sensor.solar_forecast_energy_today_remaining"          # the guessed optional pick

    # and it runs: one engine cycle on the new config (observe only: nothing is commanded)
    from edgemining_tui.runtime import open_runtime
    rt = await open_runtime(cfg, clock=VirtualClock(1_750_000_000), data_dir=tmp_path / "data")
    try:
        state = await rt.engine.cycle()
    finally:
        await rt.close()
    snap = state.snapshot
    assert snap.value("pv_w") == 3200 and snap.value("grid_import_w") == -1100
    assert snap.value("battery_charge_w") == 1200 and snap.value("battery_soc_pct") == 56
    assert set(state.samples) == {m.name for m in cfg.miners}
    assert state.samples["garage-s19"].power_w is not None


# the PV forecast: 7.8 kWh still to come today (the server reports it in kWh)
FORECAST_SITE = SiteState(ts=0.0, pv_w=3200.0, house_w=900.0, miners_w=0.0, battery_charge_w=1200.0,
                          battery_soc_pct=56.0, grid_import_w=-1100.0, pv_forecast_rest_of_day_wh=7800.0)
FORECAST = "sensor.solar_forecast_energy_today_remaining"


@pytest.fixture
async def ha_forecast():
    srv = await HomeAssistantServer(lambda: FORECAST_SITE, token=TOKEN, extra=EXTRA).start()
    yield srv
    await srv.close()


async def test_setup_forecast_reserve_with_and_without_the_forecast_entity(tmp_path, ha_forecast):
    """The optional forecast pick on the entity step, and the "battery filled by sunset" policy:
    on the built-in forecast without the entity, on the entity with it, its capacity checked, and the
    config it writes loads with reserve: forecast and runs one engine cycle."""
    srv = ha_forecast
    cfg_path = tmp_path / "config.yaml"
    app = SetupApp(cfg_path, default_subnet="192.168.1.0/24")
    async with app.run_test(size=SIZE) as pilot:
        await type_into(pilot, "#site-tz", "Europe/Berlin")
        await type_into(pilot, "#site-lat", "48.1")
        await type_into(pilot, "#site-lon", "11.6")
        await pilot.press("ctrl+n", "enter")
        assert isinstance(app.screen, HaConnectScreen)
        await type_into(pilot, "#ha-url", srv.url)
        await type_into(pilot, "#ha-token", TOKEN)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, HaEntitiesScreen)
        entities = app.screen
        await settle(pilot)
        st = app.state
        assert st.forecast_entity == FORECAST                    # guessed from the server's states
        assert "optional" in status(app)
        await pilot.press(*["down"] * 5)                          # the PV forecast row
        assert entities.role == "forecast"
        # only energy-remaining entities are offered (not the next hour's, not power)
        assert {o.id for o in app.screen.query_one("#entity-list")._options} == {FORECAST}
        await pilot.press("x")                                    # optional: leave it empty
        assert st.forecast_entity == ""
        assert "(none)" in str(app.screen.query_one("#roles").get_cell("forecast", "entity"))
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, FlowScreen)
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        await pilot.press("y", "ctrl+n")                          # no miners: skip the scan
        # 4 policy: without the entity the built-in forecast stands in (docs/forecast.md): the
        # reserve is offered, and with it the array's kWp
        assert isinstance(app.screen, PolicyScreen)
        assert not app.screen.query_one("#pol-forecast").disabled
        assert not app.screen.query("#p-why")
        await pilot.press("up", "enter")
        assert app.screen.choice == "forecast" and app.screen.query_one("#p-kwp").display
        # back to the entity step (answers kept; an emptied pick is not guessed again)
        await pilot.press("escape", "escape", "escape")
        assert app.screen is entities and st.forecast_entity == ""
        assert entities.role == "forecast"
        await pilot.press("enter", *"remaining")                  # search, then pick it
        await pilot.press("enter")
        assert st.forecast_entity == FORECAST
        assert "7.800 kWh" in str(app.screen.query_one("#roles").get_cell("forecast", "now"))
        await pilot.press("ctrl+n")
        await settle(pilot)
        await pilot.press("y", "ctrl+n")
        assert isinstance(app.screen, PolicyScreen)
        assert not app.screen.query_one("#pol-forecast").disabled
        assert not app.screen.query("#p-why")
        await pilot.press("up", "enter")                          # wraps to the last choice
        assert app.screen.choice == "forecast"
        assert app.screen.query_one("#p-capacity").display
        assert not app.screen.query_one("#p-soc").display
        await type_into(pilot, "#p-capacity", "0 kWh")
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, PolicyScreen) and "Battery capacity" in status(app)
        await type_into(pilot, "#p-capacity", "13.5")
        await pilot.press("enter")
        assert isinstance(app.screen, ReviewScreen)
        assert "Valid" in status(app), status(app)
        assert "reserve: forecast" in app.screen.text and "capacity: 13.5kWh" in app.screen.text
        await pilot.press("w")
        assert isinstance(app.screen, DoneScreen)
        await pilot.press("n")
    cfg = load_config(cfg_path, env={"HA_TOKEN": TOKEN})
    b = cfg.policy.battery
    assert (b.reserve, b.capacity, b.forecast_trust, b.forecast_trust_sunrise, b.forecast_learned) == \
        ("forecast", 13500.0, 100.0, 75.0, 50.0)
    assert cfg.energy.home_assistant.forecast_energy_today_remaining.entity == FORECAST
    assert (cfg.site.latitude, cfg.site.longitude) == (48.1, 11.6)

    # and it runs: one engine cycle reads the forecast through the same adapter
    from edgemining_tui.runtime import open_runtime
    rt = await open_runtime(cfg, clock=VirtualClock(1_750_000_000), data_dir=tmp_path / "data")
    try:
        state = await rt.engine.cycle()
    finally:
        await rt.close()
    assert state.snapshot.forecast.get("energy_today_remaining_wh") == 7800
    assert state.snapshot.value("battery_charge_w") == 1200
