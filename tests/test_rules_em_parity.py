"""Edge Mining's own policy and rule-list files (tests/data/edge_mining/, copied from edge-mining/app
and edge-mining/core with a provenance line each): every file loads, and every example rule decides
as Edge Mining's evaluator does, case by case, except where a named defect of Edge Mining's is fixed.

The reference below transcribes Edge Mining's ``RuleEvaluator`` (core/edge_mining/adapters/
infrastructure/rule_engine/custom/helpers.py at edge-mining/app 03b9d8e): a missing field makes a
leaf false, ``not_`` negates that, gt/gte/lt/lte cast both sides to float, eq/ne compare raw values,
in/not_in use Python ``in``. With ``defects=True`` it also reproduces what Edge Mining's context
hands the evaluator:

- WEEKDAY: ``timestamp.weekday`` is a bound method there, so every weekday leaf is false;
- STATUS_ENUM: ``miner_state.status`` / the older ``miner.status`` are a plain Enum there, so
  ``eq "ERROR"`` (any word) is false.

Deliberate differences, each named (docs/rules.md "How we differ"): WEEKDAY and STATUS_ENUM are fixed
here; MISSING: a missing field is *unknown* here (never fires, and ``not_`` of it is unknown, not
true); LEGACY: the older files' field names are read as the fields that replaced them.
"""
from __future__ import annotations

import enum
import itertools
from pathlib import Path

import pytest
import yaml

from edgemining_tui.config import load_config
from edgemining_tui.config.rules import site_supply
from edgemining_tui.policy.rules import RuleKind, RuleSet
from edgemining_tui.policy.rules_loader import LEGACY_FIELDS, load_policy, load_rules_file

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests/data/edge_mining"
POLICIES = sorted(p for p in DATA.rglob("*.yaml") if "polic" in str(p.relative_to(DATA)))
RULE_LISTS = sorted(p for p in DATA.rglob("*.yaml") if p not in POLICIES)
CURRENT = DATA / "app/policies/550e8400-e29b-41d4-a716-446655440000.yaml"


class EMStatus(enum.Enum):   # Edge Mining's MinerStatus: a plain Enum, never equal to a str
    UNKNOWN = "unknown"
    OFF = "off"
    ON = "on"
    STARTING = "starting"
    STOPPING = "stopping"
    ERROR = "error"


STATUS_FIELDS = ("miner_state.status", "miner.status")


def test_provenance_on_every_copied_file():
    files = list(DATA.rglob("*.yaml"))
    assert len(files) == 28
    for f in files:
        first = f.read_text().splitlines()[0]
        assert first.startswith("# provenance: https://github.com/edge-mining/"), f


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: str(p.relative_to(DATA)))
def test_every_edge_mining_policy_loads(path):
    rs, warnings = load_policy(path)
    assert rs.start_rules and rs.stop_rules
    assert warnings == []


@pytest.mark.parametrize("path", RULE_LISTS, ids=lambda p: str(p.relative_to(DATA)))
def test_every_edge_mining_rule_list_loads(path):
    kind = "start" if "/start/" in str(path) else "stop"
    rules, warnings = load_rules_file(path, kind)
    assert rules and all(r.kind is RuleKind(kind) for r in rules)
    assert warnings == []


# ------------------------------------------------------------------------------------------------
# Edge Mining's evaluator, transcribed
# ------------------------------------------------------------------------------------------------
def em_value(ctx: dict, path: str, defects: bool):
    v = ctx.get(path)
    if defects and v is not None:
        if path == "timestamp.weekday":
            return ctx.get  # a bound method, as Edge Mining's datetime.weekday
        if path in STATUS_FIELDS:
            return EMStatus(v)
    return v


