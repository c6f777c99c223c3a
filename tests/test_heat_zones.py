"""Climate zones: bands by schedule, latched demand and cap, the room model, heat accounting."""
from __future__ import annotations

import pytest

from edgemining_tui.config import ConfigError, load_config
from edgemining_tui.heat.accounting import HeatLedger
from edgemining_tui.heat.config import BandPeriod, RoomModel, ZoneConfig
from edgemining_tui.heat.zones import ZoneTracker
from edgemining_tui.sim.room import Room

OFFICE = ZoneConfig(name="Office", miners=("m1",), min_c=20.0, max_c=22.0, grid_heat=True,
                    max_grid_price=0.20, hysteresis_c=0.3,
                    schedule=(BandPeriod("07:00", 20.0, 22.0), BandPeriod("22:00", 16.0, 18.0)))


def test_schedule_moves_the_band():
    assert OFFICE.band_at(8 * 60) == (20.0, 22.0)
    assert OFFICE.band_at(23 * 60) == (16.0, 18.0)
    assert OFFICE.band_at(3 * 60) == (16.0, 18.0)      # after midnight the night band still holds
    t = ZoneTracker(OFFICE)
    assert t.update(19.0, 8 * 60, 0.1).state == "below"
    t2 = ZoneTracker(OFFICE)
    assert t2.update(19.0, 23 * 60, 0.1).state == "above"   # warm for the night band


def test_demand_latches_until_the_middle_of_the_band_and_says_why():
    t = ZoneTracker(OFFICE)
    s = t.update(19.5, 600, 0.1)
    assert s.heat_demand and s.grid_heat_allowed
    assert s.reason == "zone Office 19.5 °C below 20.0 min"
    assert t.update(20.4, 600, 0.1).heat_demand          # heats on to the middle of the band
    assert t.update(20.9, 600, 0.1).heat_demand
    assert not t.update(21.0, 600, 0.1).heat_demand
    assert not t.update(20.5, 600, 0.1).heat_demand      # and only asks again below the minimum


def test_cap_above_band_and_release_below_max_minus_hysteresis():
    t = ZoneTracker(OFFICE)
    s = t.update(23.4, 600, 0.1)
    assert s.capped and s.state == "above"
    assert s.reason == "zone Office 23.4 °C above 22.0 max"
    assert t.update(21.9, 600, 0.1).capped
    assert not t.update(21.6, 600, 0.1).capped


def test_grid_heat_needs_permission_and_price_under_cap():
    t = ZoneTracker(OFFICE)
    assert not t.update(19.0, 600, 0.35).grid_heat_allowed
    assert "price above 0.2 cap" in t.update(19.0, 600, 0.35).reason
    no_grid = ZoneTracker(ZoneConfig(name="Shed", miners=("m2",)))
    s = no_grid.update(10.0, 600, 0.01)
    assert s.heat_demand and not s.grid_heat_allowed and "grid heat not allowed" in s.reason


def test_missing_temperature_neither_heats_nor_caps():
    s = ZoneTracker(OFFICE).update(None, 600, 0.1)
    assert s.state == "unknown" and not s.heat_demand and not s.capped


def test_room_warms_with_miner_heat_and_cools_without():
    r = Room(RoomModel(heat_loss_w_per_k=50, thermal_mass_wh_per_k=300, initial_c=18))
    for _ in range(180):
        r.step(60, 1500, 5.0)
    warm = r.temp_c
    assert warm > 22
    for _ in range(180):
        r.step(60, 0, 5.0)
    assert r.temp_c < warm - 3
    # the exact solution never overshoots the equilibrium, even with huge steps
    r.step(10 * 86400, 1000, 5.0)
    assert r.temp_c == pytest.approx(5.0 + 1000 / 50, abs=0.01)


def test_heat_ledger_counts_kwh_per_zone_per_day():
    led = HeatLedger("UTC")
    t0 = 1_750_000_000 - 1_750_000_000 % 86400
    for i in range(61):
        led.add(t0 + i * 60, {"Office": 1200.0})
    assert led.today_wh["Office"] == pytest.approx(1200.0)   # one hour at 1.2 kW
    led.add(t0 + 86400 + 60, {"Office": 1200.0})
    assert led.days[list(led.days)[0]]["Office"] == pytest.approx(1200.0)


def test_zone_config_errors_name_the_line():
    text = ("miners:\n  - {name: m1, driver: simulated}\nheat:\n  zones:\n    - name: Office\n"
            "      miners: [m1]\n      min_c: 23\n      max_c: 21\n")
    with pytest.raises(ConfigError) as ei:
        load_config("z.yaml", text=text, env={})
    assert "z.yaml:7" in str(ei.value) and "must be below max_c" in str(ei.value)
    text2 = "heat:\n  zones:\n    - {name: Office, miners: [ghost]}\n"
    with pytest.raises(ConfigError) as ei:
        load_config("z.yaml", text=text2, env={})
    assert "names miner 'ghost', which is not configured" in str(ei.value)
