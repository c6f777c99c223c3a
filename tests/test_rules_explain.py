"""Three-valued logic, every operator, and the per-rule traces the UI shows."""
from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

import pytest

from edgemining_tui.miners.model import MinerState
from edgemining_tui.policy.fields import DATETIME, NUMBER, STATUS, STRING
from edgemining_tui.policy.rules import (Action, AllOf, AnyOf, Leaf, Not, RuleKind, TimeOfDay)
from edgemining_tui.policy.rules_loader import load_policy, parse_conditions

try:
    from .test_rules_helpers import NOON_WED, POLICIES, SITE, TZ, ctx
except ImportError:
    from test_rules_helpers import NOON_WED, POLICIES, SITE, TZ, ctx

T, F, U = True, False, None


class Const:
    """A node of fixed truth, to pin the connectives."""

    def __init__(self, v):
        self.v = v

    def eval(self, ctx):
        return self.v


def kleene_and(a, b):
    if a is F or b is F:
        return F
    return U if U in (a, b) else T


def kleene_or(a, b):
    if a is T or b is T:
        return T
    return U if U in (a, b) else F


@pytest.mark.parametrize("a,b", list(itertools.product([T, F, U], repeat=2)))
def test_kleene_truth_tables(a, b):
    assert AllOf((Const(a), Const(b))).eval({}) is kleene_and(a, b)
    assert AnyOf((Const(a), Const(b))).eval({}) is kleene_or(a, b)
    assert Not(Const(a)).eval({}) is (U if a is U else (not a))


OPERATOR_CASES = [
    # op, kind, actual, expected, result
    ("eq", NUMBER, 5, 5, T), ("eq", NUMBER, 5.0, 5, T), ("eq", NUMBER, 4, 5, F),
    ("ne", NUMBER, 4, 5, T), ("ne", STRING, "a", "a", F),
    ("gt", NUMBER, 6, 5, T), ("gt", NUMBER, 5, 5, F),
    ("gte", NUMBER, 5, 5, T), ("gte", NUMBER, 4.9, 5, F),
    ("lt", NUMBER, 4, 5, T), ("lt", NUMBER, 5, 5, F),
    ("lte", NUMBER, 5, 5, T), ("lte", NUMBER, 5.1, 5, F),
    ("in", NUMBER, 17, frozenset({17, 18}), T), ("in", NUMBER, 16, frozenset({17, 18}), F),
    ("not_in", STRING, "x", frozenset({"a"}), T), ("not_in", STRING, "a", frozenset({"a"}), F),
    ("contains", STRING, "Antminer S19", "S19", T), ("contains", STRING, "Antminer S9", "S19", F),
    ("starts_with", STRING, "s19-01", "s19", T), ("starts_with", STRING, "x-s19", "s19", F),
    ("ends_with", STRING, "S19 Pro", "Pro", T), ("ends_with", STRING, "Pro S19", "Pro", F),
    ("eq", STATUS, "ON", "on", T), ("in", STATUS, MinerState.FAULT, frozenset({"fault"}), T),
    ("eq", NUMBER, "5", 5, U),             # a value of the wrong kind in the data: unknown, not false
    ("gt", NUMBER, True, 0, U),
    ("eq", NUMBER, None, 5, U),
]


@pytest.mark.parametrize("op,kind,actual,expected,result", OPERATOR_CASES)
def test_each_operator(op, kind, actual, expected, result):
    leaf = Leaf("x", op, expected, None, kind)
    assert leaf.eval({"x": actual}) is result


def test_regex_is_anchored_at_start_like_edge_mining():
    import re
    leaf = Leaf("x", "regex", "s19-[0-9]+", None, STRING, pattern=re.compile("s19-[0-9]+"))
    assert leaf.eval({"x": "s19-01"}) is T
    assert leaf.eval({"x": "my-s19-01"}) is F      # re.match, not re.search


def test_value_ref_needs_both_sides():
    leaf = Leaf("a", "lt", None, "b", NUMBER, NUMBER)
    assert leaf.eval({"a": 1, "b": 2}) is T
    assert leaf.eval({"a": 3, "b": 2}) is F
    assert leaf.eval({"a": 1, "b": None}) is U
    assert leaf.eval({"a": None, "b": 2}) is U
    status = Leaf("s", "eq", None, "t", STATUS, STRING)
    assert status.eval({"s": "ON", "t": "on"}) is T


