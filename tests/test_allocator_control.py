"""The surplus allocator's control law, timers and protections (VirtualClock-free: time is an argument)."""
from __future__ import annotations

import pytest

from _allocator_kit import CONT, LEVELED, ONOFF, SMALL, T0, SimMiner, Site, inp, sample, snap, view
from edgemining_tui.miners.model import Capabilities, CommandKind
from edgemining_tui.policy.config import BatteryPolicy, DisableConfig, EnableConfig, PolicyConfig
from edgemining_tui.policy.decider import build_decider
from edgemining_tui.policy.decision import TERMS


def cfg(**kw) -> PolicyConfig:
    return PolicyConfig(**kw)


class Pv:
    """A PV level the test can change between ticks."""

    def __init__(self, w: float) -> None:
        self.w = w

    def __call__(self, t: float) -> float:
        return self.w


def rig(caps=CONT, pv=5000.0, house=400.0, dt=10.0, **policy):
    d = build_decider(cfg(**policy))
    m = SimMiner("a", caps)
    p = Pv(pv)
    site = Site(d, [m], pv=p, house=lambda t: house, dt=dt)
    return d, m, p, site


def last(site, name="a"):
    return site.decisions[-1].miners[name]


# --- enable / disable delays ------------------------------------------------------------------
def test_enable_delay_then_start():
    d, m, pv, site = rig()
    site.tick()
    md = last(site)
    assert md.term == "enable_timer" and md.command is None and not m.running
    assert "enable in 1:00" in md.reason and "surplus 4.5 kW ≥ 1.2 kW min" in md.reason
    site.run(50)
    assert not m.running and last(site).term == "enable_timer"
    site.tick()    # t = 60 s
    assert m.running and m.starts == [T0 + 60]
    assert last(site).command.kind is CommandKind.START and last(site).command.watts == 3000


def test_enable_timer_resets_when_the_condition_lapses():
    d, m, pv, site = rig()
    site.run(40)                      # timer runs 0..30
    pv.w = 1000                       # surplus lapses
    site.tick()                       # t=40: reset
    assert last(site).term in ("surplus", "idle")
    pv.w = 5000
    site.run(50)                      # t=50..90: timer restarted at 50
    assert not m.running
    site.run(20)                      # t=100, 110
    assert m.starts == [T0 + 110]


def test_disable_delay_then_min_on_then_stop():
    d, m, pv, site = rig()
    site.run(70)                      # started at 60
    assert m.running
    pv.w = 900                        # surplus gone: the miner would import
    site.run(300)
    # disable timer 180 s runs first, then min on-time (10 min from the start at 60 s) holds it at minimum
    terms = [x.miners["a"].term for x in site.decisions]
    assert "disable_timer" in terms and "min_on" in terms
    assert m.running and m.limit == 1200
    site.run(600)
    assert not m.running and m.stops[0] == T0 + 660
    assert "pause" in site.decisions[-1].miners["a"].reason or site.decisions[-1].miners["a"].term != "min_on"


def test_disable_timer_resets_when_surplus_returns():
    d, m, pv, site = rig(min_on=0.0, min_change_interval=120.0)
    site.run(200)                     # started at 60 s, past the min change interval
    pv.w = 900
    site.run(100)
    assert last(site).term == "disable_timer"
    pv.w = 5000
    site.tick()
    assert last(site).term in ("surplus", "min_interval")
    pv.w = 900
    site.run(170)
    assert m.running, "the disable timer restarted, so it has not run out yet"
    site.run(30)
    assert not m.running


def test_disable_threshold_tolerates_small_import():
    d, m, pv, site = rig(disable=DisableConfig(threshold=500.0, delay=180.0))
    site.run(70)
    pv.w = 1300                       # at minimum 1200 W: ~400 W short (< 500 tolerated)
    site.run(400)
    assert m.running and last(site).term in ("surplus", "min_interval")
    assert "allowed" in last(site).reason or last(site).term == "min_interval"


