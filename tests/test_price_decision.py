"""Price in the allocator (issue 10): surplus goes where it pays more, grid mining only below break-even.

A miner at 29.3 J/TH with a hashprice of 50 sats/TH/day and BTC at 90,000 EUR earns 0.064 EUR per kWh
(econ/value.py): that is what it beats the feed-in tariff with, and its break-even import price.
"""
from __future__ import annotations

import itertools

import pytest

from _allocator_kit import CONT, SMALL, T0, SimMiner, Site, snap
from edgemining_tui.econ.config import EconomicsConfig
from edgemining_tui.econ.value import value_per_kwh
from edgemining_tui.heat.config import ZoneConfig
from edgemining_tui.heat.zones import ZoneTracker
from edgemining_tui.miners.model import CommandKind, MinerSample, MinerState
from edgemining_tui.policy.config import PolicyConfig
from edgemining_tui.policy.decider import build_decider
from edgemining_tui.policy.decision import TERMS, DecisionInput, MinerView

EFF = {"a": 29.3, "new": 20.0, "s9": 95.0}


def econ(**kw) -> EconomicsConfig:
    base = dict(import_price=0.30, export_price=0.08, hashprice_sats_per_th_day=50.0, btc_price=90000.0,
                miner_efficiency=dict(EFF))
    base.update(kw)
    return EconomicsConfig(**base)


class PriceSite(Site):
    """The kit's site, with ``DecisionInput.prices`` (what econ/extra.py contributes)."""

    def __init__(self, *a, prices=None, **kw) -> None:
        super().__init__(*a, **kw)
        self.prices = prices if prices is not None else {}

    def tick(self) -> None:
        s = snap(self.now, self.grid(), pv=self.pv(self.now), house=self.house(self.now))
        d = self.decider.decide(DecisionInput(now=self.now, snapshot=s, miners=tuple(m.view(self.now) for m in
                                                                                      self.miners),
                                              prices=dict(self.prices), tz=self.tz))
        self.decisions.append(d)
        for m in self.miners:
            md = d.miners[m.name]
            if md.command is not None:
                m.apply(md.command, self.now)
        for m in self.miners:
            m.step(self.dt)
        self.now += self.dt


def const(v):
    return lambda t: v


def last(site, name="a"):
    return site.decisions[-1].miners[name]


def test_the_example_miner_earns_0_064_per_kwh():
    assert value_per_kwh(29.3, 50.0, 90000.0) == pytest.approx(0.064, abs=5e-4)


# --- mine_only_above_feed_in ----------------------------------------------------------------------
def test_feed_in_above_mining_value_sends_surplus_to_the_grid():
    d = build_decider(PolicyConfig(), economics=econ(mine_only_above_feed_in=True))
    m = SimMiner("a", CONT)
    site = PriceSite(d, [m], pv=const(5000.0), house=const(400.0), prices={"export": 0.09, "import": 0.30})
    site.run(600)
    md = last(site)
    assert not m.running and m.starts == []
    assert md.term == "price" and md.reason == "feed-in 0.09 > mining 0.064 EUR/kWh: exporting"
    assert site.grid() < -4000                  # the surplus is exported
    assert site.decisions[-1].terms["mining_value"]["a"] == pytest.approx(0.064, abs=5e-4)
    # the tariff drops below what mining earns: the surplus goes to the miner (the usual enable delay)
    site.prices["export"] = 0.05
    site.tick()
    assert last(site).term == "enable_timer"
    site.run(70)
    assert m.running and last(site).term in ("surplus", "min_interval")


def test_feed_in_between_two_miners_values_feeds_only_the_efficient_one():
    d = build_decider(PolicyConfig(), economics=econ(mine_only_above_feed_in=True))
    s9 = SimMiner("s9", SMALL, priority=1)        # 95 J/TH: earns 0.020 EUR/kWh
    new = SimMiner("new", CONT, priority=2)       # 20 J/TH: earns 0.094 EUR/kWh
    site = PriceSite(d, [s9, new], pv=const(4000.0), house=const(400.0), prices={"export": 0.08})
    site.run(600)
    assert not s9.running and new.running and new.limit == 3000
    assert last(site, "s9").reason == "feed-in 0.08 > mining 0.02 EUR/kWh: exporting"
    # below both values: both mine, by priority
    site.prices["export"] = 0.01
    site.run(600)
    assert s9.running and new.running


