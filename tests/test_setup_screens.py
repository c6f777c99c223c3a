"""Setup wizard screens at 80×24: going back keeps answers, quitting writes nothing, the demo path
with an injected scan (the scanner seam), a Fronius source with a sign flip, kinds not available."""
from __future__ import annotations

import pytest

from edgemining_tui.clock import VirtualClock
from edgemining_tui.config import load_config
from edgemining_tui.sim.state import SiteState
from edgemining_tui.ui.setup import app as setup_app
from edgemining_tui.ui.setup.app import SetupApp
from edgemining_tui.ui.setup.screens import (DoneScreen, EnergyKindScreen, FlowScreen, MinersScreen,
                                             PolicyScreen, ReviewScreen, SiteScreen, SourceFormScreen)
from edgemining_tui.ui.setup.state import FoundMiner, SetupState

SIZE = (80, 24)


async def type_into(pilot, selector: str, text: str) -> None:
    inp = pilot.app.screen.query_one(selector)
    inp.focus()
    await pilot.press("ctrl+u")
    inp.value = text[:-2]
    inp.cursor_position = len(inp.value)
    await pilot.press(*text[-2:])
    assert inp.value == text


async def settle(pilot) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def choose_kind(pilot, kind: str) -> None:
    """From the welcome screen to the connection form of one energy kind."""
    from edgemining_tui.ui.setup.state import ENERGY_KINDS
    await pilot.press("ctrl+n", *(["down"] * list(ENERGY_KINDS).index(kind)), "enter")
    assert isinstance(pilot.app.screen, SourceFormScreen) and pilot.app.screen.kind == kind


async def read_through(pilot, kind: str, **fields: str) -> None:
    """From the welcome screen through one kind's form to its first live reading."""
    await choose_kind(pilot, kind)
    for field, value in fields.items():
        await type_into(pilot, f"#f-{field}", value)
    await pilot.app.screen.action_next()
    await settle(pilot)
    assert isinstance(pilot.app.screen, FlowScreen)
    for _ in range(100):
        await pilot.pause(0.1)
        if pilot.app.screen.reading is not None:
            break


async def confirm_and_write(pilot) -> None:
    """Signs confirmed, no miners, the policy as offered; write the config without starting."""
    await pilot.press("y", "ctrl+n", "ctrl+n")
    assert isinstance(pilot.app.screen, ReviewScreen)
    await pilot.press("w", "n")


def fake_scanner(results):
    """The seam: any ``async (subnet) -> list[FoundMiner]``."""
    calls = []

    async def scan(subnet: str):
        calls.append(subnet)
        return [FoundMiner(**r) for r in results]
    scan.calls = calls
    return scan


async def test_back_keeps_answers_and_quitting_writes_nothing(tmp_path):
    path = tmp_path / "c" / "config.yaml"
    app = SetupApp(path, default_subnet="10.1.2.0/24", scanner=fake_scanner([]))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("escape")                      # nothing before the first step
        assert isinstance(app.screen, SiteScreen)
        await type_into(pilot, "#site-name", "Cabin")
        await type_into(pilot, "#site-lat", "47.4")
        await pilot.press("ctrl+n")
        assert "both latitude and longitude" in str(app.screen.query_one("#status").render())
        await type_into(pilot, "#site-lon", "8.5")
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, EnergyKindScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, SiteScreen)
        assert app.screen.query_one("#site-name").value == "Cabin"
        assert app.screen.query_one("#site-lon").value == "8.5"
        from edgemining_tui.ui.setup.state import ENERGY_KINDS
        await pilot.press("ctrl+n", *(["down"] * list(ENERGY_KINDS).index("demo")), "enter")   # demo
        assert isinstance(app.screen, PolicyScreen)       # no miner step: the demo has its own
        await pilot.press("escape", "escape")
        assert isinstance(app.screen, SiteScreen)
        await pilot.press("ctrl+q")
    assert app.written is None and not path.exists() and not path.parent.exists()


