"""The setup wizard's plain parts: the Home Assistant probe, the secrets file, the YAML it writes
(every energy kind and policy starting point must load), writing with backup, the sign check."""
from __future__ import annotations

import socket
import stat

import pytest

from edgemining_tui.config import ConfigError, load_config
from edgemining_tui.sim.ha_server import HomeAssistantServer
from edgemining_tui.sim.http import HttpServer, Response
from edgemining_tui.sim.state import SiteState
from edgemining_tui.ui.setup import ha_probe
from edgemining_tui.ui.setup.flow import FlowReading, balance_hint, describe
from edgemining_tui.ui.setup.scan import _from_any, name_found, parse_subnet
from edgemining_tui.ui.setup.secrets_file import read_secrets, write_secrets
from edgemining_tui.ui.setup.state import FoundMiner, SetupState
from edgemining_tui.ui.setup.yaml_writer import render, scalar, validate, write_config

SITE = SiteState(ts=0.0, pv_w=3200.0, house_w=900.0, miners_w=0.0, battery_charge_w=1200.0,
                 battery_soc_pct=56.0, grid_import_w=-1100.0)


# --- Home Assistant probe ----------------------------------------------------------------------
@pytest.fixture
async def ha():
    srv = await HomeAssistantServer(lambda: SITE, token="good-token").start()
    yield srv
    await srv.close()


async def test_probe_verdicts(ha):
    assert (await ha_probe.probe(ha.url, "good-token")).verdict == "ok"
    assert (await ha_probe.probe(ha.url + "/", "good-token")).ok
    bad = await ha_probe.probe(ha.url, "nope")
    assert bad.verdict == "wrong_token" and "Wrong token" in bad.text
    assert (await ha_probe.probe("homeassistant.local:8123", "t")).verdict == "bad_url"
    ha.status = 500
    assert (await ha_probe.probe(ha.url, "good-token")).verdict == "not_home_assistant"


async def test_probe_unreachable_and_not_home_assistant():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()                                   # nothing listens there now
    r = await ha_probe.probe(f"http://127.0.0.1:{port}", "t")
    assert r.verdict == "unreachable" and "Unreachable" in r.text

    async def web_page(req):
        return Response(200, b"<html>router login</html>", "text/html")
    srv = await HttpServer(web_page).start()
    try:
        r = await ha_probe.probe(srv.url, "t")
    finally:
        await srv.close()
    assert r.verdict == "not_home_assistant"


async def test_probe_timeout_is_unreachable(ha):
    ha.hang = True
    r = await ha_probe.probe(ha.url, "good-token", timeout=0.3)
    assert r.verdict == "unreachable" and "0.3 s" in r.detail


async def test_entities_filtered_and_guessed(ha):
    ents = await ha_probe.list_entities(ha.url, "good-token")
    ids = {e.entity_id for e in ents}
    assert "sensor.outdoor_temperature" in ids
    power = {e.entity_id for e in ha_probe.candidates(ents, "grid")}
    assert "sensor.outdoor_temperature" not in power and "sensor.battery_soc" not in power
    assert {e.entity_id for e in ha_probe.candidates(ents, "soc")} == {"sensor.battery_soc"}
    assert ha_probe.guess(ents, "pv") == "sensor.pv_power"           # not the forecast
    assert ha_probe.guess(ents, "battery") == "sensor.battery_power"
    assert ha_probe.guess(ents, "soc") == "sensor.battery_soc"
    bat = next(e for e in ents if e.entity_id == "sensor.battery_power")
    assert bat.value_text == "-1.200 kW" and bat.matches("battery pow") and not bat.matches("grid")
    # the optional PV forecast: energy remaining today (kWh), not the next hour's nor the power now
    fc = {e.entity_id for e in ha_probe.candidates(ents, "forecast")}
    assert fc == {"sensor.solar_forecast_energy_today_remaining"}
    assert ha_probe.guess(ents, "forecast") == "sensor.solar_forecast_energy_today_remaining"
    assert ha_probe.guess(ents, "pv") == "sensor.pv_power"


