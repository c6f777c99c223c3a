"""``backtest --oracle``: the perfect-foresight bound (a linear program through HiGHS) and each
policy's share of it; a clear message, and nothing run, when HiGHS is not installed."""
from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from edgemining_tui.backtest.cli import main
from edgemining_tui.backtest.config import NO_BATTERY, load_backtest_config
from edgemining_tui.backtest.runner import run_backtest
from edgemining_tui.backtest.tracegen import generate

ROOT = Path(__file__).resolve().parents[1]
CFG = str(ROOT / "examples" / "backtest.yaml")
highspy = pytest.importorskip("highspy", reason="the [oracle] extra (highspy) is not installed")

from edgemining_tui.backtest.oracle import fleet_max_w, shares, solve  # noqa: E402


@pytest.fixture(scope="module")
def day():
    return generate("2024-05-16T00:00:00", days=1, step_s=300.0, weather=(0.3,))


def test_without_a_battery_the_bound_is_the_surplus_the_fleet_can_hold(day):
    cfg = replace(load_backtest_config(CFG), battery=NO_BATTERY)
    mmax = fleet_max_w(cfg)
    assert mmax == 3250 + 1674 + 1400
    h = day.step_s / 3600.0
    surplus = [max(0.0, p - l) for p, l in zip(day.pv_w, day.load_w)]
    b = solve(cfg, day)
    assert b.status == "Optimal"
    assert b.mined_kwh == pytest.approx(sum(min(s, mmax) for s in surplus) * h / 1000.0, rel=1e-5)
    assert b.export_kwh == pytest.approx(sum(max(0.0, s - mmax) for s in surplus) * h / 1000.0, abs=1e-3)


def test_no_policy_beats_the_bound(day):
    cfg = load_backtest_config(CFG)
    b = solve(cfg, day)
    r = run_backtest(cfg, day)
    sh = shares(r, b)
    assert 0 < sh["captured_pct_of_bound"] <= 100.0 + 1e-6
    assert sh["net_pct_of_bound"] <= sh["captured_pct_of_bound"]
    # with a battery the site without miners stores surplus for the evening: mining it would
    # import at night, so the bound is the export the battery does not need
    assert b.mined_kwh <= r.to_dict()["without_miners_kwh"]["export"] * 1.01


def test_cli_prints_the_bound_and_the_share(day, tmp_path, capsys):
    from edgemining_tui.backtest.trace import write_trace
    p = tmp_path / "day.csv"
    write_trace(p, day)
    assert main(["--trace", str(p), "--config", CFG, "--oracle"]) == 0
    out = capsys.readouterr().out
    assert "oracle allocator: bound" in out and "% of it, net value" in out
    assert main(["--trace", str(p), "--config", CFG, "--oracle", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)                 # HiGHS's banner stays out of it
    assert d["oracle"]["status"] == "Optimal" and d["oracle"]["captured_pct_of_bound"] > 50


def test_without_highspy_exit_2_before_anything_runs(day, tmp_path, capsys, monkeypatch):
    from edgemining_tui.backtest.trace import write_trace
    p = tmp_path / "day.csv"
    write_trace(p, day)
    monkeypatch.setitem(sys.modules, "highspy", None)
    assert main(["--trace", str(p), "--config", CFG, "--oracle"]) == 2
    cap = capsys.readouterr()
    assert "pip install 'edgemining-tui[oracle]'" in cap.err and cap.out == ""
