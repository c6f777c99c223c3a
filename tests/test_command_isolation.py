"""Command isolation (issue 16): a miner that hangs on a command delays no other miner and no cycle.

Real pyasic against two emulated Avalon Q miners on loopback; one answers its status but never its
control commands (``faults.hang_commands``). Each miner's command runs in its own task with its own
deadline, so the cycle returns at once, the other miner is commanded and read as usual, the hung one
shows "command pending" and then "command failed", and no second command is stacked behind the first.
"""
from __future__ import annotations

import asyncio
import time

from edgemining_tui.clock import RealClock
from edgemining_tui.emulators.fleet import EmulatorSpec, start_emulators
from edgemining_tui.engine.engine import Engine, MinerMeta
from edgemining_tui.miners.factory import build_fleet
from edgemining_tui.policy.config import PolicyConfig
from edgemining_tui.policy.decider import PolicyDecider
from edgemining_tui.ui.fixtures import ScriptedSource


def surplus(clock) -> ScriptedSource:
    return ScriptedSource(clock, pv_w=9000, house_w=400, grid_w=-8000, battery_w=0, soc=80)


async def test_a_miner_hanging_on_its_command_holds_up_nothing_else():
    clock = RealClock()
    emus = await start_emulators([
        EmulatorSpec("ok", "avalon", start_paused=True, poll_timeout=0.5, command_timeout=1.0),
        EmulatorSpec("hung", "avalon", start_paused=True, poll_timeout=0.5, command_timeout=1.0)], clock)
    fleet = build_fleet(emus.configs, clock, retries=0)
    decider = PolicyDecider(PolicyConfig(), tz="UTC")
    engine = Engine(clock=clock, source=surplus(clock), fleet=fleet, decider=decider,
                    miners=[MinerMeta("ok", 1), MinerMeta("hung", 2)], interval_s=0.2)
    try:
        await fleet.read_all()                       # pyasic is imported on the first read
        emus["hung"].set_hang(True, commands_only=True)
        now = clock.now()
        for name in ("ok", "hung"):
            decider.handle("force_on", {"miner": name, "expiry": "for 1 h"}, now)
        t0 = time.perf_counter()
        st = await engine.cycle()
        assert time.perf_counter() - t0 < 0.5, "the cycle waited on a command"
        assert st.decision.miners["hung"].command is not None
        assert st.commands["hung"].startswith("command pending: start")
        from edgemining_tui.ui.panels.fleet import miner_row
        assert miner_row("hung", st)[0]["reason"][0].startswith("command pending: start")

        cycle_s, pending_seen = [], 0
        deadline = time.perf_counter() + 6.0
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            st = await engine.cycle()
            cycle_s.append(time.perf_counter() - t0)
            if st.commands.get("hung", "").startswith("command pending"):
                pending_seen += 1
                d = st.decision.miners["hung"]
                assert d.command is None and "waiting for" in d.reason, d
            if st.commands.get("hung", "").startswith("command failed") and st.samples["ok"].running:
                break
            await asyncio.sleep(0.2)
        # the other miner was started and read every cycle; no cycle waited on the hung command
        assert st.samples["ok"].running, st.samples["ok"]
        assert "ok" not in st.commands
        assert max(cycle_s) < 0.9, cycle_s
        assert pending_seen >= 3
        # the deadline ((1 s + 1 s) × 1 attempt) ended it as a failure, shown as such
        assert st.commands["hung"].startswith("command failed: start"), st.commands
        cells = miner_row("hung", st)[0]
        assert cells["reason"][0].startswith("command failed") and cells["power"][1] == "miner-fault"
        # one command reached the hung miner while it was pending: nothing was stacked behind it
        assert emus["hung"].control_requests == 1
    finally:
        await engine.close()
        await emus.stop()


async def test_close_does_not_wait_for_a_hung_command():
    clock = RealClock()
    emus = await start_emulators([EmulatorSpec("hung", "avalon", start_paused=True, poll_timeout=0.5,
                                               command_timeout=30.0)], clock)
    fleet = build_fleet(emus.configs, clock, retries=0)
    decider = PolicyDecider(PolicyConfig(), tz="UTC")
    engine = Engine(clock=clock, source=surplus(clock), fleet=fleet, decider=decider,
                    miners=[MinerMeta("hung", 1)], interval_s=0.2)
    try:
        await fleet.read_all()
        emus["hung"].set_hang(True, commands_only=True)
        decider.handle("force_on", {"miner": "hung", "expiry": "for 1 h"}, clock.now())
        st = await engine.cycle()
        assert st.commands["hung"].startswith("command pending")
    finally:
        t0 = time.perf_counter()
        await engine.close()
        assert time.perf_counter() - t0 < 2.0
        await emus.stop()
