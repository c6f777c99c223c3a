"""Smart-plug miners (miners/plug.py) against loopback Shelly Gen2 and Home Assistant servers that
answer in the shape of the recorded replies (tests/data/plugs/): a miner switched by its plug, and
a plug in front of a pyasic miner that cuts its standby after a long pause and restores it for a
start. Real sockets, real httpx, real pyasic; the clock is virtual."""
from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import httpx
import pytest

from edgemining_tui.clock import VirtualClock
from edgemining_tui.config import ConfigError, load_config
from edgemining_tui.config.types import Secret
from edgemining_tui.miners.config import CapabilityOverrides, MinerConfig, PlugConfig
from edgemining_tui.miners.factory import build_driver
from edgemining_tui.miners.fleet import Fleet
from edgemining_tui.miners.model import CommandKind, MinerCommand, MinerState
from edgemining_tui.miners.plug import (
    PlugDriver, PlugTiming, ShellyGen2Switch, SwitchedDriver, standby_cut_due,
)
from edgemining_tui.sim.plug_servers import HomeAssistantSwitchServer, PlugLoad, ShellySwitchServer

DATA = Path(__file__).resolve().parent / "data" / "plugs"
T0 = 1_765_000_000.0
START, STOP = MinerCommand(CommandKind.START), MinerCommand(CommandKind.STOP)


def recorded(name: str):
    return json.loads((DATA / name).read_text())["reply"]


def shape(v):
    """Keys and value types, recursively (numbers as one type): what a parser relies on."""
    if isinstance(v, dict):
        return {k: shape(x) for k, x in v.items()}
    if isinstance(v, list):
        return [shape(v[0])] if v else []
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    return type(v).__name__


def plug_miner(plug: PlugConfig, name: str = "s9-socket", max_w: float = 1400.0) -> MinerConfig:
    return MinerConfig(name=name, driver="plug", plug=plug, capabilities=CapabilityOverrides(max_w=max_w))


# ------------------------------------------------------------------------------------------------
# the servers answer as the recorded devices do
# ------------------------------------------------------------------------------------------------
async def test_shelly_stand_in_answers_like_the_recorded_plug():
    clock = VirtualClock(T0)
    async with ShellySwitchServer(clock) as srv, httpx.AsyncClient(base_url=srv.url) as c:
        st = (await c.get("/rpc/Switch.GetStatus", params={"id": 0})).json()
        assert shape(st) == shape(recorded("shelly_switch_getstatus.json"))
        r = (await c.get("/rpc/Switch.Set", params={"id": 0, "on": "true"})).json()
        assert shape(r) == shape(recorded("shelly_switch_set.json")) and r == {"was_on": False}
        assert (await c.get("/rpc/Switch.Set", params={"id": 0, "on": "true"})).json() == {"was_on": True}
        bad = await c.get("/rpc/Switch.GetStatus", params={"id": 3})
        assert bad.status_code == 500 and "not found" in bad.json()["message"]


async def test_home_assistant_stand_in_answers_like_the_recorded_api():
    clock = VirtualClock(T0)
    async with HomeAssistantSwitchServer(clock) as srv, httpx.AsyncClient(
            base_url=srv.url, headers={"Authorization": "Bearer ha-token"}) as c:
        st = (await c.get("/api/states/switch.miner_socket")).json()
        assert shape(st) == shape(recorded("ha_switch_state.json"))
        changed = (await c.post("/api/services/switch/turn_on", json={"entity_id": "switch.miner_socket"})).json()
        assert shape(changed) == shape(recorded("ha_service_call.json")) and changed[0]["state"] == "on"
        # nothing to change: Home Assistant answers an empty list
        assert (await c.post("/api/services/switch/turn_on", json={"entity_id": "switch.miner_socket"})).json() == []


def test_recorded_replies_parse_as_the_driver_reads_them():
    st = recorded("shelly_switch_getstatus.json")
    assert st["output"] is False and st["apower"] == 0 and st["id"] == 0
    assert recorded("ha_switch_state.json")["state"] in ("on", "off")