def test_datetimes_compare_aware_and_by_time_of_day():
    now = datetime(2026, 6, 17, 21, 30, tzinfo=TZ)
    c = {"timestamp": now, "sun.sunset": now - timedelta(minutes=40)}
    assert Leaf("timestamp", "gte", None, "sun.sunset", DATETIME, DATETIME).eval(c) is T
    assert Leaf("timestamp", "gte", TimeOfDay(22 * 3600, "22:00"), None, DATETIME).eval(c) is F
    assert Leaf("timestamp", "lt", TimeOfDay(22 * 3600, "22:00"), None, DATETIME).eval(c) is T
    # a naive datetime in a rule is read in the site timezone, never compared naive-vs-aware
    assert Leaf("timestamp", "gt", datetime(2026, 6, 17, 21, 0), None, DATETIME).eval(c) is T
    assert Leaf("timestamp", "eq", date(2026, 6, 17), None, DATETIME).eval(c) is T


def test_parse_conditions_for_api_use():
    node = parse_conditions({"any_of": [{"field": "energy_state.production", "operator": "gt", "value": 5},
                                        {"not_": {"field": "timestamp.hour", "operator": "in", "value": [1, 2]}}]})
    assert node.eval({"energy_state.production": 1, "timestamp.hour": 3}) is T
    assert node.eval({"energy_state.production": 1, "timestamp.hour": 1}) is F
    assert node.eval({"energy_state.production": None, "timestamp.hour": 1}) is U


# -- explain() -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def constructs():
    return load_policy(POLICIES / "constructs.yaml", SITE)[0]


def test_explain_lists_every_rule_with_truth_and_leaves(constructs):
    c = ctx(soc=96, grid=-500, pv=3500, house=800, price=None)
    traces = constructs.explain(c)
    assert [t.rule for t in traces] == [r.name for r in constructs.start_rules + constructs.stop_rules]
    by = {t.rule: t for t in traces}
    full = by["Battery full"]
    assert (full.kind, full.considered, full.truth, full.fired, full.state) == (RuleKind.START, True, T, True, "true")
    assert [(l.field, l.actual, l.truth) for l in full.leaves] == [
        ("energy_state.battery.state_of_charge", 96.0, T), ("energy_state.grid.exporting_power", 500.0, T)]
    sunny = by["Sunny weekday"]
    assert sunny.truth is U and not sunny.fired and sunny.state == "unknown"
    assert sunny.unknown_fields == ["price.import"]
    assert sunny.tree.kind == "all_of" and sunny.tree.children[3].kind == "not_"
    assert sunny.tree.children[3].text == "not (price.import=unknown > 0.3)"
    stop = by["Battery low"]
    assert stop.considered is False and stop.fired is False and stop.truth is F
    assert sum(t.fired for t in traces) == 1


def test_explain_matches_decide(constructs):
    for kw in (dict(soc=15, state=MinerState.MINING), dict(soc=96, grid=-500), dict(),
               dict(state=MinerState.RAMPING, soc=96, grid=-500)):
        c = ctx(**kw)
        d = constructs.decide(c)
        fired = [t.rule for t in constructs.explain(c) if t.fired]
        assert fired == ([d.rule] if d.rule else [])


def test_value_ref_trace_shows_both_values(constructs):
    c = ctx(soc=50, grid=0, pv=3000, house=1000, climate={"zones": {"bedroom": {
        "temperature_celsius": 18.5, "target_temperature": 21.0}}})
    leaf = next(t for t in constructs.explain(c) if t.rule == "Cold room").leaves[0]
    assert (leaf.actual, leaf.value_ref, leaf.ref_actual, leaf.truth) == (
        18.5, "climate.zones.bedroom.target_temperature", 21.0, T)
    assert leaf.text == ("climate.zones.bedroom.temperature_celsius=18.5 < "
                         "climate.zones.bedroom.target_temperature=21")


def test_match_ignores_status_for_vetoes(constructs):
    # the allocator asks "would a stop rule veto this miner?" whatever its status
    c = ctx(state=MinerState.PAUSED, soc=10)
    d = constructs.match(RuleKind.STOP, c)
    assert (d.action, d.rule) == (Action.STOP, "Battery low")
    assert constructs.decide(c).kind is RuleKind.START


def test_rules_fields_listing(constructs):
    fields = constructs.fields()
    assert "climate.zones.bedroom.target_temperature" in fields and "sun.sunset" in fields
    assert len(fields) == len(set(fields))


def test_noon_context_is_wednesday():
    assert NOON_WED.weekday() == 2