async def test_demo_path_skips_the_miner_step_and_writes_a_config_that_runs(tmp_path):
    path = tmp_path / "config.yaml"
    scanner = fake_scanner([dict(host="127.0.0.1", family="braiins", model="S19 Pro (BOS+)", firmware="24.06",
                                 control="power target step 50 W", min_w=1200, max_w=3300)])
    app = SetupApp(path, default_subnet="127.0.0.0/28", scanner=scanner)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+n")
        await pilot.press("end", "enter")                 # the demo site: no connection details
        assert app.state.energy_kind == "demo"
        await settle(pilot)
        assert isinstance(app.screen, PolicyScreen)       # straight on: nothing to scan for the demo
        assert "emulated miners" in str(app.screen.query_one("#status").render())
        assert scanner.calls == []
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, ReviewScreen)
        assert "miners: []" in app.screen.text and "source: demo" in app.screen.text
        await pilot.press("w")
        assert isinstance(app.screen, DoneScreen)
        await pilot.press("y")
    assert app.return_value == "start" and app.written.backup is None and app.written.secrets_path is None
    cfg = load_config(path)
    assert cfg.energy.source == "demo" and cfg.miners == () and cfg.site.observe_only
    from edgemining_tui.runtime import open_runtime
    rt = await open_runtime(cfg, clock=VirtualClock(1_750_000_000), data_dir=tmp_path / "data")
    try:
        st = await rt.engine.cycle()
    finally:
        await rt.close()
    assert st.snapshot.value("pv_w") is not None and st.samples


async def test_miner_step_scans_marks_and_warns_when_none_is_managed(tmp_path):
    scanner = fake_scanner([
        dict(host="127.0.0.1", family="braiins", model="S19 Pro (BOS+)", firmware="24.06",
             control="power target step 50 W", min_w=1200, max_w=3300),
        dict(host="127.0.0.9", family="bitaxe", model="Gamma (Stock)", firmware="v2.4",
             control="monitor only", max_w=25, monitor_only=True),
    ])
    app = SetupApp(tmp_path / "config.yaml", default_subnet="127.0.0.0/28", scanner=scanner)
    app.state.energy_kind = "fronius"
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(MinersScreen())
        await settle(pilot)
        assert app.screen.query_one("#subnet").value == "127.0.0.0/28"
        await pilot.press("enter")                       # scan the default subnet
        await settle(pilot)
        assert scanner.calls == ["127.0.0.0/28"]
        table = app.screen.query_one("#miners")
        assert table.row_count == 2
        assert "not managed" not in str(app.screen.query_one("#miner-detail").render())
        await pilot.press("down", "space")               # the Bitaxe after all
        assert all(m.manage for m in app.state.found)
        assert len(app.state.managed) == 2
        await pilot.press("space")                       # ...no
        await pilot.press("up", "space")                 # and not the S19 either: none managed
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, MinersScreen)      # warned once
        assert "No miner is marked" in str(app.screen.query_one("#status").render())
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, PolicyScreen)
        app.state.energy_kind = "demo"                   # a scan found them, then the demo was picked:
        assert app.state.managed == []                   # no real miner follows a simulated house


