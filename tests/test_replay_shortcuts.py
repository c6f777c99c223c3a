"""The decider's shortcuts for the replay (docs/backtest.md "Speed") decide exactly what its full
path decides: a decider handed the replay's own views tuple (the same object while no miner's
reading changed, which lets it reuse last cycle's per-miner work), against a twin with
``specialise = False`` handed a fresh copy of the same views every cycle (so it always takes the
full path), side by side:
every decision (run, target, level, term, reason, command), the available power and every piece of
state (timers, setpoints, the reserve's averages, the headroom, the house-load model) after every
call. Also the pieces the replay made cheaper: the house-load model's slots, its forecast, the
reserve's surplus pair."""
from __future__ import annotations

import math
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edgemining_tui.backtest import runner
from edgemining_tui.backtest.config import load_backtest_config
from edgemining_tui.backtest.fast import make_input
from edgemining_tui.backtest.runner import make_decider
from edgemining_tui.backtest.tracegen import generate
from edgemining_tui.clock import VirtualClock

ROOT = Path(__file__).resolve().parents[1]


def _what(fd) -> tuple:
    return fd.ts, fd.available_w, tuple(
        (n, d.run, d.target_w, d.level, d.term, d.reason,
         None if d.command is None else (d.command.kind, d.command.watts, d.command.level))
        for n, d in fd.miners.items())


def _state(dec) -> tuple:
    out = [tuple((n, tuple(getattr(sl.st, k) for k in sl.st.__slots__)) for n, sl in dec._slots.items()),
           dec.headroom_w]
    r = dec.reserve
    if r is not None:
        o = r.out
        out.append((r._pv, r._load, r._lf, o.share, o.need_wh, o.coming_wh, o.tail_wh, o.careful))
    h = dec.headroom
    if h is not None:
        out.append((h.median_w, h._last))
    hl = dec.home_load
    if hl is not None:
        out.append((hl._slot, hl._sum, hl._n, hl._count, hl._total, hl._last_ts))
    return tuple(out)


@pytest.mark.parametrize("config,start,days", [
    ("backtest.yaml", "2025-03-25T00:00:00", 6),      # spring: the battery fills, miners start and ramp
    ("backtest.yaml", "2025-06-18T00:00:00", 3),      # long days, all three miners busy
    ("backtest.yaml", "2025-12-01T00:00:00", 4),      # short days, little surplus
    ("backtest-setup.yaml", "2025-05-01T00:00:00", 3),
    # surplus mode with start and stop rules: a rule's veto or forced start, set one cycle, must be
    # gone the next when the rule no longer fires (the same views' pass clears only such marks)
    ("backtest.yaml + rules", "2025-03-25T00:00:00", 2),
])
def test_the_replays_shortcuts_decide_what_the_full_path_decides(config, start, days, monkeypatch, tmp_path):
    if config.endswith(" + rules"):
        text = (ROOT / "examples" / config.split(" ")[0]).read_text()
        rules = ROOT / "examples" / "policies" / "solar-surplus-onoff.yaml"
        assert "\n  mode: surplus\n" in text
        (tmp_path / "c.yaml").write_text(text.replace("\n  mode: surplus\n",
                                                      f"\n  mode: surplus\n  rules_file: {rules}\n"))
        cfg = load_backtest_config(tmp_path / "c.yaml")
    else:
        cfg = load_backtest_config(ROOT / "examples" / config)
    tr = generate(start, days=days, step_s=60.0, weather=None, prices=False)
    info = make_decider(cfg, VirtualClock(tr.ts0), tr)
    twin = make_decider(cfg, VirtualClock(tr.ts0), tr).decider
    twin.specialise = False
    fast = info.decider
    assert fast.explain is False and twin.explain is False
    seen = {"calls": 0, "shared": 0}
    last = [None]
    decide = fast.decide

    def both(inp):
        seen["calls"] += 1
        seen["shared"] += inp.miners is last[0]
        last[0] = inp.miners
        full = make_input(inp.now, inp.snapshot, tuple(list(inp.miners)), inp.stale, inp.stale_for_s, inp.prices,
                          inp.climate, inp.tz)
        a = decide(inp)
        b = twin.decide(full)
        assert _what(a) == _what(b)
        assert _state(fast) == _state(twin)
        return a

    monkeypatch.setattr(fast, "decide", both)
    # every row decided: a skipped night would feed the house to the replayed decider's house-load
    # model alone (runner.py), and the twin would then rightly decide otherwise the next day
    monkeypatch.setattr(runner, "night_skip_ok", lambda decider, zones: False)
    r = runner.run_backtest(cfg, tr, decider=info)
    # (the replay counts a decider's exception and goes on, as the live engine does: a mismatch
    # above is one)
    assert r.decider_errors == 0, r.first_error
    # the shortcut was taken (most cycles see the same views) and the full path too
    assert seen["calls"] > 500 and seen["calls"] > seen["shared"] > seen["calls"] // 2



