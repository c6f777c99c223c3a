"""Table-driven decisions: contexts -> START / STOP / MAINTAIN with Edge Mining's semantics."""
from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum

import pytest

from edgemining_tui.miners.model import MinerState
from edgemining_tui.policy.rules import Action, RuleKind
from edgemining_tui.policy.rules_loader import load_policy, load_rules_file

try:
    from .test_rules_helpers import NOON_WED, POLICIES, SITE, TZ, ctx
except ImportError:  # tests/ is not a package
    from test_rules_helpers import NOON_WED, POLICIES, SITE, TZ, ctx

M, P = MinerState.MINING, MinerState.PAUSED
SAT_11 = datetime(2026, 6, 20, 11, 0, tzinfo=TZ)
EVENING = datetime(2026, 6, 17, 21, 30, tzinfo=TZ)      # after sunset (~20:48), before 22:00
LATE = datetime(2026, 6, 17, 22, 30, tzinfo=TZ)
WARM_BEDROOM = {"zones": {"bedroom": {"temperature_celsius": 22.0, "target_temperature": 21.0,
                                      "hysteresis_celsius": 0.5}}}
COLD_BEDROOM = {"zones": {"bedroom": {"temperature_celsius": 18.0, "target_temperature": 21.0,
                                      "hysteresis_celsius": 0.5}}}


@pytest.fixture(scope="module")
def constructs():
    rs, warnings = load_policy(POLICIES / "constructs.yaml", SITE)
    assert warnings == []
    return rs


@pytest.fixture(scope="module")
def advanced():
    rs, _ = load_policy(POLICIES / "em_advanced_solar.yaml", SITE)
    return rs


@pytest.fixture(scope="module")
def heating():
    rs, _ = load_policy(POLICIES / "em_room_heating.yaml", SITE)
    return rs


CONSTRUCT_CASES = [
    # id, context kwargs, action, rule
    ("battery-full", dict(soc=96, grid=-500), Action.START, "Battery full"),
    ("sunny-weekday", dict(soc=50, grid=-100, pv=3500, house=800, price={"import": 0.20}),
     Action.START, "Sunny weekday"),
    ("sunny-by-forecast", dict(soc=50, grid=-100, pv=2000, house=800, price={"import": 0.20},
                               forecast={"power_now": 2600}), Action.START, "Sunny weekday"),
    ("expensive-import-blocks-sunny", dict(soc=50, grid=-100, pv=3500, house=800, price={"import": 0.40}),
     Action.MAINTAIN, None),
    ("saturday-not-weekday", dict(now=SAT_11, soc=50, grid=-100, pv=3500, house=800,
                                  price={"import": 0.2}), Action.MAINTAIN, None),
    ("cold-room", dict(soc=50, grid=0, pv=3000, house=1000, price={"import": 0.40}, climate=COLD_BEDROOM),
     Action.START, "Cold room"),
    ("warm-room", dict(soc=50, grid=0, pv=3000, house=1000, price={"import": 0.40}, climate=WARM_BEDROOM),
     Action.MAINTAIN, None),
    ("named-miner", dict(soc=50, grid=-1500, pv=2000, house=500, price={"import": 0.40},
                         forecast={"power_now": 1000}), Action.START, "Named miner"),
    ("named-miner-regex-fails", dict(soc=50, grid=-1500, pv=2000, house=500, price={"import": 0.40},
                                     forecast={"power_now": 1000}, miner_kw={"name": "s19-01x"}),
     Action.MAINTAIN, None),
    ("named-miner-faulted-considers-start", dict(state=MinerState.FAULT, soc=50, grid=-1500, pv=2000,
                                                 house=500, price={"import": 0.4}, forecast={"power_now": 0}),
     Action.MAINTAIN, None),   # status error -> start rules, but miner.status not_in [fault, ...] is false
    ("offline-is-unknown-starts", dict(state=MinerState.OFFLINE, soc=96, grid=-500), Action.START,
     "Battery full"),
    ("ramping-holds", dict(state=MinerState.RAMPING, soc=96, grid=-500), Action.MAINTAIN, None),
    ("stopping-holds", dict(state=M, status="stopping", soc=5), Action.MAINTAIN, None),
    # stop side (miner mining)
    ("battery-low", dict(state=M, soc=15, grid=0), Action.STOP, "Battery low"),
    ("battery-draining", dict(state=M, soc=35, batt=-1500, grid=0), Action.STOP, "Battery low"),
    ("priority-orders", dict(state=M, soc=15, grid=800, miner_kw={"temp": 90}), Action.STOP, "Battery low"),
    ("too-hot", dict(state=M, soc=50, grid=800, miner_kw={"temp": 90}), Action.STOP, "Too hot"),
    ("importing", dict(state=M, soc=50, batt=-200, grid=600), Action.STOP, "Importing"),
    ("after-sunset", dict(now=EVENING, state=M, soc=70, grid=0, batt=-300), Action.STOP, "After sunset"),
    ("after-sunset-full-battery", dict(now=EVENING, state=M, soc=90, grid=0, batt=-300,
                                       climate=COLD_BEDROOM), Action.MAINTAIN, None),
    ("quiet-hours", dict(now=LATE, state=M, soc=90, grid=0, climate=WARM_BEDROOM), Action.STOP, "Quiet hours"),
    ("quiet-hours-heat-demand", dict(now=LATE, state=M, soc=90, grid=0, climate=COLD_BEDROOM),
     Action.MAINTAIN, None),
    ("hashrate-dropped", dict(state=M, soc=50, grid=0, running_since=NOON_WED.timestamp() - 700,
                              miner_kw={"hashrate": 5.0}), Action.STOP, "Hashrate dropped"),
    ("hashrate-dropped-just-started", dict(state=M, soc=50, grid=0, running_since=NOON_WED.timestamp() - 60,
                                           miner_kw={"hashrate": 5.0}), Action.MAINTAIN, None),
    ("fine", dict(state=M, soc=60, grid=-300, batt=500), Action.MAINTAIN, None),
]


