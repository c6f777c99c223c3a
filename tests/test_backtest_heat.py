"""A winter week with a heated zone: the replay runs the rooms and scores comfort."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def winter():
    r = subprocess.run([sys.executable, "-m", "edgemining_tui", "backtest", "--trace",
                        str(ROOT / "examples" / "winter-week.csv"), "--config",
                        str(ROOT / "examples" / "backtest-heat.yaml"), "--json"],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_zone_comfort_and_heat_are_reported(winter):
    zone = winter["zones"]["Office"]
    # the share of the week inside the band (the band follows its schedule), printed with the rest
    assert 0 < zone["inside_band_pct"] <= 100
    assert zone["inside_band_pct"] + zone["below_band_pct"] + zone["above_band_pct"] == pytest.approx(100, abs=0.1)
    # every kWh the zone's miner drew became heat in the zone
    assert zone["heat_kwh"] == pytest.approx(winter["miners"]["office-avalon"]["energy_kwh"], rel=0.01)


def test_heat_zone_keeps_the_room_warmer_than_surplus_alone(winter, tmp_path):
    # the same week and miners without the zone's grid heat: the room is scored but never heated on grid
    cfg = (ROOT / "examples" / "backtest-heat.yaml").read_text().replace("grid_heat: true", "grid_heat: false")
    p = tmp_path / "nogrid.yaml"
    p.write_text(cfg)
    r = subprocess.run([sys.executable, "-m", "edgemining_tui", "backtest", "--trace",
                        str(ROOT / "examples" / "winter-week.csv"), "--config", str(p), "--json"],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    cold = json.loads(r.stdout)["zones"]["Office"]
    assert winter["zones"]["Office"]["inside_band_pct"] > cold["inside_band_pct"] + 20
    # grid heat costs grid energy: the no-grid run imports less for mining
    assert json.loads(r.stdout)["extra_import_kwh"] < winter["extra_import_kwh"]
