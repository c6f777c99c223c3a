"""Every Edge Mining field this site declares as supplied has a value: one live demo cycle and one
backtest step, with Edge Mining's own example policy loaded (issue 17)."""
from __future__ import annotations

import asyncio
import math
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edgemining_tui.backtest.config import load_backtest_config
from edgemining_tui.backtest.runner import make_decider, run_backtest
from edgemining_tui.backtest.tracegen import generate
from edgemining_tui.clock import VirtualClock
from edgemining_tui.config import load_config
from edgemining_tui.config.rules import site_supply
from edgemining_tui.policy.fields import NAME, REGISTRY
from edgemining_tui.policy.forecast_fields import ForecastFields, PVForecast, SnapshotForecast, sine_curve
from edgemining_tui.policy.home_load import HomeLoadForecaster
from edgemining_tui.policy.sun import SunCalculator
from edgemining_tui.sim.pool_servers import BraiinsPoolServer

ROOT = Path(__file__).resolve().parents[1]
EM_POLICY = ROOT / "tests/data/edge_mining/app/policies/550e8400-e29b-41d4-a716-446655440000.yaml"
DEMO = (ROOT / "edgemining_tui/data/demo.yaml").read_text()


def declared(site) -> list[str]:
    """Every concrete path the site says it supplies (zone names filled in)."""
    out = []
    for spec in REGISTRY.specs:
        paths = [spec.path]
        if NAME in spec.path:
            if spec.path.startswith("climate.zones."):
                paths = [spec.path.replace(NAME, z) for z in site.climate_zones]
            elif spec.path.startswith("home_load.devices."):
                paths = [spec.path.replace(NAME, d) for d in site.home_load_devices]
        out.extend(p for p in paths if site.supplies(spec, p))
    return out


async def test_one_live_demo_cycle_fills_every_declared_field(tmp_path):
    pool = await BraiinsPoolServer(token="pool-token").start()
    try:
        text = DEMO.replace("economics:\n", "economics:\n  pools:\n    - {name: braiins, kind: braiins, "
                            f"url: '{pool.url}', token: pool-token, payout_threshold: 100000}}\n", 1)
        text += f"policy:\n  mode: rules\n  rules_file: {EM_POLICY}\n"
        text = text.replace("  stale_after: 30s\n", "  stale_after: 30s\n  contracted_power: 6kW\n", 1)
        cfg_path = tmp_path / "demo.yaml"
        cfg_path.write_text(text)
        cfg = load_config(cfg_path, env={})
        site = site_supply(cfg)
        assert site.battery_capacity and site.home_load and site.pool
        from edgemining_tui.runtime import open_runtime
        rt = await open_runtime(cfg, clock=VirtualClock(1_750_000_000), data_dir=tmp_path / "data",
                                config_path=cfg_path)
        try:
            await rt.engine.extras[0].refresh(rt.clock.now())     # the pool's first poll
            state = await rt.engine.cycle()
            hook = rt.engine.decider.rules
            view = next(iter(hook._inp.miners))
            ctx = hook._site(hook._inp).for_miner(view.sample, capabilities=view.caps, running_since=0.0,
                                                  stopped_since=0.0)
        finally:
            await rt.close()
        assert state.decision is not None
        missing = [p for p in declared(site) if ctx.get(p) is None and not _legitimately_empty(p, ctx)]
        assert missing == [], " ".join(missing)
        # Edge Mining's names for our forecast and the values behind them
        assert ctx["forecast.power_now"] == pytest.approx(state.snapshot.forecast["power_now_w"])
        assert ctx["forecast.energy_rest_of_day"] == pytest.approx(
            state.snapshot.forecast["energy_today_remaining_wh"])
        soc = state.snapshot.value("battery_soc_pct")
        assert ctx["energy_state.battery.remaining_capacity"] == pytest.approx(soc / 100 * 10_000)
        assert ctx["mining_performance.pool_stats.current_hashrate.value"] == pytest.approx(110.0)
        assert ctx["mining_performance.payout_schedule.frequency"] == "daily"
        # the model's last hour: the house readings it has seen so far (the demo house moves a little)
        assert ctx["home_load.total_history.last_1h.avg_power"] == pytest.approx(
            state.snapshot.value("house_w"), rel=0.05)
        assert ctx["energy_source.grid.contracted_power"] == 6000 and ctx["energy_source.name"] == "Demo farm"
        assert ctx["energy_source.storage.nominal_capacity"] == 10_000
    finally:
        await pool.close()


def _legitimately_empty(path: str, ctx) -> bool:
    # a miner without power levels has no level name; one that is not hashing has no J/TH
    if path == "miner.level":
        return ctx.get("miner.status") is not None
    return path == "miner.efficiency" and not ctx.get("miner.hashrate")


