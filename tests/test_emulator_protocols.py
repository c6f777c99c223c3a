"""pyasic's real code paths against the emulators over real loopback sockets (no mocks)."""
from __future__ import annotations

import asyncio

import pytest

from edgemining_tui.clock import RealClock
from edgemining_tui.miners.model import CommandKind, MinerCommand, MinerState
from edgemining_tui.miners.quiet_pyasic import load

from miner_fixtures import fresh_host, spec, start

STOP = MinerCommand(CommandKind.STOP)
START = MinerCommand(CommandKind.START)


def four_families(timeout_s: float):
    return [spec(n, f, poll_timeout=timeout_s, command_timeout=timeout_s)
            for n, f in (("bos", "braiins"), ("lux", "luxos"), ("ava", "avalon"), ("axe", "bitaxe"))]


@pytest.fixture
async def mixed():
    # 3 s to answer: a loaded test machine (the suite runs on every core) took over 1 s for an
    # Avalon's error reply; only the hang test wants a short timeout, and has its own fleet
    handle, fleet = await start(four_families(3.0))
    yield handle, fleet
    await handle.stop()


@pytest.fixture
async def quick_timeouts():
    handle, fleet = await start(four_families(1.0))
    yield handle, fleet
    await handle.stop()


@pytest.mark.parametrize("family, cls_name, family_seen", [
    ("braiins", "BOSMinerS19Pro", "braiins"),
    ("luxos", "LUXMinerS19Pro", "luxos"),
    ("avalon", "CGMinerAvalonQHome", "avalon"),
])
async def test_identification_on_standard_ports(family, cls_name, family_seen):
    host = fresh_host()
    handle, fleet = await start([spec("m", family, host=host, standard_ports=True)])
    try:
        pyasic = load()
        miner = await pyasic.get_miner(host)
        assert type(miner).__name__ == cls_name
        assert handle.config("m").family == "auto"
        s = (await fleet.read_all())["m"]
        assert s.state is MinerState.MINING, s.error
        assert fleet.driver("m").family == family_seen
        assert s.power_w and s.hashrate_ths and s.hashrate_ths > 0
    finally:
        await handle.stop()


async def test_bitaxe_identification_when_port_80_is_allowed():
    host = fresh_host()
    handle, fleet = await start([spec("axe", "bitaxe", host=host, standard_ports=True)])
    try:
        if handle.config("axe").family != "auto":
            pytest.skip("port 80 needs root here; the launcher fell back to direct mode")
        miner = await load().get_miner(host)
        assert type(miner).__name__ == "BitAxeGamma"
    finally:
        await handle.stop()


async def test_data_read_every_family(mixed):
    handle, fleet = mixed
    s = await fleet.read_all()
    assert set(s) == {"bos", "lux", "ava", "axe"}
    for name, x in s.items():
        assert x.state is MinerState.MINING, (name, x.error)
        assert x.power_w > 0 and x.hashrate_ths > 0 and x.temp_c and x.fan_rpm, name
        assert x.uptime_s and x.uptime_s > 0, name
    assert s["bos"].power_limit_w == 3250 and s["bos"].firmware == "24.06"
    assert len(s["bos"].boards) == 3
    # LuxOS: pyasic 0.79 drops the summary hashrate; we still get it from the boards
    assert s["lux"].hashrate_ths == pytest.approx(sum(b.hashrate_ths for b in s["lux"].boards))
    assert s["lux"].level == "default" and s["ava"].level == "super"
    # AxeOS v2.14 (the emulator's default): pause/resume and frequency levels (tests/test_bitaxe_control.py)
    axe = fleet.capabilities("axe")
    assert axe.on_off and axe.levels and s["axe"].level == "625 MHz"


@pytest.mark.parametrize("name", ["bos", "lux", "ava"])
async def test_stop_and_resume_verified_by_read_back(mixed, name):
    handle, fleet = mixed
    await fleet.read_all()
    r = await fleet.apply(name, STOP)
    assert r.ok, r.message
    s = (await fleet.read_all())[name]
    assert s.state is MinerState.PAUSED and s.hashrate_ths == 0
    v = fleet.verification(name)
    assert v.confirmed is True and v.detail.startswith("commanded stop, miner reports paused")
    assert handle[name].model.paused
    assert (await fleet.apply(name, START)).ok
    s = (await fleet.read_all())[name]
    assert s.running
    assert fleet.verification(name).confirmed is True


async def test_braiins_power_target_exact_watts(mixed):
    handle, fleet = mixed
    assert (await fleet.apply("bos", MinerCommand(CommandKind.SET_POWER, watts=2500))).ok
    s = (await fleet.read_all())["bos"]
    assert s.power_limit_w == 2500
    assert fleet.verification("bos").detail == "commanded 2500 W, miner reports 2500 W"
    assert handle["bos"].model.target_w == 2500
    # gRPC login happened once per token, not per call
    assert handle["bos"].logins >= 1


async def test_braiins_out_of_range_target_is_refused(mixed):
    handle, fleet = mixed
    handle["bos"].faults.power_range = (2000.0, 3000.0)
    r = await fleet.apply("bos", MinerCommand(CommandKind.SET_POWER, watts=1500))
    assert not r.ok
    assert fleet.verification("bos").confirmed is False
    assert handle["bos"].model.target_w == 3250


