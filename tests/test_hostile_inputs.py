"""Hostile inputs: every one is exit 2 with file:line:key, no traceback, and nothing written.

Most cases run through the in-process loaders (fast); one subprocess per category runs the real
CLI entry (``check`` and a headless start) and checks that no data dir, database or lock appears.
The tables are the corpus; tests/test_bad_input_corpus.py holds the older, message-pinned cases.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from edgemining_tui.config import ConfigError, load_config

BILLION_LAUGHS = "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 9) if p else ', '.join(['lol'] * 9)}]\n"
    for p, c in zip([None, "a", "b", "c", "d", "e", "f", "g", "h"], "abcdefghi"))


def _err(fn, *a, **kw) -> ConfigError:
    with pytest.raises(ConfigError) as ei:
        fn(*a, **kw)
    return ei.value


def _assert_has(msg: str, expected: list[str], name: str) -> None:
    assert "Traceback" not in msg
    for frag in expected:
        assert frag in msg, f"{name}: {frag!r} not in {msg!r}"


# --- YAML that is not a config: limits, bytes, devices (config, rules files) --------------------------
YAML_BYTES_CASES = [
    # (name, bytes, expected fragments)
    ("billion_laughs", BILLION_LAUGHS.encode(), ["y.yaml:5", "key 'e'", "expands to more than"]),
    ("recursive_alias", b"site: &a [*a]\n", ["y.yaml:1", "key 'site'", "nested more than 64 levels"]),
    ("recursive_alias_map", b"a: &x {b: *x}\n", ["y.yaml:1", "nested more than 64 levels"]),
    ("deep_brackets", b"site: " + b"[" * 5000, ["y.yaml:1", "nest"]),
    ("deep_braces", b"site: " + b"{a: " * 3000, ["y.yaml:1", "nest"]),
    ("deep_block", "".join("  " * i + f"k{i}:\n" for i in range(200)).encode(), ["nested more than 64"]),
    ("nul_byte", b"site:\n  name: a\x00b\n", ["y.yaml:2", "a NUL byte at line 2, column 10"]),
    ("nul_first", b"\x00", ["y.yaml:1", "a NUL byte at line 1"]),
    ("bad_utf8", b"site:\n  name: caf\xe9\n", ["y.yaml:2", "not UTF-8 text: byte 0xe9 at line 2"]),
    ("control_char", b"site:\n  name: a\x07b\n", ["y.yaml:2", "control character #x0007 at line 2"]),
    ("bad_date", b"site:\n  name: 2024-13-45\n", ["y.yaml:2", "key 'site.name'", "month must be in 1..12"]),
    ("huge_int", b"site:\n  seed: " + b"9" * 5000 + b"\n", ["y.yaml:2", "key 'site.seed'", "4300 digits"]),
    ("python_tag", b"site: !!python/object:os.system {}\n", ["y.yaml:1", "key 'site'", "tag:yaml.org,2002:python/object:os.system"]),
    ("binary_tag", b"site: !!binary '%%%'\n", ["y.yaml:1", "key 'site'"]),
    ("complex_key", b"? [a, b]\n: 1\n", ["y.yaml:1", "a key must be a plain name"]),
    ("huge_key", b"site:\n  ? " + b"k" * 100_000 + b"\n  : 1\n", ["y.yaml:2", "key 'site.kkkkk", "...'"]),
    ("tab_indent", b"site:\n\tname: x\n", ["y.yaml:2", "YAML syntax error"]),
    ("two_documents", b"site: {}\n---\nsite: {}\n", ["y.yaml:2", "expected a single document"]),
    ("unclosed_quote", b"site: {name: 'x}\n", ["y.yaml:2", "YAML syntax error"]),
    ("undefined_alias", b"site: *nope\n", ["y.yaml:1", "found undefined alias"]),
]


@pytest.mark.parametrize("name,data,expected", YAML_BYTES_CASES, ids=[c[0] for c in YAML_BYTES_CASES])
def test_hostile_yaml_as_config(tmp_path, name, data, expected):
    f = tmp_path / "y.yaml"
    f.write_bytes(data)
    _assert_has(str(_err(load_config, f, env={})), expected, name)


@pytest.mark.parametrize("name,data,expected", YAML_BYTES_CASES, ids=[c[0] for c in YAML_BYTES_CASES])
def test_hostile_yaml_as_rules_file(tmp_path, name, data, expected):
    from edgemining_tui.policy.rules_loader import load_policy
    f = tmp_path / "y.yaml"
    f.write_bytes(data)
    if name in ("huge_key",):        # valid YAML: the policy fails for its own reasons
        expected = ["y.yaml:1"]
    _assert_has(str(_err(load_policy, f)), [e for e in expected if "key '" not in e], name)


def _special_files(tmp_path: Path) -> list[tuple[str, Path, str]]:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    big = tmp_path / "big"
    with open(big, "wb") as fh:
        fh.truncate(40 * 1024 * 1024)        # sparse: 40 MB that costs nothing
    return [("dev_zero", Path("/dev/zero"), "is a character device, not a regular file"),
            ("dev_urandom", Path("/dev/urandom"), "is a character device"),
            ("fifo", fifo, "is a pipe, not a regular file"),
            ("directory", tmp_path, "is a directory"),
            ("missing", tmp_path / "nope", "not found"),
            ("too_big", big, "bytes, more than the")]


def test_special_files_as_config_rules_secrets_and_trace(tmp_path):
    from edgemining_tui.backtest.trace import TraceError, parse_trace
    from edgemining_tui.policy.rules_loader import load_policy
    seen = 0
    for name, path, expected in _special_files(tmp_path):
        _assert_has(str(_err(load_config, path, env={})), [str(path), expected], f"config {name}")
        _assert_has(str(_err(load_policy, path)), [str(path), expected], f"rules {name}")
        cfg = tmp_path / "c.yaml"
        cfg.write_text(f"demo: {{}}\npolicy: {{rules_file: '{path}'}}\n")
        _assert_has(str(_err(load_config, cfg, env={})), [str(path), expected], f"rules_file {name}")
        cfg.write_text(f"demo: {{}}\nsecrets_file: '{path}'\n")
        msg = str(_err(load_config, cfg, env={}))
        _assert_has(msg, ["c.yaml:2", "key 'secrets_file'", str(path)], f"secrets {name}")
        with pytest.raises(TraceError) as ei:
            parse_trace(path)
        _assert_has(str(ei.value), [str(path), expected], f"trace {name}")
        seen += 5
    assert seen == 30


def test_yaml_limits_leave_real_configs_alone():
    """The example configs, the demo and the sample policies load under the limits."""
    root = Path(__file__).parent.parent
    load_config(root / "edgemining_tui" / "data" / "demo.yaml", env={})
    from edgemining_tui.policy.rules_loader import load_policy
    for p in sorted((root / "examples" / "policies").glob("*.yaml")):
        load_policy(p)


# --- secrets files -----------------------------------------------------------------------------------
SECRETS_BYTES_CASES = [
    ("nul", b"A=1234\nB=12\x0034\n", [":2", "a NUL byte at line 2"]),
    ("bad_utf8", b"A=1234\nB=\xff\xfe\n", [":2", "not UTF-8 text"]),
    ("empty_value_ok_but_no_eq", b"A=\nB\n", [":2", "expected KEY=VALUE"]),
    ("too_big", b"A=" + b"x" * 70000 + b"\n", ["more than the 64 KB"]),
]


@pytest.mark.parametrize("name,data,expected", SECRETS_BYTES_CASES, ids=[c[0] for c in SECRETS_BYTES_CASES])
def test_hostile_secrets_bytes(tmp_path, name, data, expected):
    f = tmp_path / "s.env"
    f.write_bytes(data)
    f.chmod(0o600)
    msg = str(_err(load_config, "c.yaml", text=f"secrets_file: {f}\n", env={}))
    _assert_has(msg, ["key 'secrets_file'"] + expected, name)
    assert "1234" not in msg and "xxxx" not in msg, "a secret leaked into the error"


# --- traces -------------------------------------------------------------------------------------------
HEAD = "timestamp,pv_w,load_w\n2024-05-13T00:00:00+02:00,0,400\n2024-05-13T00:05:00+02:00,0,400\n"
TRACE_BYTES_CASES = [
    ("nul_in_number", HEAD.encode() + b"2024-05-13T00:10:00+02:00,0,4\x000\n", ["t.csv:4", "column load_w"]),
    ("bad_utf8", HEAD.encode() + b"2024-05-13T00:10:00+02:00,0,4\xff0\n", ["t.csv:4", "not UTF-8 text"]),
    ("one_huge_field", HEAD.encode() + b"2024-05-13T00:10:00+02:00,0," + b"1" * 200_000 + b"\n",
     ["t.csv:4", "line longer than 4096"]),
    ("binary", bytes(range(256)) * 4, ["t.csv"]),
    ("million_columns", b"timestamp,pv_w,load_w" + b"," * 2_000_000 + b"\n", ["t.csv:1", "line longer than 4096"]),
    ("million_cells", HEAD.encode() + b"2024-05-13T00:10:00+02:00,0,1" + b"," * 2_000_000 + b"\n",
     ["t.csv:4", "line longer than 4096"]),
]


@pytest.mark.parametrize("name,data,expected", TRACE_BYTES_CASES, ids=[c[0] for c in TRACE_BYTES_CASES])
def test_hostile_trace_bytes(tmp_path, name, data, expected):
    from edgemining_tui.backtest.trace import TraceError, parse_trace
    f = tmp_path / "t.csv"
    f.write_bytes(data)
    with pytest.raises(TraceError) as ei:
        parse_trace(f)
    _assert_has(str(ei.value), expected, name)


# --- configs: the real CLI entry (check and a headless start), in-process -----------------------------
# every case is "demo: {}" (line 1) plus the text, so line numbers below count from 2
M = "miners:\n  - {name: a, host: 10.0.0.1}\n"        # a pyasic miner, lines 2-3
CONFIG_CASES = [
    # (name, text, fragments: "c.yaml:LINE" and "key '...'" always, then the message)
    # non-finite numbers, as YAML floats and as strings
    ("headroom_nan", "policy: {headroom: .nan}\n", ["c.yaml:2", "key 'policy.headroom'", "finite"]),
    ("import_cap_nan", "policy: {import_cap: .nan}\n", ["c.yaml:2", "key 'policy.import_cap'", "finite"]),
    ("import_cap_str_nan", "policy: {import_cap: 'nan'}\n", ["c.yaml:2", "key 'policy.import_cap'", "finite"]),
    ("stale_after_inf", "site: {stale_after: .inf}\n", ["c.yaml:2", "key 'site.stale_after'", "finite"]),
    ("stale_after_str_inf", "site: {stale_after: 'inf'}\n", ["c.yaml:2", "key 'site.stale_after'", "finite"]),
    ("cycle_neg_inf", "site: {cycle_interval: -.inf}\n", ["c.yaml:2", "key 'site.cycle_interval'", "finite"]),
    ("latitude_nan", "site: {latitude: .nan, longitude: 11}\n", ["c.yaml:2", "key 'site.latitude'", "finite"]),
    ("min_on_str_minus_inf", "policy: {min_on: '-inf'}\n", ["c.yaml:2", "key 'policy.min_on'", "finite"]),
    ("soc_nan", "policy: {battery: {priority_soc: .nan}}\n", ["c.yaml:2", "key 'policy.battery.priority_soc'", "finite"]),
    ("capacity_inf", "policy: {battery: {capacity: .inf}}\n", ["c.yaml:2", "key 'policy.battery.capacity'", "finite"]),
    ("price_nan", "economics: {import_price: .nan}\n", ["c.yaml:2", "key 'economics.import_price'", "finite"]),
    ("price_str_nan", "economics: {import_price: 'nan'}\n", ["c.yaml:2", "key 'economics.import_price'", "finite"]),
    ("tou_price_inf", "economics: {import_price: {time_of_use: [{start: '07:00', price: .inf}]}}\n",
     ["c.yaml:2", "key 'economics.import_price", "finite"]),
    ("btc_inf", "economics: {btc_price: .inf}\n", ["c.yaml:2", "key 'economics.btc_price'", "finite"]),
    ("efficiency_nan", M + "economics: {miner_efficiency: {a: .nan}}\n",
     ["c.yaml:4", "key 'economics.miner_efficiency.a'", "finite"]),
    ("zone_min_nan", M + "heat: {zones: [{name: z, miners: [a], min_c: .nan}]}\n",
     ["c.yaml:4", "key 'heat.zones[0].min_c'", "finite"]),
    ("cap_max_inf", "miners:\n  - {name: a, host: 10.0.0.1, capabilities: {max_w: .inf}}\n",
     ["c.yaml:3", "key 'miners[0].capabilities.max_w'", "finite"]),
    ("sim_ramp_nan", "miners:\n  - {name: s, driver: simulated, simulated: {ramp: .nan}}\n",
     ["c.yaml:3", "key 'miners[0].simulated.ramp'", "finite"]),
    ("demo_speed_inf", "demo: {speed: .inf}\n", ["key 'demo.speed'", "finite"]),
    ("huge_float", "policy: {headroom: 1.0e+999}\n", ["c.yaml:2", "key 'policy.headroom'", "finite"]),
    # units
    ("price_with_currency", "economics: {import_price: '0.30 EUR'}\n",
     ["c.yaml:2", "key 'economics.import_price'", "no unit: write 0.30, not '0.30 EUR'"]),
    ("price_per_mwh", "economics: {export_price: '80 EUR/MWh'}\n", ["c.yaml:2", "key 'economics.export_price'", "no unit"]),
    ("price_cents", "economics: {import_price: '30ct'}\n", ["c.yaml:2", "key 'economics.import_price'", "no unit"]),
    ("power_as_energy", "policy: {headroom: '3 kWh'}\n", ["c.yaml:2", "key 'policy.headroom'", "'3 kWh' is an energy (kWh)"]),
    ("energy_as_power", "policy: {battery: {capacity: '2 kW'}}\n",
     ["c.yaml:2", "key 'policy.battery.capacity'", "'2 kW' is a power (kW)"]),
    ("power_celsius", "policy: {headroom: 20C}\n", ["c.yaml:2", "key 'policy.headroom'", "expected a power"]),
    ("duration_as_power", "policy: {min_on: 2kW}\n", ["c.yaml:2", "key 'policy.min_on'", "expected a duration"]),
    ("duration_ms", "site: {cycle_interval: 500ms}\n", ["c.yaml:2", "key 'site.cycle_interval'", "expected a duration"]),
    ("percent_as_fraction_text", "policy: {battery: {buffer_soc: '0.9x'}}\n",
     ["c.yaml:2", "key 'policy.battery.buffer_soc'", "expected a percentage"]),
    ("negative_energy", "policy: {battery: {capacity: -10}}\n", ["c.yaml:2", "key 'policy.battery.capacity'", "negative"]),
    ("power_megawatt_kw", "policy: {import_cap: 5MW}\n", ["c.yaml:2", "key 'policy.import_cap'", "MW is not a plausible"]),
    # out of range
    ("headroom_huge", "policy: {headroom: 1000000}\n", ["c.yaml:2", "key 'policy.headroom'", "expected 0 W .. 100000 W"]),
    ("import_cap_negative", "policy: {import_cap: -1}\n", ["c.yaml:2", "key 'policy.import_cap'", "cannot be negative"]),
    ("threshold_negative", "policy: {enable: {threshold: -100}}\n",
     ["c.yaml:2", "key 'policy.enable.threshold'", "cannot be negative"]),
    ("delay_week", "policy: {disable: {delay: 168h}}\n", ["c.yaml:2", "key 'policy.disable.delay'", "expected 0 s .. 86400 s"]),
    ("min_on_negative", "policy: {min_on: -5}\n", ["c.yaml:2", "key 'policy.min_on'", "negative"]),
    ("starts_zero", "policy: {max_starts_per_day: 0}\n", ["c.yaml:2", "key 'policy.max_starts_per_day'", "expected 1 .. 1440"]),
    ("starts_huge", "policy: {max_starts_per_day: 1000000000}\n",
     ["c.yaml:2", "key 'policy.max_starts_per_day'", "expected 1 .. 1440"]),
    ("ramp_day", "policy: {ramp: 2h, min_change_interval: 3h}\n", ["c.yaml:2", "key 'policy.ramp'", "3600 s"]),
    ("command_retry_zero", "policy: {command_retry: 0}\n", ["c.yaml:2", "key 'policy.command_retry'", "above 0 s"]),
    ("grace_two_hours", "policy: {stale: {grace: 2h}}\n", ["c.yaml:2", "key 'policy.stale.grace'", "3600 s"]),
    ("per_miner_starts_zero", M + "policy: {miners: {a: {max_starts_per_day: 0}}}\n",
     ["c.yaml:4", "key 'policy.miners.a.max_starts_per_day'", "expected 1 .. 1440"]),
    ("soc_101", "policy: {battery: {buffer_soc: 101}}\n", ["c.yaml:2", "key 'policy.battery.buffer_soc'", "0..100"]),
    ("soc_negative", "policy: {battery: {priority_soc: -5%}}\n", ["c.yaml:2", "key 'policy.battery.priority_soc'"]),
    ("trust_zero", "policy: {battery: {forecast_trust: 0}}\n", ["c.yaml:2", "key 'policy.battery.forecast_trust'"]),
    ("capacity_gwh", "policy: {battery: {capacity: 5000kWh}}\n", ["c.yaml:2", "key 'policy.battery.capacity'", "1e+06 Wh"]),
    ("cycle_zero", "site: {cycle_interval: 0}\n", ["c.yaml:2", "key 'site.cycle_interval'", "between 0.2 s and 10 min"]),
    ("stale_after_zero", "site: {stale_after: 0}\n", ["c.yaml:2", "key 'site.stale_after'", "above 0 s"]),
    ("stale_after_day", "site: {stale_after: 24h}\n", ["c.yaml:2", "key 'site.stale_after'", "3600 s"]),
    ("latitude_100", "site: {latitude: 100, longitude: 0}\n", ["c.yaml:2", "key 'site.latitude'", "-90..90"]),
    ("longitude_200", "site: {latitude: 0, longitude: 200}\n", ["c.yaml:2", "key 'site.longitude'", "-180..180"]),
    ("timezone_path", "site: {timezone: ../../etc/passwd}\n", ["c.yaml:2", "key 'site.timezone'", "unknown time zone"]),
    ("refresh_zero", "ui: {refresh_interval: 0}\n", ["c.yaml:2", "key 'ui.refresh_interval'", "0.1 s .. 60 s"]),
    ("priority_huge", "miners:\n  - {name: a, host: 10.0.0.1, priority: 99999999999}\n",
     ["c.yaml:3", "key 'miners[0].priority'"]),
    ("poll_timeout_zero", "miners:\n  - {name: a, host: 10.0.0.1, poll_timeout: 0}\n",
     ["c.yaml:3", "key 'miners[0].poll_timeout'", "0.1 s .. 300 s"]),
    ("command_timeout_hour", "miners:\n  - {name: a, host: 10.0.0.1, command_timeout: 1h}\n",
     ["c.yaml:3", "key 'miners[0].command_timeout'"]),
    ("max_w_zero", "miners:\n  - {name: a, host: 10.0.0.1, capabilities: {max_w: 0}}\n",
     ["c.yaml:3", "key 'miners[0].capabilities.max_w'", "above 0 W"]),
    ("step_above_max", "miners:\n  - {name: a, host: 10.0.0.1, capabilities: {max_w: 1000, step_w: 5000}}\n",
     ["c.yaml:3", "key 'miners[0].capabilities.step_w'", "above max_w"]),
    ("idle_negative", "miners:\n  - {name: a, host: 10.0.0.1, capabilities: {idle_w: -5}}\n",
     ["c.yaml:3", "key 'miners[0].capabilities.idle_w'", "negative"]),
    ("level_above_max", "miners:\n  - {name: a, host: 10.0.0.1, capabilities: {max_w: 1000, levels: [{name: hi, watts: 2000}]}}\n",
     ["c.yaml:3", "key 'miners[0].capabilities.levels'", "above max_w"]),
    ("sim_step_negative", "miners:\n  - {name: s, driver: simulated, simulated: {step_w: -50}}\n",
     ["c.yaml:3", "key 'miners[0].simulated.step_w'"]),
    ("sim_ambient_boiling", "miners:\n  - {name: s, driver: simulated, simulated: {ambient_c: 300}}\n",
     ["c.yaml:3", "key 'miners[0].simulated.ambient_c'", "-50 °C .. 80 °C"]),
    ("port_zero", "miners:\n  - {name: a, host: 10.0.0.1, family: luxos, ports: {rpc: 0}}\n",
     ["c.yaml:3", "key 'miners[0].ports.rpc'", "1..65535"]),
    ("port_negative", "miners:\n  - {name: a, host: 10.0.0.1, family: luxos, ports: {web: -80}}\n",
     ["c.yaml:3", "key 'miners[0].ports.web'", "1..65535"]),
    ("ha_timeout_zero", "energy:\n  source: home_assistant\n  home_assistant: {url: 'http://h:8123', token: tok1, grid: s.g, timeout: 0}\n",
     ["c.yaml:4", "key 'energy.home_assistant.timeout'", "0.1 s .. 60 s"]),
    ("ha_url_port", "energy:\n  source: home_assistant\n  home_assistant: {url: 'http://h:99999', token: tok1, grid: s.g}\n",
     ["c.yaml:4", "key 'energy.home_assistant.url'", "Port out of range"]),
    ("ha_url_no_host", "energy:\n  source: home_assistant\n  home_assistant: {url: 'http://', token: tok1, grid: s.g}\n",
     ["c.yaml:4", "key 'energy.home_assistant.url'", "no host"]),
    ("ha_ping_zero", "energy:\n  source: home_assistant\n  home_assistant: {url: 'http://h', token: tok1, grid: s.g, ping_interval: 0}\n",
     ["c.yaml:4", "key 'energy.home_assistant.ping_interval'"]),
    ("mqtt_port", "energy:\n  source: mqtt\n  mqtt: {port: 70000, grid: m/g}\n", ["c.yaml:4", "key 'energy.mqtt.port'", "1..65535"]),
    ("mqtt_reconnect_zero", "energy:\n  source: mqtt\n  mqtt: {grid: m/g, reconnect_max: 0}\n",
     ["c.yaml:4", "key 'energy.mqtt.reconnect_max'"]),
    ("shelly_id_negative", "energy:\n  source: shelly\n  shelly: {url: 'http://s', id: -1}\n",
     ["c.yaml:4", "key 'energy.shelly.id'", "negative"]),
    ("fronius_timeout_hour", "energy:\n  source: fronius\n  fronius: {url: 'http://f', timeout: 1h}\n",
     ["c.yaml:4", "key 'energy.fronius.timeout'"]),
    ("zone_boiling", M + "heat: {zones: [{name: z, miners: [a], max_c: 500}]}\n",
     ["c.yaml:4", "key 'heat.zones[0].max_c'", "-40 °C .. 60 °C"]),
    ("zone_hysteresis_huge", M + "heat: {zones: [{name: z, miners: [a], hysteresis_c: 50}]}\n",
     ["c.yaml:4", "key 'heat.zones[0].hysteresis_c'"]),
    ("zone_room_zero", M + "heat: {zones: [{name: z, miners: [a], room: {heat_loss_w_per_k: 0}}]}\n",
     ["c.yaml:4", "key 'heat.zones[0].room.heat_loss_w_per_k'"]),
    ("btc_zero", "economics: {btc_price: 0}\n", ["c.yaml:2", "key 'economics.btc_price'", "above 0"]),
    ("price_huge", "economics: {import_price: 5000}\n", ["c.yaml:2", "key 'economics.import_price'", "-1000 .. 1000"]),
    ("price_poll_fast", "economics: {price_poll_interval: 1s}\n", ["c.yaml:2", "key 'economics.price_poll_interval'"]),
    ("efficiency_zero", "economics: {default_efficiency_j_th: 0}\n", ["c.yaml:2", "key 'economics.default_efficiency_j_th'"]),
    ("margin_200", "economics: {margin_pct: 200}\n", ["c.yaml:2", "key 'economics.margin_pct'", "0..100"]),
    ("events_for_zero", "history: {events_for: 0}\n", ["c.yaml:2", "key 'history.events_for'", "at least 1d"]),
    ("notify_rate_zero", "notify: {max_per_hour: 0}\n", ["c.yaml:2", "key 'notify.max_per_hour'", "expected 1 .. 3600"]),
    ("notify_retries", "notify: {retries: 100}\n", ["c.yaml:2", "key 'notify.retries'", "0..10"]),
    ("demo_speed_negative", "demo: {speed: -1}\n", ["key 'demo.speed'"]),
    ("demo_start_hour_25", "demo: {start_hour: 25}\n", ["key 'demo.start_hour'", "0 .. 24"]),
    ("demo_battery_negative", "demo: {site: {battery: {max_charge: -5kW}}}\n", ["key 'demo.site.battery.max_charge'"]),
    ("demo_miner_min_above_max", "demo: {miners: [{name: d, min_w: 3000, max_w: 1000}]}\n",
     ["key 'demo.miners[0].min_w'", "above max_w"]),
    # references and duplicates
    ("policy_miners_unknown", M + "policy: {miners: {ghost: {min_on: 5m}}}\n",
     ["c.yaml:4", "key 'policy.miners.ghost'", "names miner 'ghost', which is not configured (a)"]),
    ("policy_groups_unknown", M + "policy: {groups: {ghost: manual}}\n",
     ["c.yaml:4", "key 'policy.groups.ghost'", "names miner 'ghost', which is not configured"]),
    ("efficiency_unknown_miner", M + "economics: {miner_efficiency: {ghost: 30}}\n",
     ["c.yaml:4", "key 'economics.miner_efficiency.ghost'", "not configured"]),
    ("zone_unknown_miner", M + "heat: {zones: [{name: z, miners: [a, ghost]}]}\n",
     ["c.yaml:4", "key 'heat.zones[0].miners[1]'", "names miner 'ghost'"]),
    ("same_host_twice", "miners:\n  - {name: a, host: 10.0.0.1}\n  - {name: b, host: 10.0.0.1}\n",
     ["c.yaml:4", "key 'miners[1].host'", "10.0.0.1 is also miners[0] ('a')"]),
    ("same_host_same_ports", "miners:\n  - {name: a, host: 127.0.0.1, family: luxos, ports: {rpc: 4029}}\n"
     "  - {name: b, host: 127.0.0.1, family: luxos, ports: {rpc: 4029}}\n", ["c.yaml:4", "key 'miners[1].host'"]),
    ("demo_miner_same_name", "demo: {miners: [{name: a}]}\n" + M,
     ["key 'demo.miners[0].name'", "miner name 'a' is used by miners[0] too"]),
    ("two_zones_one_name", M + "heat: {zones: [{name: z, miners: [a]}, {name: z, miners: [a]}]}\n",
     ["c.yaml:4", "key 'heat.zones'", "two zones share a name"]),
    ("use_unknown_source", "energy:\n  sources: {inv: {fronius: {url: 'http://f'}}}\n  use: {grid: meter}\n",
     ["key 'energy.use'", "names source 'meter'"]),
    ("hashprice_unknown_pool", "economics:\n  hashprice_from: pool\n  hashprice_pool: nope\n"
     "  pools: [{name: p, kind: ocean, user: u}]\n", ["key 'economics.hashprice_pool'", "no pool named 'nope'"]),
    ("group_mode_bad", M + "policy: {groups: {a: turbo}}\n", ["c.yaml:4", "key 'policy.groups.a'", "expected one of"]),
    # what a start would refuse when it builds the energy source
    ("composite_without_sources", "energy: {source: composite}\n",
     ["c.yaml:2", "key 'energy.source'", "composite needs sources"]),
    ("sim_source_live", "energy: {source: sim}\n", ["c.yaml:2", "key 'energy.source'", "only in the demo"]),
    # data dir
    ("data_dir_is_file", "site: {data_dir: /etc/hostname}\n",
     ["c.yaml:2", "key 'site.data_dir'", "/etc/hostname is not a directory"]),
    ("data_dir_under_file", "site: {data_dir: /etc/hostname/data}\n",
     ["c.yaml:2", "key 'site.data_dir'", "cannot be created: /etc/hostname is a file"]),
    ("data_dir_dev_null", "site: {data_dir: /dev/null}\n", ["c.yaml:2", "key 'site.data_dir'", "not a directory"]),
    # types and shapes
    ("site_is_list", "site: [1, 2]\n", ["c.yaml:2", "key 'site'", "expected a mapping"]),
    ("miners_is_map", "miners: {a: 1}\n", ["c.yaml:2", "key 'miners'", "expected a list"]),
    ("miner_is_text", "miners: [a]\n", ["c.yaml:2", "key 'miners[0]'", "expected a mapping"]),
    ("name_is_list", "miners:\n  - {name: [a], driver: simulated}\n", ["c.yaml:3", "key 'miners[0].name'", "expected a string"]),
    ("bool_as_number", "policy: {headroom: true}\n", ["c.yaml:2", "key 'policy.headroom'", "expected a power"]),
    ("on_key_unquoted", "policy:\n  groups: {}\n  on: 1\n", ["c.yaml:4", "key 'policy.true'", "quote it"]),
    ("null_required", "miners:\n  - {name: ~, driver: simulated}\n", ["c.yaml:3", "key 'miners[0].name'"]),
    ("token_number", "energy:\n  source: home_assistant\n  home_assistant: {url: 'http://h', token: 12345678, grid: s.g}\n",
     ["c.yaml:4", "key 'energy.home_assistant.token'", "put the value in quotes"]),
    ("secret_env_missing_many", "notify: {urls: ['tgram://${TGX_TOKEN}/${TGX_CHAT}']}\n",
     ["c.yaml:2", "key 'notify.urls[0]'", "TGX_TOKEN, TGX_CHAT are not set", "export TGX_TOKEN=..."]),
    ("rules_file_dev_zero", "policy: {rules_file: /dev/zero}\n",
     ["c.yaml:2", "key 'policy.rules_file'", "/dev/zero: is a character device"]),
    ("rules_file_missing", "policy: {rules_file: /nonexistent/rules.yaml}\n",
     ["c.yaml:2", "key 'policy.rules_file'", "file not found"]),
    ("secrets_file_dev_zero", "secrets_file: /dev/zero\n", ["c.yaml:2", "key 'secrets_file'", "character device"]),
]


NO_DEMO = ("sim_source_live",)


def _cli(argv: list[str], capsys) -> tuple[int, str]:
    from edgemining_tui.cli import main
    try:
        rc = main(argv)
    except SystemExit as e:
        rc = e.code
    return rc, capsys.readouterr().err


def _nothing_written(root: Path) -> None:
    made = [p for p in root.rglob("*") if p.name in ("history.db", "owner.lock") or p.name.startswith("history.db")]
    assert not made, f"bad input wrote {made}"


@pytest.mark.parametrize("name,text,expected", CONFIG_CASES, ids=[c[0] for c in CONFIG_CASES])
def test_hostile_config_check_and_start(tmp_path, capsys, monkeypatch, name, text, expected):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    for var in ("TGX_TOKEN", "TGX_CHAT"):
        monkeypatch.delenv(var, raising=False)
    cfg = tmp_path / "c.yaml"
    # line 1 is "demo: {}" (a site to start on), or a neutral line where the demo would hide the problem
    first = "" if text.startswith("demo:") else "ui: {}\n" if name in NO_DEMO else "demo: {}\n"
    cfg.write_text(first + text)
    data = tmp_path / "data"
    argvs = [["check", "--config", str(cfg)], ["--headless", "--cycles", "1", "--config", str(cfg)]]
    if "data_dir" not in name:      # (--data-dir would replace the bad one under test)
        argvs.append(["--headless", "--cycles", "1", "--config", str(cfg), "--data-dir", str(data)])
    errs = []
    for argv in argvs:
        rc, err = _cli(argv, capsys)
        assert rc == 2, (name, argv, err)
        _assert_has(err, expected, f"{name} {argv[0]}")
        errs.append(err)
    assert errs[0] == errs[1], f"{name}: check and a start disagree:\n{errs[0]}\n{errs[1]}"
    assert not data.exists() and not (tmp_path / "xdg").exists(), f"{name}: a data dir was created"
    _nothing_written(tmp_path)


def test_check_reports_every_problem_and_every_missing_secret(tmp_path, capsys, monkeypatch):
    for var in ("HA_TOKEN_Q", "BOS_PW_Q", "TG_Q"):
        monkeypatch.delenv(var, raising=False)
    sec = tmp_path / "secrets.env"
    sec.write_text("OTHER=1234\n")
    sec.chmod(0o600)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"""secrets_file: {sec}