@pytest.mark.parametrize("case,kw,action,rule", CONSTRUCT_CASES, ids=[c[0] for c in CONSTRUCT_CASES])
def test_constructs_policy(constructs, case, kw, action, rule):
    d = constructs.decide(ctx(**kw))
    assert (d.action, d.rule) == (action, rule), d.reason
    if rule:
        assert d.reason.startswith(f"rule '{rule}' fired: ")


def test_reason_names_rule_and_values(constructs):
    d = constructs.decide(ctx(soc=96, grid=-500))
    assert d.reason == ("rule 'Battery full' fired: energy_state.battery.state_of_charge=96 ≥ 95 "
                        "and energy_state.grid.exporting_power=500 > 200")
    assert d.values == {"energy_state.battery.state_of_charge": 96.0, "energy_state.grid.exporting_power": 500.0}
    assert d.kind is RuleKind.START and d.status == "off"


def test_reason_for_any_of_names_the_true_branch(constructs):
    d = constructs.decide(ctx(state=M, soc=35, batt=-1500, grid=0))
    assert d.reason == ("rule 'Battery low' fired: energy_state.battery.current_power=-1500 < -1000 "
                        "and energy_state.battery.state_of_charge=35 < 40")


def test_reason_for_not_and_value_ref(constructs):
    d = constructs.decide(ctx(soc=50, grid=-100, pv=3500, house=800, price={"import": 0.2}))
    assert "not (price.import=0.2 > 0.3)" in d.reason
    assert "timestamp.weekday=2 in [0, 1, 2, 3, 4]" in d.reason
    d = constructs.decide(ctx(soc=50, grid=0, pv=3000, house=1000, price={"import": 0.4}, climate=COLD_BEDROOM))
    assert ("climate.zones.bedroom.temperature_celsius=18 < climate.zones.bedroom.target_temperature=21"
            in d.reason)