# ------------------------------------------------------------------------------------------------
# a miner driven by its plug (Edge Mining's socket controller)
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["shelly", "home_assistant"])
async def test_plug_miner_on_boot_mining_off(kind):
    clock = VirtualClock(T0)
    load = PlugLoad(run_w=1380.0, boot_w=90.0, boot_s=90.0)
    srv = ShellySwitchServer(clock, load) if kind == "shelly" else \
        HomeAssistantSwitchServer(clock, load=load, power_unit="kW")
    async with srv:
        pc = srv.plug_config(boot_time=90.0)
        fleet = Fleet([build_driver(plug_miner(pc), clock)], clock, retries=0)
        s = (await fleet.read_all())["s9-socket"]
        assert s.state is MinerState.PAUSED and s.power_w == 0.0
        assert (await fleet.apply("s9-socket", START)).ok
        assert srv.relay.on
        clock.advance(5)
        s = (await fleet.read_all())["s9-socket"]
        assert s.state is MinerState.RAMPING and s.power_w == pytest.approx(90.0)   # booting: fans only
        assert fleet.verification("s9-socket").confirmed is True
        clock.advance(90)
        s = (await fleet.read_all())["s9-socket"]
        assert s.state is MinerState.MINING and s.power_w == pytest.approx(1380.0)  # the plug's meter
        assert (await fleet.apply("s9-socket", STOP)).ok
        s = (await fleet.read_all())["s9-socket"]
        assert s.state is MinerState.PAUSED and s.power_w == 0.0 and not srv.relay.on
        # no power target on a plug: refused, not retried
        res = await fleet.apply("s9-socket", MinerCommand(CommandKind.SET_POWER, watts=900))
        assert not res.ok and "not supported" in res.message
        await fleet.close()


async def test_plug_miner_unreachable_or_unavailable_is_offline_never_off():
    clock = VirtualClock(T0)
    async with HomeAssistantSwitchServer(clock, on=True) as srv:
        d = PlugDriver(plug_miner(srv.plug_config(timeout=0.5)), clock)
        srv.unavailable = True
        s = await d.read()
        assert s.state is MinerState.OFFLINE and "unavailable" in s.error
        srv.unavailable = False
        srv.token = "rotated"
        s = await d.read()
        assert s.state is MinerState.OFFLINE and "401" in s.error
        await d.close()
    async with ShellySwitchServer(clock) as srv:
        d = PlugDriver(plug_miner(srv.plug_config(timeout=0.5)), clock)
        srv.password = "secret"
        s = await d.read()
        assert s.state is MinerState.OFFLINE and "password" in s.error
        res = await d.apply(START)
        assert not res.ok and "password" in res.message
        srv.password = None
        srv.hang = True
        s = await d.read()
        assert s.state is MinerState.OFFLINE and "no answer" in s.error
        srv.hang = False
        await d.close()