def _ent(entity_id, name="", unit="kWh", device_class="energy", state="5.2"):
    return ha_probe.Entity(entity_id, name, state, unit, device_class)


def test_forecast_candidates_and_guess_by_name_and_unit():
    ents = [
        # Forecast.Solar
        _ent("sensor.energy_production_today", "Estimated energy production - today"),
        _ent("sensor.energy_production_today_remaining", "Estimated energy production - remaining today"),
        _ent("sensor.energy_production_tomorrow", "Estimated energy production - tomorrow"),
        _ent("sensor.energy_next_hour", "Estimated energy production - next hour"),
        _ent("sensor.power_production_now", "Estimated power production - now", unit="W", device_class="power"),
        # Solcast, in Wh
        _ent("sensor.solcast_pv_forecast_forecast_today", "Solcast forecast today", unit="Wh"),
        _ent("sensor.solcast_pv_forecast_forecast_remaining_today", "Solcast forecast remaining today",
             unit="Wh"),
        # not forecasts
        _ent("sensor.battery_remaining_energy", "Battery remaining energy"),
        _ent("sensor.pv_energy_today", "PV energy today"),
        _ent("sensor.forecast_temperature", "Forecast temperature", unit="°C", device_class="temperature"),
    ]
    cands = {e.entity_id for e in ha_probe.candidates(ents, "forecast")}
    assert cands == {"sensor.energy_production_today_remaining", "sensor.solcast_pv_forecast_forecast_today",
                     "sensor.solcast_pv_forecast_forecast_remaining_today"}
    # only "what remains today" is guessed; the best named of those wins
    assert ha_probe.guess(ents, "forecast") == "sensor.solcast_pv_forecast_forecast_remaining_today"
    assert ha_probe.guess(ents[:5], "forecast") == "sensor.energy_production_today_remaining"
    assert ha_probe.guess([ents[0], ents[5], ents[8]], "forecast") is None     # whole-day totals only
    assert ha_probe.guess([], "forecast") is None


# --- secrets -------------------------------------------------------------------------------------
def test_secrets_file_is_private_and_merges(tmp_path):
    p = tmp_path / "cfg" / "secrets.env"
    write_secrets(p, {"OTHER": "keep me"})
    write_secrets(p, {"HA_TOKEN": "abc.def-ghi", "ODD": "it's"})
    assert stat.S_IMODE(p.stat().st_mode) == 0o600
    assert read_secrets(p) == {"OTHER": "keep me", "HA_TOKEN": "abc.def-ghi", "ODD": "it's"}
    with pytest.raises(ValueError):
        write_secrets(p, {"BAD NAME": "x"})
    try:  # the console's own reader agrees on the format
        from edgemining_tui.secrets import parse_secrets
    except ImportError:
        return
    assert parse_secrets(p.read_text()) == read_secrets(p)


# --- YAML -------------------------------------------------------------------------------------------
def ha_state(tmp_path, **kw) -> SetupState:
    s = SetupState(tmp_path / "edgemining-tui" / "config.yaml", site_name="Barn: east", timezone="Europe/Berlin")
    s.energy_kind = "home_assistant"
    s.fields = {"url": "http://192.168.1.10:8123"}
    s.secrets = {"HA_TOKEN": "s3cret-token"}
    s.entities.update(pv="sensor.pv_power", house="sensor.house_power", grid="sensor.grid_power",
                      battery="sensor.battery_power", soc="sensor.battery_soc")
    s.inverts["battery"] = True
    s.found = [FoundMiner("192.168.1.50", "braiins", "S19 Pro (BOS+)", "24.06", "power target", 1200, 3300),
               FoundMiner("192.168.1.51", "luxos", "S19 Pro (LuxOS)", "2024.5.1", "levels", 1500, 3250),
               FoundMiner("192.168.1.60", "bitaxe", "Gamma (Stock)", "v2.4", "monitor only", None, 25,
                          monitor_only=True)]
    name_found(s.found)
    for k, v in kw.items():
        setattr(s, k, v)
    return s


