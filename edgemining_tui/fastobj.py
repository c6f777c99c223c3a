"""Cheap constructors for frozen, slotted dataclasses built on a hot path.

A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__`` (the frozen
guard), which costs about 0.1 µs a field; a MinerSample has 17. The replay builds ~10 of these
objects per step for half a million steps, so this module makes positional factories that skip it.

The fast way: a plain class with the same slots in the same order (a *twin*: the same memory
layout) is filled by ordinary attribute stores, which the interpreter specialises to a direct slot
write, and the object then becomes the real class (``__class__`` assignment, which Python allows
only between classes of the same layout, and checks). That is half the cost of calling each slot
descriptor's ``__set__`` (0.21 against 0.41 µs for a Reading), the fallback for a class that
cannot have a twin. The objects are the real classes, frozen as ever, and compare equal to ones
built the normal way (checked at import; on any mismatch the normal constructor is used).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable


def factory(cls: type, variable: tuple[str, ...], fixed: dict[str, Any] | None = None) -> Callable[..., Any]:
    """``make(*variable)`` -> a ``cls`` whose other fields take ``fixed`` (else their plain default).

    Falls back to ``cls(**...)`` when the class has no slot descriptors or a field has a
    default_factory not covered by ``fixed``."""
    fixed = dict(fixed or {})
    fields = dataclasses.fields(cls)
    names = [f.name for f in fields]
    for f in fields:
        if f.name in variable or f.name in fixed:
            continue
        if f.default is not dataclasses.MISSING:
            fixed[f.name] = f.default
        else:
            return _slow(cls, variable, fixed)
    sets = {}
    for n in names:
        d = cls.__dict__.get(n)
        if d is None or not hasattr(d, "__set__"):
            return _slow(cls, variable, fixed)
        sets[n] = d.__set__
    twin = _twin(cls, names)
    ns: dict[str, Any] = {"_new": object.__new__, "_cls": cls, "_twin": twin}
    if twin is not None:
        body = "\n".join(f"    o.{n} = {n if n in variable else '_f_' + n}" for n in names)
        # (calling the twin costs less than object.__new__(twin): no argument check of __new__)
        src = f"def make({', '.join(variable)}):\n    o = _twin()\n{body}\n    o.__class__ = _cls\n    return o\n"
    else:
        body = "\n".join(f"    _s_{n}(o, {n if n in variable else '_f_' + n})" for n in names)
        src = f"def make({', '.join(variable)}):\n    o = _new(_cls)\n{body}\n    return o\n"
    ns.update({f"_s_{n}": s for n, s in sets.items()})
    ns.update({f"_f_{k}": v for k, v in fixed.items()})
    exec(src, ns)  # noqa: S102 - generated from dataclass field names only
    return ns["make"]


def fill_source(cls: type, target: str, exprs: dict[str, str]) -> tuple[list[str], dict[str, Any]] | None:
    """Lines of a generated function that build one ``cls`` into the local ``target`` through its
    twin, each field from ``exprs`` (source text) or its plain default, and the names they need
    (nothing else). For factories that build several nested objects in one call: a call less
    per object. None when ``cls`` cannot have a twin or a field has only a default_factory."""
    names = [f.name for f in dataclasses.fields(cls)]
    twin = _twin(cls, names)
    if twin is None:
        return None
    tag = cls.__name__
    ns: dict[str, Any] = {f"_twin_{tag}": twin, f"_cls_{tag}": cls}
    lines = [f"{target} = _twin_{tag}()"]
    for f in dataclasses.fields(cls):
        expr = exprs.get(f.name)
        if expr is None:
            if f.default is dataclasses.MISSING:
                return None
            expr = f"_d_{tag}_{f.name}"
            ns[expr] = f.default
        lines.append(f"{target}.{f.name} = {expr}")
    lines.append(f"{target}.__class__ = _cls_{tag}")
    return lines, ns


def _twin(cls: type, names: list[str]) -> type | None:
    """A plain class with ``cls``'s slots in the same order, whose objects may become ``cls``
    (None when ``cls`` has other slots, a base with a layout of its own, or Python refuses)."""
    if cls.__bases__ != (object,) or tuple(cls.__dict__.get("__slots__", ())) != tuple(names):
        return None
    twin = type("_Twin" + cls.__name__, (), {"__slots__": tuple(names)})
    try:
        o = object.__new__(twin)
        o.__class__ = cls
    except TypeError:
        return None
    return twin


def _slow(cls: type, variable: tuple[str, ...], fixed: dict[str, Any]) -> Callable[..., Any]:
    def make(*args: Any) -> Any:
        return cls(**dict(zip(variable, args)), **fixed)
    return make


def checked(cls: type, variable: tuple[str, ...], sample_args: tuple, fixed: dict[str, Any] | None = None):
    make = factory(cls, variable, fixed)
    try:
        ok = make(*sample_args) == cls(**dict(zip(variable, sample_args)), **(fixed or {}))
    except Exception:
        ok = False
    return make if ok else _slow(cls, variable, dict(fixed or {}))