hypothesis = pytest.importorskip("hypothesis")
from dataclasses import replace  # noqa: E402

from hypothesis import given, strategies as st  # noqa: E402

from test_decider_properties import SETTINGS, capabilities, policy, snapshot  # noqa: E402

from edgemining_tui.engine.engine import finite_snapshot  # noqa: E402
from edgemining_tui.miners.model import MinerSample, MinerState  # noqa: E402
from edgemining_tui.miners.sanitize import sanitize  # noqa: E402
from edgemining_tui.policy.decider import PolicyDecider  # noqa: E402
from edgemining_tui.policy.decision import DecisionInput, MinerView  # noqa: E402
from edgemining_tui.policy.home_load import HomeLoadForecaster  # noqa: E402
from edgemining_tui.policy.reserve import ForecastReserve  # noqa: E402
from edgemining_tui.forecast.builtin import BuiltinForecast  # noqa: E402

ONLINE = st.sampled_from([MinerState.MINING, MinerState.RAMPING, MinerState.PAUSED])
POWER = st.one_of(st.none(), st.floats(min_value=0, max_value=5000))


@st.composite
def online_scenario(draw):
    """Surplus mode, every miner online (what lets the decider reuse a cycle's per-miner work)."""
    n = draw(st.integers(1, 3))
    caps = [draw(capabilities().filter(lambda c: not c.monitor_only)) for _ in range(n)]
    steps = []
    now = 1_750_500_000.0
    for _ in range(draw(st.integers(1, 5))):
        now += 1000.0
        views = tuple(MinerView(f"m{i}", i, caps[i], sanitize(MinerSample(
            f"m{i}", now, draw(ONLINE), power_w=draw(POWER), power_limit_w=draw(POWER))))
            for i in range(n))
        steps.append((now, finite_snapshot(draw(snapshot(now))), views))
    return replace(draw(policy()), mode="surplus"), steps


@pytest.mark.parametrize("explain", [True, False])
@SETTINGS
@given(sc=online_scenario())
def test_the_same_views_again_decide_what_fresh_views_decide(sc, explain):
    """Each set of views handed over again seconds and minutes later (the same tuple to one
    decider, a copy to the other, which takes no shortcut): the later calls see the commands the
    first one sent unconfirmed, resent and given up on (the miners never do what they are told)."""
    cfg, steps = sc
    same, fresh = PolicyDecider(cfg, tz="UTC"), PolicyDecider(cfg, tz="UTC")
    fresh.specialise = False
    for d in (same, fresh):
        d.miner_data_max_age_s = None
        d.explain = explain
    for now, snap, mv in steps:
        for dt in (0.0, 2.0, 90.0, 180.0, 270.0, 360.0):
            a = same.decide(DecisionInput(now=now + dt, snapshot=snap, miners=mv))
            b = fresh.decide(DecisionInput(now=now + dt, snapshot=snap, miners=tuple(list(mv))))
            assert _what(a) == _what(b)
            assert a.terms == b.terms and a.summary == b.summary
            assert _state(same) == _state(fresh)
            assert same.export_state() == fresh.export_state()


class _PlainHomeLoad(HomeLoadForecaster):
    """The house-load model placing every reading by its local slot (no remembered slot end)."""

    def observe(self, ts, house_w):
        if house_w is None or not 0.0 <= house_w < math.inf or ts <= self._last_ts:
            return
        self._last_ts = ts
        s = self._abs_slot(ts)
        if s != self._slot:
            self._close()
            self._slot = s
        self._sum += house_w
        self._n += 1


@SETTINGS
@given(st.sampled_from(["Europe/Berlin", "Asia/Kathmandu", "America/St_Johns", "UTC"]),
       st.sampled_from([1_711_846_800.0, 1_729_990_800.0, 1_750_500_000.0]),      # Berlin's DST changes
       st.sampled_from([60.0, 900.0, 7.5]),
       st.lists(st.tuples(st.one_of(st.just(0.0), st.floats(min_value=-10.0, max_value=1000.0)),
                          st.one_of(st.none(), st.floats(min_value=-100.0, max_value=5000.0))),
                min_size=1, max_size=300))
def test_the_house_load_model_slots_every_reading_as_before(tz, t0, step, rows):
    """Readings in time order (and some out of it), across a change of the clocks and in zones a
    quarter or half hour off: the model that remembers where its slot ends learns exactly what
    one placing every reading afresh learns."""
    fast, plain = HomeLoadForecaster(ZoneInfo(tz)), _PlainHomeLoad(ZoneInfo(tz))
    ts = t0 - 3600.0
    for jitter, w in rows:
        ts += step + jitter
        fast.observe(ts, w)
        plain.observe(ts, w)
        assert (fast._slot, fast._sum, fast._n, fast._count, fast._total) == \
            (plain._slot, plain._sum, plain._n, plain._count, plain._total)
    assert fast.profile == plain.profile and list(fast.recent) == list(plain.recent)


