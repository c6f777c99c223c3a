"""Stale energy data (hold -> minimum -> pause -> recover) and restarts that must not toggle miners."""
from __future__ import annotations

from _allocator_kit import CONT, ONOFF, T0, inp, sample, snap, view
from edgemining_tui.clock import VirtualClock
from edgemining_tui.miners.model import CommandKind
from edgemining_tui.policy.config import EnableConfig, PolicyConfig
from edgemining_tui.policy.decider import build_decider


def running(t, limit=2500.0, power=2500.0, caps=CONT):
    return view("a", caps, sample("a", t, True, power=power, limit=limit if caps.power_target else None))


def test_failsafe_hold_then_minimum_then_pause_then_recover():
    clock = VirtualClock(T0)
    d = build_decider(PolicyConfig())
    t = clock.now()
    r = d.decide(inp(t, snap(t, -100), running(t)))           # running at 2500, surplus fine
    assert r.miners["a"].term == "surplus" and r.miners["a"].command is None
    limit = 2500.0
    seen = []
    for _ in range(50):                                        # 250 s of stale grid data
        clock.advance(5)
        t = clock.now()
        r = d.decide(inp(t, snap(t, None), running(t, limit=limit, power=limit),
                         stale=("grid_import_w",), stale_for=t - T0))
        md = r.miners["a"]
        assert md.term == "stale"
        seen.append((t - T0, r.terms["failsafe"], md.command.kind if md.command else None))
        if md.command and md.command.kind is CommandKind.SET_POWER:
            limit = md.command.watts
        if md.command and md.command.kind is CommandKind.STOP:
            break
    stages = {s for _, s, _ in seen}
    assert stages == {"hold", "minimum", "pause"}
    hold = [x for x in seen if x[1] == "hold"]
    assert all(c is None for _, _, c in hold) and hold[-1][0] == 60     # grace 60 s: nothing sent
    mins = [x for x in seen if x[1] == "minimum"]
    assert mins[0][2] is CommandKind.SET_POWER and limit == 1200         # stepped down to minimum
    assert seen[-1][1] == "pause" and seen[-1][2] is CommandKind.STOP and seen[-1][0] == 185
    assert "paused until data returns" in r.miners["a"].reason
    # still stale: stays paused, no start
    clock.advance(5)
    t = clock.now()
    r = d.decide(inp(t, snap(t, None), view("a", CONT, sample("a", t, False, power=10)),
                     stale=("grid_import_w",), stale_for=t - T0))
    assert r.miners["a"].command is None and "not starting" in r.miners["a"].reason
    # data returns: recovers by itself through the normal timers (min off-time first)
    starts = []
    for _ in range(120):
        clock.advance(5)
        t = clock.now()
        r = d.decide(inp(t, snap(t, -3000), view("a", CONT, sample("a", t, bool(starts), power=10))))
        assert r.miners["a"].term != "stale"
        if r.miners["a"].command and r.miners["a"].command.kind is CommandKind.START:
            starts.append(t)
    assert len(starts) == 1
    assert starts[0] - (T0 + 185) >= 300, "min off-time after the fail-safe pause"


def test_failsafe_on_off_miner_holds_until_pause():
    d = build_decider(PolicyConfig())
    t = T0
    d.decide(inp(t, snap(t, -300), running(t, caps=ONOFF, power=1000)))
    for dt in (30, 90, 150):
        r = d.decide(inp(t + dt, snap(t + dt, None), running(t + dt, caps=ONOFF, power=1000),
                         stale=("grid_import_w",), stale_for=dt))
        assert r.miners["a"].command is None and r.miners["a"].run
    r = d.decide(inp(t + 200, snap(t + 200, None), running(t + 200, caps=ONOFF, power=1000),
                     stale=("grid_import_w",), stale_for=200))
    assert r.miners["a"].command.kind is CommandKind.STOP


def test_missing_grid_without_stale_flag_is_tracked_by_the_decider():
    d = build_decider(PolicyConfig())
    t = T0
    d.decide(inp(t, snap(t, -300), running(t)))
    r = d.decide(inp(t + 10, snap(t + 10, None), running(t + 10)))
    assert r.miners["a"].term == "stale" and "grid power missing" in r.miners["a"].reason
    r = d.decide(inp(t + 100, snap(t + 100, None), running(t + 100)))
    assert r.terms["failsafe"] == "minimum" and r.terms["stale_for_s"] == 90


def test_grid_derived_from_pv_and_house():
    d = build_decider(PolicyConfig(enable=EnableConfig(delay=0.0)))
    t = T0
    r = d.decide(inp(t, snap(t, None, pv=4000, house=500), view("a", CONT, sample("a", t, False, power=0))))
    assert r.available_w == 4000 - 500 - 100
    assert r.miners["a"].command.kind is CommandKind.START


def test_restart_keeps_a_running_miner_and_its_min_on_time():
    cfg = PolicyConfig(enable=EnableConfig(delay=0.0))
    d = build_decider(cfg)
    t = T0
    r = d.decide(inp(t, snap(t, -3000), view("a", CONT, sample("a", t, False, power=0))))
    assert r.miners["a"].command.kind is CommandKind.START
    saved = d.export_state()
    # kill -9 two minutes later; a new process restores and sees the miner mining with no surplus
    d2 = build_decider(cfg)
    d2.restore_state(saved)
    t2 = t + 120
    r = d2.decide(inp(t2, snap(t2, 1500), running(t2, limit=2900, power=2900)))
    md = r.miners["a"]
    assert md.run, "recognised as running: not toggled"
    assert md.command is None or md.command.kind is CommandKind.SET_POWER
    for dt in range(10, 500, 10):   # disable delay, then min on-time from the *original* start
        t3 = t2 + dt
        r = d2.decide(inp(t3, snap(t3, 1500), running(t3, limit=1200, power=1200)))
        cmd = r.miners["a"].command
        if cmd is not None and cmd.kind is CommandKind.STOP:
            break
    assert t3 - t == 600, "stopped exactly when min on-time (10 min from the original start) ran out"
    assert d2.export_state()["miners"]["a"]["starts_today"] == 1


def test_fresh_start_recognises_a_mining_miner():
    d = build_decider(PolicyConfig())
    t = T0
    r = d.decide(inp(t, snap(t, 2000), running(t)))
    md = r.miners["a"]
    assert md.run and md.term == "disable_timer"
    assert md.command.kind is CommandKind.SET_POWER and md.command.watts == 1200   # down to minimum, not off


def test_restart_counts_starts_per_day():
    cfg = PolicyConfig(enable=EnableConfig(delay=0.0), max_starts_per_day=1, min_off=0.0)
    d = build_decider(cfg)
    t = T0
    d.decide(inp(t, snap(t, -3000), view("a", CONT, sample("a", t, False, power=0))))
    d2 = build_decider(cfg)
    d2.restore_state(d.export_state())
    t += 30
    r = d2.decide(inp(t, snap(t, -3000), view("a", CONT, sample("a", t, False, power=0))))
    assert r.miners["a"].term == "max_starts" and r.miners["a"].command is None


def test_a_stale_reading_is_named_in_words_in_the_reason():
    # the reason is shown under the Energy picture and in the fleet table: "grid", not grid_import_w
    d = build_decider(PolicyConfig())
    t = T0 + 30
    r = d.decide(inp(t, snap(t, None), running(t), stale=("grid_import_w", "battery_soc_pct"), stale_for=30))
    why = r.miners["a"].reason + " " + r.summary
    assert "energy data stale (grid, SoC)" in why and "_w" not in why and "_pct" not in why
