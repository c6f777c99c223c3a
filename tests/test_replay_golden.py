"""The replay's results, to the last bit, for the example configs on the sample week, the winter
week and a generated month: a guard for work on the replay's speed (backtest/runner.py, miners.py,
the decider's hot path), which must not change a single result.

The figures are in tests/data/replay_golden.json. A change that is meant to change what the policy
decides (a new default, a fixed bug) changes them too; then regenerate and say so in the commit:

    .venv/bin/python tests/test_replay_golden.py --update
"""
from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))

from edgemining_tui.backtest.config import StandbyCut, load_backtest_config  # noqa: E402
from edgemining_tui.backtest.runner import run_backtest  # noqa: E402
from edgemining_tui.backtest.trace import parse_trace  # noqa: E402
from edgemining_tui.backtest.tracegen import generate  # noqa: E402

GOLDEN = ROOT / "tests" / "data" / "replay_golden.json"
EX = ROOT / "examples"
REGEN = "regenerate with: .venv/bin/python tests/test_replay_golden.py --update"

# (config, trace): every config on the sample week; the setup config (the default a new user gets)
# with and without plugs on the winter week and on a month that spans spring's long days
CASES = [(c, "week") for c in ("allocator", "setup", "setup + plugs", "rules", "heat")] + \
        [(c, "winter week") for c in ("setup", "setup + plugs")] + \
        [(c, "month") for c in ("allocator", "setup")]


def _configs() -> dict:
    setup = load_backtest_config(EX / "backtest-setup.yaml")
    return {"allocator": load_backtest_config(EX / "backtest.yaml"),
            "setup": setup,
            "setup + plugs": replace(setup, label="setup + plugs",
                                     section=replace(setup.section, standby_cut=StandbyCut(after=1800.0, boot=120.0))),
            "rules": load_backtest_config(EX / "backtest-rules.yaml"),
            "heat": load_backtest_config(EX / "backtest-heat.yaml")}


def _trace(name: str):
    if name == "week":
        return parse_trace(EX / "week.csv")
    if name == "winter week":
        return parse_trace(EX / "winter-week.csv")
    return generate("2025-03-20T00:00:00", days=30, step_s=60.0, weather=None, prices=False)


def summary(r) -> dict:
    """Everything a replay measured, floats as repr (all 17 digits), nothing timed."""
    t = r.totals
    out = {k: repr(float(v)) for k, v in sorted(vars(t).items()) if isinstance(v, (int, float))}
    if t.money:
        out["money"] = {k: repr(v) for k, v in sorted(t.money.items())}
    out["steps"] = r.steps
    out["decide_calls"] = r.decide_calls
    out["decider_errors"] = r.decider_errors
    out["soc_end_pct"] = repr(r.soc_end_pct)
    out["soc0_end_pct"] = repr(r.soc0_end_pct)
    out["miners"] = {m.name: {"starts": m.starts, "starts_by_day": {str(k): v for k, v in sorted(m.starts_by_day.items())},
                              "commands": m.commands, "cuts": m.cuts, "energy_wh": repr(m.energy_wh),
                              "th_s_s": repr(m.th_s_s)} for m in r.miners}
    if r.zones:
        out["zones"] = json.loads(json.dumps(r.zones, default=repr))
    if r.economics:
        out["economics"] = json.loads(json.dumps(r.economics, default=repr))
    d = r.to_dict()
    for k in ("run_s", "decide_s", "decide_us_per_call", "rows_per_s", "config", "trace"):
        d.pop(k, None)
    out["printed"] = d
    return out


def compute() -> dict:
    cfgs = _configs()
    traces: dict = {}
    out = {}
    for cname, tname in CASES:
        tr = traces.get(tname)
        if tr is None:
            tr = traces[tname] = _trace(tname)
        out[f"{cname} | {tname}"] = summary(run_backtest(cfgs[cname], tr))
    return out


@pytest.fixture(scope="module")
def now() -> dict:
    return compute()


@pytest.mark.parametrize("case", [f"{c} | {t}" for c, t in CASES])
def test_replay_results_unchanged(now, case):
    want = json.loads(GOLDEN.read_text())
    assert case in want, f"no golden figures for {case}: {REGEN}"
    got = json.loads(json.dumps(now[case]))
    assert got["printed"] == want[case]["printed"], f"the printed results of {case} changed ({REGEN})"
    assert got == want[case], f"the results of {case} changed in the last digits ({REGEN})"


def test_a_shared_preparation_gives_the_same_results_as_a_fresh_replay():
    """tune replays one history under many settings and shares what does not depend on the policy
    (runner.Prepared): each result must be the one a replay of its own would give, also when the
    next config differs where the shared work depends on it (the battery)."""
    from edgemining_tui.backtest.runner import Prepared
    from edgemining_tui.backtest.tune import apply, grid
    from edgemining_tui.sim.battery import BatteryConfig
    cfg = load_backtest_config(EX / "backtest.yaml")
    tr = parse_trace(EX / "winter-week.csv").slice(0, 3 * 1440)
    prep = Prepared(tr)
    prep.warm(cfg)
    small = replace(cfg, battery=BatteryConfig(capacity=5000.0, initial_soc=80.0))
    for c in [apply(cfg, s) for s in grid(True)[::7]] + [small]:
        shared = summary(run_backtest(c, tr, prepared=prep))
        assert shared == summary(run_backtest(c, tr))


if __name__ == "__main__":
    if "--update" not in sys.argv:
        sys.exit(__doc__)
    GOLDEN.write_text(json.dumps(compute(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")