async def test_fronius_source_with_sign_flip(tmp_path):
    pytest.importorskip("edgemining_tui.sim.fronius_server")
    from edgemining_tui.sim.fronius_server import FroniusServer
    site = SiteState(ts=0.0, pv_w=4000.0, house_w=1000.0, miners_w=0.0, battery_charge_w=0.0,
                     battery_soc_pct=70.0, grid_import_w=-3000.0)
    srv = await FroniusServer(lambda: site).start()
    path = tmp_path / "config.yaml"
    app = SetupApp(path, default_subnet="10.0.0.0/24", scanner=fake_scanner([]))
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("ctrl+n", "down", "enter")
            assert isinstance(app.screen, SourceFormScreen)
            await type_into(pilot, "#f-url", "192.168.1.20")
            await pilot.press("enter")
            assert "http://" in str(app.screen.query_one("#status").render())
            await type_into(pilot, "#f-url", srv.url)
            await pilot.press("enter")
            assert isinstance(app.screen, FlowScreen)
            await settle(pilot)
            line = str(app.screen.query_one("#flow-line").render())
            assert "PV 4.00 kW" in line and "exporting 3.00 kW" in line, line
            # plain HTTP: no certificate, so the footer offers no "t Trust this certificate"
            assert app.screen.check_action("trust", ()) is False
            assert "trust" not in [ab.binding.action for ab in app.active_bindings.values()]
            await pilot.press("g")                       # a wrong flip shows at once...
            await settle(pilot)
            assert "importing 3.00 kW" in str(app.screen.query_one("#flow-line").render())
            assert "press g" in str(app.screen.query_one("#balance").render())
            await pilot.press("g")                       # ...and is undone with the same key
            await settle(pilot)
            assert "exporting 3.00 kW" in str(app.screen.query_one("#flow-line").render())
            await confirm_and_write(pilot)
    finally:
        await srv.close()
    cfg = load_config(path)
    assert cfg.energy.source == "fronius" and cfg.energy.fronius.url == srv.url
    assert not cfg.energy.fronius.invert.grid
    assert "confirmed at setup: PV 4.00 kW" in path.read_text()


async def test_unavailable_kinds_are_shown_but_not_offered(tmp_path, monkeypatch):
    monkeypatch.setattr(setup_app, "missing_energy_kinds", lambda: {"mqtt": "pip install aiomqtt"})
    app = SetupApp(tmp_path / "c.yaml", default_subnet="10.0.0.0/24", scanner=fake_scanner([]))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+n")
        ol = app.screen.query_one("#kinds")
        mqtt = ol.get_option("mqtt")
        assert mqtt.disabled and "pip install aiomqtt" in str(mqtt.prompt)
        ol.highlighted = ol.get_option_index("mqtt")
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, EnergyKindScreen)


async def test_wrong_rules_file_is_refused_on_the_policy_step(tmp_path):
    bad = tmp_path / "bad-policy.yaml"
    bad.write_text("start_rules:\n  - name: x\n    conditions: {field: nope.nothing, operator: eq, value: 1}\n")
    app = SetupApp(tmp_path / "c.yaml", default_subnet="10.0.0.0/24", scanner=fake_scanner([]))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+n", "end", "enter")                    # the demo site
        await settle(pilot)
        assert isinstance(app.screen, PolicyScreen)
        await pilot.press("down", "down", "enter")
        assert app.screen.choice == "rules"
        await type_into(pilot, "#p-rules", str(tmp_path / "missing.yaml"))
        await pilot.press("ctrl+n")
        assert "No such file" in str(app.screen.query_one("#status").render())
        await type_into(pilot, "#p-rules", str(bad))
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, PolicyScreen)
        assert "does not load" in str(app.screen.query_one("#status").render())
        await pilot.press("shift+tab", "shift+tab")           # from the path field back to the choices
        assert app.screen.query_one("#policy").has_focus
        await pilot.press("up", "up", "enter", "ctrl+n")     # back to "follow surplus"
        assert isinstance(app.screen, ReviewScreen)


async def test_forecast_policy_is_not_offered_without_the_sites_coordinates(tmp_path):
    app = SetupApp(tmp_path / "c.yaml", default_subnet="10.0.0.0/24", scanner=fake_scanner([]))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+n", "end", "enter")                    # the demo site, no lat/lon
        await settle(pilot)
        assert isinstance(app.screen, PolicyScreen)
        assert app.screen.query_one("#pol-forecast").disabled
        assert "latitude/longitude" in str(app.screen.query_one("#p-why").render())
        await pilot.press("up", "enter")                               # wraps past it to heat
        assert app.screen.choice == "heat"


