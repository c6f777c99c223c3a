"""Property-based tests for the loaders: for ANY input, the only exception is the loader's own error
type, and every problem it reports has a location (file and line).

Inputs are drawn two ways: raw text/bytes (syntax, encodings, control characters), and documents
built from the schema's own key names with hostile values (nan, inf, huge integers, units, wrong
shapes), so the examples reach deep into the sections instead of failing at the first key.
"""
from __future__ import annotations

import math

import pytest
import yaml

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from edgemining_tui.config import ConfigError, load_config  # noqa: E402

SETTINGS = settings(max_examples=100, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

# every key the config schema knows, and the shapes/values that have broken loaders before
CONFIG_KEYS = ["site", "energy", "miners", "policy", "heat", "economics", "demo", "ui", "history", "notify",
               "secrets_file", "name", "timezone", "latitude", "longitude", "cycle_interval", "stale_after",
               "data_dir", "observe_only", "source", "home_assistant", "url", "token", "grid", "pv", "house",
               "battery", "soc", "timeout", "sources", "use", "fronius", "shelly", "mqtt", "port", "topic", "host",
               "driver", "family", "ports", "rpc", "priority", "capabilities", "min_w", "max_w", "step_w",
               "idle_w", "levels", "watts", "simulated", "ramp", "mode", "groups", "headroom", "import_cap",
               "enable", "disable", "threshold", "delay", "min_on", "min_off", "max_starts_per_day",
               "min_change_interval", "command_retry", "priority_soc", "buffer_soc", "reserve", "capacity",
               "stale", "grace", "rules_file", "zones", "min_c", "max_c", "schedule", "start", "sensor",
               "import_price", "export_price", "time_of_use", "price", "fixed", "scale", "btc_price",
               "miner_efficiency", "pools", "kind", "raw_for", "events_for", "urls", "max_per_hour",
               "refresh_interval", "speed", "start_hour", "a", "ghost", "on"]
HOSTILE_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-10**30, max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["nan", "-inf", ".inf", "0.30 EUR", "3 kWh", "2 kW", "5 MW", "1e999", "90s", "5m", "1h",
                     "-5", "50%", "150%", "07:00", "25:00", "10.0.0.1", "10.0.0.1", "miner.local",
                     "http://h:8123", "http://h:99999", "${UNSET_VAR_X}", "/dev/zero", "/etc/hostname", "a",
                     "simulated", "pyasic", "demo", "home_assistant", "surplus", "rules", "forecast", "", " "]),
    st.text(max_size=12))
DOCS = st.recursive(HOSTILE_SCALARS,
                    lambda ch: st.lists(ch, max_size=4) | st.dictionaries(st.sampled_from(CONFIG_KEYS), ch, max_size=6),
                    max_leaves=40)


def _schema(tp, depth: int = 0, calm: int = 1):
    """Values shaped like the schema's type ``tp`` (mostly right, sometimes hostile), so examples
    get past the first key and into ranges, units, cross-field and cross-section checks."""
    import dataclasses
    import types as _types
    import typing
    from typing import Annotated, Literal, Union, get_args, get_origin, get_type_hints
    from edgemining_tui.config.types import DURATION, ENERGY, PERCENT, POWER
    H = HOSTILE_SCALARS

    def mix(good):
        return st.one_of(*([good] * calm), H) if calm > 1 else st.one_of(good, H)
    origin = get_origin(tp)
    if depth > 6:
        return HOSTILE_SCALARS
    if origin is Annotated:
        base, *meta = get_args(tp)
        units = {POWER: ["W", "kW", "kWh", "MW", ""], DURATION: ["s", "m", "h", "ms", ""], ENERGY: ["Wh", "kWh", "kW", ""],
                 PERCENT: ["%", ""]}
        for m in meta:
            if m in units:
                num = st.one_of(st.integers(-10, 10**6), st.floats(allow_nan=True, allow_infinity=True)) \
                    if calm == 1 else st.integers(1, 60)
                unit = st.sampled_from(units[m]) if calm == 1 else st.just(units[m][0])
                return mix(st.one_of(num, st.tuples(num, unit).map(lambda t: f"{t[0]}{t[1]}")))
        return _schema(base, depth, calm)
    if origin in (Union, _types.UnionType):
        return st.one_of(*[_schema(a, depth, calm) for a in get_args(tp) if a is not type(None)], st.none())
    if origin is Literal:
        return mix(st.sampled_from(get_args(tp)))
    if origin in (list, tuple):
        args = [a for a in get_args(tp) if a is not Ellipsis]
        return st.lists(_schema(args[0], depth + 1, calm) if args else HOSTILE_SCALARS, max_size=3)
    if origin is dict:
        kt, vt = get_args(tp) or (str, typing.Any)
        return st.dictionaries(st.sampled_from(["a", "b", "ghost", "s"]), _schema(vt, depth + 1, calm), max_size=3)
    if dataclasses.is_dataclass(tp):
        hints = get_type_hints(tp, include_extras=True)
        alias = {v: k for k, v in getattr(tp, "__key_aliases__", {}).items()}
        opt = {alias.get(f.name, f.name): _schema(hints[f.name], depth + 1, calm)
               for f in dataclasses.fields(tp) if f.init and not f.name.startswith("_")}
        return st.fixed_dictionaries({}, optional=opt)
    if tp is float:
        return mix(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**6, 10**6))
                   if calm == 1 else st.floats(1, 50))
    if tp is int:
        return mix(st.integers(-10**12, 10**12) if calm == 1 else st.integers(1, 5))
    if tp is str and calm > 1:
        return mix(st.sampled_from(["UTC", "a"]))
    if tp is bool:
        return mix(st.booleans())
    return HOSTILE_SCALARS


