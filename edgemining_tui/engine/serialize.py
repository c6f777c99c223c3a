"""EngineState to and from plain JSON-able dicts, so observers can render the owner's state."""
from __future__ import annotations

from dataclasses import asdict, fields, is_dataclass
from typing import Any

from ..energy.snapshot import ALL_FIELDS, EnergySnapshot, Reading
from ..miners.model import (
    Board, Capabilities, CommandKind, CommandResult, Level, MinerCommand, MinerSample, MinerState, Verification,
)
from ..policy.decision import FleetDecision, MinerDecision
from .events import EngineState


def _reading(d: dict) -> Reading:
    return Reading(d.get("value"), d.get("ts", 0.0), d.get("source", ""), d.get("error"), d.get("age_known", True),
                   d.get("absent", False))


def state_to_dict(s: EngineState) -> dict:
    snap = s.snapshot
    return {
        "ts": s.ts, "cycle": s.cycle, "miners_w": s.miners_w, "stale": list(s.stale), "cycle_s": s.cycle_s,
        "observe_only": s.observe_only, "paused": s.paused, "faults": dict(s.faults),
        "commands": dict(s.commands),
        "caps": {n: plain(c) for n, c in s.caps.items()},
        "overrides": _jsonable(s.overrides), "extra": _jsonable(s.extra),
        "snapshot": {"ts": snap.ts, "forecast": dict(snap.forecast),
                     **{f: plain(getattr(snap, f)) for f in ALL_FIELDS}},
        "samples": {n: _sample_dict(x) for n, x in s.samples.items()},
        "decision": None if s.decision is None else {
            "ts": s.decision.ts, "available_w": s.decision.available_w, "summary": s.decision.summary,
            "terms": _jsonable(s.decision.terms),
            "miners": {n: {"name": d.name, "run": d.run, "target_w": d.target_w, "level": d.level,
                           "term": d.term, "reason": d.reason} for n, d in s.decision.miners.items()}},
        "verifications": {n: None if v is None else {
            "command": {"kind": v.command.kind.value, "watts": v.command.watts, "level": v.command.level},
            "sent_ts": v.sent_ts, "ok": v.result.ok, "message": v.result.message,
            "confirmed": v.confirmed, "detail": v.detail} for n, v in s.verifications.items()},
    }


def _sample_dict(x: MinerSample) -> dict:
    d = plain(x)
    d["state"] = x.state.value
    return d


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
# leaves by exact type, answered before any other test: most of a state is numbers and strings
_LEAVES = frozenset({float, int, str, bool, type(None)})


def plain(x: Any) -> Any:
    """``dataclasses.asdict`` for the engine's state: the same dicts, lists and tuples, but leaves
    (numbers, strings, enums, None) are shared, not deep-copied. The state is serialised every cycle
    for observers; asdict's copying was most of that cost."""
    t = type(x)
    if t in _LEAVES:
        return x
    names = _FIELD_NAMES.get(t)
    if names is not None:
        out = {}
        for n in names:
            v = getattr(x, n)
            out[n] = v if type(v) in _LEAVES else plain(v)
        return out
    if t is tuple and not x:
        return ()
    if is_dataclass(x) and not isinstance(x, type):
        names = _FIELD_NAMES.get(type(x))
        if names is None:
            names = _FIELD_NAMES[type(x)] = tuple(f.name for f in fields(x))
        return {n: plain(getattr(x, n)) for n in names}
    if isinstance(x, (list, tuple)) and not hasattr(x, "_fields"):
        return type(x)(plain(v) for v in x)
    if isinstance(x, dict):
        return {plain(k): plain(v) for k, v in x.items()}
    return x


def state_from_dict(d: dict) -> EngineState:
    sd = d["snapshot"]
    snap = EnergySnapshot(ts=sd["ts"], forecast=sd.get("forecast", {}),
                          **{f: _reading(sd[f]) for f in ALL_FIELDS})
    samples = {}
    for n, x in d.get("samples", {}).items():
        x = dict(x)
        x["state"] = MinerState(x["state"])
        x["boards"] = tuple(Board(**b) for b in x.get("boards", ()))
        x["pools"] = tuple(x.get("pools", ()))
        x["errors"] = tuple(x.get("errors", ()))
        x["invalid"] = tuple(x.get("invalid", ()))
        samples[n] = MinerSample(**x)
    dec = None
    if d.get("decision"):
        dd = d["decision"]
        dec = FleetDecision(ts=dd["ts"], available_w=dd["available_w"], summary=dd.get("summary", ""),
                            terms=dd.get("terms", {}),
                            miners={n: MinerDecision(**m) for n, m in dd["miners"].items()})
    vers = {}
    for n, v in d.get("verifications", {}).items():
        if v is None:
            vers[n] = None
            continue
        c = v["command"]
        vers[n] = Verification(MinerCommand(CommandKind(c["kind"]), c.get("watts"), c.get("level")),
                               v["sent_ts"], CommandResult(v["ok"], v["message"]), v["confirmed"], v["detail"])
    return EngineState(ts=d["ts"], cycle=d["cycle"], snapshot=snap, samples=samples, decision=dec,
                       verifications=vers, miners_w=d["miners_w"], stale=tuple(d.get("stale", ())),
                       cycle_s=d.get("cycle_s", 0.0), role="observer", observe_only=d.get("observe_only", False),
                       paused=d.get("paused", False), faults=d.get("faults", {}), commands=d.get("commands", {}), caps=_caps(d.get("caps") or {}),
                       overrides=d.get("overrides", {}), extra=d.get("extra", {}))


def _caps(d: dict) -> dict[str, Capabilities]:
    out = {}
    for n, c in d.items():
        try:
            c = dict(c)
            c["levels"] = tuple(Level(**lv) for lv in c.get("levels", ()))
            out[n] = Capabilities(**c)
        except (TypeError, ValueError):
            continue    # an owner of another version: the owner checks the request again anyway
    return out


def _jsonable(x: Any) -> Any:
    if type(x) in _LEAVES:
        return x
    if isinstance(x, dict) or hasattr(x, "items"):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (str, int, float, bool)) or x is None:
        return x
    if hasattr(x, "__dataclass_fields__"):
        return _jsonable(asdict(x))
    return str(x)