def test_one_backtest_step_fills_every_declared_field(tmp_path):
    text = (ROOT / "examples/backtest-rules.yaml").read_text().replace(
        "rules_file: policies/solar-surplus-onoff.yaml", f"rules_file: {EM_POLICY}")
    p = tmp_path / "bt.yaml"
    p.write_text(text)
    cfg = load_backtest_config(p)
    trace = generate("2024-05-15T12:00:00", days=1 / 1440, step_s=60.0)
    assert len(trace) == 1
    info = make_decider(cfg, VirtualClock(trace.ts0), trace)
    assert not [n for n in info.notes if "will be unknown" in n], info.notes
    run_backtest(cfg, trace, decider=info)
    hook = info.decider.rules
    v = hook._inp.miners[0]
    ctx = hook._site(hook._inp).for_miner(v.sample, capabilities=v.caps, running_since=0.0, stopped_since=0.0)
    from edgemining_tui.policy.fields import SiteSupply
    from edgemining_tui.policy.forecast_fields import CURVE_KEYS
    site = SiteSupply(battery=True, battery_capacity=True, location=True, home_load=True, miner_details=False,
                      energy_source=frozenset({"name", "type", "storage.nominal_capacity"}),
                      outdoor_temperature=True, price_keys=frozenset({"import", "export", "btc", "hashprice"}),
                      forecast_keys=frozenset({"power_now", "energy_next_hour", "energy_rest_of_day", *CURVE_KEYS}))
    missing = [p for p in declared(site) if ctx.get(p) is None and not _legitimately_empty(p, ctx)]
    assert missing == [], " ".join(missing)
    assert ctx["energy_state.battery.remaining_capacity"] == pytest.approx(
        ctx["energy_state.battery.state_of_charge"] / 100 * 10_000)


def test_remaining_capacity_rule_fires_in_replay(tmp_path):
    """The issue's case: remaining_capacity ≥ 9000 Wh on a 10 kWh battery is SoC ≥ 90 %; the
    replay now feeds the capacity, so such a rule starts miners as often as the SoC rule does."""
    pol = tmp_path / "cap.yaml"
    counts = {}
    for field, value in (("energy_state.battery.remaining_capacity", 9000),
                         ("energy_state.battery.state_of_charge", 90)):
        pol.write_text(f"""name: cap
start_rules:
  - name: full
    conditions: {{field: {field}, operator: gte, value: {value}}}
stop_rules:
  - name: low
    conditions: {{field: energy_state.battery.state_of_charge, operator: lt, value: 60}}
""")
        text = (ROOT / "examples/backtest-rules.yaml").read_text().replace(
            "rules_file: policies/solar-surplus-onoff.yaml", f"rules_file: {pol}")
        (tmp_path / "bt.yaml").write_text(text)
        cfg = load_backtest_config(tmp_path / "bt.yaml")
        trace = generate("2024-05-13T00:00:00", days=2, step_s=60.0)
        r = run_backtest(cfg, trace)
        counts[field] = sum(m.starts for m in r.miners)
    assert counts["energy_state.battery.remaining_capacity"] > 0
    assert counts["energy_state.battery.remaining_capacity"] == counts["energy_state.battery.state_of_charge"]


# -- the forecast mapping -----------------------------------------------------------------------
TZ = ZoneInfo("Europe/Rome")
SUN = SunCalculator(41.9, 12.5, TZ)


def test_forecast_fields_from_a_totals_only_sensor():
    now = datetime(2026, 6, 17, 10, 20, tzinfo=TZ).timestamp()
    src = SnapshotForecast(SUN, TZ)
    fc = src.pv_forecast(now, {"power_now_w": 4200, "energy_next_hour_wh": 4300,
                               "energy_today_remaining_wh": 30_000})
    f = ForecastFields(fc, TZ)
    assert f["power_now"] == 4200 and f["energy_next_hour"] == 4300 and f["energy_rest_of_day"] == 30_000
    # the sine shape: the next 4 h hold most of the rest of a June day after 10:20
    assert 3000 < f["avg_next_4_hours_power"] < 7500
    assert f["next_hour_energy"] > 0
    # next_hour_power: the clock hour holding now + 1 h (11:00-12:00)
    day = SUN.today(datetime.fromtimestamp(now, TZ))
    curve = sine_curve(30_000, now, day.sunrise.timestamp(), day.sunset.timestamp())
    h11 = datetime(2026, 6, 17, 11, 0, tzinfo=TZ).timestamp()
    assert f["next_hour_power"] == pytest.approx(curve(h11, h11 + 3600))
    # the whole rest of the day adds up to the sensor's total
    assert curve(now, day.sunset.timestamp() + 10) == pytest.approx(30_000)