def test_a_running_miner_pauses_when_feed_in_rises_but_not_before_min_on():
    d = build_decider(PolicyConfig(min_on=600.0), economics=econ(mine_only_above_feed_in=True))
    m = SimMiner("a", CONT)
    site = PriceSite(d, [m], pv=const(5000.0), house=const(400.0), prices={"export": 0.05})
    site.run(200)                     # started at 60 s, settled (min change interval)
    assert m.running
    site.prices["export"] = 0.09      # the evening tariff
    site.tick()
    md = last(site)
    assert m.running and md.term == "min_on" and md.reason.endswith("(feed-in 0.09 > mining 0.064 EUR/kWh: exporting)")
    site.run(600)
    assert not m.running and m.stops == [T0 + 660]
    assert last(site).term == "price"


def test_margin_asks_mining_to_win_by_a_margin():
    d = build_decider(PolicyConfig(), economics=econ(mine_only_above_feed_in=True, margin_pct=10.0))
    m = SimMiner("a", CONT)
    site = PriceSite(d, [m], pv=const(5000.0), house=const(400.0), prices={"export": 0.06})
    site.run(300)
    assert not m.running and last(site).reason == "feed-in 0.06 +10 % ≥ mining 0.064 EUR/kWh: exporting"


def test_fixed_config_price_when_the_input_has_none_and_unknown_means_plain_surplus():
    from edgemining_tui.econ.config import PriceSource
    # a fixed tariff in the config needs no extra: used when DecisionInput.prices lacks it
    d = build_decider(PolicyConfig(), economics=econ(mine_only_above_feed_in=True))
    m = SimMiner("a", CONT)
    site = PriceSite(d, [m], pv=const(5000.0), house=const(400.0), prices={})
    site.run(300)
    assert not m.running and last(site).reason == "feed-in 0.08 > mining 0.064 EUR/kWh: exporting"
    # an entity tariff that is unavailable: unknown feed-in never blocks surplus mining
    ent = econ(mine_only_above_feed_in=True, export_price=PriceSource(entity="sensor.feed_in"))
    d2 = build_decider(PolicyConfig(), economics=ent)
    m2 = SimMiner("a", CONT)
    site2 = PriceSite(d2, [m2], pv=const(5000.0), house=const(400.0), prices={"export": None})
    site2.run(300)
    assert m2.running


# --- grid_mining_below_break_even ------------------------------------------------------------------
def test_grid_mining_starts_only_below_break_even():
    d = build_decider(PolicyConfig(), economics=econ(grid_mining_below_break_even=True))
    m = SimMiner("a", CONT)
    site = PriceSite(d, [m], pv=const(0.0), house=const(400.0), prices={"import": 0.07, "export": 0.08})
    site.run(600)
    assert not m.running and last(site).term == "idle"
    site.prices["import"] = 0.05      # cheap night tariff: under the 0.064 break-even
    site.tick()
    md = last(site)
    assert md.command.kind is CommandKind.START and md.command.watts == 3000       # no enable delay, full power
    assert md.term == "price" and md.reason == "import 0.05 < break-even 0.064: mining on grid"
    site.run(900)
    assert m.running and last(site).term == "price" and m.limit == 3000
    # the tariff rises above break-even: back to surplus rules — no surplus, so it pauses after the delay
    site.prices["import"] = 0.30
    site.run(170)
    assert m.running and last(site).term == "disable_timer"
    site.run(30)
    assert not m.running


