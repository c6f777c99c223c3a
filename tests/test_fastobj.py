"""fastobj's positional factories build the real frozen classes, equal to ones the constructor
builds and as frozen, whichever way they fill the slots (a same-layout twin, or each slot's
descriptor when a class cannot have a twin)."""
from __future__ import annotations

import dataclasses
import pickle

import pytest

from edgemining_tui.backtest.fast import (make_decision_input, make_input, make_reading, make_sample, make_snapshot,
                                         make_view)
from edgemining_tui.energy.snapshot import EnergySnapshot, Reading
from edgemining_tui.fastobj import checked, factory, fill_source
from edgemining_tui.miners.model import CommandKind, MinerCommand, MinerSample, MinerState
from edgemining_tui.policy.decision import (DecisionInput, FleetDecision, MinerDecision, MinerView, make_decision,
                                            make_fleet)


@dataclasses.dataclass(frozen=True, slots=True)
class _Point:
    x: float
    y: float = 2.0
    label: str = "p"


@dataclasses.dataclass(frozen=True, slots=True)
class _Base:
    a: int


@dataclasses.dataclass(frozen=True, slots=True)
class _Derived(_Base):        # its layout extends a base's: no twin, the descriptors fill it
    b: int = 0


@dataclasses.dataclass(frozen=True)
class _NoSlots:
    a: int


def test_the_replay_objects_are_the_real_classes_and_equal_to_constructed_ones():
    r = make_reading(5.0, 10.0, "trace")
    assert type(r) is Reading and r == Reading(5.0, 10.0, "trace") and hash(r) == hash(Reading(5.0, 10.0, "trace"))
    snap = make_snapshot(10.0, r, r, r, r, r, {"energy_today_remaining_wh": 1.0})
    assert type(snap) is EnergySnapshot
    assert snap == EnergySnapshot(10.0, r, r, r, r, r, {"energy_today_remaining_wh": 1.0})
    s = make_sample("m", 10.0, MinerState.MINING, 900.0, 1000.0, None, 30.0)
    assert type(s) is MinerSample
    assert s == MinerSample(name="m", ts=10.0, state=MinerState.MINING, power_w=900.0, power_limit_w=1000.0,
                            hashrate_ths=30.0)
    assert s.running and s.online
    v = make_view("m", 1, None, s, None, None, None)
    assert type(v) is MinerView and v == MinerView("m", 1, None, s)
    inp = make_input(10.0, snap, (v,), (), 0.0, {}, {}, "UTC")
    assert type(inp) is DecisionInput and inp == DecisionInput(10.0, snap, (v,))
    cmd = MinerCommand(CommandKind.SET_POWER, 1200.0)
    d = make_decision("m", True, 1200.0, None, "surplus", "", cmd)
    assert type(d) is MinerDecision and d == MinerDecision("m", True, 1200.0, None, "surplus", "", cmd)
    fd = make_fleet(10.0, 50.0, {"m": d}, {}, "")
    assert type(fd) is FleetDecision and fd == FleetDecision(10.0, 50.0, {"m": d})


@pytest.mark.parametrize("cls,args", [(_Point, (1.0,)), (_Derived, (1,)), (_NoSlots, (1,))])
def test_factories_stay_frozen_and_picklable(cls, args):
    make = checked(cls, tuple(f.name for f in dataclasses.fields(cls))[:len(args)], args)
    o = make(*args)
    assert type(o) is cls and o == cls(*args)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(o, dataclasses.fields(cls)[0].name, 9)
    assert pickle.loads(pickle.dumps(o)) == o


def test_a_fixed_field_and_defaults_fill_what_is_not_passed():
    make = factory(_Point, ("x",), {"label": "q"})
    assert make(3.0) == _Point(3.0, 2.0, "q")
    assert repr(make(3.0)) == "_Point(x=3.0, y=2.0, label='q')"


def test_the_replays_decision_input_is_built_in_one_call_as_the_constructors_build_it():
    fc = {"energy_today_remaining_wh": 3.5}
    v = make_view("m", 1, None, None, None, None, None)
    inp = make_decision_input(60.0, 1200.0, 400.0, -300.0, 500.0, 55.5, fc, (v,), {}, {}, "Europe/Berlin")
    want = DecisionInput(60.0, EnergySnapshot(60.0, Reading(1200.0, 60.0, "trace"), Reading(400.0, 60.0, "trace"),
                                              Reading(-300.0, 60.0, "trace"), Reading(500.0, 60.0, "trace"),
                                              Reading(55.5, 60.0, "trace"), fc), (v,), tz="Europe/Berlin")
    assert inp == want and hash(inp.snapshot.pv_w) == hash(want.snapshot.pv_w)
    assert type(inp) is DecisionInput and type(inp.snapshot) is EnergySnapshot
    assert {type(r) for r in inp.snapshot.readings().values()} == {Reading}
    assert inp.snapshot.forecast is fc and inp.miners[0] is v           # handed over, not copied
    with pytest.raises(dataclasses.FrozenInstanceError):
        inp.snapshot.pv_w.value = 0.0                                      # type: ignore[misc]
    assert pickle.loads(pickle.dumps(inp)) == inp


def test_a_class_without_a_twin_gets_no_inline_fill():
    assert fill_source(_Derived, "o", {"a": "1"}) is None
    assert fill_source(_NoSlots, "o", {"a": "1"}) is None
    lines, names = fill_source(_Point, "o", {"x": "x"})
    assert lines[0] == "o = _twin__Point()" and names["_d__Point_label"] == "p"
