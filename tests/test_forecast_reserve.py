"""The forecast battery reserve: the battery keeps what it needs to be full by sunset, the miners get the rest."""
from __future__ import annotations

import math
from zoneinfo import ZoneInfo

import pytest

from _allocator_kit import CONT, T0, sample, view
from edgemining_tui.backtest.forecast import ForecastSpec, remaining_today
from edgemining_tui.backtest.trace import Trace
from edgemining_tui.config import ConfigError, load_config
from edgemining_tui.energy.snapshot import EnergySnapshot, Reading
from edgemining_tui.miners.model import CommandKind
from edgemining_tui.policy.config import BatteryPolicy, PolicyConfig
from edgemining_tui.policy.decider import build_decider
from edgemining_tui.policy.decision import DecisionInput
from edgemining_tui.policy.reserve import ForecastReserve, _fade, surplus_left

H = 3600.0
RESERVE = BatteryPolicy(reserve="forecast", capacity=10000.0, forecast_trust=90.0)


def decider(battery: BatteryPolicy, *, rise_ago_h: float, set_in_h: float, **kw):
    # the next sunrise is tomorrow's (in daylight); the next sunset today's
    return build_decider(PolicyConfig(battery=battery, **kw),
                         sunset=lambda now: T0 + set_in_h * H,
                         sunrise=lambda now: T0 - rise_ago_h * H + 86400.0)


def site(now, *, pv, house, charge, soc, forecast_wh, miners_w=0.0):
    grid = house + miners_w + charge - pv
    r = lambda v: Reading(v, now, "test")  # noqa: E731
    fc = {} if forecast_wh is None else {"energy_today_remaining_wh": forecast_wh}
    return EnergySnapshot(now, r(pv), r(house), r(grid), r(charge), r(soc), fc)


def decide(d, now, snapshot, *views):
    return d.decide(DecisionInput(now=now, snapshot=snapshot, miners=tuple(views)))


def stopped(now):
    return view("a", CONT, sample("a", now, False))


# --- morning: the battery will fill anyway --------------------------------------------------------
def test_bright_morning_miner_starts_while_the_battery_is_still_low():
    """40 % at 9:00 with 40 kWh of sun to come: the fixed levels hold the miner back (below 50 %), the
    reserve lets it take what the battery will not need."""
    snap = site(T0, pv=5000, house=400, charge=4600, soc=40, forecast_wh=40000)
    levels = decider(BatteryPolicy(), rise_ago_h=3, set_in_h=11)
    fc = decider(RESERVE, rise_ago_h=3, set_in_h=11)
    md_l = decide(levels, T0, snap, stopped(T0)).miners["a"]
    d = decide(fc, T0, snap, stopped(T0))
    md_f = d.miners["a"]
    assert md_l.term == "soc_guard" and "priority 50 %" in md_l.reason
    assert md_f.term == "enable_timer"
    r = d.terms["reserve"]
    assert 0 < r["keeps_pct"] < 50           # the battery keeps a share, not all of it
    assert r["needs_wh"] == pytest.approx(60 / 100 * 10000 / 0.95)
    # after the enable delay it starts, at a power that leaves the battery its share
    d = decide(fc, T0 + 60, site(T0 + 60, pv=5000, house=400, charge=4600, soc=40, forecast_wh=39900),
               stopped(T0 + 60))
    md = d.miners["a"]
    assert md.command is not None and md.command.kind is CommandKind.START
    kept = d.terms["battery_kept_w"]
    assert kept > 0 and md.command.watts <= 4600 - kept


# --- afternoon: not enough sun left to fill the battery --------------------------------------------
def test_weak_afternoon_battery_first_even_above_the_fixed_levels():
    """70 % at 15:00 with 2 kWh of sun to come: the fixed levels (priority 50 %) let a miner take the
    charge power; the reserve keeps it for the battery and says why."""
    snap = site(T0, pv=1800, house=400, charge=1400, soc=70, forecast_wh=2000)
    levels = decider(BatteryPolicy(), rise_ago_h=7, set_in_h=1.5)
    fc = decider(RESERVE, rise_ago_h=7, set_in_h=1.5)
    assert decide(levels, T0, snap, stopped(T0)).miners["a"].term == "enable_timer"
    md = decide(fc, T0, snap, stopped(T0)).miners["a"]
    assert md.term == "soc_guard" and md.command is None
    assert md.reason.startswith("battery first: it needs 3.2 kWh")


def test_running_miner_is_not_carried_by_the_battery_when_the_sun_is_ending():
    """A cloud at 15:30: the miner draws 1.2 kW, PV covers the house only. With the fixed levels (SoC 95 %
    above buffer 90 %) the battery carries the miner; with the reserve the disable timer runs."""
    running = view("a", CONT, sample("a", T0, True, power=1200, limit=1200))
    snap = site(T0, pv=600, house=400, charge=-1000, soc=95, forecast_wh=300, miners_w=1200)
    levels = decider(BatteryPolicy(), rise_ago_h=7.5, set_in_h=1)
    fc = decider(RESERVE, rise_ago_h=7.5, set_in_h=1)
    assert decide(levels, T0, snap, running).miners["a"].term == "soc_guard"
    assert decide(fc, T0, snap, running).miners["a"].term == "disable_timer"


def test_battery_carries_a_running_miner_through_a_midday_cloud():
    running = view("a", CONT, sample("a", T0, True, power=1200, limit=1200))
    snap = site(T0, pv=600, house=400, charge=-1000, soc=60, forecast_wh=30000, miners_w=1200)
    md = decide(decider(RESERVE, rise_ago_h=5, set_in_h=7), T0, snap, running).miners["a"]
    assert md.term == "soc_guard" and md.run and md.target_w == 1200
    assert md.reason.startswith("battery carries it:")


def test_trust_rises_from_sunrise_to_sunset():
    """forecast_trust_sunrise 60 %, forecast_trust 100 %: at sunrise the reserve counts on 60 % of
    the forecast, halfway through the day on 80 %, at sunset on all of it."""
    def coming(x_h):                      # x_h hours after a 6:00 sunrise, 12 h of daylight
        r = ForecastReserve(10000.0, 100.0, trust_sunrise_pct=60.0,
                            sunset=lambda now: T0 + (12 - x_h) * H,
                            sunrise=lambda now: T0 - x_h * H + 86400.0)
        flat = ForecastReserve(10000.0, 100.0, sunset=lambda now: T0 + (12 - x_h) * H,
                               sunrise=lambda now: T0 - x_h * H + 86400.0)
        fc = {"energy_today_remaining_wh": 8000.0}
        return r.update(T0, 50.0, 0.0, fc).coming_wh / flat.update(T0, 50.0, 0.0, fc).coming_wh
    assert coming(0.0) == pytest.approx(0.6)
    assert coming(6.0) == pytest.approx(0.8)
    assert coming(11.9) == pytest.approx(0.6 + 0.4 * 11.9 / 12, rel=1e-6)