def test_grid_mining_respects_the_import_cap_and_min_off():
    # house 400 + cap 2000 → at most 1600 W for the miner
    d = build_decider(PolicyConfig(import_cap_w=2000.0, min_off=600.0),
                      economics=econ(grid_mining_below_break_even=True))
    m = SimMiner("a", CONT)
    site = PriceSite(d, [m], pv=const(0.0), house=const(400.0), prices={"import": 0.05})
    site.tick()
    assert last(site).command.watts == 1600 and last(site).term == "price"
    site.run(900)
    site.prices["import"] = 0.30
    site.run(400)
    assert not m.running
    site.prices["import"] = 0.05
    site.tick()
    assert not m.running and last(site).term == "min_off"
    # a cap under the miner's minimum: no grid mining at all
    d2 = build_decider(PolicyConfig(import_cap_w=1000.0), economics=econ(grid_mining_below_break_even=True))
    m2 = SimMiner("a", CONT)
    site2 = PriceSite(d2, [m2], pv=const(0.0), house=const(400.0), prices={"import": 0.05})
    site2.run(300)
    assert not m2.running and last(site2).term == "import_cap"


def test_a_grid_miner_takes_surplus_in_priority_order_and_never_pushes_others_into_import():
    # "new" (priority 1, 20 J/TH) pays on grid; "b" (priority 2, 95 J/TH) does not. While "new" mines,
    # any surplus "b" takes would otherwise have covered "new": for "b" that power is grid power.
    e = econ(grid_mining_below_break_even=True, miner_efficiency={"new": 20.0, "b": 95.0})
    d = build_decider(PolicyConfig(), economics=e)
    new, b = SimMiner("new", CONT, priority=1), SimMiner("b", SMALL, priority=2)
    site = PriceSite(d, [new, b], pv=const(3500.0), house=const(400.0), prices={"import": 0.05})
    site.run(900)
    assert new.running and new.limit == 3000 and not b.running
    site.pv = const(6000.0)           # more sun than "new" can take: the rest goes to "b"
    site.run(900)
    assert new.running and new.limit == 3000 and b.running and b.limit == 1500
    site.pv = const(3500.0)           # a thin cloud: both minimums still fit, "b" keeps its minimum
    site.run(600)
    assert new.limit == 3000 and b.running and b.limit == 500
    assert last(site, "new").term == "price" and last(site, "b").term in ("surplus", "min_interval")
    site.pv = const(2000.0)           # a thick cloud: "b" pauses, "new" keeps mining on grid
    site.run(600)
    assert new.running and new.limit == 3000 and not b.running
    assert site.decisions[-1].terms["left_w"] >= -SMALL.idle_w     # only b's idle draw, not new's grid power


def test_economics_off_by_default():
    d = build_decider(PolicyConfig())
    m = SimMiner("a", CONT)
    site = PriceSite(d, [m], pv=const(5000.0), house=const(400.0), prices={"export": 0.50, "import": 0.01})
    site.run(300)
    assert m.running and "mining_value" not in site.decisions[-1].terms
    d2 = build_decider(PolicyConfig(), economics=econ())           # switches off: nothing changes
    m2 = SimMiner("a", CONT)
    site2 = PriceSite(d2, [m2], pv=const(5000.0), house=const(400.0), prices={"export": 0.50, "import": 0.01})
    site2.run(300)
    assert m2.running


# --- where the efficiency comes from ---------------------------------------------------------------
def _view(name, running, power=None, hashrate=None):
    st = MinerState.MINING if running else MinerState.PAUSED
    return MinerView(name, 1, CONT, MinerSample(name, T0, st, power_w=power, hashrate_ths=hashrate,
                                                power_limit_w=power if running else None))


