"""Physics model, simulated driver, fleet logic (no sockets) and the miner config."""
from __future__ import annotations

import pytest

from edgemining_tui.clock import VirtualClock
from edgemining_tui.config.errors import ConfigError
from edgemining_tui.config.loader import Builder, read_yaml
from edgemining_tui.miners.config import CapabilityOverrides, LevelSpec, MinerConfig, SimulatedSpec
from edgemining_tui.miners.factory import build_driver, build_fleet
from edgemining_tui.miners.fleet import Fleet
from edgemining_tui.miners.model import CommandKind, MinerCommand, MinerState
from edgemining_tui.miners.simulated import SimulatedDriver
from edgemining_tui.sim.miner_model import MinerModel


def test_model_ramps_to_target_and_pauses_to_idle():
    m = MinerModel(max_w=3000, min_w=1000, idle_w=15, ramp_s=60, now=0, paused=True)
    assert m.power_w == 15 and m.hashrate_ths == 0
    m.resume()
    m.step(30)
    assert 15 < m.power_w < 3000          # halfway up the ramp
    assert m.hashrate_ths > 0
    m.step(61)
    assert m.power_w == 3000
    assert m.hashrate_ths == pytest.approx((3000 - 15) / 29.5)
    m.set_target(2000)
    m.step(200)
    assert m.power_w == 2000
    assert m.set_target(100) == 1000       # clamped like firmware
    m.pause()
    m.step(400)
    assert m.power_w == 15 and m.hashrate_ths == 0


def test_model_temperatures_and_fans_follow_power():
    m = MinerModel(max_w=3000, idle_w=15, ambient_c=20, now=0, paused=True)
    m.step(10_000)
    cold_t, cold_fan = m.board_temp_c, m.fan_rpm
    m.resume()
    m.step(20_000)
    assert m.board_temp_c > cold_t + 20
    assert m.chip_temp_c > m.board_temp_c
    assert m.fan_rpm > cold_fan


def test_model_reboot_goes_offline_then_back_with_fresh_uptime():
    m = MinerModel(now=0)
    assert m.uptime_s(100) > 3000
    m.reboot(100, offline_s=30)
    assert not m.online_at(110)
    m.step(110)
    assert m.power_w == 0
    m.step(140)
    assert m.online_at(140)
    assert m.uptime_s(150) == pytest.approx(20)


def test_model_levels():
    m = MinerModel(levels=(("eco", 800), ("std", 1300), ("super", 1674)), max_w=1674, min_w=800, now=0)
    assert m.level_name == "super"
    m.set_level(0)
    m.step(1000)
    assert m.power_w == 800 and m.level_name == "eco"


def sim_cfg(name="sim", **spec_kw):
    return MinerConfig(name=name, driver="simulated", simulated=SimulatedSpec(**spec_kw))


async def test_simulated_driver_reads_and_commands_on_virtual_clock():
    clock = VirtualClock()
    d = build_driver(sim_cfg(ramp=60), clock)
    assert isinstance(d, SimulatedDriver)
    s = await d.read()
    assert s.state is MinerState.MINING and s.power_w == 3250
    r = await d.apply(MinerCommand(CommandKind.SET_POWER, watts=2000))
    assert r.ok
    clock.advance(5)
    assert (await d.read()).state is MinerState.RAMPING
    clock.advance(600)
    s = await d.read()
    assert s.power_w == 2000 and s.power_limit_w == 2000 and s.state is MinerState.MINING
    await d.apply(MinerCommand(CommandKind.STOP))
    clock.advance(600)
    s = await d.read()
    assert s.state is MinerState.PAUSED and s.power_w == 15 and s.hashrate_ths == 0


async def test_fleet_verifies_by_read_back_and_reports_not_applied():
    clock = VirtualClock()
    a = SimulatedDriver(sim_cfg("a"), clock)
    b = SimulatedDriver(sim_cfg("b"), clock)
    fleet = Fleet([a, b], clock, backoff_s=1)
    await fleet.read_all()
    assert (await fleet.apply("a", MinerCommand(CommandKind.SET_POWER, watts=2500))).ok
    assert fleet.verification("a").confirmed is None
    clock.advance(10)
    await fleet.read_all()
    v = fleet.verification("a")
    assert v.confirmed is True and v.detail == "commanded 2500 W, miner reports 2500 W"

    b.faults.ignore_commands = True
    assert (await fleet.apply("b", MinerCommand(CommandKind.SET_POWER, watts=2000))).ok
    clock.advance(10)
    await fleet.read_all()
    v = fleet.verification("b")
    assert v.confirmed is False and v.detail == "not applied: miner reports 3250 W"