@pytest.mark.parametrize("bat_kw, key", [
    (", forecast_trust: 80%, forecast_trust_sunrise: 90%", "forecast_trust_sunrise"),   # morning above evening
    (", forecast_learned: 150%", "forecast_learned"),                                     # not a quantile
])
def test_trust_settings_out_of_range_are_refused(tmp_path, bat_kw, key):
    p = tmp_path / "c.yaml"
    p.write_text(BASE % (", latitude: 48, longitude: 11", "", ", capacity: 10kWh" + bat_kw))
    with pytest.raises(ConfigError, match=key):
        load_config(p)


def test_step_down_is_not_held_back_when_the_battery_pays_for_it():
    """Within min_change_interval a running miner normally keeps its target; with the reserve, a drop
    that stops a drain the battery can't afford goes out at once."""
    def run(battery):
        d = decider(battery, rise_ago_h=8, set_in_h=0.7)
        v = view("a", CONT, sample("a", T0, True, power=2000, limit=2000))
        big = site(T0, pv=4000, house=400, charge=0, soc=100, forecast_wh=500, miners_w=2000)
        first = decide(d, T0, big, v).miners["a"]
        assert first.command is not None and first.command.kind is CommandKind.SET_POWER   # up to 3000
        t = T0 + 30
        v = view("a", CONT, sample("a", t, True, power=3000, limit=3000))
        cloud = site(t, pv=2400, house=400, charge=-1000, soc=95, forecast_wh=300, miners_w=3000)
        return decide(d, t, cloud, v).miners["a"]
    held = run(BatteryPolicy())
    assert held.term == "min_interval" and held.command is None
    fast = run(RESERVE)
    assert fast.command is not None and fast.command.kind is CommandKind.SET_POWER
    assert fast.command.watts <= 2000


def test_no_forecast_falls_back_to_the_fixed_levels_and_says_so():
    d = decider(BatteryPolicy(reserve="forecast", capacity=10000.0, priority_soc=50.0),
                rise_ago_h=3, set_in_h=11)
    out = decide(d, T0, site(T0, pv=5000, house=400, charge=4600, soc=40, forecast_wh=None), stopped(T0))
    assert out.miners["a"].term == "soc_guard" and "priority 50 %" in out.miners["a"].reason
    assert "no forecast" in out.terms["reserve"]


# --- the surplus estimate -------------------------------------------------------------------------
@pytest.mark.parametrize("x", [0.0, 0.2, 0.5, 0.8])
def test_surplus_left_counts_only_pv_above_the_house(x):
    peak, load, length = 3000.0, 600.0, 8 * H
    now = x * length
    pv_left = peak * length / math.pi * (1 + math.cos(math.pi * x)) / H
    n = 20000
    du = (1 - x) / n
    numeric = sum(max(0.0, peak * math.sin(math.pi * (x + (i + 0.5) * du)) - load)
                  for i in range(n)) * du * length / H
    assert surplus_left(pv_left, load, now, 0.0, length) == pytest.approx(numeric, rel=1e-3)
    assert surplus_left(pv_left, load, now, 0.0, length) < pv_left - 0.0   # the house takes its part
    assert surplus_left(pv_left, 5000.0, now, 0.0, length) == 0.0          # a house above the peak


def _known(rise_ago_h: float, set_in_h: float) -> ForecastReserve:
    """A reserve with a record of 5 days on which the surplus came as forecast."""
    r = ForecastReserve(10000.0, 100.0, sunset=lambda now: T0 + set_in_h * H,
                        sunrise=lambda now: T0 - rise_ago_h * H + 86400.0, learned_quantile_pct=50.0)
    r.misses.restore([[1.0] * 5] * 8)
    return r


@pytest.mark.parametrize("p0,load", [(2200.0, 450.0), (3000.0, 0.0), (1500.0, 1400.0)])
def test_afternoon_fade_holds_the_forecast_and_counts_pv_above_the_house(p0, load):
    pv_left, left = 1500.0, 2 * H
    T = left / H
    a = p0 * T / pv_left - 1.0
    n = 20000
    curve = [p0 * (1.0 - (i + 0.5) / n) ** a for i in range(n)]
    assert sum(curve) * T / n == pytest.approx(pv_left, rel=1e-3)          # the shape keeps the energy
    wh, s = _fade(pv_left, p0, load, left)
    assert wh == pytest.approx(sum(max(0.0, c - load) for c in curve) * T / n, rel=1e-3)
    assert s == pytest.approx(sum(c > load for c in curve) / n * left, rel=1e-3)


def test_winter_afternoon_counts_the_surplus_the_pv_now_fades_out_with():
    """14:30, sunset in 2 h, 1.5 kWh of PV still forecast, 2.2 kW measured, the house at 450 W:
    spread on the sine the rest of the day starts near 1.3 kW and more of it falls in the last hour,
    where the house takes it; faded from the 2.2 kW measured now more of it is surplus (0.86 vs
    0.73 kWh). Under a cloud (300 W now) the fade cannot hold the forecast: with a record of the
    forecast's misses the sine stands in, a new install counts on 300 W fading out (none of it
    above the house)."""
    fc = {"energy_today_remaining_wh": 1500.0}
    sine = _reserve(6.5, 2).update(T0, 90.0, 450.0, fc)
    faded = _reserve(6.5, 2).update(T0, 90.0, 450.0, fc, pv_w=2200.0)
    assert faded.coming_wh == pytest.approx(_fade(1500.0, 2200.0, 450.0, 2 * H)[0])
    assert faded.coming_wh > 1.15 * sine.coming_wh
    assert _known(6.5, 2).update(T0, 90.0, 450.0, fc, pv_w=300.0).coming_wh == pytest.approx(sine.coming_wh)
    assert _reserve(6.5, 2).update(T0, 90.0, 450.0, fc, pv_w=300.0).coming_wh == 0.0
    # in the morning the sine applies whatever the PV now
    morning = _reserve(2, 6.5).update(T0, 50.0, 450.0, {"energy_today_remaining_wh": 12000.0}, pv_w=2200.0)
    assert morning.coming_wh == pytest.approx(
        _reserve(2, 6.5).update(T0, 50.0, 450.0, {"energy_today_remaining_wh": 12000.0}).coming_wh)


