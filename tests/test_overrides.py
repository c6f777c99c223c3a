"""Manual overrides: expiry parsing, countdown, release, persistence across a restart."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from _allocator_kit import CONT, T0, inp, sample, snap, view
from edgemining_tui.miners.model import CommandKind
from edgemining_tui.policy.config import PolicyConfig
from edgemining_tui.policy.decider import build_decider
from edgemining_tui.policy.overrides import Overrides, parse_expiry

BERLIN = ZoneInfo("Europe/Berlin")
NOON = datetime(2025, 6, 15, 12, 0, tzinfo=BERLIN).timestamp()


@pytest.mark.parametrize("text,delta,label", [
    ("for 2 h", 7200, "for 2:00:00"),
    ("2h", 7200, "for 2:00:00"),
    ("for 90 min", 5400, "for 1:30:00"),
    ("for 1h30m", 5400, "for 1:30:00"),
    ("45m", 2700, "for 45:00"),
    ("until 18:00", 6 * 3600, "until 18:00"),
    ("until 6pm", 6 * 3600, "until 18:00"),
    ("until 09:30", 21.5 * 3600, "until 09:30"),      # already past today: tomorrow
    (600, 600, "for 10:00"),
])
def test_parse_expiry(text, delta, label):
    until, lab = parse_expiry(text, NOON, BERLIN)
    assert until == NOON + delta and lab == label


def test_parse_expiry_sunset_and_errors():
    sunset = NOON + 9 * 3600 + 17 * 60
    until, label = parse_expiry("until sunset", NOON, BERLIN, sunset=lambda now: sunset)
    assert until == sunset and label == "until sunset 21:17"
    assert parse_expiry("until released", NOON, BERLIN) == (None, "until released")
    with pytest.raises(ValueError, match="sunset is unknown"):
        parse_expiry("until sunset", NOON, BERLIN)
    with pytest.raises(ValueError, match="expected 'for 2 h'"):
        parse_expiry("tomorrowish", NOON, BERLIN)
    with pytest.raises(ValueError, match="positive"):
        parse_expiry("for 0 min", NOON, BERLIN)


def test_countdown_release_and_expiry_events():
    ov = Overrides(BERLIN)
    o = ov.set("force_off", miner="a", now=NOON, expiry="for 2 h")
    assert o.remaining_s(NOON + 48) == 7152
    assert o.describe(NOON + 48) == "forced off by user, 1:59:12 left"
    ov.set("observe", now=NOON, expiry="for 30 min")
    assert ov.expire(NOON + 1799) == []
    ev = ov.expire(NOON + 1800)
    assert [e.kind for e in ev] == ["expired"] and ev[0].override.kind == "observe"
    assert ov.global_("observe") is None and ov.for_miner("a") is not None
    view_ = ov.view(NOON + 1800)
    assert view_["a"]["remaining_s"] == 5400 and view_["a"]["text"].startswith("forced off")
    assert [x.miner for x in ov.release(now=NOON, miner="a")] == ["a"]
    assert not ov
    with pytest.raises(ValueError):
        ov.set("force_on", now=NOON)              # needs a miner
    with pytest.raises(ValueError):
        ov.set("power", miner="a", now=NOON)      # needs watts


def test_override_binds_with_term_and_reason():
    d = build_decider(PolicyConfig())
    t = T0
    d.set_override("force_off", miner="a", now=t, expiry="for 2 h")
    r = d.decide(inp(t + 48, snap(t + 48, -5000), view("a", CONT, sample("a", t, True, power=2500, limit=2500))))
    md = r.miners["a"]
    assert md.term == "override" and md.reason == "forced off by user, 1:59:12 left"
    assert md.command.kind is CommandKind.STOP
    d.set_override("power", miner="a", watts=1777, now=t + 60, expiry="for 1 h")
    r = d.decide(inp(t + 60, snap(t + 60, 2000), view("a", CONT, sample("a", t, False, power=10))))
    md = r.miners["a"]
    assert md.command.kind is CommandKind.START and md.command.watts == 1700   # quantised down to 100 W steps
    assert "fixed power 1777 W" in md.reason


def test_override_expiry_across_restart():
    d = build_decider(PolicyConfig(), tz="Europe/Berlin")
    t = NOON
    d.set_override("force_on", miner="a", now=t, expiry="for 2 h")
    d.set_override("pause", now=t, expiry="until 13:00")
    r = d.decide(inp(t, snap(t, 2000), view("a", CONT, sample("a", t, False, power=10))))
    assert r.miners["a"].command.kind is CommandKind.START and r.miners["a"].term == "override"
    saved = d.export_state()
    assert {o["kind"] for o in saved["overrides"]} == {"force_on", "pause"}
    # restart 30 minutes later: the override is still there, with its countdown
    d2 = build_decider(PolicyConfig(), tz="Europe/Berlin")
    d2.restore_state(saved)
    t2 = t + 1800
    r = d2.decide(inp(t2, snap(t2, 2000), view("a", CONT, sample("a", t2, True, power=3000, limit=3000))))
    assert r.miners["a"].term == "override" and r.miners["a"].reason == "forced on by user, 1:30:00 left"
    assert r.miners["a"].command is None
    assert d2.overrides_view(t2)["pause"]["remaining_s"] == 1800
    # restart after both expired: they drop and are reported as expired events
    d3 = build_decider(PolicyConfig(), tz="Europe/Berlin")
    d3.restore_state(d2.export_state())
    t3 = t + 3 * 3600
    r = d3.decide(inp(t3, snap(t3, 2000), view("a", CONT, sample("a", t3, True, power=3000, limit=3000))))
    events = d3.pop_events()
    assert sorted(e.override.kind for e in events) == ["force_on", "pause"]
    assert all(e.kind == "expired" for e in events)
    assert r.miners["a"].term != "override"
    assert d3.overrides_view(t3) == {}


def test_global_pause_and_observe():
    d = build_decider(PolicyConfig())
    t = T0
    d.handle("observe", {"expiry": "for 1 h"}, t)
    for dt in (0, 60):
        r = d.decide(inp(t + dt, snap(t + dt, -5000), view("a", CONT, sample("a", t, False, power=10))))
    md = r.miners["a"]
    assert md.command is None and md.term == "observe" and md.reason.startswith("observe only: would start")
    assert r.terms["observe"] is True
    d.handle("release", {"kind": "observe"}, t + 61)
    r = d.decide(inp(t + 62, snap(t + 62, -5000), view("a", CONT, sample("a", t + 62, False, power=10))))
    assert r.miners["a"].command.kind is CommandKind.START
    msg = d.handle("pause_automation", {"expiry": "for 10 min"}, t + 70)
    assert msg.startswith("automation paused by user")
    r = d.decide(inp(t + 80, snap(t + 80, 3000), view("a", CONT, sample("a", t + 80, True, power=3000, limit=3000))))
    assert r.miners["a"].term == "paused" and r.miners["a"].command is None
    assert r.miners["a"].reason == "automation paused by user, 9:50 left"


def test_handle_actions():
    d = build_decider(PolicyConfig())
    assert d.handle("force_on", {"miner": "a", "expiry": "for 2 h"}, T0) == "a: forced on by user, 2:00:00 left"
    assert d.handle("override", {"kind": "fixed_power", "miner": "b", "watts": 1500, "until": "for 5m"}, T0) \
        .startswith("b: fixed power 1500 W")
    assert d.handle("release", {"miner": "a"}, T0) == "released: a"
    assert d.handle("release", {"miner": "a"}, T0) == "no override to release"
    with pytest.raises(ValueError):
        d.handle("force_on", {}, T0)
    kinds = [e.kind for e in d.pop_events()]
    assert kinds == ["set", "set", "released"]
