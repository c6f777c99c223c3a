"""The replay: energy balance at every step, the live decider, metrics that add up."""
from __future__ import annotations

import csv
import io
from dataclasses import replace
from pathlib import Path

import pytest

from edgemining_tui.backtest.config import NO_BATTERY, load_backtest_config
from edgemining_tui.backtest.runner import run_backtest
from edgemining_tui.backtest.trace import Trace, TraceError, parse_trace
from edgemining_tui.config import ConfigError
from edgemining_tui.miners.model import CommandKind, MinerCommand
from edgemining_tui.policy.decision import FleetDecision, MinerDecision

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "examples"


@pytest.fixture(scope="module")
def week() -> Trace:
    return parse_trace(EX / "week.csv")


@pytest.fixture(scope="module")
def cfg():
    return load_backtest_config(EX / "backtest.yaml")


def steps_of(cfg, trace, **kw):
    buf = io.StringIO()
    r = run_backtest(cfg, trace, steps_out=buf, **kw)
    buf.seek(0)
    return r, list(csv.DictReader(buf))


def test_energy_balance_every_step(cfg, week):
    r, rows = steps_of(cfg, week)
    assert len(rows) == len(week) == r.steps
    names = [m.name for m in cfg.app.miners]
    assert list(rows[0]) == ["timestamp", "pv_w", "load_w", "miners_w", "battery_charge_w", "battery_soc_pct",
                             "grid_import_w"] + [f"{n}_w" for n in names]
    b = cfg.battery
    worst = 0.0
    for row in rows:
        pv, load, mw = float(row["pv_w"]), float(row["load_w"]), float(row["miners_w"])
        ch, grid = float(row["battery_charge_w"]), float(row["grid_import_w"])
        imp, exp = max(0.0, grid), max(0.0, -grid)
        charge, discharge = max(0.0, ch), max(0.0, -ch)
        # pv + import + discharge = load + miners + charge + export, within 1 W
        err = abs(pv + imp + discharge - (load + mw + charge + exp))
        worst = max(worst, err)
        assert abs(mw - sum(float(row[f"{n}_w"]) for n in names)) < 1.0
        soc = float(row["battery_soc_pct"])
        assert b.min_soc - 1e-6 <= soc <= 100.0 + 1e-6
        assert charge <= b.max_charge + 1e-6 and discharge <= b.max_discharge + 1e-6
    assert worst < 1.0
    assert rows[0]["timestamp"] == "2024-05-13T00:00:00+02:00"


def test_totals_add_up(cfg, week):
    r = run_backtest(cfg, week)
    t = r.totals
    # the same balance over the whole trace, with and without miners
    assert t.pv_wh + t.import_wh + t.discharged_wh == pytest.approx(
        t.load_wh + t.mined_wh + t.charged_wh + t.export_wh, abs=1.0)
    assert t.pv_wh + t.import0_wh + t.discharged0_wh == pytest.approx(
        t.load_wh + t.charged0_wh + t.export0_wh, abs=1.0)
    # mined = extra import + captured + what the battery gave up
    assert t.mined_wh == pytest.approx(t.extra_import_wh + t.captured_wh
                                       + (t.discharged_wh - t.discharged0_wh)
                                       - (t.charged_wh - t.charged0_wh), abs=1.0)
    assert t.fed_wh == pytest.approx(t.mined_wh - t.captured_wh)
    assert sum(m.energy_wh for m in r.miners) == pytest.approx(t.mined_wh, rel=1e-9)
    d = r.to_dict()
    assert d["captured_pct"] == pytest.approx(100 * t.captured_wh / t.export0_wh, abs=0.01)
    assert d["energy_kwh"]["pv"] == pytest.approx(sum(week.pv_w) / 60 / 1000, abs=0.01)


