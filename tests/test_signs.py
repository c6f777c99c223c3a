"""The sign conventions and unit scaling owned by energy/snapshot.py."""
import pytest

from edgemining_tui.energy.snapshot import (
    EnergySnapshot, Reading, UnitError, balance_error_w, energy_to_wh, power_to_w, signed,
)


def test_power_units_scale_to_watts_and_unknown_units_are_refused():
    assert power_to_w(1.5, "kW") == 1500.0
    assert power_to_w(250, "W") == 250.0
    assert power_to_w(250, None) == 250.0
    with pytest.raises(UnitError):
        power_to_w(1, "MW")
    with pytest.raises(UnitError):
        power_to_w(1, "A")
    assert energy_to_wh(2, "kWh") == 2000.0


def test_invert_flips_vendor_sign():
    # Fronius/Powerwall report battery + while discharging; ours is + while charging
    assert signed(1200.0, invert=True) == -1200.0
    assert signed(1200.0, invert=False) == 1200.0


def test_export_is_negative_import_and_missing_is_none():
    r = lambda v: Reading(v, 100.0, "t")  # noqa: E731
    s = EnergySnapshot(100.0, r(5000.0), r(800.0), r(-2000.0), r(2200.0), r(50.0))
    assert s.grid_export_w == 2000.0
    assert balance_error_w(5000, 800, 0, -2000, 2200) == 0
    empty = EnergySnapshot.empty(100.0)
    assert empty.value("grid_import_w") is None and empty.grid_export_w is None


def test_stale_fields_by_age_and_error():
    s = EnergySnapshot(100.0, Reading(1.0, 10.0), Reading(1.0, 100.0), Reading(1.0, 95.0),
                       Reading(None, 100.0, error="x"), Reading(1.0, 100.0))
    assert s.stale_fields(100.0, 30.0, ["pv_w", "grid_import_w", "battery_charge_w"]) == ["pv_w", "battery_charge_w"]