def test_min_off_blocks_restart():
    d, m, pv, site = rig(min_on=0.0)
    site.run(70)
    pv.w = 0
    site.run(200)
    assert not m.running
    stop = m.stops[0]
    pv.w = 5000
    site.run(120)
    md = last(site)
    assert md.term == "min_off" and "min off-time" in md.reason and not m.running
    site.run(300)
    assert m.running and m.starts[-1] >= stop + 300


def test_max_starts_per_day():
    d, m, pv, site = rig(min_on=0.0, min_off=0.0, max_starts_per_day=3,
                         enable=EnableConfig(delay=10.0), disable=DisableConfig(delay=10.0))
    for _ in range(6):
        pv.w = 5000
        site.run(100)
        pv.w = 0
        site.run(100)
    assert len(m.starts) == 3
    pv.w = 5000
    site.run(100)
    md = last(site)
    assert md.term == "max_starts" and md.reason == "3 starts today = max"


def test_starts_per_day_reset_at_local_midnight():
    # 2025-06-15 21:50 UTC = 23:50 in Berlin; local midnight comes 10 minutes later
    start = 1_750_024_200.0
    d = build_decider(cfg(min_on=0.0, min_off=0.0, max_starts_per_day=1, enable=EnableConfig(delay=0.0),
                          disable=DisableConfig(delay=0.0)), tz="Europe/Berlin")
    m = SimMiner("a", CONT)
    pv = Pv(5000)
    site = Site(d, [m], pv=pv, house=lambda t: 0.0, start=start, tz="Europe/Berlin")
    site.run(60)
    pv.w = 0
    site.run(60)
    pv.w = 5000
    site.run(60)
    assert len(m.starts) == 1 and last(site).term == "max_starts"
    site.run(600)                     # past local midnight
    assert len(m.starts) == 2


# --- quantisation, levels, on/off ----------------------------------------------------------------
@pytest.mark.parametrize("caps,grid,expect_w,expect_level", [
    (CONT, -2445.0, 2300.0, None),          # 2445 - 100 headroom = 2345 -> step 100 -> 2300
    (CONT, -5000.0, 3000.0, None),          # clamp to max
    (CONT, -1350.0, 1200.0, None),          # 1250 -> min
    (SMALL, -1138.0, 1000.0, None),         # 1038 -> step 50 -> 1000
    (LEVELED, -1600.0, 1400.0, "normal"),   # highest level that fits 1500
    (LEVELED, -2200.0, 2000.0, "turbo"),
    (LEVELED, -1000.0, 800.0, "eco"),
    (ONOFF, -1200.0, 1000.0, None),         # full power fits
])
def test_fit_to_capabilities(caps, grid, expect_w, expect_level):
    d = build_decider(cfg(enable=EnableConfig(delay=0.0)))
    r = d.decide(inp(T0, snap(T0, grid), view("a", caps, sample("a", T0, False, power=0.0))))
    md = r.miners["a"]
    assert md.run and md.target_w == expect_w and md.level == expect_level
    assert md.command.kind is CommandKind.START
    if caps.power_target:
        assert md.command.watts == expect_w
    assert md.term == "surplus" and f"→ {expect_w:.0f} W" in md.reason


@pytest.mark.parametrize("caps,grid", [(ONOFF, -1050.0), (CONT, -1250.0), (LEVELED, -850.0)])
def test_does_not_start_when_lowest_point_does_not_fit(caps, grid):
    d = build_decider(cfg(enable=EnableConfig(delay=0.0)))
    r = d.decide(inp(T0, snap(T0, grid), view("a", caps, sample("a", T0, False, power=0.0))))
    md = r.miners["a"]
    assert not md.run and md.command is None and md.term == "surplus"
    assert "min" in md.reason


