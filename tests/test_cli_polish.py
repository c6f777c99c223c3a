"""The command line as a new user meets it: --help lists every command, an empty export says so,
``| head`` ends quietly, and the demo never touches the real data directory."""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from edgemining_tui import cli
from edgemining_tui.clock import VirtualClock
from edgemining_tui.config import load_config

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "examples"


def run_cli(*args: str, env: dict | None = None, close_stdout: bool = False, timeout: float = 60):
    """The real entry point in a subprocess. ``close_stdout``: the reader has gone away before the
    first byte (as ``| head -0`` or a reader that has had enough), so every write hits a closed pipe."""
    e = dict(os.environ, **(env or {}))
    e.pop("NO_COLOR", None)
    proc = subprocess.Popen([sys.executable, "-m", "edgemining_tui", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=e, cwd=ROOT)
    if close_stdout:
        proc.stdout.close()
        err = proc.stderr.read()
        proc.wait(timeout=timeout)
        return proc.returncode, b"", err.decode()
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out.decode(), err.decode()


@pytest.fixture
def home(tmp_path) -> dict:
    """Fresh XDG directories: the 'real' config and data dirs of a user with nothing yet."""
    (tmp_path / "data").mkdir()
    (tmp_path / "config").mkdir()
    return {"XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config")}


def history_db(tmp_path, rows: int) -> Path:
    from edgemining_tui.store.db import Store
    d = tmp_path / "hist"
    st = Store(d / "history.db")
    import time
    now = time.time()
    st.insert_many("energy", [{"ts": now - 3600 + i, "pv_w": 1000.0 + i, "house_w": 400.0, "grid_import_w": -600.0,
                               "battery_charge_w": 0.0, "battery_soc_pct": 50.0, "miners_w": 0.0,
                               "available_w": 600.0, "stale": ""} for i in range(rows)])
    st.close()
    return d


# --- --help ----------------------------------------------------------------------------------
def test_help_lists_every_subcommand_with_one_line(capsys):
    with pytest.raises(SystemExit) as ex:
        cli.main(["--help"])
    assert ex.value.code == 0
    out = capsys.readouterr().out
    for name in ("setup", "check", "scan", "history", "backtest"):
        assert name in cli.SUBCOMMANDS
    for name, text in cli.SUBCOMMANDS.items():
        line = next((ln for ln in out.splitlines() if ln.strip().startswith(name + " ")), None)
        assert line is not None, f"{name} not listed"
        assert text in line                     # its one line, on the same line


@pytest.mark.parametrize("name", list(cli.SUBCOMMANDS))
def test_every_listed_subcommand_answers_help(name, capsys):
    try:
        rc = cli.main([name, "--help"])
    except SystemExit as ex:
        rc = ex.code
    assert rc == 0
    assert f"edgemining-tui {name}" in capsys.readouterr().out


# --- history export with nothing to export -----------------------------------------------------
@pytest.mark.parametrize("fmt,body", [("csv", "time,ts,"), ("json", "[]")])
def test_empty_export_says_0_rows_on_stderr_and_keeps_the_data_clean(tmp_path, capsys, fmt, body):
    from edgemining_tui.store.export_cli import main as history
    d = history_db(tmp_path, 0)
    assert history(["export", "--data-dir", str(d), "--format", fmt]) == 0
    cap = capsys.readouterr()
    assert cap.out.startswith(body) and "rows" not in cap.out
    assert re.search(r"^0 rows in energy from .* to .*", cap.err)


def test_non_empty_export_prints_no_row_count(tmp_path, capsys):
    from edgemining_tui.store.export_cli import main as history
    d = history_db(tmp_path, 3)
    assert history(["export", "--data-dir", str(d), "--format", "json"]) == 0
    cap = capsys.readouterr()
    assert cap.out.count('"pv_w"') == 3 and cap.err == ""


