"""Energy config: every example in config.energy.example.yaml loads and builds; bad config says where."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from edgemining_tui.clock import VirtualClock
from edgemining_tui.config.errors import ConfigError
from edgemining_tui.config.loader import Builder, read_yaml
from edgemining_tui.energy.config import EnergyConfig
from edgemining_tui.energy.factory import build_source
from edgemining_tui.energy.homeassistant import HomeAssistantSource
from edgemining_tui.energy.shelly import ShellySource

EXAMPLE = Path(__file__).resolve().parents[1] / "config.energy.example.yaml"
ENV = {"HA_TOKEN": "t0ken", "MQTT_PASSWORD": "pw"}


def load(text: str) -> EnergyConfig:
    doc = read_yaml("energy.yaml", text)
    return Builder(doc, env=ENV).build(EnergyConfig, doc.data.get("energy"), ("energy",))


def example_blocks() -> list[str]:
    """The active block plus every commented-out `# energy:` alternative, uncommented."""
    text = EXAMPLE.read_text()
    blocks = []
    active = []
    for line in text.splitlines():
        if line.startswith("#"):
            if active and active[-1] != "":
                active.append("")
            continue
        active.append(line)
    blocks.append("\n".join(active))
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.rstrip() == "# energy:":
            block = []
            for nxt in lines[i:]:
                if not nxt.startswith("# ") or nxt.strip() == "#":
                    break
                block.append(nxt[2:])
            blocks.append("\n".join(block))
    return blocks


def test_every_example_loads_and_builds():
    blocks = example_blocks()
    assert len(blocks) == 7
    kinds = []
    for text in blocks:
        cfg = load(text)
        src = build_source(cfg, VirtualClock())
        kinds.append(type(src).__name__)
    assert kinds == ["HomeAssistantWsSource", "FroniusSource", "VictronSource", "MqttSource", "CompositeSource",
                     "SunSpecSource", "CompositeSource"]


def test_example_values_are_what_they_say():
    first, fronius, victron, mqtt, composed, sunspec, local = [load(t) for t in example_blocks()]
    assert sunspec.sunspec.preset == "solaredge" and sunspec.sunspec.port == 502
    assert local.sources["dtu"].opendtu is not None and local.use.grid == "p1"
    ha = first.home_assistant
    assert ha.token == "t0ken" and "t0ken" not in repr(ha.token)
    assert ha.battery.invert and not ha.grid.invert and ha.websocket
    assert ha.ws_url == "ws://homeassistant.local:8123/api/websocket"
    # a Tasmota SML reader (GS303 Power_cur) reports + import: no invert
    assert mqtt.mqtt.grid.path == "SML.Power_cur" and not mqtt.mqtt.grid.invert
    assert mqtt.mqtt.pv.topic == "solar/ac/power" and mqtt.mqtt.pv.path is None
    assert mqtt.mqtt.battery.unit == "kW"
    assert victron.victron.keepalive == 10.0
    comp = build_source(composed, VirtualClock())
    assert comp.use == {"pv_w": "inverter", "house_w": "inverter", "grid_import_w": "meter",
                        "battery_charge_w": "inverter", "battery_soc_pct": "inverter"}
    assert comp.forecast_from == "ha"
    assert isinstance(comp.sources["meter"], ShellySource)
    assert isinstance(comp.sources["ha"], HomeAssistantSource)


def test_simple_home_assistant_form_still_works():
    cfg = load("""
energy:
  source: home_assistant
  home_assistant:
    url: http://127.0.0.1:8123
    token: abc
    grid: sensor.grid
""")
    src = build_source(cfg, VirtualClock())
    assert type(src) is HomeAssistantSource


@pytest.mark.parametrize("text,key,message", [
    ("energy:\n  source: fronius\n", "energy", "fronius: required"),
    ("energy:\n  source: fronius\n  fronius:\n    url: 192.168.1.2\n", "energy.fronius.url", "http://"),
    ("energy:\n  sources:\n    a:\n      fronius: {url: 'http://x'}\n      shelly: {url: 'http://y'}\n",
     "energy.sources.a", "exactly one"),
    ("energy:\n  sources:\n    a:\n      fronius: {url: 'http://x'}\n  use:\n    grid: b\n",
     "energy.use", "not in sources"),
    ("energy:\n  sources:\n    a:\n      fronius: {url: 'http://x'}\n    b:\n      shelly: {url: 'http://y'}\n",
     "energy", "use"),
    ("energy:\n  source: victron\n  victron:\n    portal_id: 'a/b'\n", "energy.victron.portal_id", "portal id"),
    ("energy:\n  source: victron\n  victron:\n    portal_id: abc\n    keepalive: 5m\n",
     "energy.victron.keepalive", "60s"),
    ("energy:\n  source: mqtt\n  mqtt:\n    grid: {topic: 'a/+/b'}\n", "energy.mqtt.grid.topic", "wildcards"),
    ("energy:\n  source: fronius\n  fronius:\n    url: http://x\n    invert: {gird: true}\n",
     "energy.fronius.invert.gird", "unknown key"),
])
def test_bad_config_names_the_key(text, key, message):
    with pytest.raises(ConfigError) as e:
        load(text)
    assert e.value.key == key, e.value
    assert message in e.value.message
    assert e.value.line is not None


def test_sim_needs_the_site():
    with pytest.raises(ValueError, match="demo runner"):
        build_source(EnergyConfig(source="sim"), VirtualClock())


def test_missing_aiomqtt_is_a_clear_message(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def fake(name, *a, **kw):
        if name == "aiomqtt":
            raise ImportError("no aiomqtt")
        return real_import(name, *a, **kw)
    monkeypatch.setattr(builtins, "__import__", fake)
    cfg = load("energy:\n  source: mqtt\n  mqtt:\n    grid: meter/power\n")
    with pytest.raises(RuntimeError, match=re.escape("pip install 'edgemining-tui[mqtt]'")):
        build_source(cfg, VirtualClock())


def test_energy_package_imports_without_textual():
    import subprocess
    import sys
    code = ("import sys; sys.modules['textual'] = None\n"
            "import edgemining_tui.energy.factory, edgemining_tui.energy.mqtt, edgemining_tui.energy.victron, "
            "edgemining_tui.energy.ha_websocket\n"
            "import edgemining_tui.sim.fronius_server, edgemining_tui.sim.shelly_server, edgemining_tui.sim.mqtt_site\n"
            "assert 'aiomqtt' not in sys.modules or True\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_pv_only_source_alone_is_refused_with_what_to_do():
    """OpenDTU alone passed check, and the owner then ran with the grid stale forever."""
    with pytest.raises(ConfigError) as e:
        load("energy:\n  source: opendtu\n  opendtu: {url: http://192.168.1.40}\n")
    assert ":2: key 'energy.source'" in str(e.value) and "measures PV only" in str(e.value)
    assert "use: {pv: dtu, grid: meter}" in str(e.value)
    with pytest.raises(ConfigError) as e:
        load("energy:\n  sources:\n    dtu: {opendtu: {url: http://192.168.1.40}}\n")
    assert "measures PV only" in str(e.value)
