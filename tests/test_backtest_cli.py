"""``edgemining-tui backtest``: output, --json, --steps-out, --compare, and exit 2 on bad input."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from edgemining_tui.backtest.cli import main

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "examples"
CFG = str(EX / "backtest.yaml")
RULES = str(EX / "backtest-rules.yaml")


@pytest.fixture(scope="module")
def day_trace(tmp_path_factory) -> str:
    """The sample week's first two days (keeps these tests quick)."""
    lines = (EX / "week.csv").read_text().splitlines(keepends=True)
    p = tmp_path_factory.mktemp("trace") / "days.csv"
    p.write_text("".join(lines[: 1 + 2 * 1440]))
    return str(p)


def test_table(day_trace, capsys):
    assert main(["--trace", day_trace, "--config", CFG]) == 0
    out = capsys.readouterr().out
    for word in ("allocator", "captured", "fed", "starts/miner/day", "sats", "no miners: export", "run time"):
        assert word in out
    assert "2880 rows at 60 s" in out


def test_json(day_trace, capsys):
    assert main(["--trace", day_trace, "--config", CFG, "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["label"] == "allocator" and d["steps"] == 2880
    for k in ("pv", "load", "mined", "import", "export", "battery_throughput"):
        assert k in d["energy_kwh"]
    for k in ("import", "export"):
        assert k in d["without_miners_kwh"]
    for k in ("extra_import_kwh", "captured_kwh", "captured_pct", "fed_kwh", "fed_pct", "hashes", "sats",
              "run_s", "starts_per_miner_per_day", "miners"):
        assert k in d
    assert set(d["starts_per_miner_per_day"]) == {"max", "mean"}
    assert set(d["miners"]) == {"garage-s19", "office-avalon", "shed-s9"}
    assert "money" in d     # the sample trace has prices


def test_steps_out(day_trace, tmp_path, capsys):
    out = tmp_path / "sub" / "steps.csv"
    assert main(["--trace", day_trace, "--config", CFG, "--steps-out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 2880
    assert "garage-s19_w" in rows[0]
    assert not list(out.parent.glob(".steps-*"))     # no temp file left behind


def test_compare(day_trace, tmp_path, capsys):
    out = tmp_path / "steps.csv"
    assert main(["--trace", day_trace, "--compare", CFG, RULES, "--steps-out", str(out)]) == 0
    text = capsys.readouterr().out
    head = text.splitlines()[1]
    assert "allocator" in head and "rules (on/off)" in head
    assert (tmp_path / "steps-allocator.csv").exists()
    assert (tmp_path / "steps-rules--on-off-.csv").exists()


def test_compare_json(day_trace, capsys):
    assert main(["--trace", day_trace, "--compare", CFG, RULES, "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert [x["label"] for x in d] == ["allocator", "rules (on/off)"]
    assert [x["decider"] for x in d] == ["surplus", "rules"]


def test_same_config_twice_gets_distinct_labels(day_trace, capsys):
    assert main(["--trace", day_trace, "--compare", CFG, CFG, "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert [x["label"] for x in d] == ["allocator", "allocator (2)"]


@pytest.mark.parametrize("body, line, words", [
    ("timestamp,pv_w\n2024-05-13T10:00:00+00:00,1\n", 1, "missing column load_w"),
    ("timestamp,pv_w,load_w\n2024-05-13T10:00:00+00:00,1,2\n2024-05-13T10:01:00+00:00,x,2\n", 3, "not a number"),
    ("timestamp,pv_w,load_w\n2024-05-13T10:00:00+00:00,1,2\n2024-05-13T10:01:00+00:00,1,2\n"
     "2024-05-13T10:00:30+00:00,1,2\n", 4, "backwards"),
    ("timestamp,pv_w,load_w\n2024-05-13T10:00:00+00:00,1,2\n2024-05-13T10:01:00+00:00,1,2\n"
     "2024-05-13T10:04:00+00:00,1,2\n", 4, "gap"),
    ("timestamp,pv_w,load_w\n2024-05-13T10:00:00+00:00,1,2\n2024-05-13T10:01:00+00:00,1,2\n"
     "2024-05-13T10:01:30+00:00,1,2\n", 4, "mixed step"),
])
def test_bad_trace_exit_2_nothing_written(tmp_path, capsys, body, line, words):
    trace = tmp_path / "bad.csv"
    trace.write_text(body)
    out = tmp_path / "steps.csv"
    assert main(["--trace", str(trace), "--config", CFG, "--steps-out", str(out), "--json"]) == 2
    cap = capsys.readouterr()
    assert f"{trace}:{line}:" in cap.err and words in cap.err
    assert cap.out == ""
    assert not out.exists() and list(tmp_path.iterdir()) == [trace]


def test_bad_config_exit_2(day_trace, tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("miners:\n  - {name: a, driver: simulated}\npolicy:\n  headroom: lots\n")
    assert main(["--trace", day_trace, "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert f"{cfg}:4:" in err


def test_bad_rules_file_exit_2(day_trace, tmp_path, capsys):
    pol = tmp_path / "p.yaml"
    pol.write_text("name: x\nstart_rules:\n  - name: r\n    conditions: {field: energy_state.nonsense, "
                   "operator: gt, value: 1}\nstop_rules: []\n")
    cfg = tmp_path / "c.yaml"
    cfg.write_text("miners:\n  - {name: a, driver: simulated}\npolicy:\n  mode: rules\n  rules_file: p.yaml\n")
    out = tmp_path / "steps.csv"
    assert main(["--trace", day_trace, "--config", str(cfg), "--steps-out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "p.yaml:4" in err
    assert not out.exists()


def test_no_config_exit_2(day_trace, capsys):
    assert main(["--trace", day_trace]) == 2
    assert "--config" in capsys.readouterr().err


def test_missing_trace_exit_2(capsys):
    assert main(["--trace", "/nonexistent.csv", "--config", CFG]) == 2
    assert "file not found" in capsys.readouterr().err


def test_routed_from_the_main_cli(day_trace, capsys):
    from edgemining_tui.cli import main as app_main
    assert app_main(["backtest", "--trace", day_trace, "--config", CFG, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["steps"] == 2880


def test_compare_with_one_bad_config_runs_nothing(day_trace, tmp_path, capsys):
    pol = tmp_path / "p.yaml"
    pol.write_text("name: x\nstart_rules:\n  - name: r\n    conditions: {field: energy_state.production, "
                   "operator: between, value: 1}\nstop_rules: []\n")
    cfg = tmp_path / "c.yaml"
    cfg.write_text("miners:\n  - {name: a, driver: simulated}\npolicy:\n  mode: rules\n  rules_file: p.yaml\n")
    out = tmp_path / "steps.csv"
    assert main(["--trace", day_trace, "--compare", CFG, str(cfg), "--steps-out", str(out)]) == 2
    cap = capsys.readouterr()
    assert "p.yaml:4" in cap.err and cap.out == ""
    assert sorted(x.name for x in tmp_path.iterdir()) == ["c.yaml", "p.yaml"]


def test_inline_rules_refused_like_the_console(day_trace, tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("miners:\n  - {name: a, driver: simulated}\npolicy:\n  mode: rules\n"
                   "  start_rules: [{name: x, conditions: {field: energy_state.production, operator: gt, value: 1}}]\n")
    assert main(["--trace", day_trace, "--config", str(cfg)]) == 2
    assert "rules_file" in capsys.readouterr().err


def test_a_miner_of_family_auto_is_said_to_be_replayed_as_monitor_only(day_trace, tmp_path, capsys):
    """A hand-written miner (host only, family auto) replayed at full power all the time, so the
    allocator seemed to feed most of its mining from the grid, and nothing said why."""
    cfg = tmp_path / "mine.yaml"
    cfg.write_text("site: {name: Mine}\n"
                   "energy: {source: home_assistant, home_assistant: {url: 'http://127.0.0.1:9', "
                   "token: abcdefghijklmnopqrstuvwxyz0123456789, grid: sensor.grid}}\n"
                   "miners:\n  - {name: s19, host: 192.168.1.50}\n  - {name: s21, host: 192.168.1.51, family: braiins}\n")
    cfg.chmod(0o600)
    assert main(["--trace", day_trace, "--config", str(cfg)]) == 0
    err = capsys.readouterr().err
    assert f"{cfg}: s19 is replayed as monitor only" in err and "name its family" in err
    assert "s21" not in err