# --- a closed pipe -----------------------------------------------------------------------------
def _quiet(rc: int, err: str) -> None:
    assert "Traceback" not in err and "BrokenPipe" not in err and "Logging error" not in err, err[-1500:]
    assert rc in (0, cli.EXIT_BROKEN_PIPE), (rc, err[-800:])


@pytest.mark.parametrize("args", [
    ["--help"],
    ["check", "--demo"],
    ["history", "export", "--format", "json", "--from", "-2h"],
    ["history", "export", "--format", "csv", "--from", "-2h"],
    ["history", "stats"],
    ["backtest", "--help"],
], ids=lambda a: " ".join(a))
def test_closed_pipe_exits_quietly(tmp_path, args):
    d = history_db(tmp_path, 5000)
    if args[0] == "history":
        args = args + ["--data-dir", str(d)]
    rc, _, err = run_cli(*args, close_stdout=True)
    _quiet(rc, err)
    if "--help" not in args:                  # (argparse's help swallows the error and exits 0)
        assert rc == cli.EXIT_BROKEN_PIPE    # it did have something to print


def test_closed_pipe_backtest_json_and_plot(tmp_path):
    lines = (EX / "week.csv").read_text().splitlines(keepends=True)
    trace = tmp_path / "day.csv"
    trace.write_text("".join(lines[: 1 + 360]))
    for extra in (["--json"], ["--plot"]):
        rc, _, err = run_cli("backtest", "--trace", str(trace), "--config", str(EX / "backtest.yaml"), *extra,
                             close_stdout=True)
        _quiet(rc, err)


def test_closed_pipe_real_head(tmp_path):
    """As in the README: ``history export --format json | head``."""
    d = history_db(tmp_path, 20000)
    cmd = (f"{sys.executable} -m edgemining_tui history export --format json --from -2h --data-dir {d} "
           f"| head -3")
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True, cwd=ROOT,
                          timeout=60)
    assert proc.stdout.splitlines()[0] == "["
    assert len(proc.stdout.splitlines()) == 3
    _quiet(proc.returncode, proc.stderr)


def test_closed_pipe_headless_stops_cleanly(home):
    rc, _, err = run_cli("--headless", "--demo", "--cycles", "1", env=home, close_stdout=True)
    _quiet(rc, err)


# --- the demo's own data directory ---------------------------------------------------------------
def _demo_args(**kw) -> argparse.Namespace:
    return argparse.Namespace(**{"demo": True, "data_dir": None, **kw})


def test_demo_runs_in_a_throw_away_dir_that_is_prefilled_and_removed(monkeypatch, tmp_path):
    from edgemining_tui.sim import demo_history
    seen = []
    monkeypatch.setattr(demo_history, "prefill", lambda d, cfg, now, **kw: seen.append(d) or 0)
    cfg = load_config(cli.demo_config_path())
    with cli.run_data_dir(_demo_args(), cfg) as d:
        assert d is not None and d.is_dir() and d.name.startswith("edgemining-demo-")
        assert seen == [d]
        (d / "history.db").write_text("x")
    assert not d.exists()
    # a given --data-dir is used as it is, pre-filled only while it has no history
    given = tmp_path / "given"
    with cli.run_data_dir(_demo_args(data_dir=str(given)), cfg) as d2:
        assert d2 == given and seen[-1] == given
        (given / "history.db").write_text("x")
    assert given.exists()
    with cli.run_data_dir(_demo_args(data_dir=str(given)), cfg):
        assert len(seen) == 2                    # it has history now: left alone
    # a real site: the config's own directory (None), never a temporary one, never pre-filled
    from dataclasses import replace
    real = replace(cfg, demo=None)
    with cli.run_data_dir(_demo_args(demo=False), real) as d3:
        assert d3 is None
    assert len(seen) == 2


