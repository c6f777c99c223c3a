"""Checking a user request before it is queued, as the decider would take it (issue 16).

One function, ``refusal``, used by the console before it sends (owner or observer), by the engine
before it queues an in-process request, and by the owner for every row of the observer inbox:
finite numbers within the miner's range, an action the miner supports, a miner that exists, a
request that is not older than ``ttl_s`` (default 2 min). The answer is '' or the reason in words.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

from ..miners.model import Capabilities
from ..policy.overrides import finite_number as _number, override_refusal
from . import actions as A

REQUEST_TTL_S = 120.0            # an observer request older than this is dropped, never applied
MAX_FOR_S = 30 * 86400.0         # the longest "for" an override may run
MAX_TEXT = 64                    # names and "until" texts
_MODES = ("on", "off", "power")
_POLICIES = ("surplus", "rules", "manual")
# the decider's own vocabulary, accepted through the inbox as well (engine.py _apply_request)
_DECIDER = {"force_on": "on", "force_off": "off", "power": "power", "fixed_power": "power",
            "set_power": "power"}
_GLOBAL = ("pause_automation", "observe", "observe_only_for", "release_all")


def clean_text(text: str) -> bool:
    return all(c.isprintable() for c in text)


def _miner_refusal(miner: Any, caps: Mapping[str, Capabilities] | None, star: bool = False) -> str:
    if miner is None and star:
        return ""
    if not isinstance(miner, str) or not miner:
        return "no miner named"
    if len(miner) > MAX_TEXT or not clean_text(miner):
        return "the miner name is not a name (too long or control characters)"
    if star and miner == "*":
        return ""
    if caps is not None and miner not in caps:
        return f"no miner called {miner!r}"
    return ""


def _expiry_refusal(args: Mapping[str, Any]) -> str:
    if "for_s" in args and args["for_s"] is not None:
        v = _number(args["for_s"])
        if v is None:
            return f"for_s must be a finite number of seconds, got {args['for_s']!r:.40}"
        if not 0 < v <= MAX_FOR_S:
            return f"for_s must be between 1 s and 30 days, got {v:g}"
    if "until" in args and args["until"] is not None:
        u = args["until"]
        if not isinstance(u, str) or not u.strip() or len(u) > MAX_TEXT or not clean_text(u):
            return "until must be a short text like 18:00 or sunset"
    return ""


def refusal(action: Any, args: Any, caps: Mapping[str, Capabilities] | None = None) -> str:
    """'' if the request may be queued; else why not. ``caps``: every miner's capabilities (None:
    the miners are not known here; the owner checks again)."""
    if not isinstance(action, str) or not action or len(action) > MAX_TEXT:
        return "not an action"
    if not isinstance(args, Mapping):
        return "the arguments are not a mapping"
    if any(not isinstance(k, str) for k in args):
        return "the arguments' keys are not names"
    a = action.replace("-", "_")
    if a in (A.CYCLE, A.RELOAD, A.RESUME):
        return ""
    if a in (A.PAUSE, "pause_automation"):
        return _expiry_refusal(args)
    if a in (A.OBSERVE_ONLY, "observe", "observe_only_for"):
        on = args.get("on", True)
        if not isinstance(on, bool):
            return f"observe_only: on must be true or false, got {on!r:.40}"
        return _expiry_refusal(args)
    if a == A.SET_POLICY:
        mode = args.get("mode")
        return "" if mode in _POLICIES else f"cannot switch to policy {mode!r:.40} (expected surplus, rules or manual)"
    if a in (A.RELEASE, "release_all"):
        return _miner_refusal(args.get("miner"), caps, star=True)
    if a == A.OVERRIDE or a in _DECIDER:
        mode = args.get("mode") if a == A.OVERRIDE else _DECIDER[a]
        if mode not in _MODES:
            return f"override mode must be on, off or power, got {mode!r:.40}"
        miner = args.get("miner")
        why = _miner_refusal(miner, caps)
        if why:
            return why
        why = _expiry_refusal(args)
        if why:
            return why
        return override_refusal(mode, args.get("watts"), caps.get(miner) if caps is not None else None, miner)
    return f"unknown action {action!r:.40}"


def age_refusal(ts: Any, now: float, ttl_s: float = REQUEST_TTL_S) -> str:
    """A queued request's time: dropped when older than ``ttl_s`` (or from the future, or missing)."""
    t = _number(ts)
    if t is None:
        return "the request carries no time"
    if t > now + 60.0:
        return "the request's time is in the future (clock skew?)"
    if now - t > ttl_s:
        from ..format import duration
        return (f"expired: sent {duration(now - t)} ago; requests expire after {duration(ttl_s)} "
                "(was the owner stopped?)")
    return ""