def test_disabled_rule_never_fires(constructs):
    for kw in (dict(pv=0), dict(pv=5000, soc=10)):
        assert constructs.decide(ctx(**kw)).rule != "Always (disabled)"
    # ...but it still evaluates for the UI
    traces = {t.rule: t for t in constructs.explain(ctx(pv=100))}
    assert traces["Always (disabled)"].truth is True and not traces["Always (disabled)"].fired
    assert traces["Always (disabled)"].state == "disabled"


# -- unknown data never fires -------------------------------------------------------------
def test_missing_soc_is_unknown_and_named(constructs):
    d = constructs.decide(ctx(state=M, soc=None, grid=0, batt=None))
    assert d.action is Action.MAINTAIN and d.rule is None
    assert "rule 'Battery low' unknown (energy_state.battery.state_of_charge" in d.reason
    assert "energy_state.battery.state_of_charge" in d.unknown
    assert d.values["energy_state.battery.state_of_charge"] is None


def test_not_over_missing_value_does_not_fire(constructs):
    # price.import missing: not_(price > 0.30) is unknown, so "Sunny weekday" cannot fire
    d = constructs.decide(ctx(soc=50, grid=-100, pv=3500, house=800, price=None))
    assert d.action is Action.MAINTAIN
    assert "rule 'Sunny weekday' unknown (price.import)" in d.reason


def test_all_missing_never_starts_or_stops(constructs):
    for state in (P, M, MinerState.UNKNOWN):
        d = constructs.decide(ctx(state=state))
        assert d.action is Action.MAINTAIN, (state, d.reason)


def test_false_branch_decides_despite_unknown(constructs):
    # battery missing but grid clearly importing: Importing rule is definite
    d = constructs.decide(ctx(state=M, soc=None, grid=900))
    assert (d.action, d.rule) == (Action.STOP, "Importing")


# -- Edge Mining-shaped policies --------------------------------------------------------------
EM_CASES = [
    ("solar", dict(pv=3500, soc=45, grid=-500), Action.START, "Priority Solar Mining"),
    ("weekend-weekday-works", dict(now=SAT_11, pv=500, soc=75, grid=0), Action.START, "Smart Weekend Mining"),
    ("weekday-not-weekend", dict(pv=500, soc=75, grid=0), Action.MAINTAIN, None),
    ("economic-forecast-missing", dict(pv=2500, soc=30, grid=-2000), Action.MAINTAIN, None),
    ("economic", dict(pv=2500, soc=30, grid=-2000, forecast={"next_hour_power": 2500}), Action.START,
     "Economic Opportunity"),
    ("critical-soc", dict(state=M, soc=10, grid=0), Action.STOP, "Critical Battery Protection"),
    ("critical-remaining", dict(state=M, soc=15, grid=0, capacity_wh=5000), Action.STOP,
     "Critical Battery Protection"),
    ("critical-draining", dict(state=M, soc=24, batt=-1500, grid=0, capacity_wh=20_000), Action.STOP,
     "Critical Battery Protection"),
    ("grid-limit", dict(state=M, soc=60, grid=1200), Action.STOP, "Grid Import Limit Protection"),
    ("peak-home", dict(state=M, soc=40, grid=0, house=4500), Action.STOP, "Peak Home Consumption Stop"),
    ("running-fine", dict(state=M, soc=80, grid=-300, house=500), Action.MAINTAIN, None),
]


@pytest.mark.parametrize("case,kw,action,rule", EM_CASES, ids=[c[0] for c in EM_CASES])
def test_advanced_policy(advanced, case, kw, action, rule):
    d = advanced.decide(ctx(**kw))
    assert (d.action, d.rule) == (action, rule), d.reason


def test_error_status_rule_matches_string(advanced):
    """Edge Mining defect: `miner_state.status eq "ERROR"` never matched its plain Enum."""
    c = ctx(state=MinerState.FAULT, soc=80, grid=0)
    d = advanced.match(RuleKind.STOP, c)
    assert (d.action, d.rule) == (Action.STOP, "Maintenance Window Stop")
    assert "miner_state.status=error = error" in d.reason
    # as in Edge Mining, an errored miner has its *start* rules considered by decide()
    assert advanced.decide(c).kind is RuleKind.START


