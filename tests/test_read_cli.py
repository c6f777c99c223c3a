"""`edgemining-tui read energy|miners`: read every configured source or miner once and say what it saw.

Run as a user would (the CLI's own event loop in a thread) against the loopback stand-ins replaying
recorded device replies, and against the demo's emulated miners.
"""
from __future__ import annotations

import asyncio
import json

import pytest

from edgemining_tui.cli import main
from edgemining_tui.sim.fronius_server import FroniusServer
from edgemining_tui.sim.shelly_server import ShellyServer

from energy_corpus import load_corpus

CORPUS = load_corpus()
KEYS = ("pv_w", "house_w", "grid_import_w", "battery_charge_w", "battery_soc_pct")


async def run_cli(capsys, *argv) -> tuple[int, str, str]:
    capsys.readouterr()
    code = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
async def metered_site():
    """A GEN24 without battery (recorded) for PV and house, a Shelly Pro EM (recorded EM1) for the grid."""
    gen24, em1 = CORPUS["fronius/gen24_no_battery_day"], CORPUS["shelly/em1_docs_example"]
    fr = await FroniusServer(replay={gen24["request"]["path"]: gen24["reply"]}).start()
    sh = await ShellyServer(profile="em1", replay={em1["request"]["path"]: em1["reply"]}).start()
    yield fr, sh
    await fr.close()
    await sh.close()


def _config(tmp_path, fr_url, sh_url) -> str:
    p = tmp_path / "config.yaml"
    p.write_text(f"""energy:
  sources:
    inverter: {{fronius: {{url: "{fr_url}", timeout: 2s}}}}
    meter: {{shelly: {{url: "{sh_url}", profile: em1, timeout: 2s}}}}
  use: {{pv: inverter, house: inverter, battery: inverter, grid: meter}}
""")
    return str(p)


async def test_read_energy_json(tmp_path, capsys, metered_site):
    fr, sh = metered_site
    code, out, _ = await run_cli(capsys, "read", "energy", "--config", _config(tmp_path, fr.url, sh.url), "--json")
    assert code == 0
    doc = json.loads(out)
    assert set(KEYS) <= set(doc)
    for k in KEYS:
        assert {"value", "error", "age_s"} <= set(doc[k])
    assert doc["pv_w"]["value"] == pytest.approx(62.948, abs=0.01)
    assert doc["house_w"]["value"] == pytest.approx(695.68, abs=0.01)
    assert doc["grid_import_w"]["value"] == pytest.approx(1327.6) and doc["grid_import_w"]["source"] == "meter"
    assert doc["grid_import_w"]["age_s"] is not None and 0 <= doc["grid_import_w"]["age_s"] < 5
    # a GEN24 without battery: no number, and the reason in words
    assert doc["battery_soc_pct"]["value"] is None and "no battery" in doc["battery_soc_pct"]["error"]
    assert doc["battery_charge_w"]["age_s"] is None


async def test_read_energy_text_says_signs_in_words(tmp_path, capsys, metered_site):
    fr, sh = metered_site
    code, out, _ = await run_cli(capsys, "read", "energy", "--config", _config(tmp_path, fr.url, sh.url))
    assert code == 0
    line = next(ln for ln in out.splitlines() if ln.startswith("grid_import_w"))
    assert "1327.6 W" in line and "importing from the grid" in line and "from meter" in line
    assert "no battery" in next(ln for ln in out.splitlines() if ln.startswith("battery_soc_pct"))


async def test_read_energy_exports_in_words(tmp_path, capsys):
    fx = CORPUS["shelly/pro3em_exporting"]
    sh = await ShellyServer(replay={fx["request"]["path"]: fx["reply"]}).start()
    try:
        p = tmp_path / "c.yaml"
        p.write_text(f"energy:\n  source: shelly\n  shelly: {{url: \"{sh.url}\"}}\n")
        code, out, _ = await run_cli(capsys, "read", "energy", "--config", str(p))
    finally:
        await sh.close()
    assert code == 0
    assert "exporting to the grid" in next(ln for ln in out.splitlines() if ln.startswith("grid_import_w"))


async def test_read_energy_nothing_answers_exit_1(tmp_path, capsys):
    srv = await FroniusServer().start()
    url = srv.url
    await srv.close()                       # a port nobody listens on any more
    p = tmp_path / "c.yaml"
    p.write_text(f"energy:\n  source: fronius\n  fronius: {{url: \"{url}\", timeout: 1s}}\n")
    code, out, _ = await run_cli(capsys, "read", "energy", "--config", str(p), "--json")
    assert code == 1
    doc = json.loads(out)
    assert all(doc[k]["value"] is None and "cannot reach Fronius" in doc[k]["error"] for k in KEYS)


@pytest.mark.parametrize("text,where", [
    ("energy:\n  source: fronius\n  fronius:\n    url: 192.168.1.2\n", "energy.fronius.url"),
    ("energy:\n  source: shelly\n  shelly: {url: 'http://x', profile: em3}\n", "energy.shelly"),
    ("energy:\n  source: demo\n", "no energy source configured"),
])
async def test_read_energy_config_error_exit_2(tmp_path, capsys, text, where):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    code, out, err = await run_cli(capsys, "read", "energy", "--config", str(p))
    assert code == 2 and out == ""
    assert where in err and "Traceback" not in err


async def test_read_miners_demo_fleet(capsys):
    code, out, _ = await run_cli(capsys, "read", "miners", "--demo", "--json")
    assert code == 0
    doc = json.loads(out)
    assert {"garage-s19", "loft-s21", "office-avalon", "desk-bitaxe"} <= set(doc)
    s19 = doc["garage-s19"]
    assert s19["state"] == "mining" and s19["power_w"] > 0 and s19["hashrate_ths"] > 0
    assert s19["chip_temp_c"] is not None and s19["firmware"]
    assert s19["control"]["power_target"] and s19["control"]["min_w"] == 1200
    assert doc["office-avalon"]["control"]["levels"], "the Avalon is controlled by levels"


