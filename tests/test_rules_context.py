"""The decision context: Edge Mining's signs and units from our canonical snapshot, site-time
timestamps, sun times, per-miner fields, dynamic namespaces, and what each field resolves to (lookup cost: benchmarks/decide_cost.py)."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from edgemining_tui.energy.snapshot import EnergySnapshot, Reading
from edgemining_tui.miners.model import Board, Capabilities, MinerState
from edgemining_tui.policy.context import build_context, em_status
from edgemining_tui.policy.fields import REGISTRY, SiteSupply
from edgemining_tui.policy.sun import SunCalculator

try:
    from .test_rules_helpers import NOON_WED, TZ, ctx, sample
except ImportError:
    from test_rules_helpers import NOON_WED, TZ, ctx, sample


@pytest.mark.parametrize("grid,current,imp,exp", [(800, 800, 800, 0), (-1200, -1200, 0, 1200), (0, 0, 0, 0)])
def test_grid_sign_is_edge_minings(grid, current, imp, exp):
    c = ctx(grid=grid)
    assert c["energy_state.grid.current_power"] == current       # + importing / − exporting
    assert c["energy_state.grid.importing_power"] == imp
    assert c["energy_state.grid.exporting_power"] == exp


@pytest.mark.parametrize("batt,current,chg,dis", [(1500, 1500, 1500, 0), (-700, -700, 0, 700)])
def test_battery_sign_is_edge_minings(batt, current, chg, dis):
    c = ctx(batt=batt, soc=55, capacity_wh=10_000)
    assert c["energy_state.battery.current_power"] == current    # + charging / − discharging
    assert c["energy_state.battery.charging_power"] == chg
    assert c["energy_state.battery.discharging_power"] == dis
    assert c["energy_state.battery.state_of_charge"] == 55
    assert c["energy_state.battery.remaining_capacity"] == pytest.approx(5500)


def test_production_consumption():
    c = ctx(pv=3200, house=700, miners_w=1400)
    assert c["energy_state.production"] == 3200
    assert c["energy_state.consumption"] == 700
    assert c["energy_state.consumption.current_power"] == 700
    assert c["energy_state.net_production"] == 2500
    assert c["energy_state.miners_power"] == 1400


def test_missing_invalid_and_stale_are_none():
    ts = NOON_WED.timestamp()
    s = EnergySnapshot(ts, Reading(3000.0, ts - 5), Reading(None, ts, error="unavailable"),
                       Reading(100.0, ts - 120), Reading(50.0, ts, error="out of range"), Reading(80.0, ts))
    c = build_context(NOON_WED, snapshot=s, max_age_s=60)
    assert c["energy_state.production"] == 3000
    assert c["energy_state.consumption"] is None                     # missing
    assert c["energy_state.grid.current_power"] is None              # stale
    assert c["energy_state.grid.exporting_power"] is None
    assert c["energy_state.battery.current_power"] is None           # invalid
    assert c["energy_state.net_production"] is None
    assert c["energy_state.battery.remaining_capacity"] is None      # no capacity given
    assert build_context(NOON_WED)["energy_state.production"] is None   # no snapshot at all


def test_timestamp_is_site_local_and_aware():
    # 2026-06-19 22:30 UTC is Saturday 00:30 in Rome
    ts = datetime(2026, 6, 19, 22, 30, tzinfo=timezone.utc).timestamp()
    c = build_context(ts, tz=TZ)
    assert (c["timestamp.hour"], c["timestamp.minute"], c["timestamp.weekday"], c["timestamp.isoweekday"]) == \
        (0, 30, 5, 6)
    assert c["timestamp"].tzinfo is not None and c["timestamp"].utcoffset().total_seconds() == 7200
    assert c["timestamp.minute_of_day"] == 30
    assert isinstance(c["timestamp.weekday"], int)     # Edge Mining's was a bound method
    with pytest.raises(ValueError, match="aware"):
        build_context(datetime(2026, 1, 1, 12, 0))


def test_sun_fields_rome_june():
    c = ctx(NOON_WED)
    sunrise, sunset = c["sun.sunrise"], c["sun.sunset"]
    assert sunrise.tzinfo is not None and sunrise.date() == NOON_WED.date()
    assert (sunrise.hour, sunset.hour) == (5, 20)
    assert c["sun.sunset.hour"] == 20
    assert c["sun.is_daylight"] is True
    assert 60 < c["sun.elevation"] < 75
    assert c["sun.time_before_sunset"] == pytest.approx((sunset - NOON_WED).total_seconds())
    assert c["sun.time_before_sunrise"] == 0.0                     # past: 0, not a timedelta that fails
    assert c["sun.time_after_sunrise"] > 0
    assert c["sun.daylight"] == pytest.approx(15.2 * 3600, abs=1200)
    night = ctx(datetime(2026, 6, 17, 23, 30, tzinfo=TZ))
    assert night["sun.is_daylight"] is False
    assert night["sun.time_before_sunset"] == 0.0
    assert night["sun.sunset"] == sunset                           # same date, same sunset
    # each date gets its own sun (Edge Mining's was frozen at import)
    dec = ctx(datetime(2026, 12, 17, 13, 0, tzinfo=TZ))
    assert dec["sun.daylight"] < c["sun.daylight"] - 5 * 3600


def test_sun_polar_day_and_night():
    tz = ZoneInfo("Arctic/Longyearbyen")
    sun = SunCalculator(78.22, 15.65, tz)
    june = build_context(datetime(2026, 6, 21, 2, 0, tzinfo=tz), sun=sun)
    assert june["sun.sunrise"] is None and june["sun.is_daylight"] is True
    assert june["sun.daylight"] == 86400.0
    dec = build_context(datetime(2026, 12, 21, 12, 0, tzinfo=tz), sun=sun)
    assert dec["sun.is_daylight"] is False and dec["sun.time_before_sunset"] is None


def test_no_location_means_unknown_sun():
    c = build_context(NOON_WED)
    assert c["sun.sunset"] is None and c["sun.is_daylight"] is None


@pytest.mark.parametrize("state,em", [(MinerState.MINING, "on"), (MinerState.PAUSED, "off"),
                                      (MinerState.RAMPING, "starting"), (MinerState.FAULT, "error"),
                                      (MinerState.OFFLINE, "unknown"), (MinerState.UNRESPONSIVE, "unknown"),
                                      (MinerState.UNKNOWN, "unknown")])
def test_status_mapping(state, em):
    c = ctx(state=state)
    assert c["miner_state.status"] == em
    assert c["miner_state.status.value"] == em
    assert c["miner_state.status.name"] == em.upper()
    assert c["miner.status"] == state.value
    assert em_status(state) == em and em_status(em.upper()) == em


def test_miner_fields():
    now = NOON_WED.timestamp()
    base = build_context(NOON_WED, tz=TZ)
    s = sample(state=MinerState.MINING, power=3200.0, hashrate=100.0, temp=71.0, level="eco",
               boards=(Board(0, 33.0, 65.0, 80.0), Board(1, 34.0, 71.0, 84.0)))
    c = base.for_miner(s, capabilities=Capabilities(power_target=True, min_w=1000, max_w=3400),
                       running_since=now - 900)
    assert c["miner.name"] == "s19-01" and c["miner.model"] == "Antminer S19 Pro"
    assert (c["miner.power"], c["miner.hashrate"], c["miner.temperature"]) == (3200, 100, 71)
    assert c["miner.efficiency"] == 32
    assert c["miner.running_for_s"] == 900 and c["miner.stopped_for_s"] == 0
    assert c["miner.power_consumption_max"] == 3400
    assert c["miner_state.hash_rate.value"] == 100 and c["miner_state.hash_rate.unit"] == "TH/s"
    assert c["miner_state.power_consumption"] == 3200
    assert c["miner_state.max_chip_temperature.value"] == 84
    assert c["miner_state.avg_board_temperature.value"] == 68
    assert c["miner_state.blocks_found"] is None
    paused = base.for_miner(sample(state=MinerState.PAUSED), stopped_since=now - 60)
    assert paused["miner.running_for_s"] == 0 and paused["miner.stopped_for_s"] == 60
    unknown_since = base.for_miner(sample(state=MinerState.MINING))
    assert unknown_since["miner.running_for_s"] is None
    assert base["miner.power"] is None           # site context: no miner


def test_for_miner_shares_site_values_not_miner_values():
    base = ctx(soc=40)
    a = base.for_miner(sample(name="a", state=MinerState.MINING))
    b = base.for_miner(sample(name="b", state=MinerState.PAUSED))
    assert a["energy_state.battery.state_of_charge"] == 40
    assert (a["miner.name"], b["miner.name"]) == ("a", "b")
    assert (a["miner_state.status"], b["miner_state.status"]) == ("on", "off")
    assert b.for_miner(sample(), status="stopping")["miner_state.status"] == "stopping"


def test_climate_price_forecast_home_load_pool():
    climate = {"zones": {"bedroom": {"temperature_celsius": 19.0, "humidity": 45, "target_temperature": 21.0,
                                     "hysteresis_celsius": 0.5},
                         "office": {"temperature_celsius": 23.0, "target_temperature": 20.0}},
               "outdoor_temperature": 4.0}
    c = ctx(climate=climate, price={"import": 0.31, "spot": -0.01}, forecast={"power_now": 2500},
            home_load={"total_forecast": {"next_2h": {"avg_power": 1200}}, "devices.boiler.device_category": "continuous"},
            mining_performance={"pool_stats": {"unpaid_balance": 12000},
                                "payout_schedule": {"next_payout_at": NOON_WED.timestamp() + 3600}})
    assert c["climate.zones.bedroom.temperature_celsius"] == 19
    assert c["climate.zones.bedroom.target_low"] == 20.5
    assert c["climate.zones.bedroom.heat_demand"] is True
    assert c["climate.zones.office.heat_demand"] is False
    assert (c["climate.min_temperature"], c["climate.max_temperature"], c["climate.avg_temperature"]) == (19, 23, 21)
    assert c["climate.outdoor_temperature"] == 4
    assert c["climate.zones.attic.temperature_celsius"] is None
    assert c["price.import"] == 0.31 and c["price.spot"] == -0.01 and c["price.export"] is None
    assert c["forecast.power_now"] == 2500 and c["forecast.next_hour_power"] is None
    assert c["home_load.total_forecast.next_2h.avg_power"] == 1200
    assert c["home_load.devices.boiler.device_category"] == "continuous"
    assert c["mining_performance.pool_stats.unpaid_balance"] == 12000
    assert c["mining_performance.payout_schedule.next_payout_at"].hour == 14


def test_snapshot_forecast_is_the_default_forecast():
    c = ctx(forecast={"energy_rest_of_day": 9000})
    assert c["forecast.energy_rest_of_day"] == 9000


def test_mapping_protocol():
    c = ctx(soc=50, climate={"zones": {"bedroom": {"temperature_celsius": 20}}}, price={"import": 0.2})
    with pytest.raises(KeyError):
        c["energy_state.battery.soc"]
    assert c.get("energy_state.battery.soc") is None
    assert "energy_state.battery.state_of_charge" in c and "nope.nope" not in c
    d = c.as_dict()
    assert d["energy_state.battery.state_of_charge"] == 50
    assert d["climate.zones.bedroom.temperature_celsius"] == 20 and d["price.import"] == 0.2
    assert len(c) == len(d)


def test_every_registered_fixed_path_resolves():
    """Every exact path in the registry is answered by the context (value or None), never KeyError."""
    c = ctx(soc=50, pv=1000, house=500, grid=0, batt=0)
    for spec in REGISTRY.specs:
        if "<name>" not in spec.path:
            c[spec.path]     # no KeyError


def test_supply_rules():
    site = SiteSupply(battery=False, location=False, climate_zones=frozenset({"bedroom"}))
    def ok(p):
        return site.supplies(REGISTRY.lookup(p, site), p)
    assert not ok("energy_state.battery.state_of_charge")
    assert ok("energy_state.grid.current_power")
    assert not ok("sun.sunset") and ok("timestamp.hour")
    assert ok("climate.zones.bedroom.temperature_celsius") and not ok("climate.zones.attic.humidity")
    assert not ok("miner_state.blocks_found")


def test_climate_from_heat_module_shape():
    """heat/extra.py contributes {"zones": {name: ZoneStatus.as_fields()}, "status": {...}}."""
    climate = {"zones": {"office": {"temperature": 19.0, "target_min": 20.0, "target_max": 22.0,
                                    "heat_demand": True, "state": "below"}},
               "status": {"office": object()}}
    c = ctx(climate=climate)
    assert c["climate.zones.office.temperature_celsius"] == 19
    assert c["climate.zones.office.target_temperature"] == 22       # band top = Edge Mining's target
    assert c["climate.zones.office.hysteresis_celsius"] == 2
    assert c["climate.zones.office.target_low"] == 20 and c["climate.zones.office.target_min"] == 20
    assert c["climate.zones.office.heat_demand"] is True and c["climate.zones.office.state"] == "below"
    assert c["climate.min_temperature"] == 19
    # a plain {name: {...}} mapping works too
    assert ctx(climate={"office": {"temperature_celsius": 18}})["climate.zones.office.temperature_celsius"] == 18
