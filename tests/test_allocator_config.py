"""The policy: section loads with units, defaults and cross-field checks."""
from __future__ import annotations

import pytest

from edgemining_tui.config.errors import ConfigError
from edgemining_tui.config.loader import Builder, read_yaml
from edgemining_tui.policy.config import PolicyConfig
from edgemining_tui.policy.decider import build_decider


def load(text: str) -> PolicyConfig:
    return Builder(read_yaml("config.yaml", text), env={}).build(PolicyConfig)


def test_defaults():
    c = load("{}")
    assert (c.mode, c.headroom_w, c.enable.delay, c.disable.delay, c.min_on, c.min_off) == \
        ("surplus", 100.0, 60.0, 180.0, 600.0, 300.0)
    assert (c.max_starts_per_day, c.min_change_interval, c.stale.grace, c.stale.minimum_for) == (6, 120.0, 60.0, 120.0)
    assert c.import_cap_w is None and c.battery.priority_soc == 50 and c.battery.buffer_soc == 90


def test_units_and_per_miner_timers():
    c = load("""
mode: surplus
headroom: 0.2kW
import_cap: 500W
enable: {threshold: 300W, delay: 90s}
min_on: 15m
groups: {shed: rules}
battery: {priority_soc: 40%, buffer_soc: 80, buffer_start_soc: 95}
miners:
  shed: {min_on: 20m, max_starts_per_day: 3}
""")
    assert c.headroom_w == 200 and c.import_cap_w == 500 and c.enable.threshold == 300 and c.enable.delay == 90
    t = c.timers_for("shed")
    assert (t.min_on, t.max_starts, t.min_off) == (1200.0, 3, 300.0)
    assert c.timers_for("other").min_on == 900.0
    assert c.mode_of("shed") == "rules" and c.mode_of("other") == "surplus"


@pytest.mark.parametrize("text,where", [
    ("battery: {priority_soc: 60, buffer_soc: 50}", "buffer_soc"),
    ("battery: {buffer_soc: 90, buffer_start_soc: 80}", "buffer_start_soc"),
    ("min_change_interval: 30s\nramp: 60s", "min_change_interval"),
    ("mode: turbo", "mode"),
    ("groups: {a: fast}", "groups"),
    ("headroom: -5W", "headroom"),
    ("max_starts_per_day: 0", "max_starts_per_day"),
])
def test_validation_names_the_key(text, where):
    with pytest.raises(ConfigError) as e:
        load(text)
    assert where in str(e.value)


def test_groups_must_name_configured_miners():
    class M:
        name = "a"
    with pytest.raises(ValueError, match="'ghost' is not configured"):
        build_decider(PolicyConfig(groups={"ghost": "manual"}), miners=[M()])
