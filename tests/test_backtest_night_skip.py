"""The replay skips the decider at night while the fleet is paused and nothing can start a miner
without PV: the scores must be the same as asking it every step."""
from __future__ import annotations

from pathlib import Path

from edgemining_tui.backtest import runner
from edgemining_tui.backtest.config import load_backtest_config
from edgemining_tui.backtest.runner import make_decider, night_skip_ok
from edgemining_tui.backtest.trace import parse_trace
from edgemining_tui.clock import VirtualClock

ROOT = Path(__file__).resolve().parents[1]


def test_skipping_the_night_changes_no_score(monkeypatch):
    cfg = load_backtest_config(ROOT / "examples" / "backtest.yaml")
    tr = parse_trace(str(ROOT / "examples" / "winter-week.csv")).slice(0, 3 * 1440)
    fast = runner.run_backtest(cfg, tr).to_dict()
    monkeypatch.setattr(runner, "night_skip_ok", lambda *a: False)
    slow = runner.run_backtest(cfg, tr).to_dict()
    for d in (fast, slow):
        for k in ("run_s", "rows_per_s", "decide_us_per_call", "decide_s", "decide_calls"):
            d.pop(k, None)
    assert fast == slow


def test_rules_and_battery_start_levels_are_asked_every_step():
    tr = parse_trace(str(ROOT / "examples" / "week.csv")).slice(0, 10)
    rules = load_backtest_config(ROOT / "examples" / "backtest-rules.yaml")
    assert not night_skip_ok(make_decider(rules, VirtualClock(tr.ts0), tr).decider, None)
    alloc = load_backtest_config(ROOT / "examples" / "backtest.yaml")
    assert night_skip_ok(make_decider(alloc, VirtualClock(tr.ts0), tr).decider, None)


def test_a_quiet_nights_tight_loop_scores_what_row_by_row_scores(monkeypatch):
    """The quiet night's rows run in a loop of their own (battery, sums, house-load model only):
    every score, each miner's energy and the house-load model's record as stepping the fleet and
    skipping the decider row by row."""
    from edgemining_tui.backtest.miners import Fleet
    from edgemining_tui.backtest.tracegen import generate
    cfg = load_backtest_config(ROOT / "examples" / "backtest.yaml")
    tr = generate("2025-02-20T00:00:00", days=5, step_s=60.0, weather=None, prices=False)

    def run():
        info = make_decider(cfg, VirtualClock(tr.ts0), tr)
        r = runner.run_backtest(cfg, tr, decider=info)
        d = r.to_dict()
        for k in ("run_s", "rows_per_s", "decide_us_per_call", "decide_s"):
            d.pop(k, None)
        hl = info.decider.home_load
        return d, [(m.p_sum, m.hr_sum, m.model.last_ts) for m in r.miners], (hl.profile, list(hl.recent), hl._sum)

    fast = run()
    monkeypatch.setattr(Fleet, "all_steady", lambda self: False)
    slow = run()
    assert fast == slow
    assert fast[0]["decide_calls"] < len(tr) * 0.7       # the nights were skipped both ways