def test_runs_the_live_decider_and_is_deterministic(cfg, week):
    from edgemining_tui.policy.decider import PolicyDecider
    from edgemining_tui.backtest.runner import make_decider
    from edgemining_tui.clock import VirtualClock
    info = make_decider(cfg, VirtualClock(week.ts0), week)
    assert isinstance(info.decider, PolicyDecider)
    short = week.slice(0, 2 * 1440)
    a = run_backtest(cfg, short).to_dict()
    b = run_backtest(cfg, short).to_dict()
    for k in ("run_s", "decide_s", "decide_us_per_call", "rows_per_s"):
        a.pop(k), b.pop(k)
    assert a == b
    assert a["energy_kwh"]["mined"] > 10     # it mined on the sunny first day
    assert a["decider_errors"] == 0


def test_sample_week_figures_allocator_beats_rules(cfg, week):
    rules = load_backtest_config(EX / "backtest-rules.yaml")
    ra, rr = run_backtest(cfg, week), run_backtest(rules, week)
    assert ra.decider == "surplus" and rr.decider == "rules"
    a, r = ra.to_dict(), rr.to_dict()
    print(f"\nallocator: captured {a['captured_pct']} % fed {a['fed_pct']} % "
          f"starts/day max {a['starts_per_miner_per_day']['max']}")
    print(f"rules:     captured {r['captured_pct']} % fed {r['fed_pct']} % "
          f"starts/day max {r['starts_per_miner_per_day']['max']}")
    assert a["captured_pct"] > r["captured_pct"]
    assert rr.starts_per_day_max <= cfg.app.policy.max_starts_per_day


class Scripted:
    """A decider that replays a fixed plan: {tick: {miner: command}}."""

    def __init__(self, plan):
        self.plan = plan
        self.calls = []

    def decide(self, inp):
        self.calls.append(inp)
        cmds = self.plan.get(len(self.calls) - 1, {})
        return FleetDecision(inp.now, None, {n: MinerDecision(n, True, command=c) for n, c in cmds.items()})


def flat(hours: float, pv: float, load: float, step: float = 60.0) -> Trace:
    n = int(hours * 3600 / step)
    return Trace(ts0=1_718_000_000.0, step_s=step, pv_w=[pv] * n, load_w=[load] * n)


def test_miner_physics_starts_and_sats(cfg):
    # no battery, sunny flat trace; start the power-target miner at tick 0, set 2000 W
    c = replace(cfg, battery=NO_BATTERY)
    on = {"garage-s19": MinerCommand(CommandKind.START)}
    set_w = {"garage-s19": MinerCommand(CommandKind.SET_POWER, watts=2000)}
    dec = Scripted({0: on, 1: set_w})
    r = run_backtest(c, flat(24, 5000, 500), decider=dec)
    g = next(m for m in r.miners if m.name == "garage-s19")
    assert g.starts == 1 and r.starts_per_day_max == 1
    views = {v.name: v for v in dec.calls[5].miners}
    s = views["garage-s19"].sample
    assert s.running and s.power_w == pytest.approx(2000) and s.power_limit_w == 2000
    assert views["garage-s19"].last_command.kind is CommandKind.SET_POWER and views["garage-s19"].confirmed
    assert not views["shed-s9"].sample.running
    # hashes: (2000 - 15 W idle) / 29.5 J/TH for ~a day
    ths = (2000 - 15) / 29.5
    assert g.th_s_s == pytest.approx(ths * 86400, rel=0.01)
    assert r.sats == pytest.approx(50 * (r.hash_th / 86400), rel=1e-9)
    assert r.to_dict()["sats"] == pytest.approx(50 * ths * (g.th_s_s / (ths * 86400)) + sum(
        50 * m.th_s_s / 86400 for m in r.miners if m is not g), rel=0.01)
    # snapshot signs: grid + import / - export; no battery: its readings are None, not 0
    snap = dec.calls[5].snapshot
    assert snap.value("grid_import_w") == pytest.approx(500 + s.power_w + 10 + 8 - 5000)
    assert snap.value("battery_charge_w") is None and snap.value("battery_soc_pct") is None