async def test_a_demo_override_does_not_carry_over_and_the_real_dir_stays_empty(monkeypatch, tmp_path):
    from edgemining_tui.runtime import open_runtime
    real = tmp_path / "real-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(real))
    cfg = load_config(cli.demo_config_path())
    clock = VirtualClock(1_750_000_000)
    with cli.run_data_dir(_demo_args(), cfg) as d1:
        rt = await open_runtime(cfg, clock=clock, data_dir=d1)
        try:
            rt.engine.request("override", {"mode": "off", "miner": "garage-s19", "until": "for 4 h"})
            st = await rt.engine.cycle()
            assert st.overrides["garage-s19"]["kind"] == "force_off"
            assert rt.store.count("energy") >= 1
        finally:
            await rt.close()
    assert not d1.exists()
    with cli.run_data_dir(_demo_args(), cfg) as d2:
        assert d2 != d1
        rt = await open_runtime(cfg, clock=clock, data_dir=d2)
        try:
            st = await rt.engine.cycle()
            assert "garage-s19" not in (st.overrides or {})     # the first demo's override is gone
        finally:
            await rt.close()
    assert not real.exists() or not any(real.rglob("history.db"))


async def test_the_console_writes_the_demo_history_after_its_first_frame_and_charts_it(monkeypatch, tmp_path):
    """The console's path: the directory is handed over empty (the first frame does not wait for
    three simulated days), then the days are written and the energy chart is drawn from them."""
    from edgemining_tui.ui.app import EdgeMiningApp
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "real-data"))
    cfg = load_config(cli.demo_config_path())
    with cli.run_data_dir(_demo_args(data_dir=str(tmp_path / "demo")), cfg, prefill=False) as d:
        assert not (d / "history.db").exists()
        app = EdgeMiningApp(cfg, data_dir=d, prefill_demo=True)
        async with app.run_test(size=(120, 40)) as pilot:
            for _ in range(300):
                chart = app.energy_panel.chart
                if chart is not None and chart["xs"]:
                    break
                await pilot.pause(0.1)
            assert chart is not None and len(chart["xs"]) >= 50       # the last hour, from the simulated days
            assert app.energy_panel.chart_loaded_at > 0
    from edgemining_tui.store.db import Store
    store = Store(d / "history.db")
    try:
        n = store.query("select count(*) as n from energy")[0]["n"]
    finally:
        store.close()
    assert n >= 3 * 1440                                              # three days a minute apart


def test_demo_history_never_reaches_the_real_history_export(home):
    rc, out, err = run_cli("--headless", "--demo", "--cycles", "1", env=home)
    assert rc == 0, err
    m = re.search(r"data in (\S+)", out)
    assert m and "edgemining-demo-" in m.group(1)
    assert not Path(m.group(1)).exists()                     # removed at exit
    assert not any(Path(home["XDG_DATA_HOME"]).rglob("*"))   # nothing in the real data dir
    rc, out, err = run_cli("history", "export", env=home)
    assert rc == 2 and "no history at" in err and out == ""


def test_a_console_start_that_fails_before_its_app_leaves_the_collector_running(tmp_path, capsys):
    """The console's start-up pauses the garbage collector from the config load on; a start that
    ends early (here a config that does not load) must not leave it paused."""
    import gc
    assert gc.isenabled()
    bad = tmp_path / "bad.yaml"
    bad.write_text("site: [\n")
    assert cli.main(["--config", str(bad)]) == 2
    assert gc.isenabled()


def test_observing_a_demo_needs_its_data_dir(home):
    rc, _, err = run_cli("--headless", "--demo", "--observe", "--cycles", "1", env=home)
    assert rc == 2 and "--data-dir" in err


def test_check_counts_the_demos_miners(capsys):
    """check said "OK (0 miners, ...)" for setup's demo config, whose four miners live under demo:."""
    from edgemining_tui import cli
    assert cli.main(["check", "--demo"]) == 0
    out = capsys.readouterr().out
    assert "OK (0 miners + 4 demo miners, energy source demo" in out, out
