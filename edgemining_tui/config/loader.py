"""Turn YAML into typed, frozen dataclasses, with file and line in every error.

Each concern declares its own config dataclasses (``energy/config.py``, ``miners/config.py``...);
this module knows only how to fill any dataclass from a YAML document read with line numbers
(``config/yaml_read.py``; ``read_yaml`` and ``Located`` are importable from here too).
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
from typing import Any, Annotated, Literal, Union, get_args, get_origin, get_type_hints

from .errors import ConfigError
from .types import PARSERS, Range, Secret
from .yaml_read import Located, _dotted, _short, read_yaml  # noqa: F401 - read_yaml: imported from here

_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


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
