"""``edgemining-tui tune``: the site's own history from its database, a grid of settings in
parallel, the best few, and the choice written into the config (backup kept, the result loads)."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from edgemining_tui.backtest.trace import TraceError, write_trace
from edgemining_tui.backtest.tracegen import generate
from edgemining_tui.backtest.tune import edit_policy, grid, history_trace, main
from edgemining_tui.config import load_config
from edgemining_tui.store.db import Store

ROOT = Path(__file__).resolve().parents[1]
SETUP_POLICY = """policy:
  mode: surplus                    # mine with what would be exported
  headroom: auto                   # kept unused: 2 x the meter's noise
  enable: {delay: 5m}              # surplus must last 5 min to start
  disable:
    delay: 7m
  min_off: 15m                     # no quick restart
  battery:
    reserve: forecast              # fill the battery by sunset
    capacity: 10kWh                # usable battery capacity
    forecast_trust: 90%            # the share of the forecast counted on
"""


def test_the_choice_is_written_into_the_policy_keeping_everything_else():
    site = "site:\n  timezone: Europe/Berlin  # local days\n  latitude: 48.1\n  longitude: 11.6\n"
    miners = "energy: {source: shelly, shelly: {url: \"http://127.0.0.1:1\"}}\nminers:\n  - {name: a, driver: simulated}\n"
    s = {"enable_delay": 60.0, "disable_delay": 900.0, "min_off": 300.0, "forecast_trust": 100.0}
    out = edit_policy(site + miners + SETUP_POLICY, s)
    assert "# local days" in out and "# fill the battery by sunset" in out
    assert "  enable: {delay: 1m}  # tuned" in out and "  disable: {delay: 15m}  # tuned" in out
    assert "    delay: 7m" not in out                     # the old block mapping is replaced
    p = Path("/nonexistent")
    cfg = load_config(p, text=out)
    pol = cfg.policy
    assert (pol.enable.delay, pol.disable.delay, pol.min_off) == (60, 900, 300)
    assert pol.battery.forecast_trust == 100 and pol.battery.capacity == 10000
    # a flow-style battery (examples/backtest.yaml) and a config without these keys at all
    ex = (ROOT / "examples" / "backtest.yaml").read_text()
    out = edit_policy(ex, s)
    assert "forecast_trust: 100%" in out and out.count("enable:") == 1
    bare = edit_policy(site + miners + "policy:\n  mode: surplus\n",
                       {"enable_delay": 300.0, "disable_delay": 420.0, "min_off": 900.0, "priority_soc": 80.0})
    assert load_config(p, text=bare).policy.battery.priority_soc == 80


def _minutes(tmp_path, trace, holes=()):
    db = tmp_path / "history.db"
    Store(db).close()                                     # the real schema, rollup tables included
    con = sqlite3.connect(db)
    with con:
        con.executemany("insert into energy_minute (ts, n, pv_w, house_w) values (?, 12, ?, ?)",
                        [(int(trace.ts0 + i * 60), trace.pv_w[i], trace.load_w[i]) for i in range(len(trace))
                         if not any(a <= i < b for a, b in holes)])
    con.close()
    return db


def test_history_holds_short_gaps_and_refuses_long_holes(tmp_path):
    tr = generate("2024-05-13T00:00:00", days=2, step_s=60.0)
    db = _minutes(tmp_path, tr, holes=[(2000, 2005)])
    got, held = history_trace(db, days=1.5)
    assert held == 5 and len(got) == int(1.5 * 1440) and got.step_s == 60.0
    i = 2005 - (len(tr) - len(got))
    assert got.pv_w[i - 1] == got.pv_w[i - 5]             # held, not invented
    db.unlink()
    db = _minutes(tmp_path, tr, holes=[(2400, 2430)])
    with pytest.raises(TraceError, match="hole of more than 15 min"):
        history_trace(db, days=2)
    with pytest.raises(TraceError, match="no history database"):
        history_trace(tmp_path / "none.db", days=2)


def test_tune_on_a_trace_prints_the_best_and_writes_it_with_a_backup(tmp_path, capsys):
    cfg = tmp_path / "config.yaml"
    cfg.write_text((ROOT / "examples" / "backtest.yaml").read_text())
    tr = generate("2024-05-13T00:00:00", days=1, step_s=300.0)
    trace = tmp_path / "day.csv"
    write_trace(trace, tr)
    assert main(["--trace", str(trace), "--config", str(cfg), "--jobs", "2", "--top", "3", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "24 settings on 2 processes" in out and " 1 " in out and "written into" in out
    assert len(list(tmp_path.glob("config.yaml.bak-*"))) == 1
    assert "# tuned" in cfg.read_text()


def test_the_grid_is_24_settings_either_way():
    assert len(grid(True)) == len(grid(False)) == 24


def test_tune_on_a_site_without_a_battery_ranks_instead_of_a_traceback(tmp_path, capsys):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("site: {name: No battery, timezone: Europe/Berlin}\n"
                   "energy: {source: home_assistant, home_assistant: {url: 'http://127.0.0.1:9', "
                   "token: abcdefghijklmnopqrstuvwxyz0123456789, grid: sensor.grid}}\n"
                   "miners:\n  - {name: s19, host: 192.168.1.50, family: braiins}\n")
    cfg.chmod(0o600)
    tr = generate("2024-05-13T00:00:00", days=1, step_s=300.0)
    trace = tmp_path / "day.csv"
    write_trace(trace, tr)
    assert main(["--trace", str(trace), "--config", str(cfg), "--jobs", "1", "--top", "2", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "best 2 by net value" in out and " 1 " in out


def test_tune_reads_the_history_of_the_data_dir_the_console_was_given(tmp_path, capsys):
    """The console, headless runner, history and check take --data-dir; tune had no way to reach a
    history kept there."""
    cfg = tmp_path / "config.yaml"
    cfg.write_text((ROOT / "examples" / "backtest.yaml").read_text())
    data = tmp_path / "elsewhere"
    data.mkdir()
    _minutes(data, generate("2024-05-13T00:00:00", days=2, step_s=60.0))
    assert main(["--config", str(cfg), "--data-dir", str(data), "--days", "1", "--jobs", "1", "--top", "1",
                 "--dry-run"]) == 0
    assert f"{data / 'history.db'} (last 1 days): 1,440 minutes" in capsys.readouterr().out


def test_tune_with_a_family_auto_miner_says_why_instead_of_ranking_ties(tmp_path, capsys):
    """family: auto is learned from the miner when it answers; a replay runs it as monitor only, so
    all 24 settings gave the same result and tune ranked 24 ties. Now: one line, what to do, exit 2,
    before any replay, nothing written."""
    cfg = tmp_path / "config.yaml"
    text = (ROOT / "examples" / "backtest.yaml").read_text()
    text = text[:text.index("miners:")] + ("miners:\n  - {name: loft, host: 192.168.1.50, family: auto}\n\n"
                                            + text[text.index("policy:"):])
    cfg.write_text(text)
    tr = generate("2024-05-13T00:00:00", days=1, step_s=300.0)
    trace = tmp_path / "day.csv"
    write_trace(trace, tr)
    assert main(["--trace", str(trace), "--config", str(cfg), "--jobs", "1", "--yes"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "net kWh" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, lines
    assert "nothing to tune" in lines[0] and "loft has family auto" in lines[0] and "name the family" in lines[0]
    assert cfg.read_text() == text and not list(tmp_path.glob("config.yaml.bak-*"))


def test_tune_on_a_history_that_cannot_tell_the_settings_apart_says_so(tmp_path, capsys):
    from array import array
    from edgemining_tui.backtest.trace import Trace
    cfg = tmp_path / "config.yaml"
    cfg.write_text((ROOT / "examples" / "backtest.yaml").read_text())
    n = 288                                   # a day of 5-minute steps without any sun: no surplus at all
    tr = Trace(ts0=1_715_558_400.0, step_s=300.0, pv_w=array("d", [0.0]) * n, load_w=array("d", [400.0]) * n,
               source="dark day")
    trace = tmp_path / "dark.csv"
    write_trace(trace, tr)
    before = cfg.read_text()
    assert main(["--trace", str(trace), "--config", str(cfg), "--jobs", "1", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "all 24 settings give the same result" in out and "nothing written" in out
    assert "net kWh" not in out                # no table of ties
    assert cfg.read_text() == before and not list(tmp_path.glob("config.yaml.bak-*"))