def test_efficiency_from_extra_then_config_then_sample_then_last_seen_then_default():
    e = econ(mine_only_above_feed_in=True, miner_efficiency={}, default_efficiency_j_th=29.3)
    d = build_decider(PolicyConfig(), economics=e)
    s = snap(T0, -3000.0)
    # the economics extra's figure wins
    fd = d.decide(DecisionInput(T0, s, (_view("x", False),), prices={"export": 0.05, "efficiency.x": 95.0}))
    assert fd.terms["mining_value"]["x"] == pytest.approx(value_per_kwh(95.0, 50, 90000))
    # a mining miner's own reading (power / hashrate) when there is none
    fd = d.decide(DecisionInput(T0 + 1, s, (_view("x", True, 3000.0, 150.0),), prices={"export": 0.05}))
    assert fd.terms["mining_value"]["x"] == pytest.approx(value_per_kwh(20.0, 50, 90000))
    # stopped: it reports no hashrate, the last figure it reported is kept
    fd = d.decide(DecisionInput(T0 + 2, s, (_view("x", False),), prices={"export": 0.05}))
    assert fd.terms["mining_value"]["x"] == pytest.approx(value_per_kwh(20.0, 50, 90000))
    # a miner never seen mining: the configured default
    fd = d.decide(DecisionInput(T0 + 3, s, (_view("y", False),), prices={"export": 0.05}))
    assert fd.terms["mining_value"]["y"] == pytest.approx(0.064, abs=5e-4)
    # prices["hashprice"] / ["btc"] (the pool's figure) win over the config
    fd = d.decide(DecisionInput(T0 + 4, s, (_view("y", False),), prices={"export": 0.05, "hashprice": 100.0}))
    assert fd.terms["mining_value"]["y"] == pytest.approx(0.128, abs=1e-3)


@pytest.mark.parametrize("eff,exp,imp,margin", list(itertools.product(
    (15.0, 29.3, 95.0), (None, -0.01, 0.0, 0.02, 0.064, 0.09), (None, -0.02, 0.0, 0.05, 0.3), (0.0, 10.0))))
def test_same_verdict_as_econ_mining_pays(eff, exp, imp, margin):
    mining_pays = pytest.importorskip("edgemining_tui.econ.decision").mining_pays
    prices = {"export": exp, "import": imp, "hashprice": 50.0, "btc": 90000.0}
    pays_s, pays_g, _ = mining_pays(eff, prices, margin_pct=margin)
    e = EconomicsConfig(export_price=None, import_price=None, margin_pct=margin, miner_efficiency={"x": eff})
    object.__setattr__(e, "mine_only_above_feed_in", True)           # validate() wants prices in config
    object.__setattr__(e, "grid_mining_below_break_even", True)
    d = build_decider(PolicyConfig(), economics=e)
    d.decide(DecisionInput(T0, snap(T0, 0.0), (_view("x", False),), prices=prices))
    sl = d._slots["x"]
    assert (sl.pblock == "") == (pays_s or exp is None)
    assert (sl.pgrid != "") == pays_g


# --- heat and price together -----------------------------------------------------------------------
def test_heat_demand_on_grid_beats_the_feed_in_gate():
    zone = ZoneConfig(name="Office", miners=("a",), min_c=20.0, max_c=22.0, grid_heat=True)
    st = ZoneTracker(zone).update(18.9, 600, 0.3)
    d = build_decider(PolicyConfig(), economics=econ(mine_only_above_feed_in=True))
    m = SimMiner("a", CONT)
    fd = d.decide(DecisionInput(T0, snap(T0, -2000.0), (m.view(T0),), prices={"export": 0.09},
                                climate={"status": {"Office": st}}))
    md = fd.miners["a"]
    assert md.run and md.command.kind is CommandKind.START and md.term == "surplus"


def test_decide_with_heat_and_price_names_a_known_term():
    from test_allocator_control import three
    e = econ(mine_only_above_feed_in=True, grid_mining_below_break_even=True,
             miner_efficiency={"a": 20.0, "b": 25.0, "c": 30.0})
    d0, ms, pv, site = three()
    d = build_decider(PolicyConfig(), economics=e)
    site.decider = d
    pv.w = 6000
    site.run(900)
    zone = ZoneConfig(name="Office", miners=("a",), min_c=20.0, max_c=22.0, grid_heat=True)
    status = {"Office": ZoneTracker(zone).update(23.4, 600, 0.1)}
    views = tuple(m.view(site.now) for m in ms.values())
    s = snap(site.now, -50.0)
    n = 200
    prices = {"import": 0.30, "export": 0.05, "btc": 90000.0, "hashprice": 50.0}
    inputs = [DecisionInput(site.now + i, s, views, prices=prices, climate={"status": status}) for i in range(n)]
    for x in inputs:
        fd = d.decide(x)
    assert all(md.term in TERMS for md in fd.miners.values())   # its cost: benchmarks/decide_cost.py
