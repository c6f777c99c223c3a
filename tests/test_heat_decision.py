"""Heat in the allocator (issue 8): a zone below its band asks for heat, above it caps its miners.

Virtual time: the decider only sees ``DecisionInput.now``; ZoneTracker (heat/zones.py) is driven the
way heat/extra.py drives it, and its ZoneStatus reaches the decider as ``climate["status"]``.
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from _allocator_kit import CONT, ONOFF, SMALL, T0, SimMiner, Site, snap
from edgemining_tui.config.errors import ConfigError
from edgemining_tui.config.loader import Builder, read_yaml
from edgemining_tui.heat.config import BandPeriod, RoomModel, ZoneConfig
from edgemining_tui.heat.zones import ZoneTracker
from edgemining_tui.miners.model import CommandKind
from edgemining_tui.policy.config import PolicyConfig
from edgemining_tui.policy.decider import build_decider
from edgemining_tui.policy.decision import TERMS, DecisionInput
from edgemining_tui.sim.room import Room

DAY0 = T0 - T0 % 86400          # midnight UTC before T0


class ZoneSite(Site):
    """The kit's site plus climate zones: each zone's temperature comes from a callable or a Room
    heated by its miners; ZoneTracker turns it into the ZoneStatus the decider reads."""

    def __init__(self, decider, miners, pv, house, zones, temps=None, rooms=None, prices=None,
                 outdoor_c=5.0, **kw) -> None:
        super().__init__(decider, miners, pv, house, **kw)
        self.trackers = {z.name: ZoneTracker(z) for z in zones}
        self.temps = temps or {}
        self.rooms = {n: Room(m) for n, m in (rooms or {}).items()}
        self.prices = prices if prices is not None else {}
        self.outdoor_c = outdoor_c
        self.status = {}

    def tick(self) -> None:
        local = datetime.fromtimestamp(self.now, timezone.utc)
        minute = local.hour * 60 + local.minute
        status = {}
        for name, tr in self.trackers.items():
            temp = self.rooms[name].temp_c if name in self.rooms else self.temps[name](self.now)
            status[name] = tr.update(temp, minute, self.prices.get("import"))
        self.status = status
        climate = {"zones": {n: s.as_fields() for n, s in status.items()}, "status": status}
        s = snap(self.now, self.grid(), pv=self.pv(self.now), house=self.house(self.now))
        d = self.decider.decide(DecisionInput(now=self.now, snapshot=s, miners=tuple(m.view(self.now) for m in
                                                                                      self.miners),
                                              prices=dict(self.prices), climate=climate, tz=self.tz))
        self.decisions.append(d)
        for m in self.miners:
            md = d.miners[m.name]
            if md.command is not None:
                m.apply(md.command, self.now)
        for name, room in self.rooms.items():
            heat = sum(m.power for m in self.miners if m.name in self.trackers[name].cfg.miners)
            room.step(self.dt, heat, self.outdoor_c)
        for m in self.miners:
            m.step(self.dt)
        self.now += self.dt


def const(v):
    return lambda t: v


def office(**kw) -> ZoneConfig:
    base = dict(name="Office", miners=("office",), min_c=20.0, max_c=22.0, grid_heat=True, max_grid_price=0.30)
    base.update(kw)
    return ZoneConfig(**base)


def last(site, name):
    return site.decisions[-1].miners[name]


# --- a cold morning without sun ---------------------------------------------------------------
def test_cold_morning_heats_on_grid_when_allowed():
    d = build_decider(PolicyConfig())
    m = SimMiner("office", CONT)
    site = ZoneSite(d, [m], pv=const(0.0), house=const(400.0), zones=[office()],
                    temps={"Office": const(18.9)}, prices={"import": 0.25})
    site.tick()
    md = last(site, "office")
    # no enable delay: the zone latches its demand with hysteresis, it is not a passing cloud
    assert md.command is not None and md.command.kind is CommandKind.START and md.command.watts == 1200
    assert md.term == "heat" and md.reason == "zone Office 18.9 °C below 20.0 min: heating on grid"
    site.run(1800)
    md = last(site, "office")
    assert m.running and md.target_w == 1200 and md.term == "heat", "at minimum, never paused for lack of surplus"
    assert site.decisions[-1].terms["heat"] == {"office": "grid_heat"}
    assert m.starts == [T0]


@pytest.mark.parametrize("zone,imp,why", [
    (office(grid_heat=False), 0.25, "grid heat not allowed"),
    (office(), 0.35, "import price above 0.3 cap"),
    (office(), None, "import price above 0.3 cap"),       # unknown price never passes a cap
])
def test_cold_morning_does_not_heat_on_grid_when_not_allowed(zone, imp, why):
    d = build_decider(PolicyConfig())
    m = SimMiner("office", CONT)
    site = ZoneSite(d, [m], pv=const(0.0), house=const(400.0), zones=[zone], temps={"Office": const(18.9)},
                    prices={"import": imp})
    site.run(900)
    md = last(site, "office")
    assert not m.running and m.starts == []
    assert md.term == "idle" and md.reason.startswith("no surplus")
    assert "zone Office 18.9 °C below 20.0 min" in md.reason and why in md.reason   # the demand is shown


def test_heat_demand_without_grid_heat_takes_surplus_as_usual():
    d = build_decider(PolicyConfig())
    m = SimMiner("office", CONT)
    site = ZoneSite(d, [m], pv=const(2000.0), house=const(400.0), zones=[office(grid_heat=False)],
                    temps={"Office": const(18.9)})
    site.tick()
    assert last(site, "office").term == "enable_timer"      # the usual delay: no grid heat to justify a rush
    site.run(70)
    md = last(site, "office")
    assert m.running and md.term in ("surplus", "min_interval") and "below 20.0 min" in md.reason


def test_room_warms_then_the_miner_stops_when_demand_ends():
    d = build_decider(PolicyConfig(min_on=600.0))
    m = SimMiner("office", CONT)
    room = RoomModel(heat_loss_w_per_k=40.0, thermal_mass_wh_per_k=400.0, initial_c=18.0)
    site = ZoneSite(d, [m], pv=const(0.0), house=const(400.0), zones=[office()], rooms={"Office": room},
                    prices={"import": 0.2}, dt=60.0)
    site.run(3 * 3600)
    assert m.starts[0] == T0
    stop = m.stops[0]
    at_stop = [x for x in site.decisions if x.ts == stop][0].miners["office"]
    assert at_stop.command.kind is CommandKind.STOP
    # demand ended at the middle of the band (21 °C): back to plain surplus rules, so no surplus →
    # pause after the disable delay
    ended = next(x.ts for x in site.decisions if x.ts > T0 and x.miners["office"].term == "disable_timer")
    assert stop - ended == pytest.approx(180.0, abs=60.0)
    # heating to mid-band keeps the zone near its band with long runs: over a site day it starts
    # fewer times than the starts-per-day cap and never runs out of starts
    site.run(5 * 3600)                # until 23:06 UTC: one site day
    assert 2 <= len(m.starts) < 6
    assert all(x.miners["office"].term != "max_starts" for x in site.decisions)


def test_grid_heat_counts_against_the_import_cap():
    # house 400 W + miner minimum 1200 W would import 1600 W: a 1000 W cap forbids it
    d = build_decider(PolicyConfig(import_cap_w=1000.0))
    m = SimMiner("office", CONT)
    site = ZoneSite(d, [m], pv=const(0.0), house=const(400.0), zones=[office()], temps={"Office": const(18.9)},
                    prices={"import": 0.25})
    site.run(300)
    md = last(site, "office")
    assert not m.running and md.term == "import_cap" and "can't start" in md.reason
    d2 = build_decider(PolicyConfig(import_cap_w=2000.0))
    m2 = SimMiner("office", CONT)
    site2 = ZoneSite(d2, [m2], pv=const(0.0), house=const(400.0), zones=[office()], temps={"Office": const(18.9)},
                     prices={"import": 0.25})
    site2.run(300)
    assert m2.running and last(site2, "office").term == "heat"


def test_grid_heat_respects_min_off_and_max_starts():
    d = build_decider(PolicyConfig(min_off=600.0, max_starts_per_day=1))
    m = SimMiner("office", CONT)
    warm = {"t": 18.9}
    site = ZoneSite(d, [m], pv=const(0.0), house=const(400.0), zones=[office()],
                    temps={"Office": lambda t: warm["t"]}, prices={"import": 0.25}, dt=60.0)
    site.run(900)
    assert m.running
    warm["t"] = 21.0          # inside: demand over, no surplus → pauses after the disable delay
    site.run(600)
    assert not m.running
    warm["t"] = 18.9
    site.tick()
    md = last(site, "office")
    assert md.term in ("min_off", "max_starts") and not m.running
    site.run(1200)
    assert last(site, "office").term == "max_starts" and len(m.starts) == 1


# --- a sunny afternoon: the warm zone is capped, the surplus goes elsewhere --------------------
def two_zones(cap="minimum", office_temp=21.0):
    d = build_decider(PolicyConfig(heat_cap=cap, min_on=300.0))
    om = SimMiner("office", CONT, priority=1)
    sm = SimMiner("shed", CONT, priority=2)
    temp = {"t": office_temp}
    zones = [office(), ZoneConfig(name="Shed", miners=("shed",), min_c=5.0, max_c=30.0)]
    site = ZoneSite(d, [om, sm], pv=const(5600.0), house=const(400.0), zones=zones,
                    temps={"Office": lambda t: temp["t"], "Shed": const(15.0)}, dt=10.0)
    return d, om, sm, temp, site


def test_sunny_afternoon_holds_a_warm_zone_at_minimum_and_gives_the_rest_to_another_zone():
    d, om, sm, temp, site = two_zones("minimum")
    site.run(900)
    assert om.limit == 3000 and sm.running and sm.limit == 2100     # 5100 W shared by priority
    temp["t"] = 23.4
    site.run(300)
    o, s = last(site, "office"), last(site, "shed")
    assert o.term == "heat" and o.reason == "zone Office 23.4 °C above 22.0 max: held at 1200 W"
    assert om.running and om.limit == 1200
    assert sm.limit == 3000 and s.term in ("surplus", "min_interval")
    assert site.decisions[-1].terms["heat"] == {"office": "capped"}


def test_sunny_afternoon_stops_heating_a_warm_zone_with_heat_cap_pause():
    d, om, sm, temp, site = two_zones("pause")
    site.run(400)                     # office started at 60 s: min on-time (300 s) is over
    assert om.running
    temp["t"] = 23.4
    site.tick()
    o = last(site, "office")
    assert o.command.kind is CommandKind.STOP and o.term == "heat"
    assert o.reason == "zone Office 23.4 °C above 22.0 max: pause"
    site.run(600)
    assert not om.running and sm.running and sm.limit == 3000
    assert last(site, "office").reason == "zone Office 23.4 °C above 22.0 max: not starting"


def test_cap_waits_for_min_on_time():
    d, om, sm, temp, site = two_zones("pause")
    site.run(70)                      # office starts at 60 s
    temp["t"] = 23.4
    site.tick()
    assert last(site, "office").term == "min_interval"     # it just started at 3000 W: let it settle
    site.run(120)
    o = last(site, "office")
    assert om.running and o.term == "min_on" and o.target_w == 1200
    assert o.reason.startswith("min on-time: ") and o.reason.endswith("(zone Office 23.4 °C above 22.0 max)")
    site.run(300)
    assert not om.running and last(site, "office").term == "heat"


def test_warm_zone_does_not_start_even_with_surplus():
    d, om, sm, temp, site = two_zones("minimum", office_temp=23.4)
    site.run(600)
    assert not om.running and last(site, "office").term == "heat"
    assert sm.running and sm.limit == 3000, "the shed gets the surplus the office does not take"


def test_on_off_miner_in_a_capped_zone_pauses():
    d = build_decider(PolicyConfig(min_on=0.0))
    m = SimMiner("office", ONOFF)
    temp = {"t": 21.0}
    site = ZoneSite(d, [m], pv=const(3000.0), house=const(400.0), zones=[office()],
                    temps={"Office": lambda t: temp["t"]})
    site.run(120)
    assert m.running
    temp["t"] = 23.4
    site.tick()
    assert not m.running and last(site, "office").term == "heat"


def test_unknown_temperature_neither_heats_nor_caps():
    d = build_decider(PolicyConfig())
    m = SimMiner("office", SMALL)
    site = ZoneSite(d, [m], pv=const(0.0), house=const(300.0), zones=[office()], temps={"Office": const(None)},
                    prices={"import": 0.1})
    site.run(300)
    assert not m.running and last(site, "office").term == "idle"


def test_miner_view_zone_is_a_fallback_for_the_mapping():
    from edgemining_tui.policy.decision import MinerView
    d = build_decider(PolicyConfig())
    st = ZoneTracker(office(miners=("someone-else",))).update(18.9, 600, 0.2)
    m = SimMiner("office", CONT)
    v = m.view(T0)
    v = MinerView(v.name, v.priority, v.caps, v.sample, zone="Office")
    fd = d.decide(DecisionInput(now=T0, snapshot=snap(T0, 400.0), miners=(v,), climate={"status": {"Office": st}}))
    assert fd.miners["office"].term == "heat"


# --- a schedule moves the band over the day ------------------------------------------------------
def test_schedule_change_flips_the_decision():
    zone = office(schedule=(BandPeriod("07:00", 20.0, 22.0), BandPeriod("22:00", 16.0, 18.0)))
    d = build_decider(PolicyConfig(heat_cap="pause"))
    m = SimMiner("office", CONT)
    site = ZoneSite(d, [m], pv=const(0.0), house=const(400.0), zones=[zone], temps={"Office": const(19.0)},
                    prices={"import": 0.2}, dt=60.0, start=DAY0)
    site.run(86400)
    by_ts = {x.ts: x.miners["office"] for x in site.decisions}
    # night band 16–18: 19 °C is too warm
    assert by_ts[DAY0 + 3 * 3600].term == "heat" and "above 18.0 max: not starting" in by_ts[DAY0 + 3 * 3600].reason
    # 07:00: the day band 20–22 starts, 19 °C is cold: heat on grid at once
    assert m.starts == [DAY0 + 7 * 3600]
    assert by_ts[DAY0 + 7 * 3600].reason == "zone Office 19.0 °C below 20.0 min: heating on grid"
    assert by_ts[DAY0 + 12 * 3600].term == "heat" and by_ts[DAY0 + 12 * 3600].run
    # 22:00: the night band again: capped, paused
    assert m.stops == [DAY0 + 22 * 3600]
    assert by_ts[DAY0 + 22 * 3600].reason == "zone Office 19.0 °C above 18.0 max: pause"
    assert all(x.miners["office"].term in TERMS for x in site.decisions)


# --- config ---------------------------------------------------------------------------------------
def test_heat_cap_config_key():
    b = Builder(read_yaml("config.yaml", "heat_cap: pause"), env={}).build(PolicyConfig)
    assert b.heat_cap == "pause"
    assert Builder(read_yaml("config.yaml", "{}"), env={}).build(PolicyConfig).heat_cap == "minimum"
    with pytest.raises(ConfigError) as e:
        Builder(read_yaml("config.yaml", "heat_cap: off"), env={}).build(PolicyConfig)
    assert "heat_cap" in str(e.value)
