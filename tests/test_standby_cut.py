"""A smart plug in front of each miner (``backtest.standby_cut``): the standby is cut after a long
pause, restored while a start is coming (the boot overlaps the enable delay), and a start that was
not announced boots before it hashes."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from edgemining_tui.backtest.config import StandbyCut, load_backtest_config
from edgemining_tui.backtest.miners import SimMiner
from edgemining_tui.backtest.runner import run_backtest
from edgemining_tui.backtest.trace import parse_trace
from edgemining_tui.miners.model import CommandKind, MinerCommand

ROOT = Path(__file__).resolve().parents[1]
CFG = ROOT / "examples" / "backtest.yaml"


def _s19(now=0.0):
    cfg = load_backtest_config(CFG)
    sm = SimMiner(cfg.app.miners[0], now)
    sm.plug(1800.0, 120.0)
    return sm


def test_the_plug_cuts_the_standby_after_the_pause_and_a_surprise_start_boots_first():
    sm = _s19()
    sm.observe(60.0)
    assert sm.model.power_w == 15.0                       # standby while paused
    sm.observe(1800.0)
    assert sm.cut and sm.model.power_w == 0.0             # 30 min paused: cut
    sm.observe(1860.0)
    sm.apply(MinerCommand(CommandKind.START, watts=2000.0), day=1)
    assert sm.model.paused and sm.starts == 0             # booting, not hashing
    sm.observe(1920.0)
    assert sm.model.paused and sm.model.power_w == 15.0
    sm.observe(1980.0)                                    # 2 min later: booted, it starts
    assert not sm.model.paused and sm.starts == 1


def test_restored_ahead_of_a_start_the_boot_costs_no_time():
    sm = _s19()
    sm.observe(1800.0)
    sm.restore(1800.0)                                    # the enable timer started
    sm.observe(2100.0)
    sm.apply(MinerCommand(CommandKind.START, watts=2000.0), day=1)
    assert not sm.model.paused and sm.starts == 1


def test_plugs_take_the_winter_weeks_standby_out_of_fed():
    cfg = load_backtest_config(CFG)
    tr = parse_trace(str(ROOT / "examples" / "winter-week.csv"))
    plain = run_backtest(cfg, tr).to_dict()
    plugged = run_backtest(replace(cfg, section=replace(cfg.section, standby_cut=StandbyCut())), tr).to_dict()
    assert plugged["energy_kwh"]["mined"] < plain["energy_kwh"]["mined"] - 3.0   # most of 5.5 kWh standby
    assert plugged["fed_pct"] < plain["fed_pct"] / 3
    assert plugged["starts_per_miner_per_day"]["max"] <= plain["starts_per_miner_per_day"]["max"] + 1


def test_standby_cut_config_is_checked(tmp_path):
    from edgemining_tui.config import ConfigError
    p = tmp_path / "c.yaml"
    p.write_text(CFG.read_text().replace("  hashprice: 50", "  standby_cut: {after: 0s}\n  hashprice: 50"))
    with pytest.raises(ConfigError, match="after"):
        load_backtest_config(p)


def test_a_miners_power_switch_is_replayed_as_the_console_switches_it(tmp_path):
    # miners/plug.py: the standby is cut after standby_cut_after; the console switches it on ahead
    # of the start (enable timer); a start with the plug still off boots for boot_time first
    p = tmp_path / "c.yaml"
    p.write_text("site: {timezone: Europe/Berlin}\nminers:\n"
                 "  - name: s19\n    host: 192.168.1.50\n    family: braiins\n"
                 "    power_switch: {kind: shelly, host: 192.168.1.40, boot_time: 90s, standby_cut_after: 20m}\n"
                 "  - {name: s9, host: 192.168.1.51, family: antminer}\n")
    cfg = load_backtest_config(p)
    sm = SimMiner(cfg.app.miners[0], 0.0)
    assert (sm.cut_after, sm.boot_s, sm.ahead) == (1200.0, 90.0, True)
    assert SimMiner(cfg.app.miners[1], 0.0).cut_after is None
    sm.observe(1200.0)
    assert sm.cut
    sm.apply(MinerCommand(CommandKind.START, watts=2000.0), day=1)
    sm.observe(1260.0)
    assert sm.model.paused
    sm.observe(1290.0)
    assert not sm.model.paused and sm.starts == 1
