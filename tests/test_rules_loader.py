"""Loading policies: every error is a ConfigError with file, line and rule name; warnings for
fields this site cannot supply."""
from __future__ import annotations

import textwrap

import pytest

from edgemining_tui.config.errors import ConfigError
from edgemining_tui.policy.fields import SiteSupply
from edgemining_tui.policy.rules import RuleKind
from edgemining_tui.policy.rules_loader import load_policies, load_policy, load_rules_file

try:
    from .test_rules_helpers import POLICIES, SITE
except ImportError:
    from test_rules_helpers import POLICIES, SITE


def policy(cond: str, rule_extra: str = "") -> str:
    """A one-rule policy; the condition block starts on line 6."""
    body = textwrap.indent(textwrap.dedent(cond).strip("\n"), " " * 6)
    return ("name: test\n"
            "start_rules:\n"
            "  - name: My rule\n"
            f"    priority: 1{rule_extra}\n"
            "    conditions:\n"
            f"{body}\n")


def load_text(text: str, site: SiteSupply | None = SITE):
    return load_policy("p.yaml", site, text=text)


ERROR_CASES = [
    # id, text, expected line, substrings of the message
    ("bad-yaml", "name: x\nstart_rules:\n  - name: a\n    conditions: {all_of: [\n", 5,
     ["YAML syntax error"]),
    ("bad-yaml-tab", "name: x\nstart_rules:\n\t- name: a\n", 3, ["YAML syntax error"]),
    ("unknown-field", policy("""
        all_of:
          - field: energy_state.production
            operator: gt
            value: 1
          - field: energy_state.battery.soc
            operator: gt
            value: 50
        """), 10, ["rule 'My rule'", "unknown field 'energy_state.battery.soc'",
                   "did you mean energy_state.battery.state_of_charge"]),
    ("unknown-namespace", policy("""
        field: weather.cloud_cover
        operator: lt
        value: 50
        """), 6, ["rule 'My rule'", "unknown field 'weather.cloud_cover'"]),
    ("undeclared-price-key", policy("""
        field: price.spot
        operator: lt
        value: 0.1
        """), 6, ["unknown field 'price.spot'", "price keys must be declared"]),
    ("unknown-operator", policy("""
        field: energy_state.production
        operator: greater
        value: 100
        """), 7, ["rule 'My rule'", "unknown operator 'greater'", "eq, ne, gt"]),
    ("gt-with-string", policy("""
        field: energy_state.production
        operator: gt
        value: "3000"
        """), 8, ["rule 'My rule'", "energy_state.production is a number (W)", "got text '3000'"]),
    ("in-with-scalar", policy("""
        field: timestamp.hour
        operator: in
        value: 17
        """), 8, ["rule 'My rule'", "operator in needs a list", "got number 17"]),
    ("in-with-strings-for-number", policy("""
        field: timestamp.hour
        operator: in
        value: [17, "18"]
        """), 8, ["timestamp.hour is a number", "got text '18'"]),
    ("bad-regex", policy("""
        field: miner.name
        operator: regex
        value: "s19-(["
        """), 8, ["rule 'My rule'", "bad regular expression 's19-(['"]),
    ("contains-on-number", policy("""
        field: energy_state.production
        operator: contains
        value: "3"
        """), 7, ["operator contains needs a text field", "number"]),
    ("gt-on-text", policy("""
        field: miner.name
        operator: gt
        value: 3
        """), 7, ["operator gt needs numbers or times", "miner.name is a string"]),
    ("status-unknown-word", policy("""
        field: miner_state.status
        operator: eq
        value: running
        """), 8, ["miner_state.status is one of unknown, off, on, starting, stopping, error", "'running'"]),
    ("bool-field-with-number", policy("""
        field: sun.is_daylight
        operator: eq
        value: 1
        """), 8, ["sun.is_daylight is true/false"]),
    ("bad-time", policy("""
        field: timestamp
        operator: gte
        value: "late evening"
        """), 8, ["timestamp is a time", "HH:MM"]),
    ("missing-operator", policy("""
        field: energy_state.production
        value: 100
        """), 5, ["rule 'My rule'", "missing required key 'operator'"]),
    ("missing-value", policy("""
        field: energy_state.production
        operator: gt
        """), 5, ["exactly one of 'value' or 'value_ref' is required"]),
    ("value-and-ref", policy("""
        field: energy_state.production
        operator: gt
        value: 1
        value_ref: energy_state.consumption
        """), 5, ["'value' and 'value_ref' are mutually exclusive"]),
    ("ref-kind-mismatch", policy("""
        field: energy_state.production
        operator: eq
        value_ref: miner.name
        """), 8, ["cannot compare energy_state.production (number) with miner.name (string)"]),
    ("ref-with-in", policy("""
        field: timestamp.hour
        operator: in
        value_ref: sun.sunset.hour
        """), 8, ["operator in needs a list"]),
    ("unknown-ref", policy("""
        field: energy_state.production
        operator: gt
        value_ref: energy_state.consumptoin
        """), 8, ["unknown field 'energy_state.consumptoin'"]),
    ("bad-path-chars", policy("""
        field: energy_state.production-1
        operator: gt
        value: 1
        """), 6, ["dotted path"]),
    ("two-groups", policy("""
        all_of:
          - {field: energy_state.production, operator: gt, value: 1}
        any_of:
          - {field: energy_state.production, operator: gt, value: 1}
        """), 5, ["exactly one of all_of, any_of, not_"]),
    ("empty-group", policy("""
        all_of: []
        """), 6, ["all_of must be a non-empty list"]),
    ("group-and-leaf", policy("""
        all_of:
          - {field: energy_state.production, operator: gt, value: 1}
        field: energy_state.production
        """), 5, ["either a group"]),
    ("not-spelled-not", policy("""
        not:
          field: energy_state.production
          operator: gt
          value: 1
        """), 6, ["unknown condition key 'not'", "did you mean not_"]),
    ("unknown-rule-key", policy("""
        field: energy_state.production
        operator: gt
        value: 1
        """, "\n    enable: false"), 5, ["rule 'My rule'", "unknown key 'enable'"]),
    ("bad-priority", policy("""
        field: energy_state.production
        operator: gt
        value: 1
        """).replace("priority: 1", "priority: high"), 4, ["priority must be a whole number"]),
    ("bad-enabled", policy("""
        field: energy_state.production
        operator: gt
        value: 1
        """, "\n    enabled: yes please"), 5, ["enabled must be true or false"]),
    ("missing-rule-name", "name: x\nstart_rules:\n  - conditions: {field: energy_state.production, "
                          "operator: gt, value: 1}\n", 3, ["missing required key 'name'"]),
    ("missing-conditions", "name: x\nstop_rules:\n  - name: Empty\n    priority: 3\n", 3,
     ["rule 'Empty'", "missing required key 'conditions'"]),
    ("missing-policy-name", "start_rules: []\n", 1, ["missing required key 'name'"]),
    ("rules-not-list", "name: x\nstart_rules:\n  name: a\n", 2, ["start_rules' must be a list"]),
    ("snippet-as-policy", "rules:\n  - name: a\n", 1, ["rule snippet file"]),
    ("duplicate-id", "name: x\nstart_rules:\n  - id: a\n    name: One\n    conditions: {field: energy_state"
                     ".production, operator: gt, value: 1}\nstop_rules:\n  - id: a\n    name: Two\n"
                     "    conditions: {field: energy_state.production, operator: lt, value: 1}\n", 7,
     ["rule 'Two'", "duplicate rule id 'a'"]),
]