def test_new_install_counts_an_afternoon_forecast_only_as_far_as_the_pv_now_fades_out():
    """14:00, sunset in 3 h: the forecast still says 6 kWh, 1.2 kW is measured. A new install (no
    record of the forecast's misses) counts on no more than 1.2 kW fading linearly to 0 at sunset
    (1.8 kWh): its forecast has not seen the site's afternoon yet. With a record it counts on the
    forecast times what the record says (here 1)."""
    fc = {"energy_today_remaining_wh": 6000.0}
    new = _reserve(5, 3).update(T0, 80.0, 300.0, fc, pv_w=1200.0)
    assert new.coming_wh == pytest.approx(_fade(1800.0, 1200.0, 300.0, 3 * H)[0])
    no_pv = _reserve(5, 3).update(T0, 80.0, 300.0, fc)
    assert no_pv.coming_wh > 2 * new.coming_wh
    assert _known(5, 3).update(T0, 80.0, 300.0, fc, pv_w=1200.0).coming_wh == pytest.approx(no_pv.coming_wh)


# --- the tail below every minimum ------------------------------------------------------------------
def _reserve(rise_ago_h: float, set_in_h: float) -> ForecastReserve:
    return ForecastReserve(10000.0, 100.0, sunset=lambda now: T0 + set_in_h * H,
                           sunrise=lambda now: T0 - rise_ago_h * H + 86400.0)


def test_surplus_below_every_minimum_is_counted_as_the_batterys_first():
    """At 13:00 with 6 kWh of PV to come the battery needs 1.1 kWh. The late afternoon's surplus
    under 1.2 kW (no miner can take it) will charge it anyway: the reserve keeps less of the
    surplus now, so the miners take it while they can."""
    plain = _reserve(7, 4).update(T0, 90.0, 400.0, {"energy_today_remaining_wh": 6000.0})
    share_plain = plain.share
    tail = _reserve(7, 4).update(T0, 90.0, 400.0, {"energy_today_remaining_wh": 6000.0}, min_w=1200.0)
    assert 0.0 < tail.tail_wh < tail.coming_wh
    assert tail.share < share_plain
    # the numbers: the tail is the surplus (PV above the house) while it is below 1.2 kW
    length, x = 11 * H, 7 / 11
    pv_left = 6000.0
    peak = pv_left * H * math.pi / (length * (1 + math.cos(math.pi * x)))
    n = 20000
    du = (1 - x) / n
    numeric = sum(s if 0.0 < s < 1200.0 else 0.0
                  for s in (peak * math.sin(math.pi * (x + (i + 0.5) * du)) - 400.0 for i in range(n))
                  ) * du * length / H
    assert tail.tail_wh == pytest.approx(numeric, rel=2e-3)
    # a battery that the tail alone fills keeps nothing
    nearly = _reserve(7, 4).update(T0, 99.0, 400.0, {"energy_today_remaining_wh": 6000.0}, min_w=1200.0)
    assert nearly.need_wh < nearly.tail_wh and nearly.share == 0.0


def test_decider_counts_the_tail_of_its_smallest_miner():
    snap = site(T0, pv=4000, house=400, charge=3600, soc=97, forecast_wh=6000)
    d = decide(decider(RESERVE, rise_ago_h=7, set_in_h=4), T0, snap, stopped(T0))
    r = d.terms["reserve"]
    assert r["tail_wh"] > r["needs_wh"] and r["keeps_pct"] == 0.0
    assert d.terms["battery_kept_w"] == 0.0
    assert d.miners["a"].term == "enable_timer"


# --- the battery lends to a start while it exports ------------------------------------------------
def _full_and_exporting(now, forecast_wh, export_w=700.0, soc=100.0, charge=0.0):
    return site(now, pv=400 + export_w + charge, house=400, charge=charge, soc=soc, forecast_wh=forecast_wh)


def test_full_battery_lends_the_rest_of_a_minimum_when_the_afternoon_still_has_surplus():
    """Late morning, battery full, 700 W exported (600 W after the 100 W headroom), 1.2 kW minimum: the
    600 W missing come from the battery, which gets them back from the surplus still to come. (In the
    afternoon a new install counts on no more than the 1.1 kW of PV fading out: too little to lend.)"""
    assert decide(decider(RESERVE, rise_ago_h=7, set_in_h=3), T0, _full_and_exporting(T0, 5000.0),
                  stopped(T0)).miners["a"].term == "surplus"
    d = decider(RESERVE, rise_ago_h=4.5, set_in_h=5.5)
    md = decide(d, T0, _full_and_exporting(T0, 7000.0), stopped(T0)).miners["a"]
    assert md.term == "enable_timer"
    assert "surplus 0.6 kW + 0.6 kW from the battery" in md.reason and "more than it needs before sunset" in md.reason
    t = T0 + d.cfg.enable.delay
    md = decide(d, t, _full_and_exporting(t, 6900.0), stopped(t)).miners["a"]
    assert md.command is not None and md.command.kind is CommandKind.START and md.command.watts == 1200
    assert md.term == "soc_guard" and md.reason.startswith("start at 1200 W: surplus 0.6 kW")


@pytest.mark.parametrize("case", ["sun_ending", "still_charging", "fixed_levels"])
def test_no_lending_without_spare_surplus_or_while_the_battery_still_charges(case):
    if case == "sun_ending":          # 20 min left, 100 Wh to come: it would not be paid back
        d = decider(RESERVE, rise_ago_h=10, set_in_h=0.3)
        snap = _full_and_exporting(T0, 100.0)
    elif case == "still_charging":    # 90 %, charging 700 W, nothing exported
        d = decider(RESERVE, rise_ago_h=7, set_in_h=3)
        snap = _full_and_exporting(T0, 5000.0, export_w=0.0, soc=90.0, charge=700.0)
    else:                             # the fixed SoC levels never lend
        d = decider(BatteryPolicy(), rise_ago_h=7, set_in_h=3)
        snap = _full_and_exporting(T0, 5000.0)
    md = decide(d, T0, snap, stopped(T0)).miners["a"]
    assert md.term != "enable_timer" and md.command is None
    assert "from the battery" not in md.reason


# --- the replay's forecast ------------------------------------------------------------------------
def _day_trace(forecast=None):
    step = 600.0
    n = 2 * 144
    pv = [max(0.0, 4000 * math.sin(math.pi * ((i % 144) - 42) / 60)) for i in range(n)]
    return Trace(ts0=19889 * 86400.0, step_s=step, pv_w=pv, load_w=[300.0] * n, pv_forecast_w=forecast)


