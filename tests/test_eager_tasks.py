"""The console's loop runs every task eagerly on Python 3.12+ (Textual sets asyncio.eager_task_factory):
a created task runs inside create_task up to its first real suspension, and one that never
suspends is finished before create_task returns. The headless owner keeps the default factory.
These checks run the engine as the console does and expect what headless does."""
from __future__ import annotations

import asyncio

import pytest

from edgemining_tui.clock import VirtualClock
from edgemining_tui.engine.engine import Engine, MinerMeta
from edgemining_tui.miners.config import MinerConfig, SimulatedSpec
from edgemining_tui.miners.fleet import Fleet
from edgemining_tui.miners.simulated import SimulatedDriver
from edgemining_tui.policy.config import EnableConfig, PolicyConfig
from edgemining_tui.policy.decider import build_decider
from edgemining_tui.ui.fixtures import ScriptedSource

T0 = 1_765_000_000.0


class PlugFronted(SimulatedDriver):
    """A simulated miner with a plug in front whose power is on: getting ready for a start needs no
    I/O, so the call never suspends (miners/plug.py SwitchedDriver.prepare returns None at once)."""

    def __init__(self, *a, **kw) -> None:
        super().__init__(*a, **kw)
        self.prepared_at: list[float] = []

    async def prepare(self) -> str | None:
        self.prepared_at.append(self.clock.now())
        return None


async def test_every_enable_timer_asks_the_plug_to_get_ready_in_the_console_too(task_factory):
    """The engine asks a plug to restore power each cycle an enable timer runs (so a plug that cut
    the standby meanwhile is switched on ahead of the start). Under eager tasks a prepare that
    returned at once left its task in the engine's table for good, so the engine never asked that
    miner's plug again for the life of the console: the next start after a standby cut waited for
    a full boot."""
    clock = VirtualClock(T0)
    driver = PlugFronted(MinerConfig("s19", driver="simulated",
                                     simulated=SimulatedSpec(start_paused=True)), clock)
    fleet = Fleet([driver], clock, retries=0)
    dec = build_decider(PolicyConfig(enable=EnableConfig(delay=60.0)), "UTC")
    eng = Engine(clock=clock, source=ScriptedSource(clock, grid_w=-4000.0), fleet=fleet,
                 decider=dec, miners=[MinerMeta("s19", 1)], interval_s=5.0, tz="UTC")
    timer_at = []
    for _ in range(8):
        st = await eng.cycle()
        if st.decision.miners["s19"].term == "enable_timer":
            timer_at.append(clock.now())
        await eng.wait_commands()
        clock.advance(5)
    await eng.close()
    assert len(timer_at) >= 5, timer_at
    assert driver.prepared_at == timer_at