def test_running_miner_follows_surplus_with_min_change_interval():
    d = build_decider(cfg())
    t = T0
    v = lambda lim, pw: view("a", CONT, sample("a", t, True, power=pw, limit=lim))
    # running at 2000 W; 800 W more surplus -> 2700 (2000 + 800 - 100)
    r = d.decide(inp(t, snap(t, -800), v(2000, 2000)))
    assert r.miners["a"].command.kind is CommandKind.SET_POWER and r.miners["a"].command.watts == 2700
    t += 30
    r = d.decide(inp(t, snap(t, -300), v(2700, 2300)))     # ramping: measured 2300, surplus keeps up
    assert r.miners["a"].command is None                   # unchanged target: no resend
    t += 30
    r = d.decide(inp(t, snap(t, 600), v(2700, 2700)))      # cloud: importing 600 W -> wants 2000
    md = r.miners["a"]
    assert md.term == "min_interval" and md.command is None and md.target_w == 2700
    assert "next change in 1:00 (wants 2000 W)" == md.reason
    t += 60
    r = d.decide(inp(t, snap(t, 600), v(2700, 2700)))
    assert r.miners["a"].command.watts == 2000


def test_unconfirmed_command_is_resent_after_retry():
    d = build_decider(cfg(command_retry=60.0))
    t = T0
    r = d.decide(inp(t, snap(t, -800), view("a", CONT, sample("a", t, True, power=2000, limit=2000))))
    assert r.miners["a"].command.watts == 2700
    for dt in (10, 30, 50):
        r = d.decide(inp(t + dt, snap(t + dt, -800), view("a", CONT, sample("a", t + dt, True, power=2000,
                                                                                limit=2000))))
        assert r.miners["a"].command is None, "waiting for the miner to confirm"
    r = d.decide(inp(t + 60, snap(t + 60, -800), view("a", CONT, sample("a", t + 60, True, power=2000, limit=2000))))
    assert r.miners["a"].command is not None and r.miners["a"].command.watts == 2700


def test_unconfirmed_start_is_resent_and_not_counted_twice():
    d = build_decider(cfg(enable=EnableConfig(delay=0.0)))
    for i, dt in enumerate((0, 20, 40, 60, 70, 120)):
        t = T0 + dt
        r = d.decide(inp(t, snap(t, -3000), view("a", CONT, sample("a", t, False, power=10))))
        cmd = r.miners["a"].command
        assert (cmd is not None) == (dt in (0, 60, 120)), dt
    assert d.export_state()["miners"]["a"]["starts_today"] == 1


# --- priority, reservation, import cap -------------------------------------------------------------
def three(dt=10.0, **policy):
    d = build_decider(cfg(**policy))
    ms = [SimMiner("c", SMALL, priority=3), SimMiner("a", CONT, priority=1), SimMiner("b", LEVELED, priority=2)]
    pv = Pv(0.0)
    site = Site(d, ms, pv=pv, house=lambda t: 500.0, dt=dt)
    return d, {m.name: m for m in ms}, pv, site


@pytest.mark.parametrize("pv_w,running", [
    (1000.0, set()),            # 400 W: nobody fits (c, the smallest, needs 500)
    (1300.0, {"c"}),            # 700 W: a needs 1200, b eco 800: only c (500..1500) fits
    (1500.0, {"b"}),            # 900 W: a needs 1200, b eco 800 fits
    (2000.0, {"a"}),            # 1400 W: a first (1200..3000), 200 W left
    (4000.0, {"a"}),            # 3400: a 3000, 400 left: b eco needs 800
    (4500.0, {"a", "b"}),       # 3900: a 3000, b eco 800
    (6000.0, {"a", "b"}),       # 5400: a 3000, b turbo 2000, 400 left: c (500 min) stays off
    (6600.0, {"a", "b", "c"}),  # 6000: a 3000, b turbo 2000, c 1000 (quantised to 50 W steps)
])
def test_priority_order_across_three_miners(pv_w, running):
    d, ms, pv, site = three(enable=EnableConfig(delay=0.0))
    pv.w = pv_w
    site.run(600)
    got = {n for n, m in ms.items() if m.running}
    assert got == running
    if pv_w >= 6000:
        assert ms["a"].limit == 3000 and ms["b"].level == "turbo"
    if pv_w == 6600:
        assert ms["c"].limit == 1000    # 6600 - 500 house - 100 headroom - 3000 - 2000
    assert all(len(m.starts) <= 1 for m in ms.values()), "no toggling at a constant surplus"