def test_replay_forecast_perfect_and_recorded():
    tz = ZoneInfo("UTC")
    tr = _day_trace()
    perfect = remaining_today(tr, tz, ForecastSpec(error=0.0, smoothing=0.0))
    day0 = sum(tr.pv_w[:144]) * 600 / 3600
    assert perfect[0] == pytest.approx(day0) and perfect[143] == pytest.approx(tr.pv_w[143] / 6)
    assert perfect[144] == pytest.approx(sum(tr.pv_w[144:]) / 6)       # a new day starts full
    off = remaining_today(tr, tz, ForecastSpec(error=30.0, smoothing=3600.0, seed=3))
    assert off[0] != pytest.approx(perfect[0], rel=1e-3)
    assert 0.69 * perfect[0] <= off[0] <= 1.31 * perfect[0]
    recorded = remaining_today(_day_trace(forecast=[100.0] * 288), tz, ForecastSpec(error=30.0))
    assert recorded[0] == pytest.approx(144 * 100 / 6)                  # the column wins, as recorded


# --- config ----------------------------------------------------------------------------------------
BASE = """site: {timezone: Europe/Berlin%s}
energy:
  source: home_assistant
  home_assistant: {url: "http://127.0.0.1:8123", token: x, grid: sensor.grid%s}
miners:
  - {name: a, driver: simulated}
policy:
  battery: {reserve: forecast%s}
"""


@pytest.mark.parametrize("site_kw, ha_kw, bat_kw, line, words", [
    (", latitude: 48, longitude: 11", ", forecast_energy_today_remaining: sensor.rest", "", 8, "usable capacity"),
    ("", ", forecast_energy_today_remaining: sensor.rest", ", capacity: 10kWh", 8, "site.latitude"),
])
def test_reserve_config_errors_name_what_is_missing(tmp_path, site_kw, ha_kw, bat_kw, line, words):
    p = tmp_path / "c.yaml"
    p.write_text(BASE % (site_kw, ha_kw, bat_kw))
    with pytest.raises(ConfigError) as ei:
        load_config(p)
    assert ei.value.line == line and words in str(ei.value)
    p.write_text(BASE % (", latitude: 48, longitude: 11", ", forecast_energy_today_remaining: sensor.rest",
                         ", capacity: 10kWh"))
    assert load_config(p).policy.battery.reserve == "forecast"