def test_scalar_quotes_what_yaml_would_misread():
    assert scalar("sensor.pv_power") == "sensor.pv_power"
    assert scalar("yes") == '"yes"' and scalar("on") == '"on"'
    assert scalar("192.168.1.5") == '"192.168.1.5"' and scalar("a: b") == '"a: b"'
    assert scalar("${HA_TOKEN}") == '"${HA_TOKEN}"'
    assert scalar(True) == "true" and scalar(2.5) == "2.5"


def test_home_assistant_yaml_loads_with_token_as_reference(tmp_path):
    s = ha_state(tmp_path)
    text = render(s)
    assert "s3cret-token" not in text and "${HA_TOKEN}" in text
    assert "observe_only: true" in text
    cfg = validate(s, text)
    assert cfg.site.name == "Barn: east" and cfg.site.observe_only
    ha_cfg = cfg.energy.home_assistant
    assert ha_cfg.token == "s3cret-token" and ha_cfg.battery.invert and not ha_cfg.grid.invert
    assert [m.name for m in cfg.miners] == ["s19-pro-50", "s19-pro-51"]   # the Bitaxe is not managed
    assert [m.priority for m in cfg.miners] == [1, 2]
    # fits the review screen at 80 columns (a long path cannot be wrapped)
    assert max(len(line) for line in text.splitlines() if not line.startswith(("#", "secrets_file"))) <= 76


@pytest.mark.parametrize("policy,check", [
    ("surplus", lambda c: c.policy.mode == "surplus" and c.policy.headroom_w == 150),
    ("battery", lambda c: c.policy.battery.priority_soc == 95 and c.policy.battery.buffer_soc == 95),
    ("rules", lambda c: c.policy.mode == "rules" and c.policy.rules_file.endswith("policy.yaml")),
    ("heat", lambda c: c.heat.zones[0].name == "living-room" and c.heat.zones[0].grid_heat
     and c.heat.zones[0].miners == ("s19-pro-50", "s19-pro-51")
     and c.heat.zones[0].sensor.entity == "sensor.living_temp"),
])
def test_every_policy_starting_point_loads(tmp_path, policy, check):
    rules = tmp_path / "policy.yaml"
    rules.write_text("start_rules: []\nstop_rules: []\n")
    s = ha_state(tmp_path, policy=policy, headroom_w=150.0, priority_soc=95.0, rules_file=str(rules),
                 heat={"zone": "living-room", "min_c": "19", "max_c": "22", "sensor": "sensor.living_temp"})
    cfg = validate(s, render(s))
    assert check(cfg)
    assert cfg.policy.battery.capacity is None       # no capacity given: the fixed levels


def test_forecast_policy_writes_the_reserve_and_loads(tmp_path):
    s = ha_state(tmp_path, policy="forecast", latitude=48.1, longitude=11.6, battery_capacity_kwh=13.5,
                 forecast_entity="sensor.solar_forecast_energy_today_remaining")
    assert s.forecast_policy_missing() == ""
    text = render(s)
    assert "reserve: forecast" in text and "capacity: 13.5kWh" in text and "forecast_trust: 100%" in text and "forecast_trust_sunrise: 75%" in text \
        and "forecast_learned: 50%" in text
    cfg = validate(s, text)
    b = cfg.policy.battery
    assert cfg.policy.mode == "surplus"
    assert (b.reserve, b.capacity, b.forecast_trust, b.forecast_trust_sunrise, b.forecast_learned) == \
        ("forecast", 13500.0, 100.0, 75.0, 50.0)
    assert (b.priority_soc, b.buffer_soc) == (50, 90)          # the levels while no forecast reads
    assert cfg.energy.home_assistant.forecast_energy_today_remaining.entity == \
        "sensor.solar_forecast_energy_today_remaining"
    assert cfg.energy.gives_forecast_today()
    # the long key and entity id are split so the review screen shows them at 80 columns
    assert max(len(line) for line in text.splitlines() if not line.startswith(("#", "secrets_file"))) <= 76
    # a short id stays on one line
    s.forecast_entity = "sensor.fc_rest"
    assert "    forecast_energy_today_remaining: sensor.fc_rest" in render(s)
    s.battery_capacity_kwh = 10.0
    assert "capacity: 10kWh" in render(s)
    assert validate(s, render(s)).policy.battery.capacity == 10000.0