def test_running_miners_keep_their_minimum_and_priority_gets_the_rest():
    d, ms, pv, site = three(enable=EnableConfig(delay=0.0))
    pv.w = 5000                       # 4400 W: a 3000, b eco 800 ... 
    site.run(600)
    assert ms["a"].running and ms["b"].running
    pv.w = 3000                       # a cloud: 2400 W. b keeps eco 800, a is trimmed to 1600
    site.run(300)
    assert ms["b"].running and ms["b"].level == "eco"
    assert ms["a"].running and ms["a"].limit == 1600
    assert len(ms["b"].stops) == 0, "trimming the continuous miner beats stopping the small one"
    pv.w = 5600                       # 5000 W back: a gets its maximum first, b takes what is left
    site.run(300)
    assert ms["a"].limit == 3000 and ms["b"].level == "turbo"


def test_lower_priority_runs_while_higher_is_forced_off():
    d, ms, pv, site = three(enable=EnableConfig(delay=0.0), min_on=0.0, min_off=0.0)
    d.set_override("force_off", miner="a", now=T0, expiry="for 30 min")
    pv.w = 2500
    site.run(600)
    assert ms["b"].running and not ms["a"].running
    assert site.decisions[-1].miners["a"].term == "override"


def test_reserved_power_during_enable_countdown():
    d = build_decider(cfg())
    caps_a = Capabilities(on_off=True, max_w=2000, idle_w=0)
    t = T0
    views = lambda: (view("a", caps_a, sample("a", t, False, power=0), 1),
                     view("b", SMALL, sample("b", t, False, power=0), 2))
    r = d.decide(inp(t, snap(t, -2300), *views()))
    assert r.miners["a"].term == "enable_timer"
    assert r.miners["b"].term == "surplus", "a reserves 2000 W of the 2200 W: b may not grab it"
    assert r.terms["reserved_w"] == 2000
    d2 = build_decider(cfg())
    r = d2.decide(inp(t, snap(t, -2800), *views()))
    assert r.miners["a"].term == "enable_timer" and r.miners["b"].term == "enable_timer"


def test_import_cap_pauses_a_miner_held_by_min_on():
    d = build_decider(cfg(import_cap_w=500.0))
    t = T0
    r = d.decide(inp(t, snap(t, -2000), view("a", CONT, sample("a", t, False, power=0))))
    r = d.decide(inp(t + 60, snap(t + 60, -2000), view("a", CONT, sample("a", t + 60, False, power=0))))
    assert r.miners["a"].command.kind is CommandKind.START
    t += 300
    # a cloud: the miner draws 1900 W and the site imports 1000 W -> disable timer holds at 1200
    r = d.decide(inp(t, snap(t, 1000), view("a", CONT, sample("a", t, True, power=1900, limit=1900))))
    assert r.miners["a"].run and r.miners["a"].target_w == 1200
    # the house jumps: importing 1400 W with the miner at 1200 W -> minimum would still import 1400 > 500
    t += 130
    r = d.decide(inp(t, snap(t, 1400), view("a", CONT, sample("a", t, True, power=1200, limit=1200))))
    md = r.miners["a"]
    assert not md.run and md.term == "import_cap" and md.reason == "import cap 500 W: pause"
    assert md.command.kind is CommandKind.STOP


def test_import_cap_limits_target():
    # battery buffered keeps a running miner; the cap then limits how much it may take from the grid
    d = build_decider(cfg(import_cap_w=0.0, battery=BatteryPolicy(priority_soc=20, buffer_soc=50)))
    t = T0
    r = d.decide(inp(t, snap(t, 0.0, charge=-1500, soc=80),
                     view("a", CONT, sample("a", t, True, power=2000, limit=2000))))
    md = r.miners["a"]
    # available = 2000 - 0 - 1500 - 100 = 400 < 1200; buffered -> minimum 1200, cap allows 2000
    assert md.run and md.target_w == 1200 and md.term == "soc_guard"
    assert "SoC 80 % > buffer 50 %" in md.reason


# --- battery: priority / buffer / buffer_start ------------------------------------------------------
BAT = BatteryPolicy(priority_soc=60, buffer_soc=80, buffer_start_soc=95)