def test_reserve_without_a_forecast_sensor_loads_on_the_builtin_forecast(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text(BASE % (", latitude: 48, longitude: 11", "", ", capacity: 10kWh"))
    cfg = load_config(p)
    assert cfg.policy.battery.reserve == "forecast" and not cfg.energy.gives_forecast_today()


def test_auto_headroom_follows_the_meters_noise_and_stays_100w_without_a_battery():
    import random
    from edgemining_tui.policy.headroom import AdaptiveHeadroom
    rnd = random.Random(1)
    quiet, noisy, none = AdaptiveHeadroom(), AdaptiveHeadroom(), AdaptiveHeadroom()
    for i in range(400):
        spike = 2500.0 if i % 50 == 0 else 0.0                  # a kettle now and then is not noise
        h_quiet = quiet.update(rnd.uniform(-5, 5) + spike, True)
        h_noisy = noisy.update(rnd.uniform(-150, 150), True)
        h_none = none.update(rnd.uniform(-5, 5), False)
    assert h_quiet <= 15.0
    assert h_noisy == 100.0
    assert h_none == 100.0


def test_auto_headroom_counts_half_the_power_target_miners_step_as_margin():
    import random
    from edgemining_tui.policy.headroom import AdaptiveHeadroom
    rnd = random.Random(2)
    plain, stepped = AdaptiveHeadroom(), AdaptiveHeadroom()
    for _ in range(400):
        g = rnd.uniform(-40, 40)
        h_plain = plain.update(g, True)
        h_step = stepped.update(g, True, step_w=50.0)
    assert h_step == pytest.approx(max(10.0, h_plain - 25.0))
    assert h_plain > 30.0 and h_step < h_plain
    assert stepped.update(0.0, False, step_w=50.0) == 100.0        # no battery: every miss is import


def test_auto_headroom_lets_a_power_target_miner_take_the_rest_when_the_battery_is_full():
    now = T0
    cfgs = {h: PolicyConfig(headroom_w=h, min_change_interval=120, ramp=60) for h in ("auto", 100.0)}
    got = {}
    for h, cfg in cfgs.items():
        d = build_decider(cfg, "UTC")
        t = now
        for _ in range(40):                                     # exporting 430 W, battery full
            v = view("s19", CONT, sample("s19", t, True, 2000.0, limit=2000.0))
            snap = EnergySnapshot(t, *(Reading(x, t, "m") for x in (6000.0, 3570.0, -430.0, 0.0, 100.0)))
            dec = d.decide(DecisionInput(now=t, snapshot=snap, miners=(v,), stale=(), stale_for_s=0.0,
                                         prices={}, climate={}, tz="UTC"))
            t += 5.0
        got[h] = d.last.terms["headroom_w"], dec.miners["s19"].target_w
    assert got["auto"][0] <= 15.0 and got[100.0][0] == 100.0
    assert got["auto"][1] > got[100.0][1]                       # it soaks up what 100 W left


# --- what the recent days say about the forecast (battery.forecast_learned) -------------------------
DAY = 86400.0
RISE_H, SET_H = 6.0, 18.0


def _sun(hour):
    def nxt(now):
        d = math.floor((now - T0) / DAY)
        t = T0 + d * DAY + hour * H
        return t if t > now else t + DAY
    return nxt


def _remaining(now, total_wh):
    """What a forecast of a sine day with ``total_wh`` says is still to come at ``now``."""
    x = ((now - T0) % DAY / H - RISE_H) / (SET_H - RISE_H)
    x = min(max(x, 0.0), 1.0)
    return total_wh * (1.0 + math.cos(math.pi * x)) / 2.0


def _pv(now, total_wh):
    x = ((now - T0) % DAY / H - RISE_H) / (SET_H - RISE_H)
    if not 0.0 <= x <= 1.0:
        return 0.0
    return total_wh * math.pi / (2.0 * (SET_H - RISE_H)) * math.sin(math.pi * x)


def _days(r, days, forecast_wh, actual_wh, step=600.0):
    """Run ``r`` through whole days (T0 is a midnight here) with a forecast that says
    ``forecast_wh`` a day while ``actual_wh`` comes; no house load."""
    fc = {"energy_today_remaining_wh": 0.0}
    t = T0
    while t < T0 + days * DAY:
        fc["energy_today_remaining_wh"] = _remaining(t, forecast_wh)
        r.update(t, 50.0, 0.0, fc, 0.0, _pv(t, actual_wh))
        t += step
    return t


def test_learned_misses_count_on_what_the_recent_days_brought():
    """The forecast says 10 kWh a day, 15 kWh come: once three whole days are known the reserve
    counts on 1.5x the forecast; before (on the third day itself, not over yet) the trust schedule."""
    r = ForecastReserve(10000.0, 100.0, trust_sunrise_pct=75.0, sunset=_sun(SET_H), sunrise=_sun(RISE_H),
                        learned_quantile_pct=50.0)
    flat = ForecastReserve(10000.0, 100.0, sunset=_sun(SET_H), sunrise=_sun(RISE_H))
    fc = {"energy_today_remaining_wh": 0.0}
    _days(r, 2.5, 10000.0, 15000.0)                        # two whole days and the third's morning
    at = T0 + 2 * DAY + 12 * H
    fc["energy_today_remaining_wh"] = _remaining(at, 10000.0)
    base = flat.update(at, 50.0, 0.0, fc).coming_wh
    assert r.update(at, 50.0, 0.0, fc).coming_wh == pytest.approx(0.875 * base, rel=1e-6)   # schedule
    r3 = ForecastReserve(10000.0, 100.0, trust_sunrise_pct=75.0, sunset=_sun(SET_H), sunrise=_sun(RISE_H),
                         learned_quantile_pct=50.0)
    _days(r3, 3, 10000.0, 15000.0)                         # ... and the third is over
    at = T0 + 3 * DAY + 12 * H
    fc["energy_today_remaining_wh"] = _remaining(at, 10000.0)
    base = flat.update(at, 50.0, 0.0, fc).coming_wh
    assert r3.update(at, 50.0, 0.0, fc).coming_wh == pytest.approx(1.5 * base, rel=0.03)


def test_learned_misses_low_quantile_counts_on_the_bad_days():
    """Days that bring 60 % and 140 % of the forecast: the 0 % quantile counts on 60 %, the median on
    about 100 %."""
    def run(q):
        r = ForecastReserve(10000.0, 100.0, sunset=_sun(SET_H), sunrise=_sun(RISE_H), learned_quantile_pct=q)
        fc = {"energy_today_remaining_wh": 0.0}
        t = T0
        for d in range(6):
            actual = 6000.0 if d % 2 else 14000.0
            while t < T0 + (d + 1) * DAY:
                fc["energy_today_remaining_wh"] = _remaining(t, 10000.0)
                r.update(t, 50.0, 0.0, fc, 0.0, _pv(t, actual))
                t += 600.0
        at = T0 + 6 * DAY + 9 * H
        fc["energy_today_remaining_wh"] = _remaining(at, 10000.0)
        return r.update(at, 50.0, 0.0, fc).coming_wh / _remaining(at, 10000.0)
    assert run(0.0) == pytest.approx(0.6, rel=0.03)
    assert run(50.0) == pytest.approx(1.0, rel=0.05)


def test_learned_misses_survive_a_restart():
    """The decider's saved state carries the record: a restarted console counts on it at once."""
    pol = BatteryPolicy(reserve="forecast", capacity=10000.0, forecast_trust=100.0, forecast_learned=50.0)
    d = build_decider(PolicyConfig(battery=pol), sunset=_sun(SET_H), sunrise=_sun(RISE_H))
    _days(d.reserve, 4, 10000.0, 15000.0)
    state = d.export_state()
    assert state["forecast_misses"][4]
    d2 = build_decider(PolicyConfig(battery=pol), sunset=_sun(SET_H), sunrise=_sun(RISE_H))
    d2.restore_state(state)
    assert d2.reserve.misses.ratio(0.5, 0.5) == pytest.approx(1.5, rel=0.03)
    d2.restore_state({"forecast_misses": [["x", float("nan"), -1.0]] * 8})   # hostile: nothing kept
    assert d2.reserve.misses.ratio(0.5, 0.5) == pytest.approx(1.5, rel=0.03)


def test_replay_learns_the_misses_from_the_history_before_the_trace():
    """A replay with history starts with the record a running console would have: the days before."""
    from dataclasses import replace
    from pathlib import Path
    from edgemining_tui.backtest.config import load_backtest_config
    from edgemining_tui.backtest.runner import make_decider, warm_misses
    from edgemining_tui.backtest.tracegen import generate
    from edgemining_tui.clock import VirtualClock
    cfg = load_backtest_config(Path(__file__).resolve().parents[1] / "examples" / "backtest-setup.yaml")
    app = cfg.app
    cfg = replace(cfg, app=replace(app, policy=replace(app.policy, battery=replace(
        app.policy.battery, forecast_learned=50.0))))
    hist = generate("2025-05-01T00:00:00", days=5, step_s=300.0, weather=None, prices=False)
    dec = make_decider(cfg, VirtualClock(hist.ts0), hist).decider
    rec = warm_misses(cfg, dec.reserve, hist, ZoneInfo(app.site.timezone), 800.0)
    assert len(rec) == 8 and all(3 <= len(r) <= 5 for r in rec[1:7])
    assert all(0.2 < v < 5.0 for r in rec for v in r)
    dec.reserve.misses.restore(rec)
    assert dec.reserve.misses.ratio(0.5, 0.5) is not None


def _mixed_days(r, days, grid_at_dawn_w):
    """Days that bring 60 % and 140 % of a 10 kWh forecast in turn; before sunrise the house (400 W)
    draws ``grid_at_dawn_w`` from the grid (the battery ran out in the night) or none."""
    fc = {"energy_today_remaining_wh": 0.0}
    t = T0
    for d in range(days):
        actual = 6000.0 if d % 2 else 14000.0
        while t < T0 + (d + 1) * DAY:
            fc["energy_today_remaining_wh"] = _remaining(t, 10000.0)
            pv = _pv(t, actual)
            r.update(t, 50.0, 400.0, fc, 0.0, pv, grid_at_dawn_w if pv < 400.0 else -pv)
            t += 600.0
    return t


@pytest.mark.parametrize("grid_at_dawn_w, lo, hi", [(0.0, 0.85, 1.15), (400.0, 0.2, 0.6)])
def test_after_a_night_the_battery_ran_out_the_reserve_counts_on_the_bad_days(grid_at_dawn_w, lo, hi):
    """The median recent day when the battery kept something overnight (being short costs nothing);
    after a night it ran out and the grid fed the house, what 9 days in 10 brought at least."""
    r = ForecastReserve(10000.0, 100.0, sunset=_sun(SET_H), sunrise=_sun(RISE_H), learned_quantile_pct=50.0)
    _mixed_days(r, 6, grid_at_dawn_w)
    at = T0 + 6 * DAY + 9 * H
    fc = {"energy_today_remaining_wh": _remaining(at, 10000.0)}
    r.update(at - 4 * H, 50.0, 400.0, fc, 0.0, 0.0, grid_at_dawn_w)      # 5:00, before sunrise
    res = r.update(at, 50.0, 400.0, fc, 0.0, 3000.0, -2600.0)
    assert res.careful is (grid_at_dawn_w > 0)
    ratio = res.coming_wh / surplus_left(_remaining(at, 10000.0), 400.0, at, T0 + 6 * DAY + RISE_H * H,
                                          T0 + 6 * DAY + SET_H * H)
    assert lo < ratio < hi        # (the bad days' surplus above the house is well under 60 % of its forecast)


def test_after_a_night_the_battery_ran_out_it_carries_a_miner_only_with_plenty_to_come():
    """share < 1 lets the battery carry a running miner at its minimum through a cloud while 1.3x
    its need is still to come (it is short at sunset when the afternoon is a little duller than
    forecast), 1.5x after a night it ran out, plus what the running miners draw through a whole
    disable delay (1.1 kW for 3 min: 55 Wh)."""
    from edgemining_tui.policy.site_terms import site_terms
    from edgemining_tui.policy.reserve import Reserve
    cfg = PolicyConfig(battery=RESERVE)
    snap = site(T0, pv=1000, house=400, charge=-500, soc=60, forecast_wh=9000, miners_w=1100)
    out = {}
    for careful, coming in ((False, 5240.0), (False, 5260.0), (True, 6040.0), (True, 6060.0)):
        r = Reserve()
        r.careful, r.share, r.need_wh, r.coming_wh, r.left_s = careful, 0.8, 4000.0, coming, 5 * H
        out[(careful, coming)] = site_terms(cfg, snap, (), 1100.0, 1100.0, True, r, 50.0).buffered
    assert out == {(False, 5240.0): False, (False, 5260.0): True, (True, 6040.0): False, (True, 6060.0): True}
    # a miner with no start left today: carried while the battery still fills, not after a night it ran out
    last = {}
    for careful, coming in ((False, 4040.0), (False, 4060.0), (True, 6040.0)):
        r = Reserve()
        r.careful, r.share, r.need_wh, r.coming_wh, r.left_s = careful, 0.8, 4000.0, coming, 5 * H
        last[(careful, coming)] = site_terms(cfg, snap, (), 1100.0, 1100.0, True, r, 50.0).last_start_ok
    assert last == {(False, 4040.0): False, (False, 4060.0): True, (True, 6040.0): False}


def test_a_cloud_the_battery_does_not_carry_says_why():
    """A running miner at its minimum in a cloud at 12:00: 4.6 kWh of surplus to come for a 4.0 kWh
    need (the battery fills anyway, but not with room to spare): the disable timer runs and the
    reason says why the battery does not carry it."""
    running = view("a", CONT, sample("a", T0, True, power=1200, limit=1200))
    snap = site(T0, pv=1000, house=400, charge=-600, soc=62, forecast_wh=6500, miners_w=1200)
    d = decide(decider(BatteryPolicy(reserve="forecast", capacity=10000.0, forecast_trust=100.0),
                       rise_ago_h=4, set_in_h=5), T0, snap, running)
    r = d.terms["reserve"]
    assert r["keeps_pct"] < 100 and r["needs_wh"] < r["coming_wh"] < 1.3 * r["needs_wh"]
    md = d.miners["a"]
    assert md.term == "disable_timer" and md.run
    assert "the battery does not carry it: 4.6 kWh to come, it wants 5.3 kWh (1.3× its need of 4.0 kWh" \
        in md.reason


def test_the_rules_panel_says_when_the_reserve_is_careful():
    from edgemining_tui.ui.fmt import plain_terms
    base = {"keeps_pct": 80.0, "needs_wh": 4000.0, "coming_wh": 5000.0, "tail_wh": 0.0, "lends_w": 0.0}
    said = dict(plain_terms({"reserve": dict(base, careful=True)}))
    assert any("ran out last night" in v for v in said.values())
    said = dict(plain_terms({"reserve": dict(base, careful=False)}))
    assert not any("ran out" in v for v in said.values())
    said = dict(plain_terms({"reserve": dict(base, careful=True, full_yesterday=True)}))
    assert any("ran out last night; the battery was full yesterday" in v for v in said.values())
    assert not any("full yesterday" in v for v in dict(plain_terms({"reserve": base})).values())


from hypothesis import given, settings, strategies as st  # noqa: E402

_JSONISH = st.recursive(st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=3),
                        lambda c: st.lists(c, max_size=9) | st.dictionaries(st.text(max_size=3), c, max_size=3),
                        max_leaves=40)