async def test_fleet_retries_with_backoff_and_gives_up():
    clock = VirtualClock()
    d = SimulatedDriver(sim_cfg("a"), clock)
    d.faults.refuse_commands = True
    fleet = Fleet([d], clock, retries=3, backoff_s=1, max_backoff_s=3)
    t0 = clock.now()
    r = await fleet.apply("a", MinerCommand(CommandKind.STOP))
    assert not r.ok and "after 4 attempts" in r.message
    assert clock.now() - t0 == pytest.approx(1 + 2 + 3)      # bounded exponential backoff
    assert fleet.verification("a").confirmed is False


async def test_fleet_does_not_retry_unsupported_and_reads_faulty_drivers():
    clock = VirtualClock()
    mon = SimulatedDriver(MinerConfig(name="mon", driver="simulated",
                                      capabilities=CapabilityOverrides(monitor_only=True)), clock)
    off = SimulatedDriver(sim_cfg("off"), clock)
    off.faults.offline = True
    hung = SimulatedDriver(sim_cfg("hung"), clock)
    hung.faults.unresponsive = True
    fleet = Fleet([mon, off, hung], clock)
    r = await fleet.apply("mon", MinerCommand(CommandKind.STOP))
    assert not r.ok and "monitor-only" in r.message
    s = await fleet.read_all()
    assert s["mon"].state is MinerState.MINING
    assert s["off"].state is MinerState.OFFLINE
    assert s["hung"].state is MinerState.UNRESPONSIVE


async def test_fleet_levels_miner_maps_watts_to_level():
    clock = VirtualClock()
    d = SimulatedDriver(sim_cfg("q", control="levels", max_w=1674, min_w=800,
                                levels=(LevelSpec("eco", 800), LevelSpec("std", 1300), LevelSpec("super", 1674))),
                        clock)
    fleet = Fleet([d], clock)
    assert (await fleet.apply("q", MinerCommand(CommandKind.SET_POWER, watts=1400))).ok
    clock.advance(5)
    s = (await fleet.read_all())["q"]
    assert s.level == "std"
    assert fleet.verification("q").confirmed is True


def build(text: str) -> MinerConfig:
    doc = read_yaml("miners.yaml", text)
    return Builder(doc, env={"PW": "s3cret"}).build(MinerConfig)


def test_config_from_yaml():
    c = build("""
name: garage
host: 192.168.1.50
family: braiins
password: ${PW}
ports: {rpc: 14028, grpc: 15051}
capabilities:
  min_w: 1.2kW
  max_w: 3250W
  levels:
    - {name: eco, watts: 1500W}
poll_timeout: 3s
""")
    assert c.family == "braiins" and c.ports.grpc == 15051
    assert c.capabilities.min_w == 1200 and c.capabilities.levels[0].watts == 1500
    assert str(c.password) == "s3cret" and "s3cret" not in repr(c)
    assert c.poll_timeout == 3 and c.command_timeout == 15


@pytest.mark.parametrize("text, where, words", [
    ("name: a\nhost: 10.0.0.1\ncapabilities:\n  min_w: 4000\n  max_w: 3000\n", 4, "above max_w"),
    ("name: a\nhost: miner.local\n", 2, "IP address"),
    ("name: a\nhost: 10.0.0.1\nfamily: whatever\n", 3, "expected one of"),
    ("name: a\nhost: 10.0.0.1\nports: {rpc: 14028}\n", 1, "explicit family"),
    ("name: a\ndriver: simulated\nsimulated: {control: levels}\n", 3, "needs at least one level"),
])
def test_config_errors_have_lines(text, where, words):
    with pytest.raises(ConfigError) as ei:
        build(text)
    assert words in str(ei.value)
    assert ei.value.line == where


def test_build_fleet_orders_by_priority_and_skips_disabled():
    clock = VirtualClock()
    cfgs = [sim_cfg("c").with_(priority=5), sim_cfg("a").with_(priority=1), sim_cfg("x").with_(enabled=False)]
    assert build_fleet(cfgs, clock).names == ["a", "c"]
