"""The owner on a real mosquitto: Home Assistant discovery, retained state, the last will, and
commands through the console's own request path (no mocks: a real broker, the real demo owner)."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from edgemining_tui.cli import demo_config_path
from edgemining_tui.config import load_config
from edgemining_tui.homebus.config import MqttPublishConfig
from edgemining_tui.homebus.topics import Topics, discovery_problems

from edgemining_tui.sim import mosquitto

aiomqtt = pytest.importorskip("aiomqtt")
PREFIX = "edgemining/test-house"
USER, PASSWORD = "edge", "s3cret-pw"


@pytest.fixture
async def broker(tmp_path):
    why = mosquitto.unavailable()
    if why:
        pytest.skip(why)
    async with mosquitto.Mosquitto(tmp_path / "broker", USER, PASSWORD) as b:
        yield b


def _client(port: int) -> "aiomqtt.Client":
    return aiomqtt.Client("127.0.0.1", port, username=USER, password=PASSWORD)


def _publish_cfg(broker, **kw) -> MqttPublishConfig:
    return MqttPublishConfig(host="127.0.0.1", port=broker.port, username=USER, password=PASSWORD, **kw)


async def _retained(port: int, pattern: str, settle_s: float = 0.6) -> dict[str, bytes]:
    """Every retained message under a topic filter, as a new subscriber sees it."""
    out: dict[str, bytes] = {}
    async with _client(port) as c:
        await c.subscribe(pattern, qos=1)
        try:
            async with asyncio.timeout(settle_s):
                async for m in c.messages:
                    out[str(m.topic)] = bytes(m.payload)
        except TimeoutError:
            pass
    return out


@pytest.fixture
async def owner(broker, tmp_path):
    from edgemining_tui.runtime import open_runtime
    cfg = load_config(demo_config_path())
    cfg = replace(cfg, mqtt_publish=_publish_cfg(broker, prefix=PREFIX),
                  site=replace(cfg.site, name="Test house"))
    rt = await open_runtime(cfg, data_dir=tmp_path / "data", demo=True)
    pub = rt.engine.mqtt_publisher
    for _ in range(100):
        if pub.connected:
            break
        await asyncio.sleep(0.05)
    assert pub.connected
    await rt.engine.cycle()
    await rt.engine.cycle()      # the second: the Bitaxe's capabilities are learnt by now
    for _ in range(100):
        if pub.published_states >= 2:
            break
        await asyncio.sleep(0.05)
    yield rt, broker
    await rt.close()


async def test_discovery_is_valid_for_home_assistant(owner):
    rt, broker = owner
    msgs = await _retained(broker.port, "homeassistant/#")
    assert msgs, "no discovery published"
    configs = {t: json.loads(p) for t, p in msgs.items()}
    problems = [p for t, c in configs.items() for p in discovery_problems(t, c)]
    assert problems == []
    uids = [c["unique_id"] for c in configs.values()]
    assert len(uids) == len(set(uids))
    devices = {c["device"]["identifiers"][0] for c in configs.values()}
    assert len(devices) == 1 + len(rt.engine.meta)          # the site and one per miner
    by_kind = {}
    for t in configs:
        by_kind.setdefault(t.split("/")[1], []).append(t)
    assert len(by_kind["switch"]) == 1 and len(by_kind["button"]) == 1
    controllable = [n for n in rt.engine.meta if rt.engine.fleet.capabilities(n).controllable]
    assert len(by_kind["select"]) == len(controllable)
    power = next(c for t, c in configs.items() if t.endswith("garage_s19_power/config"))
    caps = rt.engine.fleet.capabilities("garage-s19")
    assert (power["min"], power["max"]) == (caps.lowest_w, caps.highest_w)
    energy = next(c for t, c in configs.items() if t.endswith("garage_s19_energy_kwh/config"))
    assert (energy["device_class"], energy["unit_of_measurement"], energy["state_class"]) == \
        ("energy", "kWh", "total_increasing")
    # every sensor's value is in the state it points at
    states = await _retained(broker.port, f"{PREFIX}/#")
    for t, c in configs.items():
        if t.split("/")[1] == "sensor":
            key = c["value_template"].split("value_json.")[1].split(" ")[0]
            assert key in json.loads(states[c["state_topic"]]), (t, key)


async def test_retained_state_for_the_site_and_every_miner(owner):
    rt, broker = owner
    msgs = await _retained(broker.port, f"{PREFIX}/#")
    assert msgs[f"{PREFIX}/status"] == b"online"
    site = json.loads(msgs[f"{PREFIX}/state"])
    assert site["pv_w"] is not None and site["grid_import_w"] is not None and site["reason"]
    for name in rt.engine.meta:
        m = json.loads(msgs[f"{PREFIX}/miner/{name}/state"])
        assert m["state"] in ("mining", "ramping", "paused") and m["mode"] == "auto"
        assert set(m) >= {"power_w", "target_w", "hashrate_ths", "chip_temp_c", "efficiency_j_th",
                          "override", "override_until", "reason", "fault"}
    full = json.loads(msgs[f"{PREFIX}/state/full"])
    assert set(full["samples"]) == set(rt.engine.meta)


async def _command(port: int, topic: str, payload: str, *, retain: bool = False) -> dict:
    async with _client(port) as c:
        await c.subscribe(f"{PREFIX}/result", qos=1)
        await c.publish(topic, payload, qos=1, retain=retain)
        async with asyncio.timeout(10):
            async for m in c.messages:
                d = json.loads(m.payload)
                if d["topic"] == topic:
                    return d
    raise AssertionError("no result")


async def _cycle_while(rt, coro):
    """Run engine cycles while a command waits for the next cycle to apply it."""
    task = asyncio.ensure_future(coro)
    while not task.done():
        await rt.engine.cycle()
        await asyncio.sleep(0.05)
    return task.result()


async def test_number_set_applies_an_override_and_publishes_it(owner):
    rt, broker = owner
    tp = Topics(PREFIX)
    res = await _cycle_while(rt, _command(broker.port, tp.miner_power_set("garage-s19"), "2000"))
    assert res["ok"], res
    assert rt.engine.state.overrides["garage-s19"]["kind"] == "power"
    assert rt.engine.state.overrides["garage-s19"]["watts"] == 2000
    await rt.engine.cycle()
    await asyncio.sleep(0.3)
    m = json.loads((await _retained(broker.port, tp.miner_state("garage-s19")))[tp.miner_state("garage-s19")])
    assert m["mode"] == "on" and m["override_watts"] == 2000
    # back to automatic through the select
    res = await _cycle_while(rt, _command(broker.port, tp.miner_mode_set("garage-s19"), "auto"))
    assert res["ok"] and "garage-s19" not in rt.engine.state.overrides


@pytest.mark.parametrize("topic_tail, payload, why", [
    ("miner/garage-s19/power/set", "99999", "outside"),
    ("miner/garage-s19/power/set", "nan", "finite"),
    ("miner/garage-s19/power/set", "lots", "number of watts"),
    ("miner/garage-s19/mode/set", "turbo", "auto, on or off"),
    ("miner/nobody/mode/set", "on", "no miner called"),
    ("pause/set", "maybe", "ON or OFF"),
    ("request", "{not json", "not JSON"),
    ("request", json.dumps({"action": "reload", "args": {}, "ts": 0}), "unknown action"),
    ("request", json.dumps({"action": "override", "args": {"miner": "garage-s19", "mode": "on"}, "ts": 1.0}),
     "expired"),
])
async def test_bad_commands_are_refused_with_the_reason(owner, topic_tail, payload, why):
    rt, broker = owner
    before = dict(rt.engine.state.overrides)
    res = await _command(broker.port, f"{PREFIX}/{topic_tail}", payload)
    assert res["ok"] is False and why in res["message"], res
    await rt.engine.cycle()
    assert dict(rt.engine.state.overrides) == before


async def test_a_retained_command_is_not_obeyed(owner):
    """A command left retained on the broker (by a careless automation) is for some earlier moment:
    an owner that (re)connects and receives it refuses it instead of switching a miner off."""
    rt, broker = owner
    pub = rt.engine.mqtt_publisher
    pub._task.cancel()                      # the owner is away from the broker ...
    await asyncio.sleep(0.2)
    async with _client(broker.port) as c:
        await c.subscribe(f"{PREFIX}/result", qos=1)
        await c.publish(f"{PREFIX}/miner/garage-s19/mode/set", "off", qos=1, retain=True)
        pub._task = asyncio.get_running_loop().create_task(pub._run())   # ... and comes back
        async with asyncio.timeout(10):
            async for m in c.messages:
                d = json.loads(m.payload)
                if d["topic"].endswith("garage-s19/mode/set"):
                    break
    assert d["ok"] is False and "retained" in d["message"]
    await rt.engine.cycle()
    assert "garage-s19" not in rt.engine.state.overrides


def _spawn_owner(tmp_path, port: int, prefix: str, name: str) -> subprocess.Popen:
    """A real headless owner of the demo site in its own process, publishing under ``prefix``."""
    cfg = tmp_path / f"{name}.yaml"
    cfg.write_text(demo_config_path().read_text()
                   + f"\nmqtt_publish: {{host: 127.0.0.1, port: {port}, prefix: {prefix}, site_name: {name}, "
                     f"username: {USER}, password: {PASSWORD}}}\n")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "edgemining_tui", "--headless", "--config", str(cfg),
                             "--data-dir", str(tmp_path / name)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                            start_new_session=True)


def _stop_owners(procs: list[subprocess.Popen]) -> None:
    """SIGTERM every spawned owner (a clean stop), SIGKILL what is still there after 20 s."""
    for p in procs:
        os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


async def _wait_status(port: int, topic: str, want: bytes, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = (await _retained(port, topic, 0.3)).get(topic)
        if got == want:
            return True
        await asyncio.sleep(0.2)
    return False


@pytest.mark.slow
async def test_a_killed_owner_shows_as_unavailable(broker, tmp_path):
    proc = _spawn_owner(tmp_path, broker.port, PREFIX, "killed")
    try:
        assert await _wait_status(broker.port, f"{PREFIX}/status", b"online", 60)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        # the broker sends the last will when the connection drops
        assert await _wait_status(broker.port, f"{PREFIX}/status", b"offline", 10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.slow
async def test_one_console_watches_two_sites_and_commands_the_second(broker, tmp_path):
    """Two headless owners (their own processes, their own data dirs) publish to one broker; a
    console's link shows both and sends an override to the second through its request topic."""
    from edgemining_tui.homebus.remote import MqttSitesLink
    procs = [_spawn_owner(tmp_path, broker.port, "edgemining/house", "house"),
             _spawn_owner(tmp_path, broker.port, "edgemining/barn", "barn")]
    link = MqttSitesLink(_publish_cfg(broker),
                         ["edgemining/house", "edgemining/barn"], now=time.time)
    link.start()
    try:
        assert await link.wait_connected()
        seen: dict[str, object] = {}
        deadline = time.monotonic() + 90
        while len(seen) < 2 and time.monotonic() < deadline:
            st = await link.poll_state()
            if st is not None:
                seen[link.current] = st
                link.switch()
            await asyncio.sleep(0.2)
        assert set(seen) == {"edgemining/house", "edgemining/barn"}
        assert all(st.samples for st in seen.values())
        while link.current != "edgemining/barn":
            link.switch()
        assert "site barn (2/2)" in link.describe()
        msg = await link.send("override", {"miner": "office-avalon", "mode": "off", "until": "for 2h"})
        assert "office-avalon" in msg and not msg.startswith("refused"), msg
        deadline = time.monotonic() + 30
        barn = None
        while time.monotonic() < deadline:
            st = await link.poll_state()
            if st is not None and "office-avalon" in st.overrides:
                barn = st
                break
            await asyncio.sleep(0.2)
        assert barn is not None and barn.overrides["office-avalon"]["kind"] == "force_off"
        # the first site was not touched
        link.switch()
        link._seen_version = -1
        house = await link.poll_state()
        assert "office-avalon" not in house.overrides
        # an invalid request is refused by the barn's owner, with its reason
        msg = await link.send("override", {"miner": "office-avalon", "mode": "power", "watts": float("nan")})
        assert msg.startswith("refused") and "finite" in msg
    finally:
        await link.close()
        _stop_owners(procs)