@settings(max_examples=60, deadline=None)
@given(_JSONISH)
def test_a_saved_record_of_any_shape_restores_without_raising_and_keeps_only_ratios(data):
    from edgemining_tui.policy.reserve import SurplusMisses
    m = SurplusMisses()
    m.restore(data)
    for r in m.export():
        assert all(isinstance(v, float) and 0.0 <= v < 100.0 for v in r)


@settings(max_examples=60, deadline=None)
@given(_JSONISH | st.lists(st.booleans() | st.floats(allow_nan=True, allow_infinity=True), min_size=3, max_size=3))
def test_a_saved_full_battery_record_of_any_shape_restores_without_raising(data):
    r = ForecastReserve(10000.0, 100.0, sunset=_sun(SET_H), sunrise=_sun(RISE_H))
    r.restore_full(data)
    res = r.update(T0 + 12 * H, 50.0, 400.0, {"energy_today_remaining_wh": 3000.0}, 0.0, 2000.0, 0.0)
    assert isinstance(res.full_yesterday, bool) and 0.0 <= res.share <= 1.0
    saved = r.export_full()
    assert saved[2] is None or math.isfinite(saved[2])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 10.0), min_size=0, max_size=20), st.floats(0.0, 1.0), st.floats(0.0, 1.0),
       st.floats(0.0, 1.0))
def test_the_learned_ratio_is_a_quantile_of_the_record(ratios, x, q1, q2):
    from edgemining_tui.policy.reserve import ERR_BUCKETS, ERR_DAYS, ERR_MIN_DAYS, SurplusMisses
    m = SurplusMisses()
    m.restore([list(ratios)] * ERR_BUCKETS)
    kept = ratios[-ERR_DAYS:]
    lo, hi = sorted((q1, q2))
    a, b = m.ratio(x, lo), m.ratio(x, hi)
    if len(kept) < ERR_MIN_DAYS:
        assert a is None and b is None
    else:
        assert min(kept) <= a <= b <= max(kept)


@settings(max_examples=200, deadline=None)
@given(st.floats(1.0, 30000.0), st.floats(0.0, 8000.0), st.floats(0.0, 6000.0), st.floats(0.0, 6000.0),
       st.floats(60.0, 8 * H))