def _app_docs():
    from edgemining_tui.config.schema import AppConfig
    return _schema(AppConfig)


def _calm_app_docs():
    """Mostly well-formed documents: enough of them load to check what a loaded config holds."""
    from edgemining_tui.config.schema import AppConfig
    hints = __import__("typing").get_type_hints(AppConfig, include_extras=True)
    parts = {k: _schema(hints[k], 1, calm=60) for k in ("site", "policy", "ui", "history", "economics")}
    return st.fixed_dictionaries({"demo": st.just({})}, optional=parts)


def _located(e: ConfigError, file: str) -> None:
    for p in e.problems:
        assert p.file is not None and p.line is not None and p.line >= 1, f"no location: {p.render()!r}"
        assert "Traceback" not in p.render()


def _dump(doc) -> str | None:
    try:
        return yaml.safe_dump(doc, allow_unicode=True)
    except (yaml.YAMLError, ValueError):
        return None


@SETTINGS
@given(st.dictionaries(st.sampled_from(CONFIG_KEYS[:11]), DOCS, max_size=6))
def test_config_loader_any_document(doc):
    text = _dump(doc)
    if text is None:
        return
    try:
        load_config("c.yaml", text=text, env={})
    except ConfigError as e:
        _located(e, "c.yaml")


@settings(SETTINGS, max_examples=150)
@given(st.one_of(st.deferred(_app_docs), st.deferred(_calm_app_docs)))
def test_config_loader_any_schema_shaped_document(doc):
    text = _dump(doc)
    if text is None:
        return
    try:
        cfg = load_config("c.yaml", text=text, env={})
    except ConfigError as e:
        _located(e, "c.yaml")
        return
    _all_finite(cfg)


def _all_finite(obj, path="cfg") -> None:
    """A config that loads holds no NaN or infinity anywhere."""
    import dataclasses
    if isinstance(obj, float):
        assert math.isfinite(obj), f"{path} = {obj}"
    elif dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            _all_finite(getattr(obj, f.name), f"{path}.{f.name}")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _all_finite(v, f"{path}[{i}]")
    elif hasattr(obj, "items"):
        for k, v in obj.items():
            _all_finite(v, f"{path}.{k}")


@SETTINGS
@given(st.text(alphabet=st.sampled_from(list("{}[]:,-&*!|>'\"#%@` \n\tab01.e+") + ["\x00", "\x07", "é", "\ufeff"]),
               max_size=80))
def test_config_loader_any_text(text):
    try:
        load_config("c.yaml", text=text, env={})
    except ConfigError as e:
        _located(e, "c.yaml")


@settings(SETTINGS, max_examples=60)
@given(st.binary(max_size=200))
def test_config_loader_any_bytes(tmp_path_factory, data):
    f = tmp_path_factory.mktemp("b") / "c.yaml"
    f.write_bytes(data)
    try:
        load_config(f, env={})
    except ConfigError as e:
        for p in e.problems:
            assert p.file is not None and "Traceback" not in p.render()


