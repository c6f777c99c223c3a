"""One engine cycle end to end on a virtual clock: energy in, decision, command, history out."""
from __future__ import annotations

import asyncio

from edgemining_tui.clock import VirtualClock
from edgemining_tui.energy.snapshot import EnergySnapshot, Reading
from edgemining_tui.engine.engine import Engine, MinerMeta
from edgemining_tui.engine.events import EngineState, Event
from edgemining_tui.miners.config import MinerConfig, SimulatedSpec
from edgemining_tui.miners.factory import build_fleet
from edgemining_tui.policy.simple import SimpleDecider
from edgemining_tui.store.db import Store


class ScriptedSource:
    """An energy source whose grid reading a test sets directly."""

    name = "scripted"

    def __init__(self, clock, grid_w=-4000.0):
        self.clock = clock
        self.grid_w = grid_w
        self.fail = False

    async def start(self):
        pass

    async def close(self):
        pass

    async def read(self):
        now = self.clock.now()
        r = lambda v: Reading(v, now, self.name)  # noqa: E731
        if self.fail:
            return EnergySnapshot.empty(now, self.name, "sensor offline")
        return EnergySnapshot(now, r(6000.0), r(500.0), r(self.grid_w), r(0.0), r(80.0))


def make_engine(tmp_path, clock, source, **kw):
    miners = [MinerConfig(name="m1", driver="simulated", priority=1,
                          simulated=SimulatedSpec(max_w=3000, min_w=1000, ramp=30, start_paused=True))]
    fleet = build_fleet(miners, clock, retries=0)
    store = Store(tmp_path / "history.db")
    eng = Engine(clock=clock, source=source, fleet=fleet, decider=SimpleDecider(),
                 miners=[MinerMeta("m1", 1)], store=store, interval_s=5, **kw)
    return eng, store


async def test_cycle_reads_decides_commands_and_records(tmp_path):
    clock = VirtualClock(1_750_000_000)
    source = ScriptedSource(clock, grid_w=-4000)
    eng, store = make_engine(tmp_path, clock, source)
    seen = []
    eng.subscribe(seen.append)
    st = await eng.cycle()
    assert isinstance(st, EngineState)
    assert st.snapshot.value("grid_import_w") == -4000
    d = st.decision.miners["m1"]
    assert d.run and d.command is not None and d.command.kind.value == "start"
    assert any(isinstance(e, Event) and e.kind == "command" for e in seen)
    # the miner was really started: after its ramp it draws power
    clock.advance(60)
    st2 = await eng.cycle()
    assert st2.samples["m1"].power_w > 900
    assert store.count("energy") == 2
    assert store.count("miner_samples") == 2
    assert store.count("commands") == 1
    assert store.why("m1", clock.now())["run"] == 1
    store.close()


async def test_stale_energy_is_visible_and_never_zero(tmp_path):
    clock = VirtualClock(1_750_000_000)
    source = ScriptedSource(clock)
    source.fail = True
    eng, store = make_engine(tmp_path, clock, source)
    events = []
    eng.subscribe(lambda x: events.append(x) if isinstance(x, Event) else None)
    st = await eng.cycle()
    assert st.stale == ("grid_import_w",)
    assert st.snapshot.value("grid_import_w") is None
    assert st.decision.miners["m1"].term == "stale"
    assert st.decision.miners["m1"].command is None
    # one fault event, not one per cycle; and one when it clears
    await eng.cycle()
    source.fail = False
    await eng.cycle()
    kinds = [e.kind for e in events]
    assert kinds.count("fault") == 1 and kinds.count("fault_cleared") == 1
    store.close()


async def test_observe_only_decides_but_never_commands(tmp_path):
    clock = VirtualClock(1_750_000_000)
    eng, store = make_engine(tmp_path, clock, ScriptedSource(clock), observe_only=True)
    st = await eng.cycle()
    assert st.decision.miners["m1"].command is not None   # it would start it...
    clock.advance(60)
    st = await eng.cycle()
    assert st.samples["m1"].state.value == "paused"       # ...but did not
    assert store.count("commands") == 0
    store.close()


async def test_run_loop_stops_on_event(tmp_path):
    clock = VirtualClock(1_750_000_000)
    eng, store = make_engine(tmp_path, clock, ScriptedSource(clock))
    stop = asyncio.Event()
    states = []
    eng.subscribe(lambda x: (states.append(x), stop.set() if len(states) >= 3 else None)
                  if isinstance(x, EngineState) else None)
    await asyncio.wait_for(eng.run(stop), 5)
    assert len(states) == 3
    assert states[-1].ts - states[0].ts == 10   # one cycle every 5 virtual seconds
    store.close()


async def test_a_request_for_an_unknown_miner_is_refused_and_changes_nothing(tmp_path):
    import pytest
    from edgemining_tui.policy.decider import build_decider
    clock = VirtualClock(1_750_000_000)
    eng, store = make_engine(tmp_path, clock, ScriptedSource(clock))
    eng.decider = build_decider()
    for action, args in (("force_on", {"miner": "ghost"}), ("override", {"miner": "ghost", "mode": "on"})):
        fut = eng.request(action, args)
        await eng.cycle()
        with pytest.raises(ValueError, match="no miner called 'ghost'"):
            fut.result()
    assert "ghost" not in str(eng.decider.overrides_view(clock.now()))
    store.close()


async def test_stop_set_during_a_cycle_ends_the_run_without_waiting_out_the_interval(tmp_path):
    """A stop that comes while a cycle runs ends the loop when the cycle is done, not an interval later."""
    import asyncio as _asyncio
    from edgemining_tui.clock import RealClock
    from edgemining_tui.ui.fixtures import build_owner, close
    rt = build_owner(tmp_path / "data", clock=None)
    eng = rt.engine
    eng.clock = RealClock()
    eng.interval_s = 60.0
    stop = _asyncio.Event()
    real_cycle = eng.cycle

    async def cycle_that_sees_the_stop():
        st = await real_cycle()
        stop.set()
        await _asyncio.sleep(0.05)      # the cycle goes on a little after the stop (a slow read)
        return st
    eng.cycle = cycle_that_sees_the_stop
    try:
        await _asyncio.wait_for(eng.run(stop), 5.0)
    finally:
        await close(rt)
