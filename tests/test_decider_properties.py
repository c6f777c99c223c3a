"""Property-based tests (issue 16) for request validation and the decider.

For any snapshot, miners (capabilities, samples with hostile values, old samples), policy settings
and overrides, over several cycles:
- no exception escapes the decider;
- a command never leaves the miner's capability range (power within min..max, a level it has,
  start/stop only where it has them, nothing for a monitor-only miner);
- no NaN or infinity reaches a decision (targets, available power, the terms the UI shows);
- a miner is never commanded while its data is older than the fail-safe's hold (stale.grace).
The decider gets what the engine gives it: samples through the boundary (miners/sanitize.py) and
the snapshot through the engine's finite check; a second test feeds raw hostile values directly.

For any request: ``refusal`` never raises, and a request it lets through is either applied or
refused by the engine with a ValueError (a reason), never another exception.
"""
from __future__ import annotations

import math

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from edgemining_tui.energy.snapshot import EnergySnapshot, Reading  # noqa: E402
from edgemining_tui.engine.engine import finite_snapshot  # noqa: E402
from edgemining_tui.engine.requests import refusal  # noqa: E402
from edgemining_tui.miners.model import (  # noqa: E402
    Capabilities, CommandKind, Level, MinerSample, MinerState,
)
from edgemining_tui.miners.sanitize import sanitize  # noqa: E402
from edgemining_tui.policy.config import PolicyConfig  # noqa: E402
from edgemining_tui.policy.decider import PolicyDecider  # noqa: E402
from edgemining_tui.policy.decision import DecisionInput, MinerView  # noqa: E402

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
T0 = 1_750_500_000.0
HOSTILE_FLOAT = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True),
                          st.floats(min_value=-5000, max_value=20000), st.sampled_from([0.0, -1.0, 1e300]))
SANE_W = st.floats(min_value=-15000, max_value=15000, allow_nan=False)


@st.composite
def capabilities(draw) -> Capabilities:
    kind = draw(st.sampled_from(["power", "levels", "onoff", "monitor", "levels_no_onoff"]))
    if kind == "power":
        lo = draw(st.floats(min_value=0, max_value=3000))
        hi = lo + draw(st.floats(min_value=1, max_value=4000))
        return Capabilities(on_off=draw(st.booleans()), power_target=True, min_w=lo, max_w=hi,
                            step_w=draw(st.sampled_from([0.0, 5.0, 50.0])))
    if kind in ("levels", "levels_no_onoff"):
        ws = sorted(set(draw(st.lists(st.floats(min_value=5, max_value=5000), min_size=1, max_size=4))))
        return Capabilities(on_off=kind == "levels", levels=tuple(Level(f"l{i}", w) for i, w in enumerate(ws)),
                            max_w=ws[-1])
    if kind == "onoff":
        return Capabilities(on_off=True, max_w=draw(st.floats(min_value=10, max_value=4000)))
    return Capabilities(on_off=False, monitor_only=True)


@st.composite
def sample(draw, name: str, now: float, caps: Capabilities) -> MinerSample | None:
    if draw(st.integers(0, 9)) == 0:
        return None
    age = draw(st.one_of(st.just(0.0), st.floats(min_value=0, max_value=600)))
    state = draw(st.sampled_from(list(MinerState)))
    level = draw(st.one_of(st.none(), st.sampled_from([lv.name for lv in caps.levels] or ["x"])))
    return MinerSample(name, now - age, state, power_w=draw(HOSTILE_FLOAT), power_limit_w=draw(HOSTILE_FLOAT),
                       level=level, hashrate_ths=draw(HOSTILE_FLOAT), temp_c=draw(HOSTILE_FLOAT))


def reading(v, ts: float) -> Reading:
    return Reading(v, ts, "prop", None if v is not None else "missing")