def _rules_docs():
    from edgemining_tui.policy.fields import REGISTRY
    from edgemining_tui.policy.rules import OPERATORS
    fields = st.sampled_from(sorted(REGISTRY.paths())[:40] + ["energy_state.nonsense", "__class__", "a..b"])
    leaf = st.fixed_dictionaries({"field": fields, "operator": st.sampled_from(list(OPERATORS) + ["bigger", 5])},
                                 optional={"value": DOCS, "value_ref": fields})
    cond = st.recursive(leaf, lambda ch: st.one_of(
        st.fixed_dictionaries({"all_of": st.lists(ch, max_size=3)}),
        st.fixed_dictionaries({"any_of": st.lists(ch, max_size=3)}),
        st.fixed_dictionaries({"not_": ch}), HOSTILE_SCALARS), max_leaves=8)
    rule = st.fixed_dictionaries({"name": HOSTILE_SCALARS, "conditions": cond},
                                 optional={"priority": HOSTILE_SCALARS, "enabled": HOSTILE_SCALARS,
                                           "id": HOSTILE_SCALARS, "bogus": HOSTILE_SCALARS})
    rules = st.lists(st.one_of(rule, HOSTILE_SCALARS), max_size=4)
    return st.fixed_dictionaries({"name": HOSTILE_SCALARS}, optional={"start_rules": rules, "stop_rules": rules,
                                                                       "metadata": DOCS, "rules": rules})


@SETTINGS
@given(_rules_docs())
def test_rules_loader_any_document(doc):
    from edgemining_tui.policy.fields import SiteSupply
    from edgemining_tui.policy.rules_loader import load_policy
    text = _dump(doc)
    if text is None:
        return
    for site in (None, SiteSupply(battery=False)):
        try:
            rs, warnings = load_policy("r.yaml", site, text=text)
        except ConfigError as e:
            _located(e, "r.yaml")
            continue
        for w in warnings:
            assert w.file == "r.yaml"


@SETTINGS
@given(st.text(max_size=120))
def test_rules_loader_any_text(text):
    from edgemining_tui.policy.rules_loader import load_policy
    try:
        load_policy("r.yaml", None, text=text)
    except ConfigError as e:
        _located(e, "r.yaml")


# --- traces -------------------------------------------------------------------------------------------
CELLS = st.one_of(st.sampled_from(["0", "400", "-1", "nan", "inf", "-Infinity", "1e308", "1e309", "", " ", "4,5",
                                   "400W", "9" * 400, "\x00", "é"]),
                  st.floats(allow_nan=True, allow_infinity=True).map(repr), st.text(max_size=6))
TIMES = st.one_of(st.sampled_from(["2024-05-13T00:00:00+02:00", "2024-05-13T00:05:00+02:00", "2024-05-13T00:05:00Z",
                                   "2024-05-13T00:00:00", "9999-12-31T23:59:59+14:00", "0001-01-01T00:00:00-12:00",
                                   "yesterday", ""]),
                  st.integers(min_value=0, max_value=2000).map(
                      lambda i: f"2024-05-13T{i // 60 % 24:02d}:{i % 60:02d}:00+02:00"))
ROW = st.tuples(TIMES, CELLS, CELLS).map(lambda r: ",".join(r))
HEADERS = st.sampled_from(["timestamp,pv_w,load_w", "timestamp,pv_w,load_w,price_import", "pv_w,load_w", "",
                           "timestamp,pv_w,load_w,pv_w", "\ufefftimestamp,pv_w,load_w"])


@SETTINGS
@given(HEADERS, st.lists(ROW, max_size=8))
def test_trace_reader_any_rows(header, rows):
    from edgemining_tui.backtest.trace import TraceError, parse_trace
    text = "\n".join([header] + rows) + "\n"
    try:
        tr = parse_trace("t.csv", text=text)
    except TraceError as e:
        assert e.file == "t.csv" and e.line is not None and e.line >= 1, str(e)
        return
    assert len(tr) >= 2 and tr.step_s > 0
    assert all(math.isfinite(x) and x >= 0 for x in tr.pv_w) and all(math.isfinite(x) and x >= 0 for x in tr.load_w)


@SETTINGS
@given(st.text(max_size=200))
def test_trace_reader_any_text(text):
    from edgemining_tui.backtest.trace import TraceError, parse_trace
    try:
        parse_trace("t.csv", text=text)
    except TraceError as e:
        assert e.file == "t.csv" and e.line is not None, str(e)


