"""Config validation: every malformed file gives one clear message with file, line and key."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from edgemining_tui.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[1]

GOOD_HA = """
site:
  name: Home
  timezone: Europe/Berlin
energy:
  source: home_assistant
  home_assistant:
    url: http://127.0.0.1:8123
    token: ${HA_TOKEN}
    grid: sensor.grid_power
    pv: {entity: sensor.pv_power}
    battery: {entity: sensor.battery_power, invert: true}
"""

BAD = [
    # (yaml text, expected line, expected fragment)
    ("site: [1, 2", 1, "YAML syntax error"),
    ("site:\n  nmae: x\n", 2, "key 'site.nmae': unknown key"),
    ("bogus: 1\n", 1, "key 'bogus': unknown key"),
    ("site:\n  cycle_interval: fast\n", 2, "expected a duration like 90s"),
    ("site:\n  cycle_interval: 5 parsecs\n", 2, "expected a duration"),
    ("site:\n  timezone: Mars/Olympus\n", 2, "unknown time zone 'Mars/Olympus'"),
    ("site:\n  latitude: 123\n", 2, "key 'site.latitude': expected -90..90"),
    ("site:\n  observe_only: maybe\n", 2, "expected true or false"),
    ("energy:\n  source: solar-magic\n", 2, "expected one of home_assistant"),
    ("energy:\n  source: home_assistant\n", 1, "home_assistant: required"),
    ("energy:\n  source: home_assistant\n  home_assistant:\n    url: ftp://x\n    token: t\n    grid: s.g\n",
     4, "expected an http:// or https:// address"),
    ("energy:\n  source: home_assistant\n  home_assistant:\n    url: http://x\n    grid: s.g\n", 3,
     "missing required key 'token'"),
    ("energy:\n  source: home_assistant\n  home_assistant:\n    url: http://x\n    token: ${NOT_SET_ANYWHERE}\n"
     "    grid: s.g\n", 5, "environment variable NOT_SET_ANYWHERE is not set"),
    ("miners:\n  - name: a\n    host: not-an-ip\n", 3, "expected an IP address"),
    ("miners:\n  - host: 192.168.1.5\n", 2, "missing required key 'name'"),
    ("miners:\n  - {name: a, host: 192.168.1.5}\n  - {name: a, host: 192.168.1.6}\n", 3, "duplicate miner name 'a'"),
    ("miners: 3\n", 1, "expected a list"),
    ("site:\n  name: a\n  name: b\n", 3, "duplicate key 'name'"),
    ("demo:\n  site:\n    pv_peak: 3 MW\n", 3, "unit MW is not a plausible home power"),
    ("demo:\n  site:\n    pv_peak: lots\n", 3, "expected a power like 1500W or 1.5kW"),
    ("- just\n- a list\n", 1, "expected a mapping of sections"),
]


@pytest.mark.parametrize("text,line,fragment", BAD, ids=[b[2][:30] for b in BAD])
def test_malformed_config_names_file_line_and_problem(text, line, fragment):
    with pytest.raises(ConfigError) as ei:
        load_config("site.yaml", text=text, env={})
    msg = str(ei.value)
    assert msg.startswith(f"site.yaml:{line}:"), msg
    assert fragment in msg, msg


def test_secret_from_environment_is_never_shown():
    cfg = load_config("site.yaml", text=GOOD_HA, env={"HA_TOKEN": "s3cr3t-token"})
    ha = cfg.energy.home_assistant
    assert ha.token == "s3cr3t-token"
    assert "s3cr3t" not in repr(ha.token)
    assert "s3cr3t" not in repr(cfg)
    assert ha.battery.invert is True and ha.grid.entity == "sensor.grid_power"


def test_config_is_immutable():
    cfg = load_config("site.yaml", text=GOOD_HA, env={"HA_TOKEN": "x"})
    with pytest.raises(Exception):
        cfg.site.name = "other"  # type: ignore[misc]


def test_units_are_parsed_into_canonical_units():
    cfg = load_config("site.yaml", text="site:\n  cycle_interval: 1m30s\ndemo:\n  site:\n    pv_peak: 7.5kW\n"
                      "    battery: {capacity: 10kWh}\n", env={})
    assert cfg.site.cycle_interval == 90
    assert cfg.demo.site.pv_peak == 7500
    assert cfg.demo.site.battery.capacity == 10000


def test_example_and_demo_configs_load():
    load_config(ROOT / "config.example.yaml", env={"HA_TOKEN": "x", "BOS_PASSWORD": "y", "BRAIINS_TOKEN": "z",
                                                        "NTFY_URL": "ntfys://ntfy.sh/topic"})
    load_config(ROOT / "edgemining_tui" / "data" / "demo.yaml", env={})


def test_cli_exits_2_with_one_line_and_no_traceback(tmp_path):
    bad = tmp_path / "config.yaml"
    bad.write_text("site:\n  cycle_interval: soon\n")
    r = subprocess.run([sys.executable, "-m", "edgemining_tui", "check", "--config", str(bad)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert f"{bad}:2: key 'site.cycle_interval'" in r.stderr


def test_a_mistyped_secret_is_not_echoed_and_yaml_on_is_explained():
    with pytest.raises(ConfigError) as ei:
        load_config("s.yaml", text="energy:\n  source: home_assistant\n  home_assistant:\n    url: http://x\n"
                                   "    token: 12345678\n    grid: s.g\n", env={})
    assert "12345678" not in str(ei.value) and "s.yaml:5" in str(ei.value)
    with pytest.raises(ConfigError) as ei:
        load_config("s.yaml", text="notify:\n  on: [offline]\n", env={})
    assert "quote it" in str(ei.value) and "s.yaml:2" in str(ei.value)