@SETTINGS
@given(st.floats(min_value=-100.0, max_value=60000.0), st.floats(min_value=-100.0, max_value=8000.0),
       st.sampled_from([0.0, 800.0, 1200.0]), st.floats(min_value=-7200.0, max_value=60000.0),
       st.one_of(st.none(), st.floats(min_value=0.0, max_value=9000.0)), st.floats(min_value=0.0, max_value=1.0))
def test_the_reserves_surplus_pair_is_its_two_surplus_calls(pv_wh, load_w, min_w, since_rise, pv_now, x):
    """The reserve works out the surplus above the house and above the house plus the smallest
    minimum on one curve: the same figures as asking for each."""
    r = ForecastReserve(10000.0, 90.0)
    rise = 1_750_500_000.0
    r._set = rise + 50000.0
    r._pv = pv_now
    now = rise + since_rise
    coming, above = r._surplus_pair(pv_wh, load_w, min_w, now, rise, x)
    assert coming == r._surplus(pv_wh, load_w, now, rise, x)[0]
    want = r._surplus(pv_wh, load_w + min_w, now, rise, x) if min_w > 0.0 and coming > 0.0 else None
    assert above == want


def _plain_slot_forecasts(m: HomeLoadForecaster, now: float, n_slots: int):
    """Every slot from now on, one at a time, as the model once worked them out (a day at least)."""
    s0 = m._abs_slot(now)
    last, last_mean = m._last_hour(s0)
    if last_mean is None and m._count == 0:
        return None
    devs = [mm - p for s, mm in last if (p := m._profile_at(s)) is not None]
    dev = sum(devs) / len(devs) if devs else 0.0
    out = []
    k0 = (s0 + 3 * 96) % len(m.profile)
    for i in range(max(n_slots, 96)):
        p = m.profile[(k0 + i) % len(m.profile)]
        if p is None:
            p = m._profile_at(s0 + i)
        v = (last_mean if last_mean is not None else 0.0) if p is None else \
            (p + dev * m._decay[i] if i < len(m._decay) else p)
        out.append(v if v > 0.0 else 0.0)
    return out[:n_slots]


@SETTINGS
@given(st.integers(1, 30), st.sampled_from([900.0, 1800.0]), st.floats(min_value=0.0, max_value=604800.0),
       st.integers(1, 200), st.lists(st.floats(min_value=0.0, max_value=4000.0), min_size=1, max_size=50))
def test_the_house_load_forecast_asks_only_the_slots_it_needs(days, every, at, n, loads):
    """The forecast for the next n slots, worked out only for those, after any number of days of
    readings (profiles with gaps early on): the same values as working out a day or more of them."""
    m = HomeLoadForecaster(ZoneInfo("Europe/Berlin"))
    t0 = 1_750_500_000.0
    k = 0
    for j in range(int(days * 86400.0 / every)):     # every half hour: every other slot seen
        m.observe(t0 + every * j, loads[k % len(loads)])
        k += 1
    now = t0 + days * 86400.0 + at
    m._cache = None
    assert m._slot_forecasts(now, n) == _plain_slot_forecasts(m, now, n)


class _EveryRowForecast(BuiltinForecast):
    """The built-in forecast working through every reading (no shortcut for the dark)."""

    def observe(self, ts, pv_w):
        self._observe(ts, pv_w)


@SETTINGS
@given(st.integers(0, 364), st.lists(st.one_of(st.just(0.0), st.just(-0.0), st.none(), st.just(math.nan),
                                               st.floats(min_value=-50.0, max_value=9000.0)),
                                     min_size=1, max_size=400),
       st.sampled_from([60.0, 300.0, 1000.0]))
def test_the_forecast_skips_only_what_a_dark_reading_leaves_unchanged(day, rows, step):
    """Readings at any cadence (dark ones, gaps, a midnight, missing and negative values): the
    forecast that only moves its clock on for a dark reading after a dark one says at every row
    what one working through every reading says, and keeps the same record."""
    tz = ZoneInfo("Europe/Berlin")
    fast = BuiltinForecast(48.1, 11.6, tz, hour_window=False)
    slow = _EveryRowForecast(48.1, 11.6, tz, hour_window=False)
    ts = 1_735_686_000.0 + day * 86400.0 + 20 * 3600.0      # an evening: into the night and the next day
    for w in rows:
        assert fast.remaining_wh(ts) == slow.remaining_wh(ts)
        fast.observe(ts, w)
        slow.observe(ts, w)
        ts += step
    assert (fast._last_ts, fast._last_w, fast._meas_today, fast.weather_ratio(), fast.env) == \
        (slow._last_ts, slow._last_w, slow._meas_today, slow.weather_ratio(), slow.env)
    assert [d for d in fast.day.meas] == [d for d in slow.day.meas]
