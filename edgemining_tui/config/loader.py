"""Turn YAML into typed, frozen dataclasses, with file and line in every error.

Each concern declares its own config dataclasses (``energy/config.py``, ``miners/config.py``...);
this module knows only how to read YAML with line numbers and fill any dataclass from it.
A dataclass may define ``validate(self) -> None`` raising ``ValueError`` for cross-field checks,
and ``__key_aliases__`` / ``__open_keys__`` (a set of keys passed through as-is, for policy files).
"""
from __future__ import annotations

import dataclasses
import enum
import math
import os
import re
import types
import typing
from pathlib import Path
from typing import Any, Annotated, Literal, Union, get_args, get_origin, get_type_hints

import yaml

from .errors import ConfigError
from .types import PARSERS, Range, Secret

_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class Located:
    """A loaded YAML document: plain Python values plus the line of every key path."""

    def __init__(self, data: Any, lines: dict[tuple, int], file: str) -> None:
        self.data = data
        self.lines = lines
        self.file = file

    def line_of(self, path: tuple) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)    # an empty document: its first line


# Limits on what a YAML file may expand to: an alias bomb ("billion laughs") is a few hundred
# bytes that expand to billions of nodes, a recursive alias never ends, and deep nesting exhausts
# the stack. Real configs have a few hundred nodes and nest less than 10 deep.
MAX_DEPTH = 64
MAX_NODES = 20_000

# libyaml (PyYAML's C extension) scans ~30x faster than the pure-Python loader; both are used the
# same way: a flat pass over the events checks depth and size before anything recursive runs.
_LOADER = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader


def _check_events(text: str, file: str) -> None:
    """Depth and node count from the event stream (iterative: 5,000 nested [ cost nothing)."""
    loader = _LOADER(text)
    depth = nodes = 0
    try:
        while loader.check_event():
            ev = loader.get_event()
            if isinstance(ev, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise ConfigError(f"nested more than {MAX_DEPTH} levels deep", file, ev.start_mark.line + 1)
            elif isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
            if isinstance(ev, yaml.NodeEvent):
                nodes += 1
                if nodes > MAX_NODES:
                    raise ConfigError(f"more than {MAX_NODES} values: far more than any config or rules file",
                                      file, ev.start_mark.line + 1)
    finally:
        loader.dispose()


_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


class _Expand:
    """Turns composed nodes into plain values, counting every node an alias expands to."""

    def __init__(self, file: str, lines: dict[tuple, int]) -> None:
        self.file = file
        self.lines = lines
        self.nodes = 0
        self.constructor = yaml.constructor.SafeConstructor()

    def node(self, node: yaml.Node, path: tuple) -> Any:
        line = node.start_mark.line + 1
        self.nodes += 1
        if self.nodes > MAX_NODES:
            # an aliased node carries its anchor's line: name the top-level key it sits under
            raise ConfigError(f"the document expands to more than {MAX_NODES} values "
                              "(aliases repeating aliases?)", self.file, self.lines.get(path[:1], line),
                              _dotted(path[:1]) or None)
        if len(path) > MAX_DEPTH:
            raise ConfigError(f"nested more than {MAX_DEPTH} levels deep (an alias that contains itself?)",
                              self.file, self.lines.get(path[:1], line), _dotted(path[:1]) or None)
        self.lines.setdefault(path, line)
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _PLAIN_TAGS:
            raise ConfigError(f"YAML tag {node.tag!r} is not supported (plain mappings and lists only)",
                              self.file, line, _dotted(path) or None)
        if isinstance(node, yaml.MappingNode):
            out: dict = {}
            for k_node, v_node in node.value:
                if not isinstance(k_node, yaml.ScalarNode):
                    raise ConfigError("a key must be a plain name", self.file, k_node.start_mark.line + 1,
                                      _dotted(path) or None)
                key = self.scalar(k_node, path)
                if key in out:
                    raise ConfigError(f"duplicate key '{key}'", self.file, k_node.start_mark.line + 1,
                                      _dotted(path + (key,)))
                self.lines[path + (key,)] = k_node.start_mark.line + 1
                out[key] = self.node(v_node, path + (key,))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.node(n, path + (i,)) for i, n in enumerate(node.value)]
        return self.scalar(node, path)

    def scalar(self, node: yaml.Node, path: tuple) -> Any:
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as e:
            mark = e.problem_mark or node.start_mark
            raise ConfigError(f"YAML error: {e.problem}", self.file, mark.line + 1, _dotted(path) or None) from None
        except (ValueError, TypeError, OverflowError) as e:
            # e.g. the date 2024-13-45, or an integer of 5000 digits
            raise ConfigError(f"cannot read {node.value[:40]!r}: {str(e).split(': ')[0]}", self.file, node.start_mark.line + 1,
                              _dotted(path) or None) from None


