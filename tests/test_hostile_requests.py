"""Hostile requests (issue 16): every request is checked as the decider would take it before it is
queued or applied; old ones expire; the console refuses actions when no owner runs.

The table goes through the real observer inbox (a row in the SQLite ``inbox`` table, as another
process writes it) into a running engine with the real decider: each row must come back refused
(or dropped) with its reason, nothing is applied, and the owner keeps cycling.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_reliability_faults import SiteRig  # noqa: E402

from edgemining_tui.engine.requests import age_refusal, refusal  # noqa: E402
from edgemining_tui.miners.config import CapabilityOverrides, MinerConfig, SimulatedSpec  # noqa: E402
from edgemining_tui.miners.factory import build_fleet  # noqa: E402
from edgemining_tui.miners.model import Capabilities  # noqa: E402

# m1: power target 1000-3000 W; m2: monitor only
ON = {"miner": "m1", "mode": "on"}
HOSTILE: list[tuple[str, str, object, str]] = [
    # name, action, args (a dict is JSON-encoded; a str is written raw), expected result prefix
    ("unknown_action", "make_coffee", {}, "refused: unknown action 'make_coffee'"),
    ("empty_action", "", {}, "refused: not an action"),
    ("huge_action", "x" * 5000, {}, "refused: not an action"),
    ("args_not_json", "override", "{miner: m1", "refused: unreadable arguments"),
    ("args_a_list", "override", "[1, 2]", "refused: unreadable arguments"),
    ("args_a_number", "override", "42", "refused: unreadable arguments"),
    ("unknown_miner", "override", {"miner": "ghost", "mode": "on"}, "refused: no miner called 'ghost'"),
    ("no_miner", "override", {"mode": "on"}, "refused: no miner named"),
    ("miner_a_number", "override", {"miner": 7, "mode": "on"}, "refused: no miner named"),
    ("miner_escape_codes", "override", {"miner": "m1\x1b[2J\x1b[31m", "mode": "on"},
     "refused: the miner name is not a name"),
    ("miner_huge_name", "override", {"miner": "m" * 10000, "mode": "on"}, "refused: the miner name is not a name"),
    ("bad_mode", "override", {"miner": "m1", "mode": "turbo"}, "refused: override mode must be on, off or power"),
    ("no_mode", "override", {"miner": "m1"}, "refused: override mode must be on, off or power"),
    ("power_without_watts", "override", {"miner": "m1", "mode": "power"},
     "refused: m1: a power override needs a finite number of watts, got None"),
    ("power_nan", "override", '{"miner": "m1", "mode": "power", "watts": NaN}',
     "refused: m1: a power override needs a finite number of watts, got nan"),
    ("power_inf", "override", '{"miner": "m1", "mode": "power", "watts": Infinity}',
     "refused: m1: a power override needs a finite number of watts, got inf"),
    ("power_minus_inf", "override", '{"miner": "m1", "mode": "power", "watts": -Infinity}',
     "refused: m1: a power override needs a finite number of watts, got -inf"),
    ("power_huge_exponent", "override", '{"miner": "m1", "mode": "power", "watts": 1e999}',
     "refused: m1: a power override needs a finite number of watts, got inf"),
    ("power_text_nan", "override", {"miner": "m1", "mode": "power", "watts": "nan"},
     "refused: m1: a power override needs a finite number of watts, got 'nan'"),
    ("power_text_number", "override", {"miner": "m1", "mode": "power", "watts": "2000"},
     "refused: m1: a power override needs a finite number of watts, got '2000'"),
    ("power_bool", "override", {"miner": "m1", "mode": "power", "watts": True},
     "refused: m1: a power override needs a finite number of watts, got True"),
    ("power_zero", "override", {"miner": "m1", "mode": "power", "watts": 0}, "refused: m1: a power override needs watts > 0"),
    ("power_negative", "override", {"miner": "m1", "mode": "power", "watts": -2500},
     "refused: m1: a power override needs watts > 0"),
    ("power_below_range", "override", {"miner": "m1", "mode": "power", "watts": 10},
     "refused: m1: 10 W is outside this miner's range (1000–3000 W)"),
    ("power_above_range", "override", {"miner": "m1", "mode": "power", "watts": 5000},
     "refused: m1: 5000 W is outside this miner's range (1000–3000 W)"),
    ("power_absurd", "override", {"miner": "m1", "mode": "power", "watts": 1e12},
     "refused: m1: 1000000000000 W is outside this miner's range"),
    ("on_monitor_only", "override", {"miner": "m2", "mode": "on"},
     "refused: m2: monitor only: the console never commands this miner"),
    ("off_monitor_only", "override", {"miner": "m2", "mode": "off"},
     "refused: m2: monitor only: the console never commands this miner"),
    ("power_monitor_only", "override", {"miner": "m2", "mode": "power", "watts": 2000},
     "refused: m2: monitor only: the console never commands this miner"),
    ("decider_vocab_monitor_only", "force_on", {"miner": "m2"},
     "refused: m2: monitor only: the console never commands this miner"),
    ("decider_vocab_power_nan", "power", '{"miner": "m1", "watts": NaN}',
     "refused: m1: a power override needs a finite number of watts, got nan"),
    ("for_s_nan", "override", '{"miner": "m1", "mode": "on", "for_s": NaN}',
     "refused: for_s must be a finite number of seconds"),
    ("for_s_negative", "override", {**ON, "for_s": -5}, "refused: for_s must be between 1 s and 30 days"),
    ("for_s_forever", "override", {**ON, "for_s": 1e12}, "refused: for_s must be between 1 s and 30 days"),
    ("for_s_text", "override", {**ON, "for_s": "1h"}, "refused: for_s must be a finite number of seconds"),
    ("until_huge", "override", {**ON, "until": "1" * 5000}, "refused: until must be a short text"),
    ("until_escape_codes", "override", {**ON, "until": "18:00\x1b]0;pwned\x07"}, "refused: until must be a short text"),
    ("until_number", "override", {**ON, "until": 1800}, "refused: until must be a short text"),
    ("until_gibberish", "override", {**ON, "until": "next tuesday-ish"}, "refused: 'next tuesday-ish': expected"),
    ("pause_inf", "pause", '{"for_s": Infinity}', "refused: for_s must be a finite number of seconds"),
    ("observe_on_text", "observe_only", {"on": "yes"}, "refused: observe_only: on must be true or false"),
    ("policy_unknown", "set_policy", {"mode": "chaos"}, "refused: cannot switch to policy 'chaos'"),
    ("policy_missing", "set_policy", {}, "refused: cannot switch to policy None"),
    # rules mode with no rules file would command nothing at all, after a confirmation that said
    # "decisions follow the rules policy"
    ("policy_rules_without_rules", "set_policy", {"mode": "rules"}, "refused: no rules loaded, so rules mode"),
    ("release_unknown_miner", "release", {"miner": "ghost"}, "refused: no miner called 'ghost'"),
]


def _rig(tmp_path) -> SiteRig:
    cfgs = [MinerConfig(name="m1", driver="simulated", priority=1,
                        simulated=SimulatedSpec(max_w=3000, min_w=1000, ramp=30, start_paused=True)),
            MinerConfig(name="m2", driver="simulated", priority=2,
                        simulated=SimulatedSpec(max_w=3000, min_w=1000, ramp=30, start_paused=True),
                        capabilities=CapabilityOverrides(monitor_only=True))]
    from edgemining_tui.clock import VirtualClock
    from test_reliability_faults import MORNING
    clock = VirtualClock(MORNING)
    return SiteRig(tmp_path, clock=clock, fleet=build_fleet(cfgs, clock, retries=0))


def _send_raw(rig: SiteRig, action: str, args: object, ts: float) -> int:
    raw = args if isinstance(args, str) else json.dumps(args)
    with rig.store.db.conn:
        return rig.store.db["inbox"].insert({"ts": ts, "action": action, "args": raw, "applied_ts": None,
                                             "result": None}).last_pk


async def test_hostile_inbox_requests_are_each_refused_with_their_reason(tmp_path):
    assert len(HOSTILE) >= 40
    rig = _rig(tmp_path)
    try:
        await rig.run(30)
        before = rig.engine.decider.export_state()["overrides"]
        ids = {name: _send_raw(rig, action, args, rig.clock.now()) for name, action, args, _ in HOSTILE}
        n0 = rig.engine.cycle_no
        await rig.run(10)
        assert rig.engine.cycle_no == n0 + 2, "the owner kept cycling"
        await rig.engine.recorder.flush()
        for name, _action, _args, expected in HOSTILE:
            res = rig.store.request_result(ids[name])
            assert res is not None and res.startswith(expected), f"{name}: {res!r}"
            assert "\x1b" not in res and len(res) < 400, f"{name}: the reason repeats hostile text: {res!r}"
        assert rig.engine.decider.export_state()["overrides"] == before, "nothing was applied"
        refused = [e for e in rig.events if e.kind == "request_refused"]
        assert len(refused) >= len(HOSTILE) - 5      # unreadable rows never reach the engine
        assert all("\x1b" not in (e.message or "") for e in rig.events)
    finally:
        await rig.close()


async def test_old_and_future_requests_are_dropped_never_applied(tmp_path):
    rig = _rig(tmp_path)
    try:
        await rig.run(30)
        now = rig.clock.now()
        old = _send_raw(rig, "override", {"miner": "m1", "mode": "on"}, now - 2 * 86400)   # 2 days old
        stale = _send_raw(rig, "set_policy", {"mode": "manual"}, now - 121)
        future = _send_raw(rig, "pause", {}, now + 86400)
        fresh = _send_raw(rig, "override", {"miner": "m1", "mode": "off", "for_s": 600}, now - 5)
        await rig.run(5)
        await rig.engine.recorder.flush()
        assert rig.store.request_result(old).startswith("dropped: expired: sent 48:00:05 ago; requests expire "
                                                        "after 2:00")
        assert rig.store.request_result(stale).startswith("dropped: expired: sent 2:0")
        assert rig.store.request_result(future).startswith("dropped: the request's time is in the future")
        assert rig.store.request_result(fresh).startswith("m1: forced off")
        st = rig.states[-1]
        assert st.decision.terms["mode"] == "surplus" and not st.paused, "nothing old was applied"
        assert st.overrides["m1"]["kind"] == "force_off"
        assert len([e for e in rig.events if e.kind == "request_expired"]) == 3
    finally:
        await rig.close()


async def test_in_process_requests_are_refused_before_they_are_queued(tmp_path):
    rig = _rig(tmp_path)
    try:
        await rig.run(10)
        fut = rig.engine.request("override", {"miner": "m1", "mode": "power", "watts": math.nan})
        with pytest.raises(ValueError, match="finite number of watts"):
            await fut
        fut = rig.engine.request("override", {"miner": "m2", "mode": "on"})
        with pytest.raises(ValueError, match="monitor only"):
            await fut
        assert rig.engine._requests == []
        await rig.run(10)
        assert "m2" not in rig.states[-1].overrides and "m1" not in rig.states[-1].overrides
    finally:
        await rig.close()


async def test_saved_bad_overrides_are_dropped_at_load_with_an_event(tmp_path):
    rig = _rig(tmp_path)
    try:
        await rig.run(30)
        state = rig.engine.decider.export_state()
        now = rig.clock.now()
        state["overrides"] = [
            {"kind": "power", "miner": "m1", "watts": math.nan, "until": now + 3600, "created": now},
            {"kind": "force_on", "miner": "m2", "until": now + 3600, "created": now},   # monitor only
        ]
        rig.engine.decider.restore_state(state, now)
        await rig.run(10)
        st = rig.states[-1]
        assert st.overrides == {} or ("m1" not in st.overrides and "m2" not in st.overrides)
        dropped = [e.message for e in rig.events if e.kind == "override" and e.data.get("change") == "dropped"]
        assert any(m.startswith("m1: saved override dropped: a power override needs a finite number") for m in dropped)
        assert any(m.startswith("override dropped: m2: monitor only") for m in dropped), dropped
        assert all(d.command is None for d in [st.decision.miners["m2"]])
    finally:
        await rig.close()


def test_refusal_accepts_what_the_console_sends():
    caps = {"m1": Capabilities(power_target=True, min_w=1000, max_w=3000), "m2": Capabilities(monitor_only=True)}
    for action, args in (("override", {"miner": "m1", "mode": "on", "for_s": 3600.0}),
                         ("override", {"miner": "m1", "mode": "power", "watts": 2000.0, "until": "sunset"}),
                         ("override", {"miner": "m1", "mode": "off", "until": "18:00"}),
                         ("release", {"miner": "*"}), ("release", {"miner": "m2"}), ("pause", {"for_s": 600}),
                         ("resume", {}), ("observe_only", {"on": False}), ("set_policy", {"mode": "rules"}),
                         ("cycle", {}), ("reload", {})):
        assert refusal(action, args, caps) == "", (action, args)
    assert age_refusal(None, 1000.0) == "the request carries no time"
    assert age_refusal(math.nan, 1000.0) == "the request carries no time"


async def test_console_refuses_actions_when_no_owner_runs(tmp_path):
    from test_ui_console import SIZE, confirm, make_app, settle, text_of, to_fleet  # noqa: F401
    from edgemining_tui.ui.fixtures import build_observer, build_owner, close, run_cycles
    data = tmp_path / "data"
    owner = build_owner(data)
    await run_cycles(owner, 3)
    clock = owner.clock
    await close(owner)                             # the owner stops (its lock is released)
    clock.advance(78)
    obs = build_observer(data, clock=clock)
    app = make_app(obs)
    try:
        async with app.run_test(size=SIZE) as pilot:
            for _ in range(50):
                await pilot.pause(0.05)
                if app.state is not None:
                    break
            await settle(pilot)
            assert "owner stopped 1:" in text_of(app, "#status")
            await to_fleet(pilot, "garage-s19")
            await pilot.press("x")
            await settle(pilot)
            assert not obs.store.pending_requests(), "nothing was queued"
            msgs = [str(n.message) for n in app._notifications]
            assert any("refused: owner stopped 1:" in m and "nothing was queued" in m for m in msgs), msgs
    finally:
        obs.store.close()