def test_levels_and_on_off_miners_take_commands(cfg):
    c = replace(cfg, battery=NO_BATTERY)
    plan = {0: {"office-avalon": MinerCommand(CommandKind.START), "shed-s9": MinerCommand(CommandKind.START)},
            1: {"office-avalon": MinerCommand(CommandKind.SET_POWER, watts=1400)},     # highest level ≤ 1400
            10: {"office-avalon": MinerCommand(CommandKind.SET_LEVEL, level="eco"),
                 "shed-s9": MinerCommand(CommandKind.STOP)}}
    dec = Scripted(plan)
    run_backtest(c, flat(1, 5000, 500), decider=dec)
    v5 = {v.name: v.sample for v in dec.calls[5].miners}
    assert v5["office-avalon"].level == "standard" and v5["office-avalon"].power_w == pytest.approx(1300)
    assert v5["shed-s9"].power_w == pytest.approx(1400)
    v15 = {v.name: v.sample for v in dec.calls[15].miners}
    assert v15["office-avalon"].level == "eco" and v15["office-avalon"].power_w == pytest.approx(800)
    assert not v15["shed-s9"].running and v15["shed-s9"].power_w == pytest.approx(8)


def test_ramp_is_the_models(cfg):
    # the 60 s ramp (idle → max) seen at 10 s decisions: a start reaches 1/3 of the swing after 20 s
    c = replace(cfg, battery=NO_BATTERY, section=replace(cfg.section, decision_interval=10.0))
    dec = Scripted({0: {"garage-s19": MinerCommand(CommandKind.START)}})
    r = run_backtest(c, flat(0.5, 5000, 500), decider=dec)
    assert r.steps == 180 and r.step_s == 10
    p = [next(v for v in inp.miners if v.name == "garage-s19").sample.power_w for inp in dec.calls[:8]]
    assert p[0] == pytest.approx(15)
    assert p[2] == pytest.approx(15 + (3250 - 15) * 20 / 60)
    assert p[6] == pytest.approx(3250)


def test_decision_interval_must_divide_the_step(cfg):
    c = replace(cfg, section=replace(cfg.section, decision_interval=25.0))
    with pytest.raises(TraceError, match="does not divide"):
        run_backtest(c, flat(1, 0, 500))
    c = replace(cfg, section=replace(cfg.section, decision_interval=120.0))
    with pytest.raises(TraceError, match="longer than"):
        run_backtest(c, flat(1, 0, 500))


def test_baseline_without_miners_is_independent_of_the_policy(cfg, week):
    short = week.slice(0, 1440)
    idle = run_backtest(cfg, short, decider=Scripted({}))
    real = run_backtest(cfg, short)
    for k in ("import0_wh", "export0_wh", "charged0_wh", "discharged0_wh"):
        assert getattr(idle.totals, k) == pytest.approx(getattr(real.totals, k))
    # never started: the miners only draw their idle power, nothing is captured from export... almost
    assert idle.totals.mined_wh == pytest.approx((15 + 10 + 8) * 24, rel=1e-6)
    assert all(m.starts == 0 for m in idle.miners)


def test_decider_errors_are_counted_not_fatal(cfg):
    class Broken:
        def decide(self, inp):
            raise RuntimeError("boom")
    r = run_backtest(cfg, flat(1, 1000, 500), decider=Broken())
    assert r.decider_errors == 60 and "boom" in r.first_error


def test_prices_and_temperature_reach_the_decider(cfg, week):
    dec = Scripted({})
    run_backtest(cfg, week.slice(600, 610), decider=dec)
    inp = dec.calls[0]
    assert inp.prices == {"import": 0.34, "export": 0.08, "btc": 90000.0, "hashprice": 50.0}
    assert "outdoor_temperature" in inp.climate
    assert inp.tz == "Europe/Berlin"


def test_no_battery_config(tmp_path, week):
    text = (EX / "backtest.yaml").read_text().split("backtest:")[0]
    p = tmp_path / "nobat.yaml"
    p.write_text(text)
    c = load_backtest_config(p)
    assert c.battery.capacity == 0 and c.label == "nobat"
    r = run_backtest(c, week.slice(0, 1440))
    assert r.totals.charged_wh == 0 and r.totals.discharged_wh == 0
    assert r.to_dict()["battery"] is None