async def test_luxos_profile_and_avalon_level_changes(mixed):
    handle, fleet = mixed
    await fleet.read_all()
    assert [lv.name for lv in fleet.capabilities("lux").levels] == ["-4", "-2", "default", "+2"]
    assert (await fleet.apply("lux", MinerCommand(CommandKind.SET_POWER, watts=2300))).ok
    # Avalon level 0: pyasic 0.79 cannot send it (bug); the driver sends the ascset itself
    assert (await fleet.apply("ava", MinerCommand(CommandKind.SET_LEVEL, level="eco"))).ok
    s = await fleet.read_all()
    assert s["lux"].level == "-2" and s["lux"].power_limit_w == 2200
    assert s["ava"].level == "eco" and s["ava"].power_limit_w == 800
    assert fleet.verification("lux").confirmed is True
    assert fleet.verification("ava").detail == "commanded level eco, miner reports eco"


async def test_ignored_command_is_caught_by_read_back(mixed):
    handle, fleet = mixed
    handle["bos"].faults.ignore_commands = True
    assert (await fleet.apply("bos", MinerCommand(CommandKind.SET_POWER, watts=2000))).ok
    await fleet.read_all()
    v = fleet.verification("bos")
    assert v.confirmed is False and v.detail == "not applied: miner reports 3250 W"


# ---- faults: each makes the right visible state, and the others' data still arrives ----

async def _others_fine(fleet, samples, bad):
    for name, s in samples.items():
        if name != bad:
            assert s.state is MinerState.MINING, (name, s.error)
            assert s.power_w and s.power_w > 0


@pytest.mark.parametrize("bad", ["bos", "lux", "ava", "axe"])
async def test_refused_miner_is_offline(mixed, bad):
    handle, fleet = mixed
    await handle[bad].refuse(True)
    s = await fleet.read_all()
    assert s[bad].state is MinerState.OFFLINE and s[bad].error
    await _others_fine(fleet, s, bad)
    await handle[bad].refuse(False)
    assert (await fleet.read_all())[bad].state is MinerState.MINING


@pytest.mark.parametrize("bad", ["bos", "lux", "ava", "axe"])
async def test_hanging_miner_is_unresponsive_and_does_not_stall_others(quick_timeouts, bad):
    handle, fleet = quick_timeouts
    fleet.retries = 0          # one attempt is enough to see the timeout
    handle[bad].set_hang(True)
    s = await fleet.read_all()
    assert s[bad].state is MinerState.UNRESPONSIVE
    assert "no answer within" in s[bad].error
    await _others_fine(fleet, s, bad)
    if bad != "axe":
        r = await fleet.apply(bad, STOP)
        assert not r.ok and "no answer within" in r.message
    handle[bad].set_hang(False)
    assert (await fleet.read_all())[bad].state is MinerState.MINING


@pytest.mark.parametrize("bad", ["bos", "lux", "ava", "axe"])
async def test_error_status_is_a_fault(mixed, bad):
    handle, fleet = mixed
    handle[bad].faults.error = True
    s = await fleet.read_all()
    assert s[bad].state is MinerState.FAULT, s[bad].error
    assert "miner reports an error" in s[bad].error
    await _others_fine(fleet, s, bad)
    if bad != "axe":
        r = await fleet.apply(bad, STOP)
        assert not r.ok and "miner reports an error" in r.message


async def test_slow_miner_still_answers():
    # 0.2 s per reply, several replies per read: the read's own timeout is 5 s, as in a real config,
    # not the 1 s the other tests use to see a hang quickly (a loaded test machine went past 1 s)
    handle, fleet = await start([spec("lux", "luxos", poll_timeout=5.0)])
    try:
        handle["lux"].faults.slow_s = 0.2
        s = await fleet.read_all()
        assert s["lux"].state is MinerState.MINING
        assert s["lux"].poll_s >= 0.2          # it was slow, and still read as mining
    finally:
        await handle.stop()


async def test_reboot_goes_offline_then_comes_back(mixed):
    handle, fleet = mixed
    await handle["ava"].reboot(offline_s=0.3)
    s = await fleet.read_all()
    assert s["ava"].state is MinerState.OFFLINE
    await _others_fine(fleet, s, "ava")
    for _ in range(50):
        await asyncio.sleep(0.05)
        s = await fleet.read_all()
        if s["ava"].online:
            break
    assert s["ava"].online
    assert s["ava"].uptime_s < 5


async def test_braiins_short_firmware_string_does_not_break_reads():
    # pyasic 0.79 raises IndexError on a short bosVersion.current; the fast poll avoids that path
    handle, fleet = await start([spec("bos", "braiins")])
    try:
        handle["bos"].version = "24.06"
        s = (await fleet.read_all())["bos"]
        assert s.state is MinerState.MINING
        assert s.firmware == "24.06"
    finally:
        await handle.stop()


async def test_demo_launcher_gives_configs_and_power():
    from edgemining_tui.config.schema import DemoMiner
    from edgemining_tui.emulators.launcher import start_demo_emulators
    from edgemining_tui.miners.factory import build_fleet

    clock = RealClock()
    emus = await start_demo_emulators([DemoMiner("a", "braiins"), DemoMiner("b", "luxos", max_w=3000, min_w=1500),
                                       DemoMiner("c", "avalon"), DemoMiner("d", "bitaxe")], clock, host="127.0.3.3")
    try:
        fleet = build_fleet(emus.miner_configs, clock)
        s = await fleet.read_all()
        assert all(x.state is MinerState.MINING for x in s.values()), s
        assert [lv.watts for lv in fleet.capabilities("b").levels] == [1500, 2000, 2500, 3000]
        assert set(emus.power_by_miner()) == {"a", "b", "c", "d"}
    finally:
        await emus.close()


def test_loading_pyasic_prints_nothing_on_stderr():
    """`read miners` and every headless start printed asyncssh's DSA deprecation warnings (ten lines
    of library source) when pyasic was imported."""
    import os
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    r = subprocess.run([sys.executable, "-c", "from edgemining_tui.miners.quiet_pyasic import load; load()"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0 and r.stderr == ""