@pytest.mark.parametrize("soc,charge,grid,running,expect_term,expect_run", [
    (42, 2500, 0, False, "soc_guard", False),         # below priority: the battery keeps its 2.5 kW
    (70, 2500, 0, False, "enable_timer", False),      # above priority: charge power is surplus
    (70, -1000, 0, True, "disable_timer", True),      # running on battery, SoC below buffer: timer
    (85, -1000, 0, True, "soc_guard", True),          # above buffer: battery keeps it alive
    (96, 0, 0, False, "enable_timer", False),         # above buffer_start: may start with no surplus
    (90, 0, 0, False, "idle", False),                 # below buffer_start: no
])
def test_battery_levels(soc, charge, grid, running, expect_term, expect_run):
    d = build_decider(cfg(battery=BAT))
    t = T0
    smp = sample("a", t, running, power=1500 if running else 0, limit=1500 if running else None)
    r = d.decide(inp(t, snap(t, grid, charge=charge, soc=soc), view("a", CONT, smp)))
    md = r.miners["a"]
    assert md.term == expect_term, md.reason
    assert md.run == expect_run
    if expect_term == "soc_guard" and not running:
        assert md.reason == f"SoC {soc} % < priority 60 %: battery first"
        assert r.terms["battery_kept_w"] == charge


def test_buffer_start_starts_at_minimum():
    d = build_decider(cfg(battery=BAT))
    for dt in (0, 60):
        t = T0 + dt
        r = d.decide(inp(t, snap(t, 0, charge=0, soc=97), view("a", CONT, sample("a", t, False, power=0))))
    md = r.miners["a"]
    assert md.command.kind is CommandKind.START and md.command.watts == 1200
    assert md.term == "soc_guard" and "buffer-start 95 %" in md.reason


def test_missing_battery_reading_is_stale_not_zero():
    d = build_decider(cfg())
    t = T0
    d.decide(inp(t, snap(t, 0, charge=0, soc=50), view("a", CONT, sample("a", t, False, power=0))))
    r = d.decide(inp(t + 5, snap(t + 5, -3000, charge=None, soc=None), view("a", CONT, sample("a", t, False, power=0))))
    assert r.miners["a"].term == "stale" and r.available_w is None


def test_monitor_only_and_offline_are_never_commanded():
    from _allocator_kit import MONITOR
    from edgemining_tui.miners.model import MinerState
    d = build_decider(cfg(enable=EnableConfig(delay=0.0)))
    t = T0
    r = d.decide(inp(t, snap(t, -9000),
                     view("m", MONITOR, sample("m", t, True, power=1000)),
                     view("o", CONT, sample("o", t, False, state=MinerState.OFFLINE)),
                     view("n", CONT, None)))
    assert r.miners["m"].term == "monitor_only" and r.miners["m"].command is None
    assert r.miners["o"].term == "offline" and r.miners["o"].command is None
    assert r.miners["n"].term == "offline"


def test_every_term_is_known_and_reasons_are_short():
    d, ms, pv, site = three()
    for w in (0, 3000, 6000, 1000, 7000, 0):
        pv.w = w
        site.run(400)
    for fd in site.decisions:
        for md in fd.miners.values():
            assert md.term in TERMS
            assert md.reason and len(md.reason) < 90


def test_fleet_terms_expose_timers():
    d, m, pv, site = rig()
    site.tick()
    terms = site.decisions[-1].terms
    assert terms["available_w"] == pytest.approx(5000 - 400 - 15 + 15 - 100, abs=1)
    assert terms["headroom_w"] == 100
    assert terms["timers"]["a"]["action"] == "enable"
    assert terms["timers"]["a"]["remaining_s"] == pytest.approx(60)


def test_reasons_never_print_a_false_comparison():
    from edgemining_tui.policy.timers import fmt_kw_below
    assert fmt_kw_below(1460.0, 1500.0) == "1.46 kW < 1.50 kW"
    assert fmt_kw_below(1200.0, 1500.0) == "1.2 kW < 1.5 kW"
    assert fmt_kw_below(1499.6, 1500.0) == "1499.6 W < 1500.0 W"