def test_the_afternoon_fade_never_counts_more_than_the_forecast_or_less_for_a_lighter_house(pv_wh, p0, load1,
                                                                                              load2, left):
    """Whatever the PV now, the forecast and the house: the surplus on the fade is between 0 and the
    forecast's PV, lasts at most the time left, and a heavier house never leaves more of it."""
    a, b = _fade(pv_wh, p0, load1, left), _fade(pv_wh, p0, load2, left)
    if a is None:
        assert b is None                          # the shape depends on the PV and the forecast only
        return
    for wh, s in (a, b):
        assert 0.0 <= wh <= pv_wh * (1 + 1e-9) and 0.0 <= s <= left * (1 + 1e-9)
    if load1 <= load2:
        assert a[0] >= b[0] - 1e-6 * pv_wh


@pytest.mark.parametrize("starts", [1, 2])
def test_a_miner_with_no_start_left_today_is_carried_while_the_battery_still_fills(starts):
    """The cloud of the test above, with 2 starts a day allowed: a miner that has used both is
    carried (stopping it would end its day, and the rest of a cloudy day's surplus would go to the
    grid) as long as the surplus to come still fills the battery; one that may start again pauses."""
    running = view("a", CONT, sample("a", T0, True, power=1200, limit=1200))
    snap = site(T0, pv=1000, house=400, charge=-600, soc=62, forecast_wh=6500, miners_w=1200)
    d = decider(BatteryPolicy(reserve="forecast", capacity=10000.0, forecast_trust=100.0),
                rise_ago_h=4, set_in_h=5, max_starts_per_day=2)
    st = d._slot("a").st
    for _ in range(starts):
        st.count_start(d._day(T0))
    md = decide(d, T0, snap, running).miners["a"]
    if starts == 2:
        assert md.term == "soc_guard" and md.run and md.target_w == 1200
        assert md.reason.startswith("battery carries it (no start left today): 4.6 kWh of surplus still to come")
    else:
        assert md.term == "disable_timer" and "the battery does not carry it" in md.reason


# --- the battery was full yesterday: what it lends comes back -----------------------------------
def test_the_reserve_remembers_whether_the_battery_was_full_in_yesterdays_daylight():
    r = ForecastReserve(10000.0, 100.0, sunset=_sun(SET_H), sunrise=_sun(RISE_H))
    fc = {"energy_today_remaining_wh": 5000.0}
    seen = []
    # day 1: full at noon; day 2: 98 % at most, but 100 % at 20:00 (after sunset: not daylight);
    # day 3: asked at 9:00
    for day, soc_noon, soc_evening in ((0, 100.0, 80.0), (1, 98.0, 100.0), (2, 50.0, 50.0)):
        for hour, soc in ((7.0, 40.0), (12.0, soc_noon), (20.0, soc_evening)):
            t = T0 + day * DAY + hour * H
            res = r.update(t, soc, 400.0, fc, 0.0, 1000.0 if hour < SET_H else 0.0, 0.0)
            if hour == 7.0:
                seen.append(res.full_yesterday)
    assert seen == [False, True, False]


def _lender(yesterday_soc: float):
    """A decider whose battery was at ``yesterday_soc`` at noon yesterday (a running 1.2 kW miner,
    7 min disable delay, 2 starts a day) and whose battery ran out last night (the grid fed the house
    at 7:00 today)."""
    from edgemining_tui.policy.config import DisableConfig
    d = build_decider(PolicyConfig(battery=BatteryPolicy(reserve="forecast", capacity=10000.0, forecast_trust=100.0,
                                                         forecast_learned=50.0),
                                   headroom_w=20.0, min_on=0.0, max_starts_per_day=2,
                                   disable=DisableConfig(delay=420.0)),
                      sunset=_sun(SET_H), sunrise=_sun(RISE_H))
    y = T0 + 12 * H
    decide(d, y, site(y, pv=3000, house=400, charge=0, soc=yesterday_soc, forecast_wh=5000, miners_w=1200),
           view("a", CONT, sample("a", y, True, power=1200, limit=1200)))
    t = T0 + DAY + 7 * H
    decide(d, t, site(t, pv=200, house=400, charge=0, soc=10, forecast_wh=5000, miners_w=10),
           view("a", CONT, sample("a", t, False)))
    return d


def _lender_restarted(yesterday_soc: float, saved):
    """_lender, but the console restarts between yesterday noon and this morning (``saved``: what
    yesterday's decider exported, through JSON as the state file keeps it)."""
    import json
    from edgemining_tui.policy.config import DisableConfig
    first = build_decider(PolicyConfig(battery=BatteryPolicy(reserve="forecast", capacity=10000.0,
                                                             forecast_trust=100.0, forecast_learned=50.0)),
                          sunset=_sun(SET_H), sunrise=_sun(RISE_H))
    y = T0 + 12 * H
    decide(first, y, site(y, pv=3000, house=400, charge=0, soc=yesterday_soc, forecast_wh=5000, miners_w=1200),
           view("a", CONT, sample("a", y, True, power=1200, limit=1200)))
    d = build_decider(PolicyConfig(battery=BatteryPolicy(reserve="forecast", capacity=10000.0, forecast_trust=100.0,
                                                         forecast_learned=50.0),
                                   headroom_w=20.0, min_on=0.0, max_starts_per_day=2,
                                   disable=DisableConfig(delay=420.0)),
                      sunset=_sun(SET_H), sunrise=_sun(RISE_H))
    d.restore_state(json.loads(json.dumps(saved(first.export_state()))))
    t = T0 + DAY + 7 * H
    decide(d, t, site(t, pv=200, house=400, charge=0, soc=10, forecast_wh=5000, miners_w=10),
           view("a", CONT, sample("a", t, False)))
    return d


@pytest.mark.parametrize("saved, lends", [
    (lambda s: s, True),                                              # as saved
    (lambda s: {k: v for k, v in s.items() if k != "battery_full"}, False),   # an older state file
    (lambda s: dict(s, battery_full=[True, "x", float("nan")]), False),      # a damaged one
    (lambda s: dict(s, battery_full=[True, False, s["battery_full"][2] - 2 * DAY]), False),  # days old
])
def test_a_restart_overnight_keeps_that_the_battery_was_full_yesterday(saved, lends):
    d = _lender_restarted(100.0, saved)
    for m in range(0, 10, 2):
        _cloud(d, m, pv=1550, charge=-50)
    md = _cloud(d, 10, pv=1550, charge=-50)
    assert md.run is lends
    assert ("full yesterday" in md.reason) is lends