@SETTINGS
@given(st.text(max_size=120))
def test_secrets_parser_any_text(text):
    from edgemining_tui.secrets import SecretsError, parse_secrets
    try:
        values = parse_secrets(text, "s.env")
    except SecretsError as e:
        assert str(e).startswith("s.env:"), str(e)
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in values.items())


# --- one hostile number at any numeric key of a config that otherwise loads ---------------------------
BASE = {
    "site": {"timezone": "UTC", "latitude": 48, "longitude": 11, "pv_array": {"peak": 8000}},
    "energy": {"source": "home_assistant",
               "home_assistant": {"url": "http://h:8123", "token": "tok1", "grid": "sensor.g", "battery": "sensor.b"}},
    "miners": [{"name": "a", "host": "10.0.0.1", "family": "braiins", "ports": {"rpc": 4028},
                "capabilities": {"min_w": 1000, "max_w": 3000, "step_w": 50, "idle_w": 10}},
               {"name": "s", "driver": "simulated", "simulated": {}}],
    "policy": {"miners": {"a": {"min_on": 600}}, "battery": {"capacity": 10000}, "stale": {}, "enable": {},
               "disable": {}},
    "heat": {"zones": [{"name": "z", "miners": ["a"], "sensor": "sensor.t",
                        "schedule": [{"start": "06:00", "min_c": 19, "max_c": 22}], "max_grid_price": 0.3,
                        "room": {}}]},
    "economics": {"import_price": 0.3, "export_price": {"time_of_use": [{"start": "07:00", "price": 0.1}]},
                  "miner_efficiency": {"a": 30}, "pools": [{"name": "p", "kind": "ocean", "user": "u"}]},
    "demo": {"site": {"battery": {}}, "miners": [{"name": "d"}]},
    "ui": {}, "history": {}, "notify": {},
}


def _numeric_paths() -> list[tuple]:
    """Every number the schema reads under BASE's sections (first item of lists and mappings)."""
    import dataclasses
    import types as _types
    from typing import Annotated, Union, get_args, get_origin, get_type_hints
    from edgemining_tui.config.schema import AppConfig
    out: list[tuple] = []

    def walk(tp, val, path):
        o = get_origin(tp)
        if o is Annotated or tp in (int, float):
            out.append(path)
            return
        if o in (Union, _types.UnionType):
            for a in get_args(tp):
                if a is not type(None):
                    walk(a, val, path)
            return
        if o in (list, tuple) and isinstance(val, list) and val:
            walk(get_args(tp)[0], val[0], path + (0,))
        elif o is dict and isinstance(val, dict) and val:
            k = next(iter(val))
            walk(get_args(tp)[1], val[k], path + (k,))
        elif dataclasses.is_dataclass(tp) and isinstance(val, dict):
            hints = get_type_hints(tp, include_extras=True)
            alias = {v: k for k, v in getattr(tp, "__key_aliases__", {}).items()}
            for f in dataclasses.fields(tp):
                if f.init and not f.name.startswith("_"):
                    key = alias.get(f.name, f.name)
                    sub = val.get(key)
                    walk(hints[f.name], sub if sub is not None else {}, path + (key,))
    walk(AppConfig, BASE, ())
    return sorted(set(out), key=str)


def test_base_config_loads():
    load_config("c.yaml", text=yaml.safe_dump(BASE), env={})
    assert len(_numeric_paths()) > 80


@settings(SETTINGS, max_examples=200)
@given(st.data())
def test_one_hostile_number_anywhere(data):
    import copy
    path = data.draw(st.sampled_from(_numeric_paths()))
    value = data.draw(st.one_of(
        st.sampled_from([math.nan, math.inf, -math.inf, "nan", "-inf", "inf", ".nan", "nan W", "inf kWh", 1e308,
                         -1e308, 10**20, -10**20, "1e999", "0.30 EUR", "3 kWh", "2 kW", "5 MW", -1, 0]),
        st.floats(allow_nan=True, allow_infinity=True)))
    doc = copy.deepcopy(BASE)
    node = doc
    for p in path[:-1]:
        node = node.setdefault(p, {}) if isinstance(node, dict) else node[p]
    node[path[-1]] = value
    try:
        cfg = load_config("c.yaml", text=yaml.safe_dump(doc), env={})
    except ConfigError as e:
        _located(e, "c.yaml")
        return
    _all_finite(cfg)