def forecast_ready_state(tmp_path, **kw) -> SetupState:
    """Answers as after a Home Assistant energy step with a forecast entity picked (the state seam)."""
    s = SetupState(tmp_path / "c" / "config.yaml", timezone="Europe/Berlin", energy_kind="home_assistant",
                   fields={"url": "http://192.168.1.10:8123"}, secrets={"HA_TOKEN": "tok"},
                   forecast_entity="sensor.energy_production_today_remaining")
    s.entities.update(pv="sensor.pv_power", grid="sensor.grid_power", soc="sensor.battery_soc")
    for k, v in kw.items():
        setattr(s, k, v)
    return s


async def test_forecast_policy_needs_coordinates_and_a_capacity(tmp_path):
    state = forecast_ready_state(tmp_path)                            # no latitude/longitude
    app = SetupApp(state.config_path, default_subnet="10.0.0.0/24", scanner=fake_scanner([]), state=state)
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(PolicyScreen())
        await pilot.pause()
        assert app.screen.query_one("#pol-forecast").disabled
        assert "latitude/longitude" in str(app.screen.query_one("#p-why").render())
        assert not app.screen.query_one("#p-capacity").display
        await pilot.press("escape")
        state.latitude, state.longitude = 48.1, 11.6
        app.push_screen(PolicyScreen())
        await pilot.pause()
        assert not app.screen.query_one("#pol-forecast").disabled and not app.screen.query("#p-why")
        await pilot.press("up", "enter")
        assert app.screen.choice == "forecast" and app.screen.query_one("#p-capacity").display
        await type_into(pilot, "#p-capacity", "ten")
        await pilot.press("ctrl+n")
        assert "Battery capacity is the usable energy in kWh" in str(app.screen.query_one("#status").render())
        await type_into(pilot, "#p-capacity", "9600 Wh")
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, ReviewScreen)
        assert "capacity: 9.6kWh" in app.screen.text
        await pilot.press("w", "n")
    cfg = load_config(state.config_path, env={"HA_TOKEN": "tok"})
    b = cfg.policy.battery
    assert (b.reserve, b.capacity) == ("forecast", 9600.0)
    assert cfg.energy.home_assistant.forecast_energy_today_remaining.entity == \
        "sensor.energy_production_today_remaining"


async def test_opendtu_source_reads_its_recorded_reply(tmp_path):
    """A local API chosen in setup: the form, the live reading of the device (a stand-in replaying
    OpenDTU's documented reply) and the written config."""
    import json
    from pathlib import Path

    from edgemining_tui.sim.local_api_server import LocalApiServer
    fx = json.loads((Path(__file__).parent / "data/energy/opendtu/two_hoymiles_day.json").read_text())
    srv = await LocalApiServer({fx["request"]["path"]: fx["reply"]}).start()
    path = tmp_path / "config.yaml"
    app = SetupApp(path, default_subnet="10.0.0.0/24", scanner=fake_scanner([]))
    try:
        async with app.run_test(size=SIZE) as pilot:
            await choose_kind(pilot, "opendtu")
            await type_into(pilot, "#f-url", srv.url)
            await pilot.press("enter")
            assert isinstance(app.screen, FlowScreen)
            await settle(pilot)
            assert "PV 0.14 kW" in str(app.screen.query_one("#flow-line").render())
            # what it never measures is said in words, not as an error of field names
            status = str(app.screen.query_one("#status").render())
            assert status == "OpenDTU does not measure house, grid, battery or SoC: shown as —.", status
            assert "-error" not in app.screen.query_one("#status").classes
            await pilot.press("g")                        # OpenDTU gives PV only: the grid cannot be flipped
            assert "only gives pv" in str(app.screen.query_one("#status").render())
            # alone it cannot decide: setup wrote it, check said OK, and the owner then held every
            # miner with the grid stale forever. Now the step says so and goes no further
            await pilot.press("y")
            assert isinstance(app.screen, FlowScreen)
            status = str(app.screen.query_one("#status").render())
            assert "OpenDTU gives PV only" in status and "grid meter" in status, status
    finally:
        await srv.close()
    assert not path.exists()


