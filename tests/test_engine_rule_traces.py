"""The Rules panel's data: each considered rule's live truth and the values behind it, per miner."""
from __future__ import annotations

from pathlib import Path

from edgemining_tui.clock import VirtualClock
from edgemining_tui.engine.engine import Engine, MinerMeta
from edgemining_tui.miners.config import MinerConfig, SimulatedSpec
from edgemining_tui.miners.factory import build_fleet
from edgemining_tui.policy.config import PolicyConfig
from edgemining_tui.policy.decider import build_decider
from edgemining_tui.policy.rules_loader import load_policy

from test_skeleton_engine import ScriptedSource

POLICY = Path(__file__).parent / "data" / "policies" / "em_advanced_solar.yaml"


async def test_engine_publishes_rule_traces_with_values():
    clock = VirtualClock(1_750_000_000)
    rules, _ = load_policy(POLICY)
    decider = build_decider(PolicyConfig(), "UTC", rules)
    fleet = build_fleet([MinerConfig(name="m1", driver="simulated",
                                     simulated=SimulatedSpec(start_paused=True))], clock, retries=0)
    eng = Engine(clock=clock, source=ScriptedSource(clock), fleet=fleet, decider=decider,
                 miners=[MinerMeta("m1")])
    st = await eng.cycle()
    traces = st.extra["rules"]
    assert traces, "a policy with rules must show its traces"
    first = traces[0]
    assert first["miner"] == "m1" and first["kind"] == "start"     # a paused miner: start rules apply
    assert first["fired"] in (True, False, None)
    # the detail names a field and the value it had this cycle
    assert any("energy_state.production=6000" in t["detail"] for t in traces)