def test_forecast_entity_is_optional_and_only_for_home_assistant(tmp_path):
    s = ha_state(tmp_path, latitude=48.1, longitude=11.6)
    text = render(s)
    assert "# forecast_energy_today_remaining: (none)" in text
    assert validate(s, text).energy.home_assistant.forecast_energy_today_remaining is None
    assert s.forecast_policy_missing() == ""                # the built-in forecast stands in
    s.forecast_entity = ""                                  # left empty on purpose
    assert s.forecast_policy_missing() == "" and s.forecast_ref is None
    s.forecast_entity = "sensor.solar_forecast_energy_today_remaining"
    assert s.forecast_policy_missing() == ""
    s.latitude = s.longitude = None
    assert "latitude/longitude" in s.forecast_policy_missing()
    s.latitude, s.longitude, s.energy_kind = 48.1, 11.6, "fronius"
    assert s.forecast_policy_missing() == "" and s.forecast_ref is None
    s.fields = {"url": "http://192.168.1.20"}
    assert "forecast_energy_today_remaining" not in render(s)


def test_capacity_parsing():
    from edgemining_tui.ui.setup.screens.policy import parse_kwh
    assert parse_kwh("10") == 10.0 and parse_kwh("13.5 kWh") == 13.5 and parse_kwh("10000Wh") == 10.0
    assert parse_kwh("9.6KWH") == 9.6
    for bad in ("", "0", "-5", "ten", "13,5", "nan", "inf", "0.0001"):
        assert parse_kwh(bad) is None, bad