async def test_sma_energy_meter_is_offered_and_read_from_its_multicast(tmp_path):
    """SMA Energy Meter in setup: the form (interface, serial), the live reading of a recorded Energy
    Meter 2.0 datagram multicast to 239.12.255.254:9522 on the loopback interface (TTL 0), the config."""
    import asyncio
    import json
    import socket
    from pathlib import Path

    fx = json.loads((Path(__file__).parent / "data/energy/sma_em/em20_importing_single_phase.json").read_text())
    datagram = bytes.fromhex(fx["datagram_hex"])
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
    tx.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 0)
    try:
        tx.sendto(datagram, ("239.12.255.254", 9522))
    except OSError as e:
        tx.close()
        pytest.skip(f"this host cannot send multicast on loopback ({e.strerror})")

    async def meter():                                   # the meter sends every second, here faster
        while True:
            tx.sendto(datagram, ("239.12.255.254", 9522))
            await asyncio.sleep(0.1)
    sending = asyncio.create_task(meter())
    path = tmp_path / "config.yaml"
    app = SetupApp(path, default_subnet="10.0.0.0/24", scanner=fake_scanner([]))
    try:
        async with app.run_test(size=SIZE) as pilot:
            await choose_kind(pilot, "sma_em")
            await type_into(pilot, "#f-interface", "eth0")
            await type_into(pilot, "#f-serial", str(fx["serial"]))
            await pilot.press("enter")
            assert "IPv4 address" in str(app.screen.query_one("#status").render())
            await type_into(pilot, "#f-interface", "127.0.0.1")
            await type_into(pilot, "#f-serial", str(fx["serial"]))
            await pilot.press("enter")
            assert isinstance(app.screen, FlowScreen)
            await settle(pilot)
            assert "0.63 kW" in str(app.screen.query_one("#flow-line").render())
            await confirm_and_write(pilot)
    finally:
        sending.cancel()
        tx.close()
    cfg = load_config(path)
    assert cfg.energy.source == "sma_em" and cfg.energy.sma_em.serial == fx["serial"]
    assert cfg.energy.sma_em.interface == "127.0.0.1"