async def test_read_miners_text_and_dead_miner(tmp_path, capsys):
    p = tmp_path / "c.yaml"
    p.write_text("energy:\n  source: fronius\n  fronius: {url: 'http://127.0.0.1:9'}\n"
                 "miners:\n  - {name: gone, host: 127.0.0.1, family: bitaxe, poll_timeout: 1s, ports: {web: 9}}\n")
    code, out, _ = await run_cli(capsys, "read", "miners", "--config", str(p))
    assert code == 1
    assert out.startswith("gone: ") and ("offline" in out or "unresponsive" in out)
    assert "control:" in out


async def test_read_miners_none_configured_exit_2(tmp_path, capsys):
    p = tmp_path / "c.yaml"
    p.write_text("energy:\n  source: fronius\n  fronius: {url: 'http://127.0.0.1:9'}\n")
    code, _, err = await run_cli(capsys, "read", "miners", "--config", str(p))
    assert code == 2 and "no" in err and "miners" in err


def _battery_at_zero_without_power() -> dict:
    """A recorded exporting GEN24 whose battery input reports SoC 0 % and no power (P_Akku null)."""
    fx = CORPUS["fronius/gen24_secondary_pv_meter"]
    reply = json.loads(json.dumps(fx["reply"]))
    reply["Body"]["Data"]["Site"]["P_Akku"] = None
    reply["Body"]["Data"]["Inverters"]["1"]["SOC"] = 0.0
    return {fx["request"]["path"]: reply}


@pytest.mark.parametrize("present", [None, False])
async def test_battery_present_false_wins_in_the_running_engine(tmp_path, present):
    """battery.present: false — the engine decides without a battery although the source reports one
    at 0 % with its power missing; without it that is 'battery power missing' (the fail-safe)."""
    from edgemining_tui.clock import VirtualClock
    from edgemining_tui.config import load_config
    from edgemining_tui.runtime import open_runtime
    srv = await FroniusServer(replay=_battery_at_zero_without_power()).start()
    try:
        p = tmp_path / "c.yaml"
        p.write_text(f"""energy:
  source: fronius
  fronius: {{url: "{srv.url}"}}
miners:
  - {{name: sim1, driver: simulated, simulated: {{max_w: 1500, min_w: 600}}}}
""" + ("policy:\n  battery: {present: false}\n" if present is False else ""))
        cfg = load_config(p, env={})
        rt = await open_runtime(cfg, clock=VirtualClock(1_750_000_000), data_dir=tmp_path / "data", config_path=p)
        try:
            state = await rt.engine.cycle()
        finally:
            await rt.close()
    finally:
        await srv.close()
    snap, d = state.snapshot, state.decision
    if present is False:
        assert snap.battery_soc_pct.value is None and "battery.present: false" in snap.battery_soc_pct.error
        assert not d.terms.get("failsafe"), d.terms
        assert d.available_w is not None and d.available_w > 1000
    else:
        assert snap.battery_soc_pct.value == 0.0
        assert d.available_w is None and "battery power missing" in str(d.miners["sim1"].reason)


async def test_read_energy_demo_includes_the_forecast(capsys):
    code, out, _ = await run_cli(capsys, "read", "energy", "--demo", "--json")
    assert code == 0
    doc = json.loads(out)
    assert all(doc[k]["value"] is not None and doc[k]["error"] is None for k in KEYS)
    assert {"forecast.power_now_w", "forecast.energy_next_hour_wh", "forecast.energy_today_remaining_wh"} <= set(doc)
    assert doc["grid_import_w"]["source"] == "home_assistant"


async def test_read_energy_waits_for_pushed_values(tmp_path, capsys):
    """An MQTT source (a Tasmota SML reader, recorded telemetry) answers after subscribing: read waits."""
    from edgemining_tui.sim.mqtt_site import LocalBroker
    from edgemining_tui.sim.topic_replay import TopicReplay
    fx = CORPUS["tasmota/gs303_exporting"]
    async with LocalBroker() as broker:
        async with TopicReplay({fx["topic"]: json.dumps(fx["reply"]).encode()}, port=broker.port, period_s=0.2):
            p = tmp_path / "c.yaml"
            p.write_text(f"energy:\n  source: mqtt\n  mqtt:\n    port: {broker.port}\n"
                         f"    grid: {{topic: {fx['topic']}, path: SML.Power_cur}}\n")
            code, out, _ = await run_cli(capsys, "read", "energy", "--config", str(p), "--json", "--wait", "10")
    assert code == 0
    doc = json.loads(out)
    assert doc["grid_import_w"]["value"] == -2150.0 and doc["grid_import_w"]["sign"] == "exporting to the grid"
    assert doc["pv_w"]["value"] is None and "no topic configured" in doc["pv_w"]["error"]


async def test_an_unanswering_miner_of_family_auto_is_not_called_uncontrollable(tmp_path, capsys):
    """A hand-written miner (family auto) that does not answer read 'control: monitor only', and the
    console 'monitor only: never commanded', as if its firmware could not be controlled; it is only
    not identified yet."""
    p = tmp_path / "c.yaml"
    p.write_text("energy:\n  source: fronius\n  fronius: {url: 'http://127.0.0.1:9'}\n"
                 "miners:\n  - {name: s19, host: 127.0.0.2, poll_timeout: 1s}\n")
    code, out, _ = await run_cli(capsys, "read", "miners", "--config", str(p))
    assert code == 1
    assert "control: monitor only (family auto, not identified yet: controlled once it answers)" in out