@pytest.mark.parametrize("kind,fields,inverts,check", [
    ("fronius", {"url": "http://192.168.1.20"}, {"grid": True},
     lambda c: c.energy.fronius.url == "http://192.168.1.20" and c.energy.fronius.invert.grid),
    ("shelly", {"url": "http://192.168.1.30", "id": "0"}, {"grid": True},
     lambda c: c.energy.shelly.invert is True),
    ("mqtt", {"host": "broker", "port": "1884", "username": "me", "grid": "meter/power", "pv": "pv/power"},
     {"pv": True}, lambda c: c.energy.mqtt.pv.invert and c.energy.mqtt.grid.topic == "meter/power"
     and c.energy.mqtt.password == "mqtt-pw" and c.energy.mqtt.port == 1884),
    ("victron", {"host": "192.168.1.40", "port": "1883", "portal_id": "c0619ab12345"}, {"battery": True},
     lambda c: c.energy.victron.portal_id == "c0619ab12345" and c.energy.victron.invert.battery),
    ("demo", {}, {}, lambda c: c.energy.source == "demo" and c.demo is not None and c.demo.miners),
    ("sunspec", {"host": "192.168.1.20", "port": "1502", "preset": "solaredge"}, {},
     lambda c: c.energy.sunspec.preset == "solaredge" and c.energy.sunspec.port == 1502
     and c.energy.sunspec.meter_unit_id is None),
    ("sunspec", {"host": "192.168.1.21", "preset": "fronius", "meter_unit_id": "240"}, {},
     lambda c: c.energy.sunspec.preset == "fronius" and c.energy.sunspec.meter_unit_id == 240),
    ("homewizard", {"url": "http://192.168.1.41"}, {"grid": True},
     lambda c: c.energy.homewizard.api == "v2" and c.energy.homewizard.token == "p1-token"
     and c.energy.homewizard.invert),
    ("enphase", {"url": "https://envoy.local"}, {}, lambda c: c.energy.enphase.token == "envoy-token"),
    ("enphase", {"url": "https://envoy.local", "tls_fingerprint": "0f" * 32}, {},
     lambda c: c.energy.enphase.tls_fingerprint == "0f" * 32),
    ("powerwall", {"url": "https://192.168.91.1"}, {}, lambda c: c.energy.powerwall.password == "ABCDE"),
    ("sonnen", {"url": "http://192.168.1.50"}, {}, lambda c: c.energy.sonnen.token is None),
    ("sma_em", {"interface": "192.168.1.10", "serial": "3015241932"}, {"grid": True},
     lambda c: (c.energy.sma_em.interface, c.energy.sma_em.serial, c.energy.sma_em.invert)
     == ("192.168.1.10", 3015241932, True)),
    ("sma_em", {}, {}, lambda c: c.energy.sma_em.interface == "0.0.0.0" and c.energy.sma_em.serial is None),
])
def test_every_energy_kind_renders_a_loadable_config(tmp_path, kind, fields, inverts, check):
    secrets = {"mqtt": {"MQTT_PASSWORD": "mqtt-pw"}, "homewizard": {"P1_TOKEN": "p1-token"},
               "enphase": {"ENVOY_TOKEN": "envoy-token"}, "powerwall": {"POWERWALL_PASSWORD": "ABCDE"}}
    s = ha_state(tmp_path, energy_kind=kind, fields=fields, secrets=secrets.get(kind, {}))
    s.inverts.update({r: False for r in s.inverts})
    s.inverts.update(inverts)
    text = render(s)
    cfg = validate(s, text)
    assert check(cfg)
    # the house values of Fronius, Victron and the gateways are everything behind the meter: the
    # console takes the miners off (written false, the house showed their draw twice)
    whole = kind in ("fronius", "victron", "enphase", "powerwall", "sonnen")
    assert cfg.energy.house_includes_miners is whole, (kind, cfg.energy.house_includes_miners)
    if "tls_fingerprint" in fields:             # 64 hex digits, folded to fit the review screen's 80 columns
        lines = text.splitlines()
        at = next(i for i, line in enumerate(lines) if "tls_fingerprint:" in line)
        assert max(len(line) for line in lines[at - 1:at + 2]) <= 80, lines[at - 1:at + 2]


def test_write_keeps_a_backup_and_writes_nothing_when_invalid(tmp_path):
    s = ha_state(tmp_path)
    path = s.config_path
    path.parent.mkdir(parents=True)
    path.write_text("# my old config\n")
    # invalid: a grid entity is required unless pv and house are both there
    s.entities.update(grid=None, house=None)
    with pytest.raises(ConfigError) as e:
        write_config(s, render(s))
    assert "grid" in str(e.value)
    assert path.read_text() == "# my old config\n" and not s.secrets_path.exists()
    assert list(path.parent.glob("config.yaml.bak-*")) == []
    s.entities.update(grid="sensor.grid_power")
    res = write_config(s, render(s))
    assert res.backup is not None and res.backup.name.startswith("config.yaml.bak-")
    assert res.backup.read_text() == "# my old config\n"
    assert stat.S_IMODE(res.secrets_path.stat().st_mode) == 0o600
    assert load_config(path, env={"HA_TOKEN": "s3cret-token"}).site.observe_only