async def test_enphase_gateway_certificate_is_pinned_at_setup(tmp_path):
    """An HTTPS gateway in setup: the flow screen shows the certificate the gateway presents, t trusts
    only it (the reading goes through the pin again), and the config pins it (tls_fingerprint)."""
    import json
    from pathlib import Path

    from edgemining_tui.energy.tls_pin import shown
    from edgemining_tui.sim.local_api_server import LocalApiServer
    fx = json.loads((Path(__file__).parent / "data/energy/enphase/day_battery_charging_8.2.4286.json").read_text())
    srv = await LocalApiServer({fx["request"]["path"]: fx["reply"], **fx["extra_replies"]}, tls=True,
                               bearer=fx["bearer"]).start()
    path = tmp_path / "config.yaml"
    app = SetupApp(path, default_subnet="10.0.0.0/24", scanner=fake_scanner([]))
    try:
        async with app.run_test(size=SIZE) as pilot:
            await choose_kind(pilot, "enphase")
            await type_into(pilot, "#f-url", srv.url)
            await type_into(pilot, "#f-token", fx["bearer"])
            await pilot.press("enter")
            assert isinstance(app.screen, FlowScreen)
            await settle(pilot)
            assert "PV 7.12 kW" in str(app.screen.query_one("#flow-line").render())
            assert shown(srv.cert_sha256) in str(app.screen.query_one("#cert").render())
            assert "trust" in [ab.binding.action for ab in app.active_bindings.values()]
            seen = len(srv.requests)
            await pilot.press("t")
            await settle(pilot)
            assert "Certificate pinned" in str(app.screen.query_one("#cert").render())
            assert len(srv.requests) > seen and "PV 7.12 kW" in str(app.screen.query_one("#flow-line").render())
            await confirm_and_write(pilot)
    finally:
        await srv.close()
    cfg = load_config(path, env={"ENVOY_TOKEN": fx["bearer"]})
    assert cfg.energy.enphase.tls_fingerprint.replace(":", "").lower() == srv.cert_sha256


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_every_energy_kind_is_in_sight_without_scrolling(tmp_path, size):
    """The list was clipped at 8 rows: Enphase, Powerwall, sonnen, SMA and the demo sat below the fold
    with nothing to say they were there, over 25 empty rows at 120×40."""
    from textual.widgets import OptionList
    app = SetupApp(tmp_path / "config.yaml", default_subnet="10.0.0.0/24", scanner=fake_scanner([]))
    async with app.run_test(size=size) as pilot:
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, EnergyKindScreen)
        await settle(pilot)
        ol = app.screen.query_one("#kinds", OptionList)
        assert ol.max_scroll_y == 0, "some kinds are scrolled out of the list"
        assert ol.region.bottom <= size[1] - 1, (ol.region, "the list runs under the footer")
        body = app.screen.query_one(".body")
        assert body.scroll_y == 0 and body.max_scroll_y == 0


async def test_a_reading_without_any_value_is_not_written_as_confirmed(tmp_path):
    """An MQTT broker (real mosquitto) on which nothing is published yet: setup may go on, but the
    config said "confirmed at setup: No values yet: ..." as if the signs had been checked."""
    from edgemining_tui.sim import mosquitto as mq
    if mq.unavailable():
        pytest.skip(mq.unavailable())
    broker = await mq.Mosquitto(tmp_path / "broker").start()
    path = tmp_path / "config.yaml"
    app = SetupApp(path, default_subnet="10.0.0.0/24", scanner=fake_scanner([]))
    try:
        async with app.run_test(size=(100, 40)) as pilot:
            await read_through(pilot, "mqtt", host=broker.host, port=str(broker.port), username=broker.username,
                               password=broker.password, grid="meter/power")
            assert "No values yet" in str(app.screen.query_one("#flow-line").render())
            await confirm_and_write(pilot)
    finally:
        await broker.stop()
    text = path.read_text()
    assert "confirmed at setup" not in text, text
    assert load_config(path, env={"MQTT_PASSWORD": broker.password}).energy.mqtt.grid.topic == "meter/power"


async def test_sunspec_flow_says_what_it_does_not_measure_in_words(tmp_path):
    """A Fronius GEN24's recorded SunSpec map (tests/data/energy/sunspec) served by pymodbus on
    loopback: the step said "house: Modbus/SunSpec device does not measure house_w" in red."""
    pytest.importorskip("pymodbus")
    import json
    from pathlib import Path

    from edgemining_tui.sim.modbus_device import ModbusDevice, recorded_image
    doc = json.loads((Path(__file__).parent / "data/energy/sunspec/fronius_symo_gen24_10_meter_200.json").read_text())
    dev = await ModbusDevice(recorded_image(doc)).start()
    app = SetupApp(tmp_path / "config.yaml", default_subnet="10.0.0.0/24", scanner=fake_scanner([]))
    try:
        async with app.run_test(size=(100, 40)) as pilot:
            await read_through(pilot, "sunspec", host="127.0.0.1", port=str(dev.port), preset="fronius",
                               meter_unit_id="200")
            assert "PV 3.12 kW" in str(app.screen.query_one("#flow-line").render())
            status = str(app.screen.query_one("#status").render())
            assert status == "Modbus TCP / SunSpec inverter does not measure house: shown as —.", status
    finally:
        await dev.close()
