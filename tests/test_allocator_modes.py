"""Policy modes (surplus | rules | manual, per fleet and per miner) and the rule-engine hook."""
from __future__ import annotations

import pytest

from _allocator_kit import CONT, ONOFF, T0, inp, sample, snap, view
from edgemining_tui.miners.model import CommandKind
from edgemining_tui.policy.config import EnableConfig, PolicyConfig
from edgemining_tui.policy.decider import build_decider


class FakeRules:
    """RuleHook: start when export >= 1000 W, stop when SoC < 20 % (from the snapshot)."""

    def __init__(self) -> None:
        self.calls = 0

    def evaluate(self, inp, miner, running, *, running_since=None, stopped_since=None):
        self.calls += 1
        soc = inp.snapshot.value("battery_soc_pct")
        grid = inp.snapshot.value("grid_import_w")
        if running:
            if soc is not None and soc < 20:
                return "stop", f"rule 'battery low' fired: SoC {soc:.0f} % < 20 %"
            return None, "no stop rule fired"
        if grid is not None and -grid >= 1000:
            return "start", f"rule 'export' fired: export {-grid:.0f} W ≥ 1000 W"
        return None, "no start rule fired"


def test_manual_mode_never_commands():
    d = build_decider(PolicyConfig(mode="manual"))
    r = d.decide(inp(T0, snap(T0, -9000), view("a", CONT, sample("a", T0, False, power=10))))
    md = r.miners["a"]
    assert md.term == "manual" and md.command is None


def test_groups_mix_modes():
    d = build_decider(PolicyConfig(mode="surplus", groups={"b": "manual"}, enable=EnableConfig(delay=0.0)))
    r = d.decide(inp(T0, snap(T0, -9000), view("a", CONT, sample("a", T0, False, power=10)),
                     view("b", CONT, sample("b", T0, False, power=10), 2)))
    assert r.miners["a"].command.kind is CommandKind.START
    assert r.miners["b"].term == "manual" and r.miners["b"].command is None


def test_rules_mode_is_on_off_with_protection():
    rules = FakeRules()
    d = build_decider(PolicyConfig(mode="rules"), rules=rules)
    t = T0
    r = d.decide(inp(t, snap(t, -1500, charge=0, soc=50), view("a", CONT, sample("a", t, False, power=10))))
    md = r.miners["a"]
    assert md.term == "rule" and md.command.kind is CommandKind.START and md.command.watts is None
    assert "rule 'export' fired" in md.reason
    t += 60
    r = d.decide(inp(t, snap(t, 2000, charge=-500, soc=15), view("a", CONT, sample("a", t, True, power=3000))))
    md = r.miners["a"]
    assert md.term == "min_on" and md.command is None and "battery low" in md.reason
    t += 600
    r = d.decide(inp(t, snap(t, 2000, charge=-500, soc=15), view("a", CONT, sample("a", t, True, power=3000))))
    assert r.miners["a"].command.kind is CommandKind.STOP and r.miners["a"].term == "rule"


def test_rules_mode_without_rules_holds():
    d = build_decider(PolicyConfig(mode="rules"))
    r = d.decide(inp(T0, snap(T0, -5000), view("a", CONT, sample("a", T0, False, power=10))))
    assert r.miners["a"].command is None and "no rules loaded" in r.miners["a"].reason


def test_surplus_mode_stop_rule_vetoes_and_start_rule_forces():
    d = build_decider(PolicyConfig(enable=EnableConfig(delay=0.0), min_on=0.0), rules=FakeRules())
    t = T0
    # plenty of surplus, but SoC 15 %: the stop rule vetoes the start
    r = d.decide(inp(t, snap(t, -5000, charge=0, soc=15), view("a", CONT, sample("a", t, False, power=10))))
    assert r.miners["a"].term == "rule" and r.miners["a"].command is None and "battery low" in r.miners["a"].reason
    # an on/off miner: export 1000 W does not cover its 1000 W + headroom, but the start rule forces it on
    d2 = build_decider(PolicyConfig(), rules=FakeRules())
    r = d2.decide(inp(t, snap(t, -1000, charge=0, soc=50), view("b", ONOFF, sample("b", t, False, power=0))))
    md = r.miners["b"]
    assert md.command.kind is CommandKind.START and md.term == "rule"


def test_ruleset_from_the_rule_engine():
    rl = pytest.importorskip("edgemining_tui.policy.rules_loader")
    text = """
name: test policy
start_rules:
  - name: export
    priority: 10
    conditions:
      all_of:
        - {field: energy_state.grid.exporting_power, operator: gte, value: 1000}
stop_rules:
  - name: battery low
    priority: 10
    conditions:
      any_of:
        - {field: energy_state.battery.state_of_charge, operator: lt, value: 20}
"""
    rs, _warnings = rl.load_policy("policy.yaml", text=text)
    d = build_decider(PolicyConfig(mode="rules"), rules=rs)
    t = T0
    r = d.decide(inp(t, snap(t, -1500, charge=0, soc=50), view("a", CONT, sample("a", t, False, power=10))))
    assert r.miners["a"].command.kind is CommandKind.START and "export" in r.miners["a"].reason
    d2 = build_decider(PolicyConfig(enable=EnableConfig(delay=0.0)), rules=rs)
    r = d2.decide(inp(t, snap(t, -5000, charge=0, soc=10), view("a", CONT, sample("a", t, False, power=10))))
    assert r.miners["a"].term == "rule" and r.miners["a"].command is None and "battery low" in r.miners["a"].reason