def test_forecast_fields_without_location_give_totals_only():
    src = SnapshotForecast(None, TZ)
    assert "avg_next_4_hours_power" not in src.keys
    f = ForecastFields(src.pv_forecast(1e9, {"energy_today_remaining_wh": 5000}), TZ)
    assert f["energy_rest_of_day"] == 5000 and f["avg_next_4_hours_power"] is None
    # a forecast that knows the 4-hour mean (the built-in one) gives it directly
    f = ForecastFields(PVForecast(1e9, avg_next_4h_w=1234.0), TZ)
    assert f["avg_next_4_hours_power"] == 1234.0


def test_home_load_model_learns_weekday_profile():
    m = HomeLoadForecaster(TZ)
    t0 = datetime(2026, 1, 5, tzinfo=TZ).timestamp()        # a Monday
    for i in range(0, 14 * 86400, 300):
        t = t0 + i
        d = datetime.fromtimestamp(t, TZ)
        w = 2500.0 if (d.weekday() < 5 and 18 <= d.hour < 20) else 400.0
        m.observe(t, w)
    mon_17 = datetime(2026, 1, 19, 17, 0, tzinfo=TZ).timestamp()
    sat_17 = datetime(2026, 1, 24, 17, 0, tzinfo=TZ).timestamp()
    f = m.forecast(mon_17, 4)
    assert f[0] == pytest.approx(400, abs=60) and f[1] == pytest.approx(2500, abs=150)
    # on Saturday nothing happens at 18:00 (the weekday x time profile, not a daily one)
    for i in range(0, int(sat_17 - t0 - 14 * 86400), 300):
        m.observe(t0 + 14 * 86400 + i, 400.0)
    assert max(m.forecast(sat_17, 4)) < 600
    fields = m.fields(sat_17)
    assert fields["total_forecast"]["next_2h"]["avg_power"] < 600
    assert fields["total_history"]["last_24h"]["peak_power"] >= 400
    assert not math.isnan(fields["total_forecast"]["next_24h"]["total_energy"])


def test_home_load_mean_blends_the_last_hour():
    m = HomeLoadForecaster(TZ)
    t0 = datetime(2026, 1, 5, tzinfo=TZ).timestamp()
    for i in range(0, 21 * 86400, 300):
        m.observe(t0 + i, 500.0)
    now = t0 + 21 * 86400
    for i in range(12):                       # the last hour ran 1 kW above the profile
        m.observe(now + i * 300, 1500.0)
    now += 3600
    near = m.mean_w(now, now + 900)
    far = m.mean_w(now + 5 * 3600, now + 6 * 3600)
    assert 1000 < near < 1500 and far == pytest.approx(500, abs=50)


def test_battery_reserve_reads_the_house_load_forecast():
    """The reserve counts the surplus above the house load the model expects until sunset, not
    the last hour's average: an evening peak ahead leaves less surplus for the miners."""
    from edgemining_tui.policy.reserve import ForecastReserve
    day = SUN.today(datetime(2026, 6, 17, 12, tzinfo=TZ))
    rise, sset = day.sunrise.timestamp(), day.sunset.timestamp()
    now = datetime(2026, 6, 17, 12, tzinfo=TZ).timestamp()
    fc = {"energy_today_remaining_wh": 30_000.0}
    plain = ForecastReserve(10_000, 100, sunset=lambda t: sset, sunrise=lambda t: rise + 86400)
    heavy = ForecastReserve(10_000, 100, sunset=lambda t: sset, sunrise=lambda t: rise + 86400,
                            load=lambda a, b: 2500.0)
    a = plain.update(now, 50.0, 400.0, fc)
    b = heavy.update(now, 50.0, 400.0, fc)
    assert b.coming_wh < a.coming_wh and b.share > a.share


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(1, 7200), st.one_of(st.none(), st.floats(-1e4, 5e4),
                                                       st.just(float("nan")), st.just(float("inf")))),
                min_size=1, max_size=200))
def test_home_load_model_answers_finite_non_negative_for_any_readings(rows):
    """Gaps from a second to two hours, missing and NaN readings, even negative ones from a bad
    sensor: every field the rules read is finite and non-negative, or missing."""
    m = HomeLoadForecaster(TZ)
    t = datetime(2026, 3, 28, 20, tzinfo=TZ).timestamp()        # across the spring DST change
    for gap, w in rows:
        t += gap
        m.observe(t, w)
    fields = m.fields(t)
    for part in fields.values():
        for v in part.values():
            vals = v.values() if isinstance(v, dict) else [v]
            for x in vals:
                assert x is None or (math.isfinite(x) and x >= 0)
    for start, end in ((t, t + 3600), (t, t + 86400 * 3)):
        mw = m.mean_w(start, end)
        assert mw is None or (math.isfinite(mw) and mw >= 0)
