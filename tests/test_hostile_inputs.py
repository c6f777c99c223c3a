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
    ("deep_brackets", b"site: " + b"[" * 5000, ["y.yaml:1", "nested more than 64 levels deep"]),
    ("deep_braces", b"site: " + b"{a: " * 3000, ["y.yaml:1", "nested more than 64 levels deep"]),
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
            ("too_big", big, "larger than")]


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
    ("too_big", b"A=" + b"x" * 70000 + b"\n", ["larger than 64 KB"]),
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
     ["t.csv:4", "field larger than field limit"]),
    ("binary", bytes(range(256)) * 4, ["t.csv"]),
]


@pytest.mark.parametrize("name,data,expected", TRACE_BYTES_CASES, ids=[c[0] for c in TRACE_BYTES_CASES])
def test_hostile_trace_bytes(tmp_path, name, data, expected):
    from edgemining_tui.backtest.trace import TraceError, parse_trace
    f = tmp_path / "t.csv"
    f.write_bytes(data)
    with pytest.raises(TraceError) as ei:
        parse_trace(f)
    _assert_has(str(ei.value), expected, name)
