"""The read-back mark in the fleet row (docs/console.md: `✓` confirmed, `…` waiting, `✗` not applied).

Real pyasic against an emulated Avalon on loopback. The miner was started by the engine (its start
read back ✓); the user then forces it off while its control commands hang. The row says "off" at
once, but the ✓ is a promise that the miner's reading confirms it: until the stop is read back the
mark is pending, never the start's old ✓.
"""
from __future__ import annotations

import asyncio

from edgemining_tui.clock import RealClock
from edgemining_tui.emulators.fleet import EmulatorSpec, start_emulators
from edgemining_tui.engine.engine import Engine, MinerMeta
from edgemining_tui.miners.factory import build_fleet
from edgemining_tui.policy.config import PolicyConfig
from edgemining_tui.policy.decider import PolicyDecider
from edgemining_tui.ui.fixtures import ScriptedSource
from edgemining_tui.ui.panels.fleet import miner_row


async def _started(clock):
    emus = await start_emulators([EmulatorSpec("q", "avalon", start_paused=True, poll_timeout=0.5,
                                               command_timeout=1.0, ramp_s=0.1)], clock)
    fleet = build_fleet(emus.configs, clock, retries=0)
    decider = PolicyDecider(PolicyConfig(), tz="UTC")
    engine = Engine(clock=clock, source=ScriptedSource(clock, pv_w=9000, house_w=400, grid_w=-8000,
                                                       battery_w=0, soc=80),
                    fleet=fleet, decider=decider, miners=[MinerMeta("q", 1)], interval_s=0.2)
    await fleet.read_all()
    decider.handle("force_on", {"miner": "q", "expiry": "for 1 h"}, clock.now())
    st = await engine.cycle()
    for _ in range(40):
        await engine.wait_commands()
        st = await engine.cycle()
        if miner_row("q", st)[0]["power"][0].endswith("✓"):
            break
        await asyncio.sleep(0.05)
    assert miner_row("q", st)[0]["power"][0].endswith("✓"), "the start was never read back"
    return emus, engine, decider


async def test_off_is_pending_until_the_miner_reads_stopped():
    clock = RealClock()
    emus, engine, decider = await _started(clock)
    try:
        emus["q"].set_hang(True, commands_only=True)
        decider.handle("force_off", {"miner": "q", "expiry": "for 1 h"}, clock.now())
        st = await engine.cycle()
        power = miner_row("q", st)[0]["power"][0]
        assert "/ off" in power and st.samples["q"].running
        assert not power.endswith("✓") and power.endswith("…"), power
        emus["q"].set_hang(False, commands_only=True)
    finally:
        await engine.close()
        await emus.stop()


async def test_off_shows_the_tick_once_the_reading_confirms_it():
    clock = RealClock()
    emus, engine, decider = await _started(clock)
    try:
        decider.handle("force_off", {"miner": "q", "expiry": "for 1 h"}, clock.now())
        seen = []
        for _ in range(60):
            st = await engine.cycle()
            power = miner_row("q", st)[0]["power"][0]
            seen.append(power)
            if power.endswith("✓"):
                # the tick comes from the stop's own read-back: the miner reports it stopped
                v = st.verifications["q"]
                assert v.command.kind.value == "stop" and v.confirmed, v
                assert not st.samples["q"].running, st.samples["q"]
                break
            await asyncio.sleep(0.05)
        assert seen[-1].endswith("off ✓"), seen
    finally:
        await engine.close()
        await emus.stop()