def _cloud(d, minutes, pv, charge, forecast_wh=2000.0):
    """Today from 12:00: the battery at 92 % keeps about half the surplus; the miner at its 1.2 kW
    minimum gets what is left. With pv 2.6 kW (2.2 kW above the house, the battery charging 1 kW) it
    is short only of what the battery keeps; with pv 1.55 kW (the battery giving 50 W) the surplus
    itself is 50 W short of the minimum: a cloud."""
    t = T0 + DAY + 12 * H + minutes * 60.0
    return decide(d, t, site(t, pv=pv, house=400, charge=charge, soc=92, forecast_wh=forecast_wh, miners_w=1200),
                  view("a", CONT, sample("a", t, True, power=1200, limit=1200))).miners["a"]


@pytest.mark.parametrize("yesterday_soc", [100.0, 95.0])
def test_a_battery_full_yesterday_lends_a_shallow_dip_energy_instead_of_minutes(yesterday_soc):
    """A cloud leaves the surplus 50 W short of the miner's minimum for 10 minutes. With the battery
    full yesterday and at 92 % now it lends the dip what the minimum draws through the 7 min disable
    delay (140 Wh), the miner keeps mining. Without a full day behind it the miner pauses after 7
    minutes, as before."""
    d = _lender(yesterday_soc)
    for m in range(0, 10, 2):
        _cloud(d, m, pv=1550, charge=-50)
    md = _cloud(d, 10, pv=1550, charge=-50)
    if yesterday_soc == 100.0:
        assert md.run and md.term == "disable_timer"
        assert "the battery, full yesterday, lends the dip up to 140 Wh (" in md.reason
    else:
        assert not md.run and md.command is not None and md.command.kind is CommandKind.STOP


def test_a_battery_full_yesterday_lends_no_dip_when_the_miner_is_short_only_of_what_it_keeps():
    """The sun still gives 2.2 kW above the house, but the forecast for the rest of the day came
    down and the battery (at 92 %) keeps about half of it: the miner is 0.1 kW short of its minimum
    because the battery needs it, not because of a cloud. Even after a full day it pauses when the
    7 min disable delay is over (on 17 December of the generated year the lent minutes left the
    battery at 98.8 % at sunset, bought back that night)."""
    d = _lender(100.0)
    seen = [_cloud(d, m, pv=2600, charge=1000) for m in range(0, 9)]
    assert [m.run for m in seen] == [True] * 7 + [False] * 2
    assert all("full yesterday" not in m.reason for m in seen)


def test_a_deep_dip_still_ends_when_it_has_drawn_the_minimum_through_the_disable_delay():
    """No surplus for the miner at all (the battery keeps all of it): the 140 Wh last 7 minutes."""
    d = _lender(100.0)
    left = [_cloud(d, m, pv=3200, charge=1600, forecast_wh=1500.0) for m in range(0, 9)]
    assert [m.run for m in left] == [True] * 7 + [False] * 2


@pytest.mark.parametrize("yesterday_soc", [100.0, 95.0])
def test_after_a_night_it_ran_out_a_battery_full_yesterday_carries_a_miner_on_its_last_start(yesterday_soc):
    """The miner has used both starts of the day; stopping it in the cloud ends its day. After a night
    the battery ran out it is not carried on its last start, unless the battery was full yesterday
    (and is at 92 % now): then it is, while the surplus to come still fills the battery."""
    d = _lender(yesterday_soc)
    st = d._slot("a").st
    for _ in range(2):
        st.count_start(d._day(T0 + DAY + 12 * H))
    md = _cloud(d, 0, pv=2600, charge=1000)
    assert d.last.terms["reserve"]["careful"]
    if yesterday_soc == 100.0:
        assert md.run and md.term == "soc_guard"
        assert md.reason.startswith("battery carries it (no start left today)")
    else:
        assert md.term == "disable_timer" and "the battery does not carry it" in md.reason


@pytest.mark.parametrize("yesterday_soc", [100.0, 95.0])
def test_a_battery_full_yesterday_carries_a_last_start_on_what_a_usual_day_brings(yesterday_soc):
    """After a night the battery ran out the reserve counts on what 9 days in 10 brought at least;
    on these days that is far less than the median day brought. The miner has used both starts; the
    careful count is below the battery's 0.8 kWh need plus what the miner draws through the disable
    delay, the median day's count above 1.05 x the need plus that. With the battery full yesterday and
    at 92 % now the miner is carried on the usual day's count; without, it winds down (and its day ends)."""
    d = _lender(yesterday_soc)
    d.reserve.misses.restore([[0.2, 1.0, 1.0, 1.0, 1.0]] * 8)
    st = d._slot("a").st
    for _ in range(2):
        st.count_start(d._day(T0 + DAY + 12 * H))
    md = _cloud(d, 0, pv=2600, charge=1000)
    r = d.reserve.out
    assert r.careful and r.coming_wh < r.need_wh + 140.0 and r.coming_typical_wh > 1.05 * r.need_wh + 140.0
    if yesterday_soc == 100.0:
        assert md.run and md.term == "soc_guard"
        assert md.reason == ("battery carries it (no start left today; full yesterday): 1.1 kWh of surplus "
                             "to come on a usual day, it needs 0.8 kWh")
    else:
        assert md.term == "disable_timer" and md.reason.startswith("pause in 7:00")


def test_a_replay_with_history_starts_knowing_whether_the_battery_was_full_the_day_before():
    """The console saves "the battery was full yesterday" (decider_state.py): a replay with the days
    before the trace replays the last of them under the same config, so the trace's first day is
    judged as the running console would judge it; without history (a new install) it is not known."""
    from pathlib import Path
    from edgemining_tui.backtest.config import load_backtest_config
    from edgemining_tui.backtest.runner import make_decider, run_backtest, warm_full
    from edgemining_tui.backtest.tracegen import generate
    from edgemining_tui.clock import VirtualClock
    cfg = load_backtest_config(Path(__file__).resolve().parents[1] / "examples" / "backtest-setup.yaml")
    days = generate("2025-05-10T00:00:00", days=5, step_s=300.0, weather=None, prices=False)   # sunny May
    rows_a_day = 288
    hist, trace = days.slice(0, 4 * rows_a_day), days.slice(4 * rows_a_day, 5 * rows_a_day)
    saved = warm_full(cfg, hist)
    assert saved is not None and True in saved[:2]         # the last history day filled the battery

    def first_day_knows(history):
        info = make_decider(cfg, VirtualClock(trace.ts0), trace)
        seen = []
        decide = info.decider.decide

        def watch(inp):
            out = decide(inp)
            res = info.decider.reserve.out
            if not seen and info.decider.reserve._set != float("-inf"):
                seen.append(res.full_yesterday)
            return out
        info.decider.decide = watch
        run_backtest(cfg, trace, history=history, decider=info)
        return seen[0]
    assert first_day_knows(hist) is True
    assert first_day_knows(None) is False
    assert warm_full(cfg, hist.slice(0, rows_a_day)) is None     # less than the warm-up's two days