@st.composite
def snapshot(draw, now: float) -> EnergySnapshot:
    f = lambda: draw(st.one_of(SANE_W, HOSTILE_FLOAT))  # noqa: E731
    age = draw(st.sampled_from([0.0, 5.0, 100.0, 1000.0]))
    return EnergySnapshot(now, reading(f(), now - age), reading(f(), now), reading(f(), now - age),
                          reading(f(), now), reading(draw(st.one_of(st.none(), st.floats(-50, 150),
                                                                    st.floats(allow_nan=True))), now))


@st.composite
def policy(draw) -> PolicyConfig:
    return PolicyConfig(headroom_w=draw(st.sampled_from([0.0, 100.0, 500.0])),
                        import_cap_w=draw(st.sampled_from([None, 0.0, 1000.0])),
                        mode=draw(st.sampled_from(["surplus", "surplus", "manual", "rules"])),
                        min_on=draw(st.sampled_from([0.0, 600.0])), min_off=draw(st.sampled_from([0.0, 300.0])))


OVERRIDE_ARGS = st.fixed_dictionaries({"mode": st.sampled_from(["on", "off", "power", "x"])}, optional={
    "watts": HOSTILE_FLOAT, "for_s": st.one_of(HOSTILE_FLOAT, st.text(max_size=4)),
    "until": st.one_of(st.sampled_from(["18:00", "sunset", "25:99"]), st.text(max_size=8))})


@st.composite
def scenario(draw):
    n = draw(st.integers(1, 4))
    caps = [draw(capabilities()) for _ in range(n)]
    steps = []
    now = T0
    for _ in range(draw(st.integers(1, 6))):
        now += draw(st.sampled_from([5.0, 5.0, 60.0, 700.0]))
        views = [(f"m{i}", caps[i], draw(sample(f"m{i}", now, caps[i]))) for i in range(n)]
        ovs = draw(st.lists(st.tuples(st.integers(0, n - 1), OVERRIDE_ARGS), max_size=2))
        steps.append((now, draw(snapshot(now)), views, ovs, draw(st.sampled_from([(), ("grid_import_w",)]))))
    return draw(policy()), steps


def _finite(x) -> bool:
    if isinstance(x, bool) or x is None or isinstance(x, str):
        return True
    if isinstance(x, (int, float)):
        return math.isfinite(x)
    if isinstance(x, dict):
        return all(_finite(v) for v in x.values())
    if isinstance(x, (list, tuple)):
        return all(_finite(v) for v in x)
    return True


def _check_command(name: str, cmd, caps: Capabilities) -> None:
    assert not caps.monitor_only, f"{name}: a monitor-only miner was commanded: {cmd}"
    k = cmd.kind
    if cmd.watts is not None:
        assert math.isfinite(cmd.watts), f"{name}: {cmd}"
    if k is CommandKind.SET_POWER or (k is CommandKind.START and cmd.watts is not None):
        assert caps.power_target or caps.levels, f"{name}: power to an on/off miner: {cmd}"
        if caps.power_target:
            assert caps.min_w - 1e-6 <= cmd.watts <= caps.max_w + 1e-6, f"{name}: {cmd} outside {caps}"
        else:
            assert min(lv.watts for lv in caps.levels) - 1e-6 <= cmd.watts <= max(lv.watts for lv in caps.levels) + 1e-6
    if k is CommandKind.SET_LEVEL or cmd.level is not None:
        assert cmd.level in {lv.name for lv in caps.levels}, f"{name}: unknown level {cmd}"
    if k in (CommandKind.START, CommandKind.STOP):
        assert caps.on_off, f"{name}: start/stop to a miner without start/stop: {cmd}"