def _dotted(path: tuple) -> str:
    out = ""
    for p in path:
        if isinstance(p, bool):   # an unquoted on/yes key: show it as YAML read it
            p = str(p).lower()
        p = p if isinstance(p, int) else _short(str(p), 40, quote=False)   # a 100 KB key stays one line
        out += f"[{p}]" if isinstance(p, int) else (("." if out else "") + p)
    return out


def read_yaml(path: str | Path, text: str | None = None) -> Located:
    """Parse a YAML file (or ``text`` shown as ``path``) with limits; ConfigError with file:line."""
    from .safeio import MAX_YAML_BYTES, InputError, line_at, read_text
    file = str(path)
    if text is None:
        try:
            text = read_text(path, MAX_YAML_BYTES, "YAML file")
        except InputError as e:
            raise ConfigError(e.message, file, e.line) from None
    elif len(text) > MAX_YAML_BYTES:
        raise ConfigError(f"more than the {MAX_YAML_BYTES // 1024} KB a YAML file may be", file)
    if "\0" in text:        # libyaml stops at a NUL without saying where: say it
        line, col = line_at(text, text.index("\0"))
        raise ConfigError(f"a NUL byte at line {line}, column {col} is not allowed in YAML", file, line)
    try:
        _check_events(text, file)
        loader = _LOADER(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.reader.ReaderError as e:
        # a NUL or another control character: PyYAML gives only a character position
        line, col = line_at(text, e.position)
        code = ord(e.character) if isinstance(e.character, str) else int(e.character)
        what = "a NUL byte" if code == 0 else f"the control character #x{code:04x}"
        raise ConfigError(f"{what} at line {line}, column {col} is not allowed in YAML", file, line) from None
    except yaml.MarkedYAMLError as e:
        # at the end of the stream libyaml points one line past the last one: name the last line
        line = min(e.problem_mark.line + 1, text.count("\n") + 1) if e.problem_mark else None
        context = f" ({e.context})" if e.context else ""
        raise ConfigError(f"YAML syntax error: {e.problem or e}{context}", file, line) from None
    except yaml.YAMLError as e:
        raise ConfigError(f"YAML error: {e}", file) from None
    lines: dict[tuple, int] = {}
    if node is None:
        return Located({}, lines, file)
    data = _Expand(file, lines).node(node, ())
    return Located(data, lines, file)


class MissingEnv(ValueError):
    """``${NAME}`` with NAME set nowhere; ``names`` lists every one missing in the value."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        which = ", ".join(names)
        super().__init__(f"environment variable{'s' if len(names) > 1 else ''} {which} "
                         f"{'are' if len(names) > 1 else 'is'} not set")


def expand_env(value: str, env: typing.Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    missing: list[str] = []

    def sub(m: re.Match) -> str:
        name, default = m.group(1), m.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        if name not in missing:
            missing.append(name)
        return ""
    out = _ENV_RE.sub(sub, value)
    if missing:
        raise MissingEnv(missing)
    return out


_SHAPE = ("expected a mapping, got", "expected a number, got", "expected a string, got", "expected a list, got",
          "expected a whole number, got", "expected true or false, got")


class _Abort(Exception):
    """A problem was recorded in Builder.errors; give up on this value (its siblings go on)."""


class Builder:
    """Fills dataclasses from a Located document, recording every problem it meets.

    ``build`` raises ConfigError (one problem) or ConfigErrors (several) at the end. A value that
    fails is skipped, its siblings are still checked; a dataclass with a bad field is not
    constructed (its cross-field checks would only repeat the first problem).
    """

    def __init__(self, doc: Located, env: typing.Mapping[str, str] | None = None,
                 secrets: typing.Mapping[str, str] | None = None, secrets_hint: str | None = None) -> None:
        self.doc = doc
        self.env = dict(os.environ if env is None else env)
        if secrets:
            for k, v in secrets.items():
                self.env.setdefault(k, v)
        self.secrets_hint = secrets_hint
        self.errors: list[ConfigError] = []

    def fail(self, path: tuple, message: str) -> typing.NoReturn:
        self.record(path, message)
        raise _Abort

    def record(self, path: tuple, message: str) -> None:
        self.errors.append(ConfigError(message, self.doc.file, self.doc.line_of(path), _dotted(path) or None))

    def build(self, cls: type, data: Any = dataclasses.MISSING, path: tuple = ()) -> Any:
        if data is dataclasses.MISSING:
            data = self.doc.data
        n0 = len(self.errors)
        try:
            out = self._convert(cls, data, path)
        except _Abort:
            out = None
        from .errors import raise_all
        raise_all(self.errors[n0:])
        return out

    def _expand(self, value: str, path: tuple) -> str:
        try:
            return expand_env(value, self.env)
        except MissingEnv as e:
            names = e.names
            how = " and ".join(f"{n}=..." for n in names)
            where = f"add {how} to {self.secrets_hint}" if self.secrets_hint else \
                "name a KEY=VALUE file in secrets_file: and add it there"
            self.fail(path, f"{e}: set {'them' if len(names) > 1 else 'it'} in the environment "
                            f"(export {names[0]}=...) or {where}")

    def _convert(self, tp: Any, value: Any, path: tuple) -> Any:
        origin = get_origin(tp)
        if origin is Annotated:
            base, *meta = get_args(tp)
            parser = next((PARSERS[m] for m in meta if isinstance(m, str) and m in PARSERS), None)
            if parser is None:
                out = self._convert(base, value, path)
            else:
                if value is None:
                    self.fail(path, "a value is required")
                try:
                    out = parser(value)
                except (ValueError, TypeError, OverflowError) as e:
                    self.fail(path, str(e))
                if isinstance(out, float) and not math.isfinite(out):
                    self.fail(path, f"expected a finite number, got {_kind(value)}")
            for m in meta:
                if isinstance(m, Range) and isinstance(out, (int, float)):
                    why = m.problem(out)
                    if why:
                        self.fail(path, why)
            return out
        if tp is Any:
            return value
        if origin in (Union, types.UnionType):
            args = get_args(tp)
            if value is None and type(None) in args:
                return None
            non_none = [a for a in args if a is not type(None)]
            mark = len(self.errors)
            tried: list[list[ConfigError]] = []
            for a in non_none:
                try:
                    return self._convert(a, value, path)
                except _Abort:
                    tried.append(self.errors[mark:])
                    del self.errors[mark:]
            # report the alternative the value was shaped for ("a mapping" says little about .nan)
            # a number (or "3 kWh", ".nan") was meant for the numeric alternative, not the word
            # ("auto") beside it: its own error says more than "expected one of auto"
            numeric = not isinstance(value, str) or any(ch.isdigit() for ch in value) \
                or value.strip().lower().lstrip("+-.") in ("nan", "inf", "infinity")

            def weak(t: list[ConfigError]) -> int:
                if all(e.message.startswith("expected one of") for e in t):
                    return 3 if numeric else 1
                if all(e.message.startswith(_SHAPE) for e in t):
                    return 2
                return 0
            self.errors.extend(min(tried, key=weak))
            raise _Abort
        if origin is Literal:
            allowed = get_args(tp)
            if isinstance(value, (dict, list)) or value not in allowed:
                self.fail(path, f"expected one of {', '.join(map(str, allowed))}, got {_short(value)}")
            return value
        if origin in (list, tuple):
            if not isinstance(value, list):
                self.fail(path, f"expected a list, got {_kind(value)}")
            args = get_args(tp)
            item = args[0] if args else Any
            return tuple(self._each([(path + (i,), item, v) for i, v in enumerate(value)]))
        if origin is dict:
            if not isinstance(value, dict):
                self.fail(path, f"expected a mapping, got {_kind(value)}")
            kt, vt = get_args(tp) or (str, Any)
            keys = self._each([(path + (k,), kt, k) for k in value])
            vals = self._each([(path + (k,), vt, v) for k, v in value.items()])
            return types.MappingProxyType(dict(zip(keys, vals)))
        if dataclasses.is_dataclass(tp):
            return self._dataclass(tp, value, path)
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            try:
                return tp(value)
            except (ValueError, TypeError):
                self.fail(path, f"expected one of {', '.join(str(m.value) for m in tp)}, got {_short(value)}")
        if tp is Secret:
            if not isinstance(value, str):
                # never echo a secret back, even a mistyped one
                self.fail(path, f"expected a string (put the value in quotes, or better ${{ENV_VAR}}), "
                                f"got {'a number' if isinstance(value, (int, float)) else 'something else'}")
            return Secret(self._expand(value, path))
        if tp is str:
            if not isinstance(value, str) or value is None:
                self.fail(path, f"expected a string, got {_kind(value)}")
            return self._expand(value, path)
        if tp is bool:
            if not isinstance(value, bool):
                self.fail(path, f"expected true or false, got {_kind(value)}")
            return value
        if tp is int:
            if isinstance(value, bool) or not isinstance(value, int):
                self.fail(path, f"expected a whole number, got {_kind(value)}")
            return value
        if tp is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.fail(path, f"expected a number, got {_kind(value)}")
            try:
                out = float(value)
            except OverflowError:
                self.fail(path, f"expected a finite number, got an integer of {len(str(value))} digits")
            if not math.isfinite(out):
                self.fail(path, f"expected a finite number, got {_kind(value)}")
            return out
        raise TypeError(f"config loader cannot handle type {tp!r}")

    def _each(self, items: list[tuple[tuple, Any, Any]]) -> list:
        """Convert every (path, type, value); record all problems, then give up if there were any."""
        out, bad = [], False
        for path, tp, v in items:
            try:
                out.append(self._convert(tp, v, path))
            except _Abort:
                bad = True
        if bad:
            raise _Abort
        return out

    def _dataclass(self, cls: type, value: Any, path: tuple) -> Any:
        if value is None:
            value = {}
        from_scalar = getattr(cls, "from_scalar", None)
        if isinstance(value, str) and from_scalar is not None:
            try:
                obj = from_scalar(value)
            except (ValueError, TypeError, OverflowError) as e:
                self.fail(path, str(e))
            return self._validated(obj, value if isinstance(value, dict) else {}, path)
        if not isinstance(value, dict):
            self.fail(path, f"expected a mapping, got {_kind(value)}")
        hints = get_type_hints(cls, include_extras=True)
        fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
        aliases: dict[str, str] = getattr(cls, "__key_aliases__", {})
        open_keys = getattr(cls, "__open_keys__", False)
        kwargs: dict[str, Any] = {}
        bad = False
        for key, v in value.items():
            name = aliases.get(key, key)
            if not isinstance(name, str) or name not in fields:
                if open_keys:
                    continue
                bad = True
                if isinstance(key, bool):
                    self.record(path + (key,), "YAML reads an unquoted on/off/yes/no key as true/false: "
                                               "quote it (\"on\":)")
                    continue
                known = ", ".join(sorted(k for k in fields if not k.startswith("_")))
                self.record(path + (key,), f"unknown key (expected one of: {known})")
                continue
            try:
                kwargs[name] = self._convert(hints[name], v, path + (key,))
            except _Abort:
                bad = True
        for name, f in fields.items():
            if name not in kwargs and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING \
                    and not any(aliases.get(k, k) == name for k in value):
                bad = True
                self.record(path, f"missing required key '{name}'")
        if bad:
            raise _Abort
        try:
            obj = cls(**kwargs)
        except (TypeError, ValueError) as e:
            self.fail(path, str(e))
        return self._validated(obj, value, path)

    def _validated(self, obj: Any, value: dict, path: tuple) -> Any:
        """Run the dataclass's own checks: ``validate()`` (one ValueError) and ``problems()``
        (every ``(relative path, message)`` it finds)."""
        check = getattr(obj, "validate", None)
        if callable(check):
            try:
                check()
            except ValueError as e:
                msg = str(e)
                # validate() may name the key it objects to as "key: message"
                if ": " in msg and msg.split(": ", 1)[0] in value:
                    k, rest = msg.split(": ", 1)
                    self.fail(path + (k,), rest)
                self.fail(path, msg)
        more = getattr(obj, "problems", None)
        if callable(more):
            found = list(more())
            for rel, msg in found:
                self.record(path + tuple(rel), msg)
            if found:
                raise _Abort
        return obj


def _short(v: Any, n: int = 60, quote: bool = True) -> str:
    text = repr(v) if quote else str(v)
    return text if len(text) <= n else text[:n - 3] + "..."


def _kind(v: Any) -> str:
    if v is None:
        return "nothing"
    if isinstance(v, bool):
        return f"boolean {v}"
    if isinstance(v, (int, float)):
        return f"number {v}"
    if isinstance(v, str):
        return f"string {_short(v)}"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "a mapping"
    return type(v).__name__