site: {{stale_after: .inf, data_dir: /etc/hostname}}
energy:
  source: home_assistant
  home_assistant: {{url: 'http://h:8123', token: '${{HA_TOKEN_Q}}', grid: sensor.g}}
miners:
  - {{name: a, host: 10.0.0.1, priority: high}}
  - {{name: b, host: 10.0.0.1, password: '${{BOS_PW_Q}}'}}
policy: {{headroom: .nan, rules_file: /dev/zero, miners: {{ghost: {{min_on: 5m}}}}}}
economics: {{import_price: "0.30 EUR"}}
notify: {{urls: ['json://${{TG_Q}}']}}
""")
    rc, err = _cli(["check", "--config", str(cfg)], capsys)
    assert rc == 2
    lines = [ln for ln in err.splitlines() if ln.startswith("edgemining-tui: ")]
    want = ["c.yaml:2: key 'site.stale_after'", "c.yaml:2: key 'site.data_dir'",
            "c.yaml:5: key 'energy.home_assistant.token': environment variable HA_TOKEN_Q is not set",
            "c.yaml:7: key 'miners[0].priority'", "c.yaml:8: key 'miners[1].password': environment variable BOS_PW_Q",
            "c.yaml:9: key 'policy.headroom'", "c.yaml:9: key 'policy.rules_file'",
            "c.yaml:10: key 'economics.import_price'", "c.yaml:11: key 'notify.urls[0]'"]
    for w in want:
        assert any(w in ln for ln in lines), f"{w!r} missing from:\n{err}"
    assert f"add HA_TOKEN_Q=... to {sec}" in err, "a missing secret says where to put it"
    assert "problems; nothing was started" in err and "Traceback" not in err


def test_check_strict_refuses_warnings(tmp_path, capsys):
    sec = tmp_path / "secrets.env"
    sec.write_text("HA_TOKEN_W=abcd1234\n")
    sec.chmod(0o644)                      # readable by others: a warning
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"secrets_file: {sec}\ndemo: {{}}\nsite: {{data_dir: {tmp_path / 'd'}}}\n")
    rc, err = _cli(["check", "--config", str(cfg)], capsys)
    assert rc == 0 and "warning:" in err and "chmod 600" in err, err
    rc, err = _cli(["check", "--strict", "--config", str(cfg)], capsys)
    assert rc == 2 and "--strict: not OK" in err, err
    assert not (tmp_path / "d").exists()


def test_rules_warnings_flow_into_check(tmp_path, capsys):
    rules = tmp_path / "r.yaml"
    rules.write_text("name: p\nstart_rules:\n  - name: r\n    conditions: {field: energy_state.grid.exporting_power, "
                     "operator: gt, value: 1}\nstop_rules: []\nbogus: 1\n")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"demo: {{}}\nsite: {{data_dir: {tmp_path / 'd'}}}\npolicy: {{rules_file: {rules}}}\n")
    rc, err = _cli(["check", "--config", str(cfg)], capsys)
    assert rc == 0 and "r.yaml:6: warning: unknown top-level key 'bogus'" in err, err
    assert _cli(["check", "--strict", "--config", str(cfg)], capsys)[0] == 2


def _as_nobody(argv: list[str]) -> tuple[int, str]:
    """The CLI in a forked child that dropped to an unprivileged user (root may write anywhere, and
    the interpreter under /root is out of nobody's reach, so the child reuses this one's modules)."""
    import edgemining_tui.cli  # noqa: F401  (loaded before the fork)
    import edgemining_tui.config.datadir  # noqa: F401
    import edgemining_tui.headless  # noqa: F401
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        rc = 99
        try:
            os.close(r)
            os.dup2(w, 2)
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            import sys
            sys.stderr = os.fdopen(2, "w", buffering=1)
            rc = edgemining_tui.cli.main(argv)
        except SystemExit as e:
            rc = e.code if isinstance(e.code, int) else 98
        except BaseException as e:  # noqa: BLE001
            os.write(2, f"Traceback: {type(e).__name__}: {e}".encode())
        finally:
            os._exit(rc)
    os.close(w)
    with os.fdopen(r) as fh:
        err = fh.read()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), err


def _reachable_by_others(path: Path) -> None:
    """An unprivileged user must reach ``path`` (pytest's tmp dirs are 0700 root's)."""
    for parent in [path, *path.parents]:
        if parent == Path("/"):
            break
        if not parent.stat().st_mode & stat.S_IXOTH:
            parent.chmod(parent.stat().st_mode | stat.S_IXOTH | stat.S_IROTH)


def test_data_dir_without_permission(tmp_path):
    """As the user the service runs as: a data dir it may not write is exit 2, not an OSError traceback."""
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"demo: {{}}\nsite: {{data_dir: {locked / 'data'}}}\n")
    cfg.chmod(0o644)
    _reachable_by_others(tmp_path)
    for argv in (["check"], ["--headless", "--cycles", "1"]):
        rc, err = _as_nobody(argv + ["--config", str(cfg)])
        assert rc == 2, err
        assert f"c.yaml:2: key 'site.data_dir': {locked / 'data'} cannot be created: no permission to write in" \
               in err and "Traceback" not in err, err
    assert not (locked / "data").exists()


# --- Edge Mining rules files, through a config's policy.rules_file -------------------------------------
def _rule(cond: str, extra: str = "") -> str:
    return f"name: p\nstart_rules:\n  - name: r\n{extra}    conditions: {cond}\nstop_rules: []\n"


RULES_CASES = [
    ("not_a_mapping", "- 1\n- 2\n", ["r.yaml:1", "a policy must be a mapping"]),
    ("empty", "", ["r.yaml", "a policy must be a mapping"]),
    ("snippet_not_policy", "rules: []\n", ["r.yaml:1", "key 'rules'", "rule snippet"]),
    ("no_name", "start_rules: []\n", ["r.yaml:1", "missing required key 'name'"]),
    ("name_list", "name: [a]\nstart_rules: []\n", ["r.yaml:1", "key 'name'", "must be text"]),
    ("rules_map", "name: p\nstart_rules: {a: 1}\n", ["r.yaml:2", "key 'start_rules'", "must be a list of rules"]),
    ("rule_text", "name: p\nstart_rules: [hello]\n", ["r.yaml:2", "key 'start_rules[0]'", "a rule must be a mapping"]),
    ("rule_unknown_key", _rule("{field: energy_state.grid.exporting_power, operator: gt, value: 1}", "    when: now\n"),
     ["r.yaml:4", "key 'start_rules[0].when'", "unknown key 'when'"]),
    ("unknown_field", _rule("{field: energy_state.nonsense, operator: gt, value: 1}"),
     ["r.yaml:4", "key 'start_rules[0].conditions.field'", "unknown field"]),
    ("field_injection", _rule("{field: '__class__.__init__', operator: gt, value: 1}"),
     ["r.yaml:4", "key 'start_rules[0].conditions.field'"]),
    ("unknown_op", _rule("{field: energy_state.grid.exporting_power, operator: '>>', value: 1}"),
     ["r.yaml:4", "key 'start_rules[0].conditions.operator'", "unknown operator"]),
    ("value_nan", _rule("{field: energy_state.grid.exporting_power, operator: gt, value: .nan}"),
     ["r.yaml:4", "key 'start_rules[0].conditions.value'", "finite"]),
    ("value_inf", _rule("{field: energy_state.grid.exporting_power, operator: lt, value: .inf}"),
     ["r.yaml:4", "key 'start_rules[0].conditions.value'", "finite"]),
    ("value_text", _rule("{field: energy_state.grid.exporting_power, operator: gt, value: lots}"),
     ["r.yaml:4", "key 'start_rules[0].conditions.value'", "needs a number"]),
    ("value_and_ref", _rule("{field: energy_state.grid.exporting_power, operator: gt, value: 1, "
                            "value_ref: energy_state.grid.importing_power}"),
     ["r.yaml:4", "key 'start_rules[0].conditions'", "mutually exclusive"]),
    ("no_value", _rule("{field: energy_state.grid.exporting_power, operator: gt}"),
     ["r.yaml:4", "key 'start_rules[0].conditions'", "exactly one of 'value' or 'value_ref'"]),
    ("bad_regex", _rule("{field: miner.status, operator: regex, value: '(['}"),
     ["r.yaml:4", "key 'start_rules[0].conditions", "bad regular expression"]),
    ("all_of_empty", _rule("{all_of: []}"), ["r.yaml:4", "key 'start_rules[0].conditions.all_of'", "non-empty list"]),
    ("group_and_leaf", _rule("{all_of: [], field: x}"), ["r.yaml:4", "key 'start_rules[0].conditions'", "not both"]),
    ("not_two", _rule("{not_: [{field: a.b, operator: gt, value: 1}, {field: a.b, operator: gt, value: 1}]}"),
     ["r.yaml:4", "key 'start_rules[0].conditions.not_'", "not_ takes one condition"]),
    ("priority_float", _rule("{field: energy_state.grid.exporting_power, operator: gt, value: 1}", "    priority: 1.5\n"),
     ["r.yaml:4", "key 'start_rules[0].priority'", "whole number"]),
    ("enabled_text", _rule("{field: energy_state.grid.exporting_power, operator: gt, value: 1}", "    enabled: maybe\n"),
     ["r.yaml:4", "key 'start_rules[0].enabled'", "true or false"]),
    ("time_garbage", _rule("{field: time.now, operator: gt, value: 'teatime'}"),
     ["r.yaml:4", "key 'start_rules[0].conditions"]),
    ("in_not_list", _rule("{field: energy_state.grid.exporting_power, operator: in, value: 5}"),
     ["r.yaml:4", "key 'start_rules[0].conditions.value'", "needs a list"]),
    ("deep_nesting", _rule("{all_of: [" * 40 + "{field: a.b, operator: gt, value: 1}" + "]}" * 40),
     ["r.yaml:4", "nested more than 64 levels"]),
]


@pytest.mark.parametrize("name,text,expected", RULES_CASES, ids=[c[0] for c in RULES_CASES])
def test_hostile_rules_file_check_and_start(tmp_path, capsys, monkeypatch, name, text, expected):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    (tmp_path / "r.yaml").write_text(text)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("demo: {}\npolicy: {rules_file: r.yaml}\n")
    for argv in (["check", "--config", str(cfg)], ["--headless", "--cycles", "1", "--config", str(cfg)]):
        rc, err = _cli(argv, capsys)
        assert rc == 2, (name, argv, err)
        _assert_has(err, expected, f"{name} {argv[0]}")
    assert not (tmp_path / "xdg").exists()


def test_rules_file_reports_every_bad_rule(tmp_path):
    from edgemining_tui.policy.rules_loader import load_policy
    f = tmp_path / "r.yaml"
    f.write_text("name: p\nstart_rules:\n"
                 "  - {name: a, conditions: {field: energy_state.nonsense, operator: gt, value: 1}}\n"
                 "  - {name: b, conditions: {field: energy_state.grid.exporting_power, operator: gt, value: .nan}}\n"
                 "stop_rules:\n  - {name: c, conditions: {field: energy_state.grid.exporting_power, operator: bigger, value: 1}}\n")
    e = _err(load_policy, f)
    assert [p.line for p in e.problems] == [3, 4, 6], str(e)


# --- traces, through the backtest CLI -------------------------------------------------------------------
H = "timestamp,pv_w,load_w\n"
R1 = "2024-05-13T00:00:00+02:00,0,400\n"
R2 = "2024-05-13T00:05:00+02:00,0,400\n"
TRACE_CASES = [
    ("empty", "", ["t.csv:1", "empty file"]),
    ("header_only", H, ["t.csv:1", "at least two rows"]),
    ("one_row", H + R1, ["t.csv:2", "at least two rows"]),
    ("no_header", R1 + R2, ["t.csv:1", "missing column"]),
    ("duplicate_column", "timestamp,pv_w,load_w,pv_w\n" + R1, ["t.csv:1", "appears twice"]),
    ("pv_nan", H + R1 + "2024-05-13T00:05:00+02:00,nan,400\n", ["t.csv:3", "not a finite number"]),
    ("load_inf", H + R1 + "2024-05-13T00:05:00+02:00,0,inf\n", ["t.csv:3", "not a finite number"]),
    ("load_minus_inf", H + R1 + "2024-05-13T00:05:00+02:00,0,-Infinity\n", ["t.csv:3", "not a finite number"]),
    ("load_negative", H + R1 + "2024-05-13T00:05:00+02:00,0,-1\n", ["t.csv:3", "negative"]),
    ("price_nan", "timestamp,pv_w,load_w,price_import\n" + R1.strip() + ",0.3\n2024-05-13T00:05:00+02:00,0,1,nan\n",
     ["t.csv:3", "column price_import", "not a finite number"]),
    ("number_with_unit", H + R1 + "2024-05-13T00:05:00+02:00,0,400W\n", ["t.csv:3", "not a number"]),
    ("comma_decimal", H + R1 + '2024-05-13T00:05:00+02:00,0,"400,5"\n', ["t.csv:3", "not a number"]),
    ("naive", H + "2024-05-13T00:00:00,0,1\n" + R2, ["t.csv:2", "no UTC offset"]),
    ("garbage_time", H + "yesterday,0,1\n" + R2, ["t.csv:2", "not an ISO 8601 time"]),
    ("same_time", H + R1 + R1, ["t.csv:3", "time goes nowhere"]),
    ("too_wide", H + R1 + "2024-05-13T00:05:00+02:00,0,1,9\n", ["t.csv:3", "expected 3 values"]),
    ("step_a_day", H + R1 + "2024-05-14T00:00:00+02:00,0,1\n", ["t.csv:3", "outside 10 s .. 900 s"]),
    ("unclosed_quote", H + R1 + '2024-05-13T00:05:00+02:00,"0,1\n', ["t.csv"]),
    ("year_9999", H + "9999-12-31T23:59:59+14:00,0,1\n9999-12-31T23:59:59-12:00,0,1\n", ["t.csv:3"]),
    ("huge_number", H + R1 + "2024-05-13T00:05:00+02:00,0," + "9" * 400 + "\n", ["t.csv:3", "not a finite number"]),
]


@pytest.mark.parametrize("name,text,expected", TRACE_CASES, ids=[c[0] for c in TRACE_CASES])
def test_hostile_trace_through_backtest_cli(tmp_path, capsys, name, text, expected):
    t = tmp_path / "t.csv"
    t.write_text(text)
    steps = tmp_path / "out" / "steps.csv"
    rc, err = _cli(["backtest", "--trace", str(t), "--config", str(Path(__file__).parent.parent / "examples" /
                                                                    "backtest.yaml"), "--steps-out", str(steps)],
                   capsys)
    assert rc == 2, (name, err)
    _assert_has(err, expected, name)
    assert not steps.parent.exists(), "nothing is written for a bad trace"


# --- secrets files, through check and a start ------------------------------------------------------------
SECRETS_CASES = [
    ("no_equals", "HA_TOKEN_S abcdef1234\n", ["s.env:1", "expected KEY=VALUE"]),
    ("digit_name", "1X=abcd1234\n", ["s.env:1", "is not a valid name"]),
    ("space_in_name", "MY TOKEN=abcd1234\n", ["s.env:1", "is not a valid name"]),
    ("unclosed", "HA_TOKEN_S='abcd1234\n", ["s.env:1", "the quote opened here is not closed"]),
    ("twice", "HA_TOKEN_S=abcd1234\nHA_TOKEN_S=abcd1234\n", ["s.env:2", "given twice"]),
    ("dash_name", "HA-TOKEN=abcd1234\n", ["s.env:1", "is not a valid name"]),
    ("export_only", "export\n", ["s.env:1", "expected KEY=VALUE"]),
    ("nul", "HA_TOKEN_S=abcd\x001234\n", ["s.env:1", "a NUL byte at line 1"]),
]


@pytest.mark.parametrize("name,text,expected", SECRETS_CASES, ids=[c[0] for c in SECRETS_CASES])
def test_hostile_secrets_file_check_and_start(tmp_path, capsys, monkeypatch, name, text, expected):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    s = tmp_path / "s.env"
    s.write_text(text)
    s.chmod(0o600)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"demo: {{}}\nsecrets_file: {s}\n")
    for argv in (["check", "--config", str(cfg)], ["--headless", "--cycles", "1", "--config", str(cfg)]):
        rc, err = _cli(argv, capsys)
        assert rc == 2, (name, argv, err)
        _assert_has(err, ["c.yaml:2", "key 'secrets_file'"] + expected, name)
        assert "1234" not in err, "a secret leaked"
    assert not (tmp_path / "xdg").exists()


# --- one real process per category: exit 2, no traceback, nothing written ---------------------------------
def test_one_subprocess_per_category(tmp_path):
    import subprocess
    import sys
    (tmp_path / "bomb.yaml").write_text(BILLION_LAUGHS)
    (tmp_path / "nan.yaml").write_text("demo: {}\npolicy: {headroom: .nan}\n")
    (tmp_path / "r.yaml").write_text(_rule("{field: energy_state.nonsense, operator: gt, value: 1}"))
    (tmp_path / "rules.yaml").write_text("demo: {}\npolicy: {rules_file: r.yaml}\n")
    (tmp_path / "s.env").write_text("NOPE\n")
    (tmp_path / "secrets.yaml").write_text(f"demo: {{}}\nsecrets_file: {tmp_path / 's.env'}\n")
    (tmp_path / "t.csv").write_text(H + R1 + "2024-05-13T00:05:00+02:00,nan,1\n")
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path)}
    py = [sys.executable, "-m", "edgemining_tui"]
    bt = str(Path(__file__).parent.parent / "examples" / "backtest.yaml")
    runs = [
        (["check", "--config", "bomb.yaml"], "bomb.yaml:5: key 'e'"),
        (["--headless", "--config", "bomb.yaml"], "bomb.yaml:5: key 'e'"),
        (["--headless", "--config", "nan.yaml"], "nan.yaml:2: key 'policy.headroom'"),
        (["check", "--config", "rules.yaml"], "r.yaml:4: key 'start_rules[0].conditions.field'"),
        (["--headless", "--config", "rules.yaml"], "r.yaml:4: key 'start_rules[0].conditions.field'"),
        (["--headless", "--config", "secrets.yaml"], "secrets.yaml:2: key 'secrets_file'"),
        (["--headless", "--config", "/dev/zero"], "/dev/zero: is a character device"),
        (["backtest", "--trace", "t.csv", "--config", bt], "t.csv:3: column pv_w"),
        (["backtest", "--trace", "/dev/zero", "--config", bt], "/dev/zero: is a character device"),
    ]
    for argv, expected in runs:
        r = subprocess.run(py + argv, cwd=tmp_path, capture_output=True, text=True, timeout=60, env=env)
        assert r.returncode == 2, (argv, r.stderr)
        assert expected in r.stderr and "Traceback" not in r.stderr, (argv, r.stderr)
    assert not (tmp_path / "xdg").exists()
    _nothing_written(tmp_path)


def test_corpus_size():
    n = (len(YAML_BYTES_CASES) + len(_special_files.__code__.co_consts) * 0 + 6 * 5 + len(SECRETS_BYTES_CASES)
         + len(TRACE_BYTES_CASES) + len(CONFIG_CASES) + len(RULES_CASES) + len(TRACE_CASES) + len(SECRETS_CASES))
    assert n >= 150, n


def test_config_warnings_have_file_line_and_key(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"site: {{data_dir: {tmp_path / 'd'}}}\nenergy:\n  source: home_assistant\n"
                   "  home_assistant: {url: 'http://h', token: tok1, grid: s.g}\n"
                   "miners:\n  - {name: a, host: 10.0.0.1}\n"
                   "policy: {mode: rules}\nheat: {zones: [{name: z, miners: [a]}]}\n")
    rc, err = _cli(["check", "--config", str(cfg)], capsys)
    assert rc == 0, err
    assert "c.yaml:7: warning: key 'policy.mode': miners in rules mode are left alone" in err, err
    assert "c.yaml:8: warning: key 'heat.zones[0]': zone 'z' has no sensor" in err, err
    assert _cli(["check", "--strict", "--config", str(cfg)], capsys)[0] == 2


def test_data_dir_flag_read_only_or_missing_as_an_unprivileged_user(tmp_path, monkeypatch):
    """`--data-dir` at a root-owned directory of mode 555, and at a missing one below it: every
    front door says what is wrong in one line and exits 2. setup ran its five steps and then could
    not start the console; serve --demo ended in a traceback from opening owner.log."""
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    _reachable_by_others(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "none"))   # no config yet: the console opens setup
    cfg = tmp_path / "none" / "edgemining-tui" / "config.yaml"
    import encodings.idna  # noqa: F401
    import encodings.utf_8_sig  # noqa: F401  (the child cannot read the interpreter's files)
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    import edgemining_tui.ui.launch  # noqa: F401
    import edgemining_tui.ui.serve  # noqa: F401
    pytest.importorskip("textual_serve")
    for where, why in ((locked, f"{locked}: no permission to write there"),
                       (locked / "sub", f"{locked / 'sub'} cannot be created: no permission to write in {locked}")):
        for argv in (["--demo", "--headless", "--cycles", "1"], ["setup", "--config", str(cfg)],
                     [], ["serve", "--demo", "--port", port]):
            rc, err = _as_nobody(argv + ["--data-dir", str(where)])
            assert rc == 2, (argv, err)
            lines = err.strip().splitlines()
            assert len(lines) == 1 and "--data-dir: " + why in lines[0], (argv, err)
    assert not (locked / "sub").exists() and not (tmp_path / "none").exists()