def em_leaf(cond: dict, ctx: dict, defects: bool) -> bool:
    fv = em_value(ctx, cond["field"], defects)
    if fv is None:
        return False
    if cond.get("value_ref") is not None:
        exp = em_value(ctx, cond["value_ref"], defects)
        if exp is None:
            return False
    else:
        exp = cond["value"]
        if not defects and cond["field"] in STATUS_FIELDS:
            exp = [x.lower() for x in exp] if isinstance(exp, list) else str(exp).lower()
    op = cond["operator"]
    try:
        if op == "eq":
            return bool(fv == exp)
        if op == "ne":
            return bool(fv != exp)
        if op in ("gt", "gte", "lt", "lte"):
            a, b = float(fv), float(exp)
            return {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[op]
        if op == "in":
            return fv in exp
        if op == "not_in":
            return fv not in exp
    except (TypeError, ValueError):
        return False
    raise AssertionError(f"operator {op} not in the example files")


def em_eval(cond: dict, ctx: dict, defects: bool) -> bool:
    if "all_of" in cond:
        return all(em_eval(c, ctx, defects) for c in cond["all_of"])
    if "any_of" in cond:
        return any(em_eval(c, ctx, defects) for c in cond["any_of"])
    if "not_" in cond:
        return not em_eval(cond["not_"], ctx, defects)
    return em_leaf(cond, ctx, defects)


def leaves(cond: dict) -> list[dict]:
    if "all_of" in cond or "any_of" in cond:
        return [x for c in cond.get("all_of") or cond.get("any_of") for x in leaves(c)]
    if "not_" in cond:
        return leaves(cond["not_"])
    return [cond]


# ------------------------------------------------------------------------------------------------
# the decision table: per rule, a context where each leaf holds, then each leaf flipped, then
# each field missing
# ------------------------------------------------------------------------------------------------
def sat_unsat(leaf: dict) -> tuple:
    op, v = leaf["operator"], leaf.get("value")
    if leaf["field"] in STATUS_FIELDS:
        word = (v[0] if isinstance(v, list) else v).lower()
        other = "on" if word != "on" else "off"
        return (word, other) if op in ("eq", "in") else (other, word)
    if op in ("gt", "gte", "lt", "lte"):
        return {"gt": (v + 1, v), "gte": (v, v - 1), "lt": (v - 1, v), "lte": (v, v + 1)}[op]
    if op in ("eq", "ne"):
        other = ("daily" if v != "daily" else "hourly") if isinstance(v, str) else v + 1
        return (v, other) if op == "eq" else (other, v)
    if op in ("in", "not_in"):
        outside = next(x for x in range(100) if x not in v)
        return (v[0], outside) if op == "in" else (outside, v[0])
    raise AssertionError(op)


def ref_pair(leaf: dict) -> tuple[dict, dict]:
    """(ctx making the value_ref leaf true, ctx making it false)."""
    f, r, op = leaf["field"], leaf["value_ref"], leaf["operator"]
    lo, hi = {f: 20.0, r: 21.0}, {f: 22.0, r: 21.0}
    eq = {f: 21.0, r: 21.0}
    return {"lt": (lo, eq), "lte": (eq, hi), "gt": (hi, eq), "gte": (eq, lo)}[op]


def cases(cond: dict) -> list[dict]:
    ls = leaves(cond)
    base: dict = {}
    flips: list[dict] = []
    for leaf in ls:
        if leaf.get("value_ref") is not None:
            good, bad = ref_pair(leaf)
            base.update(good)
            flips.append(bad)
        else:
            good, bad = sat_unsat(leaf)
            base[leaf["field"]] = good
            flips.append({leaf["field"]: bad})
    out = [dict(base)] + [{**base, **f} for f in flips]
    fields = list(dict.fromkeys(k for c in out for k in c))
    out += [{k: v for k, v in base.items() if k != f} for f in fields]
    # every pair of flips too (any_of needs two children false to be false)
    out += [{**base, **a, **b} for a, b in itertools.combinations(flips, 2)]
    return out


def ours_ctx(em_ctx: dict, cond_leaves: list[dict]) -> dict:
    out = {}
    for k, v in em_ctx.items():
        k2 = LEGACY_FIELDS.get(k, k)
        if k == "miner.status":
            k2 = "miner_state.status"
        out[k2] = v
    return out


def example_rules():
    for path in sorted(DATA.rglob("*.yaml")):          # current and every older version
        raw = yaml.safe_load(path.read_text())
        if "rules" in raw:
            kind = "start" if "/start/" in str(path) else "stop"
            loaded, _ = load_rules_file(path, kind)
            pairs = [(kind, r) for r in raw["rules"]]
        else:
            rs, _ = load_policy(path)
            loaded = list(rs.start_rules) + list(rs.stop_rules)
            pairs = [("start", r) for r in raw["start_rules"]] + [("stop", r) for r in raw["stop_rules"]]
        by_name = {r.name: r for r in loaded}
        for kind, r in pairs:
            yield pytest.param(path, kind, r, by_name[r["name"]],
                               id=f"{path.relative_to(DATA).parts[0]}/{path.stem[:12]}/{r['name']}")


@pytest.mark.parametrize("path,kind,raw,rule", list(example_rules()))
def test_decision_table_per_example_rule(path, kind, raw, rule):
    rs = RuleSet(name="t", start_rules=(rule,) if kind == "start" else (),
                 stop_rules=(rule,) if kind == "stop" else ())
    k = RuleKind(kind)
    cond = raw["conditions"]
    ls = leaves(cond)
    fired_once = False
    for em_ctx in cases(cond):
        ours = rs.match(k, ours_ctx(em_ctx, ls)).fired
        fixed = em_eval(cond, em_ctx, defects=False)
        present = all(em_ctx.get(leaf["field"]) is not None and
                      (leaf.get("value_ref") is None or em_ctx.get(leaf["value_ref"]) is not None) for leaf in ls)
        if present:
            # all data there: exactly Edge Mining's decision, with WEEKDAY / STATUS_ENUM fixed
            assert ours == fixed, em_ctx
            raw_em = em_eval(cond, em_ctx, defects=True)
            if raw_em != fixed:
                named = {lf["field"] for lf in ls} & {"timestamp.weekday", *STATUS_FIELDS}
                assert named, f"Edge Mining differs without a named defect: {em_ctx}"
        elif ours:
            # MISSING: we fire only when the missing field cannot change the outcome
            gone = [leaf for leaf in ls if em_ctx.get(leaf["field"]) is None]
            for leaf in gone:
                if leaf.get("value_ref") is None:
                    for v in sat_unsat(leaf):
                        assert em_eval(cond, {**em_ctx, leaf["field"]: v}, defects=False), em_ctx
        fired_once |= ours
    assert fired_once, f"rule {rule.name!r} never fires in its own table"


def test_missing_data_never_fires_through_not():
    """MISSING: Edge Mining's not_ over a missing field is true (stop rules fail open, start rules
    fire on no data); here it is unknown and the rule does not fire."""
    rs, _ = load_policy(CURRENT)
    rule = next(r for r in rs.stop_rules if r.name == "Grid Import Limit Protection")
    raw = next(r for r in yaml.safe_load(CURRENT.read_text())["stop_rules"] if r["name"] == rule.name)
    ctx = {"energy_state.grid.importing_power": 3000, "forecast.next_hour_power": 500}   # no SoC, no clock
    # Edge Mining: not_(all_of(hour in [1..5] -> false (missing), ...)) is true: the stop fires
    assert em_eval(raw["conditions"], ctx, defects=True) is True
    d = RuleSet(name="t", stop_rules=(rule,)).match(RuleKind.STOP, ctx)
    assert not d.fired and "timestamp.hour" in d.reason
    ctx2 = {**ctx, "timestamp.hour": 14}                                  # the hour known: it fires
    d = RuleSet(name="t", stop_rules=(rule,)).match(RuleKind.STOP, ctx2)
    assert d.fired


# ------------------------------------------------------------------------------------------------
# check on the current example policy
# ------------------------------------------------------------------------------------------------
SITE = """
site: {{name: t, timezone: Europe/Rome, latitude: 41.9, longitude: 12.5}}
energy:
  source: home_assistant
  home_assistant:
    url: http://127.0.0.1:8123
    token: t0ken
    grid: sensor.grid
    pv: sensor.pv
    house: sensor.house
    battery: sensor.battery_power
    soc: sensor.battery_soc
    forecast_power_now: sensor.solar_forecast_power_now
    forecast_energy_next_hour: sensor.solar_forecast_energy_next_hour
    forecast_energy_today_remaining: sensor.solar_forecast_energy_today_remaining
miners:
  - {{name: s19, host: 192.168.1.20}}
policy:
  mode: rules
  rules_file: {policy}{lists}
  battery: {{capacity: 10kWh}}
economics:
  pools:
    - {{name: braiins, kind: braiins, token: abc, payout_threshold: 100000}}
"""


def test_check_on_the_current_example_policy_warns_nothing(tmp_path):
    """A site with a forecast sensor, a battery capacity, a pool and (always) its own history."""
    cfg_path = tmp_path / "site.yaml"
    cfg_path.write_text(SITE.format(policy=CURRENT, lists=""))
    warnings: list = []
    cfg = load_config(cfg_path, env={}, warnings=warnings)
    assert [str(w) for w in warnings if "will be unknown" in str(w)] == []
    site = site_supply(cfg)
    assert site.pool and site.home_load and site.battery_capacity and "next_hour_power" in site.forecast_keys


def test_rule_lists_from_a_config_with_the_policy(tmp_path):
    """policy.start_rules_files / stop_rules_files: Edge Mining's current rule lists next to its
    policy; only the per-device home-load rules warn (no boiler device here), with file:line."""
    lists = sorted(DATA.glob("app/examples/rules/*/*.yaml"))
    start = [str(p) for p in lists if "/start/" in str(p)]
    stop = [str(p) for p in lists if "/stop/" in str(p)]
    extra = f"\n  start_rules_files: [{', '.join(start)}]\n  stop_rules_files: [{', '.join(stop)}]"
    cfg_path = tmp_path / "site.yaml"
    cfg_path.write_text(SITE.format(policy=CURRENT, lists=extra))
    warnings: list = []
    cfg = load_config(cfg_path, env={}, warnings=warnings)
    unknown = [str(w) for w in warnings if "will be unknown" in str(w)]
    assert unknown and all("home_load.devices." in w for w in unknown)
    assert all("home_load_" in w and ".yaml:" in w for w in unknown)
    from edgemining_tui.config.rules import load_rules_for
    rs, _ = load_rules_for(cfg, cfg_path)
    n_start = len(yaml.safe_load(CURRENT.read_text())["start_rules"]) + sum(
        len(yaml.safe_load(Path(p).read_text())["rules"]) for p in start)
    assert len(rs.start_rules) == n_start
    assert [r.priority for r in rs.stop_rules] == sorted((r.priority for r in rs.stop_rules), reverse=True)
    # the rule lists alone, without a policy file
    cfg_path.write_text(SITE.format(policy=CURRENT, lists=extra).replace(f"rules_file: {CURRENT}", "rules_file: null"))
    cfg = load_config(cfg_path, env={})
    rs, _ = load_rules_for(cfg, cfg_path)
    assert len(rs.start_rules) == n_start - 3 and rs.stop_rules


def test_check_prints_rule_list_warnings_with_file_and_line(tmp_path, capsys):
    """A rule-list file's "will be unknown" fields reach `check` (file:line), and --strict refuses."""
    from edgemining_tui.cli import main
    lst = DATA / "app/examples/rules/stop/home_load_stop_rules.yaml"
    cfg_path = tmp_path / "site.yaml"
    cfg_path.write_text(SITE.format(policy=CURRENT, lists=f"\n  stop_rules_files: [{lst}]"))
    cfg_path.chmod(0o600)
    assert main(["check", "--config", str(cfg_path)]) == 0
    err = capsys.readouterr()
    out = err.out + err.err
    assert f"{lst}:" in out and "home_load.devices.boiler" in out and "will be unknown" in out
    assert main(["check", "--strict", "--config", str(cfg_path)]) == 2