def test_battery_falls_back_to_demo_site(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("demo:\n  site:\n    battery: {capacity: 7kWh, initial_soc: 60}\n"
                 "miners:\n  - {name: a, driver: simulated}\n")
    c = load_backtest_config(p)
    assert c.battery.capacity == 7000 and c.battery.initial_soc == 60


def test_config_errors_have_file_and_line(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("miners:\n  - {name: a, driver: simulated}\nbacktest:\n  hashprize: 50\n")
    with pytest.raises(ConfigError) as ei:
        load_backtest_config(p)
    assert ei.value.line == 4 and "hashprize" in str(ei.value)
    p.write_text("site: {timezone: Europe/Berlin}\n")
    with pytest.raises(ConfigError, match="at least one enabled miner"):
        load_backtest_config(p)


def test_energy_section_is_not_needed(tmp_path):
    # a real console config with a Home Assistant source whose token is not set: fine for a backtest
    p = tmp_path / "c.yaml"
    p.write_text("energy:\n  source: home_assistant\n  home_assistant: {url: \"http://ha:8123\", token: \"${NOPE_TOKEN}\"}\n"
                 "heat:\n  zones:\n    - {name: office, sensor: sensor.office_t, miners: [s19]}\n"
                 "miners:\n  - {name: s19, host: 192.168.1.50, family: braiins, password: \"${BOS_PW}\"}\n")
    c = load_backtest_config(p, env={})
    r = run_backtest(c, flat(2, 4000, 400))
    assert [m.name for m in r.miners] == ["s19"]
    assert r.miners[0].caps.power_target   # Braiins: simulated from the family's capabilities


# --- issue 6's goal: captured >= 95 %, fed <= 3 %, <= 4 starts per miner per day --------------------
@pytest.fixture(scope="module")
def winter() -> Trace:
    return parse_trace(EX / "winter-week.csv")


def test_sample_week_meets_the_goal(cfg, week):
    d = run_backtest(cfg, week).to_dict()
    assert d["captured_pct"] >= 95 and d["fed_pct"] <= 3
    assert d["starts_per_miner_per_day"]["max"] <= 4


def test_winter_week_decisions_meet_the_goal_and_what_is_fed_is_standby(cfg, winter):
    d = run_backtest(cfg, winter).to_dict()
    a = d["vs_asleep"]
    assert d["captured_pct"] >= 95 and d["starts_per_miner_per_day"]["max"] <= 4
    assert a["captured_pct"] >= 95 and a["fed_pct"] <= 3
    # the fed is not met in this week (little surplus): all of it is the standby draw of
    # three miners, 33 W day and night, which no decision can avoid
    assert d["fed_pct"] > 3 and d["fed_kwh"] <= a["standby_kwh"]


def test_forecast_reserve_beats_fixed_battery_levels_in_winter(cfg, winter):
    from edgemining_tui.backtest.config import with_policy
    from edgemining_tui.policy.config import BatteryPolicy
    levels = with_policy(cfg, battery=BatteryPolicy(priority_soc=80.0, buffer_soc=95.0))
    dr, dl = run_backtest(cfg, winter).to_dict(), run_backtest(levels, winter).to_dict()
    # the fixed levels let the miners take charge power the battery lacks at night
    assert dl["vs_asleep"]["fed_pct"] > 10
    assert dr["vs_asleep"]["fed_pct"] < dl["vs_asleep"]["fed_pct"] - 10
    assert dr["battery"]["end_deficit_kwh"] < dl["battery"]["end_deficit_kwh"]


def test_a_fleet_that_never_starts_is_all_standby(cfg, week):
    r = run_backtest(cfg, week.slice(0, 1440), decider=Scripted({}))
    t = r.totals
    assert t.mined_wh == pytest.approx(t.standby_wh, rel=1e-6)
    assert t.export_wh == pytest.approx(t.export_asleep_wh, abs=1.0)
    d = r.to_dict()
    assert d["vs_asleep"]["captured_pct"] == pytest.approx(0.0, abs=0.01)
    assert d["vs_asleep"]["fed_pct"] is None          # nothing mined above standby
    # the measure counts the standby as mining: by night it is fed from battery and grid
    assert d["fed_pct"] > 30