@pytest.mark.parametrize("case,text,line,parts", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_load_errors(case, text, line, parts):
    with pytest.raises(ConfigError) as ei:
        load_text(text)
    err = ei.value
    assert err.file == "p.yaml"
    assert err.line == line, str(err)
    for p in parts:
        assert p in str(err), str(err)


def test_error_key_points_into_the_tree():
    with pytest.raises(ConfigError) as ei:
        load_policy(POLICIES / "bad" / "unknown_field.yaml")
    e = ei.value
    assert e.file.endswith("unknown_field.yaml") and e.line == 9
    assert e.key == "start_rules[0].conditions.all_of[1].field"
    assert str(e).startswith(f"{e.file}:9: key 'start_rules[0].conditions.all_of[1].field': rule 'Battery typo'")


def test_bad_yaml_file():
    with pytest.raises(ConfigError) as ei:
        load_policy(POLICIES / "bad" / "bad_yaml.yaml")
    assert ei.value.line == 5 and "YAML syntax error" in str(ei.value)


def test_missing_file():
    with pytest.raises(ConfigError, match="file not found"):
        load_policy(POLICIES / "nope.yaml")


# -- what loads -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["constructs", "em_advanced_solar", "em_room_heating"])
def test_policies_load_without_site(name):
    rs, warnings = load_policy(POLICIES / f"{name}.yaml")
    assert warnings == []
    assert rs.start_rules and rs.stop_rules
    assert [r.priority for r in rs.start_rules] == sorted((r.priority for r in rs.start_rules), reverse=True)


def test_policy_fields_and_defaults():
    rs, _ = load_policy(POLICIES / "em_advanced_solar.yaml")
    assert rs.id == "550e8400-e29b-41d4-a716-446655440000"
    assert rs.name == "Advanced Solar Mining"
    assert rs.metadata["version"] == 3
    assert rs.stop_rules[0].name == "Critical Battery Protection"
    assert rs.stop_rules[0].id.endswith("0004")
    rs, _ = load_policy(POLICIES / "constructs.yaml")
    by = {r.name: r for r in rs.start_rules}
    assert by["Battery full"].enabled is True and by["Always (disabled)"].enabled is False
    text = "name: x\nstart_rules:\n  - name: d\n    conditions: {field: energy_state.production, operator: GT, value: 1}\n"
    rs, _ = load_text(text)
    r = rs.start_rules[0]
    assert (r.priority, r.enabled, r.id, r.description) == (0, True, "", "")
    assert r.conditions.operator == "gt"          # operators are case-insensitive, as in Edge Mining
    assert rs.id == "p"                           # no id: the file name, as in Edge Mining


def test_supply_warnings_name_rule_line_and_field():
    site = SiteSupply(battery=True, battery_capacity=False, forecast_keys=frozenset())
    rs, warnings = load_policy(POLICIES / "em_advanced_solar.yaml", site)
    msgs = {w.field: w for w in warnings}
    assert set(msgs) == {"energy_state.battery.remaining_capacity", "forecast.next_hour_power"}
    w = msgs["forecast.next_hour_power"]
    assert w.rule == "Economic Opportunity" and w.line == 48
    assert "defined by Edge Mining but this site has no data" in str(w)
    assert str(w).startswith(f"{w.file}:48: warning: rule 'Economic Opportunity'")


def test_no_battery_site_warns_for_every_battery_field():
    site = SiteSupply(battery=False, grid=True)
    _, warnings = load_policy(POLICIES / "em_room_heating.yaml", site)
    fields = {w.field for w in warnings}
    assert "energy_state.battery.state_of_charge" in fields
    assert "climate.zones.study.temperature_celsius" in fields
    assert "energy_state.grid.importing_power" not in fields
    # one warning per rule and field, not per leaf
    keys = [(w.rule, w.field) for w in warnings]
    assert len(keys) == len(set(keys))


def test_site_declared_keys_are_fields():
    site = SiteSupply(price_keys=frozenset({"spot"}), forecast_keys=frozenset({"p90_power"}))
    text = policy("""
        all_of:
          - {field: price.spot, operator: lt, value: 0.1}
          - {field: forecast.p90_power, operator: gt, value: 1000}
        """)
    rs, warnings = load_text(text, site)
    assert [w for w in warnings if w.field] == []
    assert rs.start_rules[0].fields() == ["price.spot", "forecast.p90_power"]


def test_policy_without_stop_rules_warns():
    text = "name: x\nstart_rules:\n  - name: a\n    conditions: {field: energy_state.production, operator: gt, value: 1}\n"
    _, warnings = load_text(text)
    assert any("no stop rules" in str(w) for w in warnings)


def test_unknown_top_level_key_warns_not_fails():
    text = "name: x\ntags: [a]\nstart_rules: []\nstop_rules: []\n"
    _, warnings = load_text(text)
    assert any("unknown top-level key 'tags'" in str(w) and w.line == 2 for w in warnings)


def test_rules_snippet_and_snippet_errors():
    rules, warnings = load_rules_file(POLICIES / "em_stop_snippet.yaml", "stop", SITE)
    assert [r.name for r in rules] == ["High Home Load Forecast", "Boiler Peak", "Pool Hashrate Low"]
    assert all(r.kind is RuleKind.STOP for r in rules)
    assert {w.field for w in warnings} >= {"home_load.total_forecast.next_2h.avg_power",
                                           "mining_performance.payout_schedule.frequency"}
    with pytest.raises(ConfigError, match="rules:"):
        load_rules_file("r.yaml", "start", text="name: x\n")


def test_load_policies_one_bad_file_does_not_hide_others(tmp_path):
    (tmp_path / "good.yaml").write_text((POLICIES / "constructs.yaml").read_text())
    (tmp_path / "bad.yaml").write_text((POLICIES / "bad" / "unknown_field.yaml").read_text())
    policies, warnings, errors = load_policies(tmp_path, SITE)
    assert list(policies) == ["constructs"]
    assert len(errors) == 1 and errors[0].file.endswith("bad.yaml") and errors[0].line == 9


def test_time_values():
    rs, _ = load_text(policy("""
        any_of:
          - {field: timestamp, operator: gte, value: "22:00"}
          - {field: timestamp, operator: lt, value: 06:30}
          - {field: timestamp, operator: gt, value: 2026-06-01}
          - {field: timestamp, operator: lt, value: "2026-06-01T10:00:00+02:00"}
        """))
    leaves = rs.start_rules[0].conditions.children
    assert [str(leaf.value) for leaf in leaves[:2]] == ["22:00", "06:30"]