async def test_plug_miner_under_the_decider_counts_its_starts():
    """Surplus comes and goes every 12 min for 6 h: the plug is switched on only as often as
    max_starts_per_day allows, and never sooner than min_off after it went off."""
    from edgemining_tui.engine.engine import Engine, MinerMeta
    from edgemining_tui.policy.config import EnableConfig, DisableConfig, PolicyConfig
    from edgemining_tui.policy.decider import build_decider
    from edgemining_tui.ui.fixtures import ScriptedSource
    clock = VirtualClock(T0)
    ons: list[float] = []
    offs: list[float] = []

    def switched(on: bool) -> None:
        (ons if on else offs).append(clock.now())
    async with ShellySwitchServer(clock, PlugLoad(run_w=1400, boot_w=80, boot_s=60), on_change=switched) as srv:
        cfg = PolicyConfig(min_on=600.0, min_off=1200.0, max_starts_per_day=3,
                           enable=EnableConfig(delay=30.0), disable=DisableConfig(delay=60.0))
        mc = plug_miner(srv.plug_config(boot_time=60.0))
        fleet = Fleet([build_driver(mc, clock)], clock, retries=0)
        src = ScriptedSource(clock)
        eng = Engine(clock=clock, source=src, fleet=fleet, decider=build_decider(cfg, "Europe/Berlin"),
                     miners=[MinerMeta(mc.name, 1)], interval_s=5.0, tz="Europe/Berlin")
        for i in range(6 * 3600 // 30):
            sunny = (i * 30 // 720) % 2 == 0
            src.values["grid_import_w"] = (-3000.0 if sunny else 1500.0) + (1400.0 if srv.relay.on else 0.0)
            await eng.cycle()
            # a plug answers in milliseconds, a cycle lasts seconds: the command is done before the
            # clock moves on (with eager tasks, as the console runs on 3.12+, nothing else here waits)
            await eng.wait_commands()
            clock.advance(30)
        await fleet.close()
    assert 1 <= len(ons) <= 3
    for t_on in ons:
        before = [t for t in offs if t < t_on]
        if before:
            assert t_on - before[-1] >= 1200.0


# ------------------------------------------------------------------------------------------------
# a plug in front of a pyasic miner
# ------------------------------------------------------------------------------------------------
@contextlib.asynccontextmanager
async def s19_behind_a_plug(clock: VirtualClock, switched: list | None = None):
    """The Braiins emulator behind the Shelly stand-in (boot 30 s, standby cut after 2 min): the
    miner has power only while the relay is on, and power back means a boot. Yields (plug, driver)."""
    from miner_fixtures import spec
    from edgemining_tui.emulators.fleet import start_emulators
    emus = await start_emulators([spec("garage-s19", "braiins")], clock)
    emu = emus["garage-s19"]

    async def follow(on: bool) -> None:
        if switched is not None:
            switched.append((clock.now(), on))
        if on:
            await emu.reboot(30.0)
        else:
            await emu.refuse(True)
    try:
        async with ShellySwitchServer(clock, PlugLoad(run_w=3200, boot_w=120, boot_s=30), on=True,
                                      on_change=follow) as plug:
            mc = emus.config("garage-s19").with_(power_switch=plug.plug_config(boot_time=30.0,
                                                                                standby_cut_after=120.0))
            driver = build_driver(mc, clock)
            assert isinstance(driver, SwitchedDriver)
            yield plug, driver
    finally:
        await emus.stop()


async def test_plug_in_front_of_a_pyasic_miner_cuts_standby_and_restores_for_a_start():
    clock = VirtualClock(T0)
    async with s19_behind_a_plug(clock) as (plug, driver):
        fleet = Fleet([driver], clock, retries=0)
        s = (await fleet.read_all())["garage-s19"]
        assert s.running
        assert (await fleet.apply("garage-s19", STOP)).ok
        s = (await fleet.read_all())["garage-s19"]
        assert s.state is MinerState.PAUSED and plug.relay.on          # a short pause: standby stays
        clock.advance(60)
        await fleet.read_all()
        assert plug.relay.on
        clock.advance(61)                                                # paused > 2 min: cut
        s = (await fleet.read_all())["garage-s19"]
        assert not plug.relay.on and s.state is MinerState.PAUSED and s.power_w == 0.0
        s = (await fleet.read_all())["garage-s19"]
        assert s.state is MinerState.PAUSED and "plug" in (s.error or "")   # not offline: off at the wall
        # a start restores power and waits for the boot
        res = await fleet.apply("garage-s19", START)
        assert res.ok and plug.relay.on and "boots" in res.message
        s = (await fleet.read_all())["garage-s19"]
        assert s.state is MinerState.RAMPING and "booting" in s.error
        clock.advance(31)
        seen = []
        for _ in range(60):             # the emulator comes back; the start goes out; it mines
            await asyncio.sleep(0.05)
            s = (await fleet.read_all())["garage-s19"]
            seen.append((s.state, s.error))
            if s.state is MinerState.MINING:
                break
            clock.advance(1)
        assert (MinerState.RAMPING, "starting after its plug restored power") in seen, seen
        assert any("after power restore: start" in e for e in driver.events), driver.events
        assert s.running, (s.state, driver.events)
        assert fleet.verification("garage-s19").confirmed is True
        assert any("after power restore" in e for e in driver.events)
        assert plug.relay.switched == 2                                  # one cut, one restore
        await fleet.close()


async def test_live_engine_switches_the_plug_on_when_the_enable_timer_starts():
    """The standby was cut; surplus comes back. The plug goes on in the cycle the decider's enable
    timer starts (not with the start), the miner boots inside the 2 min delay and reads paused
    (held) until the start; the start then finds it up: no second boot, one start counted."""
    from edgemining_tui.engine.engine import Engine, MinerMeta
    from edgemining_tui.policy.config import EnableConfig, PolicyConfig
    from edgemining_tui.policy.decider import build_decider
    from edgemining_tui.ui.fixtures import ScriptedSource
    clock = VirtualClock(T0)
    switched: list[tuple[float, bool]] = []
    async with s19_behind_a_plug(clock, switched) as (plug, driver):
        fleet = Fleet([driver], clock, retries=0)
        assert (await fleet.apply("garage-s19", STOP)).ok
        for _ in range(3):                     # paused for more than 2 min: the plug cuts it
            await fleet.read_all()
            clock.advance(61)
        assert not plug.relay.on and driver.cut
        src = ScriptedSource(clock, grid_w=-3000.0)
        dec = build_decider(PolicyConfig(enable=EnableConfig(delay=120.0)), "Europe/Berlin")
        eng = Engine(clock=clock, source=src, fleet=fleet, decider=dec,
                     miners=[MinerMeta("garage-s19", 1)], interval_s=5.0, tz="Europe/Berlin")
        terms: list[tuple[float, str, str]] = []
        for _ in range(60):
            st = await eng.cycle()
            d = st.decision.miners["garage-s19"]
            s = st.samples["garage-s19"]
            terms.append((clock.now(), d.term, s.state.value))
            await asyncio.sleep(0.06)          # the emulator comes back in real time
            await eng.wait_commands()
            if s.state is MinerState.MINING:
                break
            clock.advance(5)
        timer_from = next(t for t, term, _ in terms if term == "enable_timer")
        on_at = [t for t, on in switched if on]
        assert on_at and on_at[0] == timer_from, (on_at, terms[:5])
        # during the delay the miner is never seen running before its start
        started = next(t for t, term, _ in terms if term == "surplus")
        assert started - timer_from >= 120.0
        assert all(state != "mining" for t, _, state in terms if t < started), terms
        assert "power restored ahead of a start" in driver.events
        assert "power restored for a start" not in driver.events       # no second boot
        assert s.state is MinerState.MINING or any(state in ("ramping", "mining") for *_, state in terms[-3:])
        assert dec._slots["garage-s19"].st.starts_on(dec._day(clock.now())) == 1
        await fleet.close()


async def test_a_restart_while_the_plug_is_off_reads_paused_not_offline():
    """After a restart the driver does not know it cut the power: an unreachable miner behind a
    plug that is off reads paused (and a start restores power), not offline."""
    from miner_fixtures import spec
    from edgemining_tui.emulators.fleet import start_emulators
    clock = VirtualClock(T0)
    emus = await start_emulators([spec("garage-s19", "braiins", poll_timeout=0.5)], clock)
    try:
        await emus["garage-s19"].refuse(True)
        async with ShellySwitchServer(clock, on=False) as plug:
            mc = emus.config("garage-s19").with_(power_switch=plug.plug_config(boot_time=30.0))
            d = build_driver(mc, clock)
            s = await d.read()
            assert s.state is MinerState.PAUSED and s.power_w == 0.0
            assert (await d.apply(START)).ok and plug.relay.on
            await d.close()
    finally:
        await emus.stop()


def test_standby_cut_timing():
    t = PlugTiming(boot_s=60, standby_cut_after_s=1800)
    assert not standby_cut_due(None, 5000, t)
    assert not standby_cut_due(1000, 2799, t) and standby_cut_due(1000, 2800, t)
    assert not standby_cut_due(0, 1e9, PlugTiming(standby_cut_after_s=None))


# ------------------------------------------------------------------------------------------------
# config
# ------------------------------------------------------------------------------------------------
BASE = """
site: {name: t, timezone: Europe/Rome}
energy:
  source: home_assistant
  home_assistant: {url: "http://127.0.0.1:8123", token: "${HA_TOKEN}", grid: sensor.grid}
miners:
"""


def test_config_plug_miners(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text(BASE + """  - name: s9-socket
    driver: plug
    plug: {kind: home_assistant, entity: switch.s9, power_entity: sensor.s9_power, boot_time: 2m}
    capabilities: {max_w: 1400W}
  - name: garage-s19
    host: 192.168.1.50
    power_switch: {kind: shelly, host: 192.168.1.60, standby_cut_after: 45m}
""")
    cfg = load_config(p, env={"HA_TOKEN": "x"})
    plug = cfg.miners[0].plug
    assert plug.kind == "home_assistant" and plug.boot_time == 120 and plug.url is None
    assert cfg.miners[1].power_switch.standby_cut_after == 2700
    from edgemining_tui.runtime import plug_defaults
    m = plug_defaults(cfg.miners[0], cfg.energy)
    assert m.plug.url == "http://127.0.0.1:8123" and str(m.plug.token) == "x"


@pytest.mark.parametrize("entry, words", [
    ("{name: a, driver: plug, capabilities: {max_w: 1400W}}", "plug: driver plug needs"),
    ("{name: a, driver: plug, plug: {kind: shelly, host: 1.2.3.4}}", "needs max_w"),
    ("{name: a, driver: plug, plug: {kind: home_assistant, entity: sensor.x}, capabilities: {max_w: 1kW}}",
     "switch.* entity"),
    ("{name: a, host: 192.168.1.5, power_switch: {kind: shelly, host: 1.2.3.4, standby_cut_after: 10s}}",
     "at least 1 min"),
    ("{name: a, driver: simulated, power_switch: {kind: shelly, host: 1.2.3.4}}", "only for pyasic"),
])
def test_config_plug_errors_name_the_key(tmp_path, entry, words):
    p = tmp_path / "c.yaml"
    p.write_text(BASE + f"  - {entry}\n")
    with pytest.raises(ConfigError) as e:
        load_config(p, env={"HA_TOKEN": "x"})
    assert words in str(e.value) and "c.yaml:" in str(e.value)