def _run(cfg: PolicyConfig, steps, through_boundary: bool) -> None:
    d = PolicyDecider(cfg, tz="UTC")
    for now, snap, views, ovs, stale in steps:
        for i, args in ovs:
            a = {"miner": f"m{i}", **args}
            caps = {n: c for n, c, _ in views}
            if refusal("override", a, caps):
                continue
            kind = {"on": "force_on", "off": "force_off", "power": "power"}[a["mode"]]
            try:
                d.handle(kind, {"miner": a["miner"], "watts": a.get("watts"),
                                "expiry": f"for {a['for_s']}s" if a.get("for_s") else a.get("until") or "for 1 h"},
                         now)
            except ValueError:
                pass            # a refusal with its reason (an unparseable "until")
        mv = []
        for name, caps, s in views:
            if through_boundary and s is not None:
                s = sanitize(s)
            mv.append(MinerView(name, 1, caps, s))
        if through_boundary:
            snap = finite_snapshot(snap)
        fd = d.decide(DecisionInput(now=now, snapshot=snap, miners=tuple(mv), stale=stale))
        caps_of = {n: c for n, c, _ in views}
        samples = {n: s for n, _, s in views}
        if through_boundary:
            assert _finite(fd.available_w) and _finite(dict(fd.terms)), fd.terms
        for name, md in fd.miners.items():
            if through_boundary:
                assert md.target_w is None or math.isfinite(md.target_w), md
            if md.command is None:
                continue
            _check_command(name, md.command, caps_of[name])
            s = samples[name]
            assert s is not None and now - s.ts <= cfg.stale.grace, f"{name}: commanded on data {now - s.ts:.0f} s old"


@SETTINGS
@given(scenario())
def test_decider_commands_stay_in_range_and_decisions_finite(sc):
    cfg, steps = sc
    _run(cfg, steps, through_boundary=True)


@settings(SETTINGS, max_examples=30)
@given(scenario())
def test_decider_survives_raw_hostile_values(sc):
    """Straight from a broken adapter (NaN, inf in the sample and the snapshot): no exception, and
    still no command outside the miner's range."""
    cfg, steps = sc
    _run(cfg, steps, through_boundary=False)


ANY_JSON = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                                  st.text(max_size=10)),
                        lambda ch: st.lists(ch, max_size=3) | st.dictionaries(st.text(max_size=6), ch, max_size=3),
                        max_leaves=8)
REQ_ARGS = st.dictionaries(st.sampled_from(["miner", "mode", "watts", "for_s", "until", "on", "kind", "expiry"]),
                           st.one_of(ANY_JSON, st.sampled_from(["m0", "m1", "*", "on", "off", "power", "surplus",
                                                                "manual", "sunset", "18:00"])), max_size=5)
ACTIONS = st.one_of(st.sampled_from(["pause", "resume", "observe_only", "cycle", "override", "release",
                                     "set_policy", "reload", "force_on", "force_off", "power", "observe",
                                     "pause_automation", "release_all", "fixed_power"]), st.text(max_size=8))


@SETTINGS
@given(ACTIONS, st.one_of(REQ_ARGS, ANY_JSON))
def test_request_validation_never_raises_and_what_it_passes_the_engine_can_take(action, args):
    from edgemining_tui.clock import VirtualClock
    from edgemining_tui.engine.engine import Engine, MinerMeta
    from edgemining_tui.miners.config import CapabilityOverrides, MinerConfig, SimulatedSpec
    from edgemining_tui.miners.factory import build_fleet
    clock = VirtualClock(T0)
    cfgs = [MinerConfig(name="m0", driver="simulated", simulated=SimulatedSpec(max_w=3000, min_w=1000)),
            MinerConfig(name="m1", driver="simulated", simulated=SimulatedSpec(),
                        capabilities=CapabilityOverrides(monitor_only=True))]
    fleet = build_fleet(cfgs, clock, retries=0)
    eng = Engine(clock=clock, source=None, fleet=fleet, decider=PolicyDecider(PolicyConfig()),
                 miners=[MinerMeta("m0"), MinerMeta("m1")])
    why = refusal(action, args, eng.capabilities())
    assert isinstance(why, str)
    if why:
        return
    try:
        eng._apply_request(action, args)
    except ValueError:
        pass   # refused at apply time with its reason (an "until" that does not parse)
    for name, o in eng.decider.overrides_view(clock.now()).items():
        if name == "m1":
            raise AssertionError(f"an override reached a monitor-only miner: {o}")
        w = o.get("watts") if isinstance(o, dict) else None
        assert w is None or (math.isfinite(w) and 1000 <= w <= 3000), o