HEAT_CASES = [
    ("heat-surplus", dict(pv=2000, soc=50, grid=-800, house=600,
                          climate={"zones": {"study": {"temperature_celsius": 19, "target_temperature": 21}}}),
     Action.START, "Heat With Solar Surplus"),
    ("peak-first", dict(pv=5000, soc=50, grid=-2500,
                        climate={"zones": {"study": {"temperature_celsius": 19, "target_temperature": 21}}}),
     Action.START, "Peak Solar Heating"),
    ("no-zone-data", dict(pv=5000, soc=50, grid=-2500), Action.MAINTAIN, None),
    ("at-target", dict(state=M, pv=5000, soc=50, grid=-2500,
                       climate={"zones": {"study": {"temperature_celsius": 21.2, "target_temperature": 21}}}),
     Action.STOP, "Room At Target"),
    ("evening-reserve", dict(now=EVENING, state=M, pv=100, soc=60, grid=0,
                             climate={"zones": {"study": {"temperature_celsius": 19, "target_temperature": 21}}}),
     Action.STOP, "Evening Reserve"),
    ("protect-battery", dict(state=M, pv=100, soc=35, grid=1600), Action.STOP, "Protect Battery"),
]


@pytest.mark.parametrize("case,kw,action,rule", HEAT_CASES, ids=[c[0] for c in HEAT_CASES])
def test_room_heating_policy(heating, case, kw, action, rule):
    d = heating.decide(ctx(**kw))
    assert (d.action, d.rule) == (action, rule), d.reason


def test_snippet_rules_with_home_load_and_pool():
    rules, _ = load_rules_file(POLICIES / "em_stop_snippet.yaml", "stop")
    from edgemining_tui.policy.rules import RuleSet
    rs = RuleSet("snippet", stop_rules=tuple(rules))
    c = ctx(state=M, soc=50, home_load={"total_forecast": {"next_2h": {"avg_power": 2600}}})
    assert rs.decide(c).rule == "High Home Load Forecast"
    c = ctx(state=M, soc=50, home_load={"devices.boiler.forecast.next_1h.peak_power": 2500})
    assert rs.decide(c).rule == "Boiler Peak"
    # the disabled pool rule would be true, but never fires
    c = ctx(state=M, soc=90, mining_performance={"pool_stats": {"current_hashrate": {"value": 10}},
                                                "payout_schedule": {"frequency": "daily"}})
    assert rs.decide(c).action is Action.MAINTAIN
    assert [t.truth for t in rs.explain(c) if t.rule == "Pool Hashrate Low"] == [True]


# -- plain dict contexts (no DecisionContext needed) ------------------------------------------
class EMStatus(Enum):      # a plain Enum, as Edge Mining's MinerStatus is
    ON = "on"
    OFF = "off"
    ERROR = "error"


def test_plain_dict_context_and_enum_status(advanced):
    d = advanced.decide({"miner_state.status": EMStatus.ON, "energy_state.grid.importing_power": 1500})
    assert (d.action, d.rule) == (Action.STOP, "Grid Import Limit Protection")
    d = advanced.match(RuleKind.STOP, {"miner_state.status": EMStatus.ERROR})
    assert d.rule == "Maintenance Window Stop"
    d = advanced.decide({"energy_state.production": 4000.0, "energy_state.battery.state_of_charge": 41},
                        status="off")
    assert d.rule == "Priority Solar Mining"


def test_weekday_from_real_clock_every_day(advanced):
    start = datetime(2026, 6, 15, 11, 0, tzinfo=TZ)   # a Monday
    fired = []
    for i in range(7):
        d = advanced.decide(ctx(now=start + timedelta(days=i), pv=500, soc=75, grid=0))
        fired.append(d.rule == "Smart Weekend Mining")
    assert fired == [False] * 5 + [True, True]