@pytest.mark.slow
async def test_the_console_switches_sites_and_stops_a_miner_at_the_second(broker, tmp_path):
    """The real console (Textual, headless) with ui.sites: the header names the site, S switches,
    and x on a miner of the second site stops it there, through the broker."""
    from textual.widgets import DataTable

    from edgemining_tui.ui.app import EdgeMiningApp
    from edgemining_tui.ui.screens import ConfirmScreen
    procs = [_spawn_owner(tmp_path, broker.port, "edgemining/house", "house"),
             _spawn_owner(tmp_path, broker.port, "edgemining/barn", "barn")]
    cfg = load_config(demo_config_path())
    cfg = replace(cfg, demo=None, mqtt_publish=_publish_cfg(broker),
                  ui=replace(cfg.ui, sites=("edgemining/house", "edgemining/barn"), refresh_interval=0.2))
    app = EdgeMiningApp(cfg, data_dir=tmp_path / "console", observe=True, fleet_throttle_s=0)

    async def until(pilot, cond, timeout_s=90.0):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            await pilot.pause(0.2)
            if cond():
                return True
        return False

    try:
        async with app.run_test(size=(120, 40)) as pilot:
            assert await until(pilot, lambda: app.state is not None and "site house (1/2)" in app.sub_title)
            await pilot.press("S")
            assert await until(pilot, lambda: "site barn (2/2)" in app.sub_title
                               and app.state is not None and "office-avalon" in app.state.samples)
            await pilot.press("2")
            await pilot.pause(0.3)
            t = app.query_one("#fleet-table", DataTable)
            t.move_cursor(row=t.get_row_index("office-avalon"))
            await pilot.press("x")
            await pilot.pause(0.2)
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("y")
            assert await until(pilot, lambda: "office-avalon" in (app.state.overrides or {})
                               and "barn" in app.sub_title, 30)
    finally:
        _stop_owners(procs)