def test_config_outside_the_default_dir_names_its_secrets_file(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("HA_TOKEN", raising=False)
    s = ha_state(tmp_path)
    s.config_path = tmp_path / "elsewhere" / "site.yaml"
    text = render(s)
    assert "secrets_file:" in text
    res = write_config(s, text)
    assert res.secrets_path == tmp_path / "elsewhere" / "secrets.env"
    try:
        import edgemining_tui.secrets  # noqa: F401  (the loader that reads secrets files)
    except ImportError:
        pytest.skip("load_config does not read secrets files in this build")
    cfg = load_config(res.path)                   # from the file, not from the environment
    assert cfg.energy.home_assistant.token == "s3cret-token"


def test_default_location_is_found_by_the_console(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("HA_TOKEN", raising=False)
    from edgemining_tui.config.schema import default_config_path
    s = ha_state(tmp_path)
    s.config_path = default_config_path()
    assert s.secrets_path == tmp_path / "xdg" / "edgemining-tui" / "secrets.env"
    text = render(s)
    assert "secrets_file:" not in text
    write_config(s, text)
    try:
        import edgemining_tui.secrets  # noqa: F401
    except ImportError:
        pytest.skip("load_config does not read secrets files in this build")
    assert load_config(s.config_path).energy.home_assistant.token == "s3cret-token"


# --- the sign check ---------------------------------------------------------------------------
def test_describe_and_balance_hint():
    r = FlowReading(values={"pv": 3200.0, "house": 900.0, "grid": -1100.0, "battery": -1200.0, "soc": 56.0})
    assert describe(r) == ("PV 3.20 kW, house 0.90 kW, exporting 1.10 kW, battery discharging 1.20 kW, "
                           "SoC 56 %")
    assert "press b" in balance_hint(r)
    r.values["battery"] = 1200.0
    assert balance_hint(r).startswith("Adds up")
    r.values["grid"] = 1100.0                      # a meter that reports + export
    assert "press g" in balance_hint(r)
    assert describe(FlowReading(failure="boom")).startswith("Could not read")
    assert "unavailable" in describe(FlowReading(values={"grid": None}, errors={"grid": "x is unavailable"}))


# --- scanning helpers ---------------------------------------------------------------------------
def test_subnet_parsing_and_naming():
    assert str(parse_subnet("192.168.1.7/24")) == "192.168.1.0/24"
    assert parse_subnet("10.0.0.5").num_addresses == 1
    for bad in ("", "banana", "10.0.0.0/8", "fe80::/64"):
        with pytest.raises(ValueError):
            parse_subnet(bad)
    found = [FoundMiner("10.0.0.9", model="S19 Pro (BOS+)"), FoundMiner("10.0.0.3", model="S19 Pro (BOS+)"),
             FoundMiner("10.0.1.3", model="S19 Pro (BOS+)")]
    name_found(found)
    assert [(m.name, m.priority) for m in found] == [("s19-pro-9", 2), ("s19-pro-3", 1), ("s19-pro-3-2", 3)]


def test_adapts_the_miners_scan_result():
    from edgemining_tui.miners.model import Capabilities, Level
    item = {"host": "10.0.0.2", "family": "avalon", "model": "Avalon Q", "firmware": "4.11",
            "capabilities": Capabilities(on_off=True, levels=(Level("eco", 800.0), Level("super", 1674.0)),
                                         max_w=1674.0)}
    m = _from_any(item)
    assert (m.host, m.family, m.control, m.min_w, m.max_w) == ("10.0.0.2", "avalon", "levels eco/super", 800.0, 1674.0)


def test_a_battery_with_a_capacity_gets_the_forecast_reserve_on_the_builtin_forecast(tmp_path):
    s = ha_state(tmp_path, policy="battery", latitude=48.1, longitude=11.6, battery_capacity_kwh=10.0,
                 pv_peak_kwp=8.0)
    text = render(s)
    cfg = validate(s, text)
    b = cfg.policy.battery
    assert (b.reserve, b.capacity) == ("forecast", 10000.0)
    assert cfg.policy.headroom_w == "auto" and not cfg.energy.gives_forecast_today()
    assert cfg.site.pv_array.peak == 8000.0
    assert cfg.policy.enable.delay == 120 and cfg.policy.disable.delay == 420 and cfg.policy.min_off == 900
    assert cfg.policy.max_starts_per_day == 2
    s.battery_capacity_kwh = None                          # no capacity: the fixed levels
    cfg = validate(s, render(s))
    assert cfg.policy.battery.capacity is None and cfg.policy.battery.priority_soc == 50