async def test_publishes_over_tls_with_the_brokers_ca(broker, tmp_path):
    """A TLS listener (the CA file the user copies from the broker) carries the same messages."""
    from edgemining_tui.homebus.publisher import MqttPublisher

    class _Engine:
        meta: dict = {}

        def subscribe(self, fn):
            return lambda: None

    from edgemining_tui.energy.config import MqttTls
    cfg = MqttPublishConfig(host="127.0.0.1", port=broker.tls_port, username=USER, password=PASSWORD,
                            tls=MqttTls(ca_file=str(broker.certs["ca"])), prefix=PREFIX)
    pub = MqttPublisher(cfg, _Engine(), None, site_name="tls", now=time.time)
    pub.start()
    try:
        for _ in range(100):
            if pub.connected:
                break
            await asyncio.sleep(0.05)
        assert pub.connected, pub._last_error
        assert (await _retained(broker.port, f"{PREFIX}/status"))[f"{PREFIX}/status"] == b"online"
    finally:
        await pub.close()
    # the wrong password is refused, and the publisher says so once instead of crashing
    bad = MqttPublisher(replace(cfg, password="wrong"), _Engine(), None, site_name="tls", now=time.time)
    bad.start()
    await asyncio.sleep(1.0)
    assert not bad.connected and bad._last_error
    await bad.close()


async def test_the_sites_link_says_when_a_sites_owner_is_offline(broker, tmp_path):
    """A site whose owner went away (its last will says offline) refuses actions before sending."""
    from edgemining_tui.homebus.remote import MqttSitesLink
    link = MqttSitesLink(_publish_cfg(broker), ["edgemining/ghost"], now=time.time)
    link.start()
    try:
        assert await link.wait_connected()
        assert "nothing heard from ghost" in link.owner_gone(None)
        async with _client(broker.port) as c:
            await c.publish("edgemining/ghost/status", "offline", qos=1, retain=True)
        for _ in range(100):
            if link.site.status == "offline":
                break
            await asyncio.sleep(0.05)
        assert "stopped" in link.owner_gone(time.time() - 78) and "1:18" in link.owner_gone(time.time() - 78)
        assert (await link.send("cycle", {})).startswith("refused")
    finally:
        await link.close()
