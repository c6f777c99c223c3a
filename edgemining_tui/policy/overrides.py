"""Manual overrides with an expiry: per miner (force on, force off, fixed power) and global
(pause automation, observe only). Persisted as plain dicts, shown with a countdown.

    ov = Overrides(tz="Europe/Berlin", sunset=lambda now: ts_of_next_sunset)
    ov.set("force_off", miner="garage", expiry="for 2 h", now=now)
    ov.set("power", miner="shed", watts=1800, expiry="until 18:00", now=now)
    ov.set("observe", expiry="until sunset", now=now)
    ov.expire(now)  -> [OverrideEvent(...)] for those that ran out (the engine shows / notifies them)
    ov.export() -> [dict, ...]; Overrides.restore(rows) after a restart
"""
from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable
from zoneinfo import ZoneInfo

from .timers import fmt_dur

MINER_KINDS = ("force_on", "force_off", "power")
GLOBAL_KINDS = ("pause", "observe")
KINDS = MINER_KINDS + GLOBAL_KINDS

_LABEL = {"force_on": "forced on", "force_off": "forced off", "power": "fixed power",
          "pause": "automation paused", "observe": "observe only"}

SunFn = Callable[[float], "float | None"]   # now -> epoch seconds of the next event (None: unknown)

_FOR_RE = re.compile(r"^(?:for\s+)?(\d+(?:\.\d+)?)\s*(h|hr|hrs|hours?|m|min|mins|minutes?|s|sec|secs|seconds?|d|days?)$")
_MULTI_RE = re.compile(r"^(?:for\s+)?(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?\s*(?:(\d+)\s*s)?$")
_UNTIL_TIME_RE = re.compile(r"^(?:until\s+)?(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$")
_UNIT_S = {"h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600, "m": 60, "min": 60, "mins": 60,
           "minute": 60, "minutes": 60, "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
           "d": 86400, "day": 86400, "days": 86400}


def parse_expiry(text: str | float | None, now: float, tz: str | ZoneInfo = "UTC",
                 sunset: SunFn | None = None, sunrise: SunFn | None = None) -> tuple[float | None, str]:
    """Turn "for 2 h", "90m", "until 18:00", "until sunset", "until 2025-06-01 18:00" or "until released"
    into (epoch seconds or None for no expiry, a label to show). A number is seconds from now.
    Raises ValueError with a message a user can act on."""
    if text is None:
        return None, "until released"
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if text <= 0:
            raise ValueError("an override needs a positive duration")
        return now + float(text), f"for {fmt_dur(float(text))}"
    t = " ".join(str(text).strip().lower().split())
    if t in ("", "until released", "indefinitely", "forever", "until further notice", "manual", "none"):
        return None, "until released"
    m = _FOR_RE.match(t)
    if m:
        secs = float(m.group(1)) * _UNIT_S[m.group(2)]
        if secs <= 0:
            raise ValueError(f"{text!r}: the duration must be positive")
        return now + secs, f"for {fmt_dur(secs)}"
    m = _MULTI_RE.match(t)
    if m and any(m.groups()):
        secs = sum(int(x or 0) * k for x, k in zip(m.groups(), (3600, 60, 1)))
        if secs <= 0:
            raise ValueError(f"{text!r}: the duration must be positive")
        return now + secs, f"for {fmt_dur(secs)}"
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz or "UTC")
    body = t[6:] if t.startswith("until ") else t
    if body in ("sunset", "sunrise"):
        fn = sunset if body == "sunset" else sunrise
        if fn is None:
            raise ValueError(f"{text!r}: {body} is unknown here (set site latitude and longitude)")
        ts = fn(now)
        if ts is None or ts <= now:
            raise ValueError(f"{text!r}: no {body} ahead to wait for")
        return float(ts), f"until {body} {datetime.fromtimestamp(ts, zone):%H:%M}"
    m = _UNTIL_TIME_RE.match(t) if t.startswith("until ") or ":" in t else None
    if m:
        hh, mm = int(m.group(1)), int(m.group(2) or 0)
        if m.group(3) == "pm" and hh < 12:
            hh += 12
        elif m.group(3) == "am" and hh == 12:
            hh = 0
        if not (0 <= hh <= 23 and 0 <= mm <= 59):
            raise ValueError(f"{text!r}: not a time of day")
        local = datetime.fromtimestamp(now, zone)
        target = local.replace(hour=hh, minute=mm, second=0, microsecond=0)
        if target.timestamp() <= now:
            target = (target.replace(tzinfo=None) + timedelta(days=1)).replace(tzinfo=zone)
        return target.timestamp(), f"until {hh:02d}:{mm:02d}"
    if t.startswith("until "):
        try:
            dt = datetime.fromisoformat(body.replace(" ", "T", 1).upper())
        except ValueError:
            dt = None
        if dt is not None:
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=zone)
            ts = dt.timestamp()
            if ts <= now:
                raise ValueError(f"{text!r}: that time has already passed")
            return ts, f"until {dt.astimezone(zone):%Y-%m-%d %H:%M}"
    raise ValueError(f"{text!r}: expected 'for 2 h', 'for 30 min', 'until 18:00', 'until sunset' "
                     "or 'until released'")


def finite_number(v: Any) -> float | None:
    """A real, finite number (not a bool, not NaN or inf), as float; else None."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    v = float(v)
    return v if math.isfinite(v) else None


MODE_OF_KIND = {"force_on": "on", "force_off": "off", "power": "power"}


def override_refusal(mode: str, watts: Any, caps: Any, miner: str = "") -> str:
    """Can this miner take this override at all (what the decider and the fleet would do)?
    ``mode``: on | off | power; ``caps``: miners.model.Capabilities, or None when not known.
    '' when it can, else why not (engine/requests.py, and the decider for saved overrides)."""
    who = f"{miner}: " if miner else ""
    if mode == "power":
        w = finite_number(watts)
        if w is None:
            return f"{who}a power override needs a finite number of watts, got {watts!r:.40}"
        if w <= 0:
            return f"{who}a power override needs watts > 0, got {w:g}"
    if caps is None:
        return ""
    if caps.monitor_only or not caps.controllable:
        return f"{who}monitor only: the console never commands this miner"
    if mode == "off" and not caps.on_off:
        return f"{who}this miner cannot be stopped (no start/stop on it)"
    if mode == "power":
        if not (caps.power_target or caps.levels):
            return f"{who}this miner has no power target or levels (on/off only)"
        lo, hi = caps.lowest_w, caps.highest_w
        w = float(watts)
        if hi > 0 and not lo - 0.5 <= w <= hi + 0.5:
            return f"{who}{w:.0f} W is outside this miner's range ({lo:.0f}–{hi:.0f} W)"
    return ""



@dataclass(frozen=True, slots=True)
class Override:
    kind: str                      # force_on | force_off | power | pause | observe
    miner: str | None = None       # None: global
    watts: float | None = None     # for kind "power"
    until: float | None = None     # epoch seconds; None: until released
    created: float = 0.0
    label: str = ""                # "for 2:00:00", "until 18:00", "until sunset 20:41"
    by: str = "user"

    def remaining_s(self, now: float) -> float | None:
        return None if self.until is None else max(0.0, self.until - now)

    def expired(self, now: float) -> bool:
        return self.until is not None and now >= self.until

    def describe(self, now: float) -> str:
        """'forced off by user, 1:59:12 left' / 'fixed power 1800 W by user, until released'."""
        what = _LABEL[self.kind]
        if self.kind == "power" and self.watts is not None:
            what = f"fixed power {self.watts:.0f} W"
        rem = self.remaining_s(now)
        tail = "until released" if rem is None else f"{fmt_dur(rem)} left"
        return f"{what} by {self.by}, {tail}"

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_dict(d: dict) -> "Override":
        kind = str(d["kind"])
        if kind not in KINDS:
            raise ValueError(f"unknown override kind {kind!r}")
        return Override(kind=kind, miner=d.get("miner"), watts=None if d.get("watts") is None else float(d["watts"]),
                        until=None if d.get("until") is None else float(d["until"]),
                        created=float(d.get("created") or 0.0), label=str(d.get("label") or ""),
                        by=str(d.get("by") or "user"))


def _saved_refusal(ov: "Override") -> str:
    if ov.until is not None and not math.isfinite(ov.until):
        return "its end time is not a number"
    if ov.kind == "power":
        return override_refusal("power", ov.watts, None)
    if ov.watts is not None and finite_number(ov.watts) is None:
        return "its power is not a number"
    return ""


@dataclass(frozen=True, slots=True)
class OverrideEvent:
    kind: str          # "set" | "released" | "expired" | "dropped"
    override: Override
    message: str


class Overrides:
    """The active overrides: at most one per miner, at most one of each global kind."""

    def __init__(self, tz: str | ZoneInfo = "UTC", sunset: SunFn | None = None, sunrise: SunFn | None = None) -> None:
        self.tz = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz or "UTC")
        self.sunset = sunset
        self.sunrise = sunrise
        self._miner: dict[str, Override] = {}
        self._global: dict[str, Override] = {}
        self._next_expiry: float | None = None

    # --- changing ---------------------------------------------------------------------------
    def set(self, kind: str, *, now: float, miner: str | None = None, watts: float | None = None,
            expiry: str | float | None = "for 1 h", by: str = "user") -> Override:
        if kind not in KINDS:
            raise ValueError(f"unknown override {kind!r} (expected one of {', '.join(KINDS)})")
        if kind in MINER_KINDS and not miner:
            raise ValueError(f"override {kind} needs a miner")
        if kind in GLOBAL_KINDS and miner:
            raise ValueError(f"override {kind} applies to the whole fleet, not to one miner")
        if kind == "power":
            w = finite_number(watts)
            if w is None or w <= 0:
                raise ValueError("a fixed-power override needs a positive, finite power in watts")
        until, label = parse_expiry(expiry, now, self.tz, self.sunset, self.sunrise)
        ov = Override(kind, miner, float(watts) if watts is not None else None, until, now, label, by)
        if miner:
            self._miner[miner] = ov
        else:
            self._global[kind] = ov
        self._recompute()
        return ov

    def release(self, *, now: float, miner: str | None = None, kind: str | None = None) -> list[Override]:
        """Release a miner's override, a global kind, or (neither given) everything."""
        out: list[Override] = []
        if miner:
            ov = self._miner.pop(miner, None)
            if ov:
                out.append(ov)
        elif kind:
            ov = self._global.pop(kind, None)
            if ov:
                out.append(ov)
        else:
            out = list(self._miner.values()) + list(self._global.values())
            self._miner.clear()
            self._global.clear()
        self._recompute()
        return out

    def expire(self, now: float) -> list[OverrideEvent]:
        """Drop the overrides whose time is up; cheap when nothing is due (the hot path)."""
        if self._next_expiry is None or now < self._next_expiry:
            return []
        events = []
        for store in (self._miner, self._global):
            for key, ov in list(store.items()):
                if ov.expired(now):
                    del store[key]
                    who = f"{ov.miner}: " if ov.miner else ""
                    events.append(OverrideEvent("expired", ov, f"{who}{_LABEL[ov.kind]} ({ov.label}) expired, "
                                                              "back to automatic"))
        self._recompute()
        return events

    def _recompute(self) -> None:
        ts = [o.until for o in (*self._miner.values(), *self._global.values()) if o.until is not None]
        self._next_expiry = min(ts) if ts else None

    # --- reading ----------------------------------------------------------------------------
    def for_miner(self, name: str) -> Override | None:
        return self._miner.get(name) if self._miner else None

    def global_(self, kind: str) -> Override | None:
        return self._global.get(kind) if self._global else None

    def __bool__(self) -> bool:
        return bool(self._miner or self._global)

    def all(self) -> list[Override]:
        return list(self._global.values()) + list(self._miner.values())

    def view(self, now: float) -> dict:
        """For the UI: {key: {kind, miner, watts, label, remaining_s, text}}; key is the miner or the kind."""
        out = {}
        for ov in self.all():
            out[ov.miner or ov.kind] = {"kind": ov.kind, "miner": ov.miner, "watts": ov.watts, "until": ov.until,
                                        "label": ov.label, "remaining_s": ov.remaining_s(now),
                                        "text": ov.describe(now)}
        return out

    # --- persistence ------------------------------------------------------------------------
    def export(self) -> list[dict]:
        return [ov.to_dict() for ov in self.all()]

    def load(self, rows: Iterable[dict], now: float | None = None) -> list[OverrideEvent]:
        """Replace the overrides with persisted rows. Rows that expired while we were down are dropped
        and returned as 'expired' events when ``now`` is given."""
        self._miner.clear()
        self._global.clear()
        events = []
        for d in rows or ():
            try:
                ov = Override.from_dict(d)
            except (KeyError, TypeError, ValueError):
                continue
            bad = _saved_refusal(ov)
            if bad:
                # saved by an older version that let it through: never apply it (issue 16)
                who = f"{ov.miner}: " if ov.miner else ""
                events.append(OverrideEvent("dropped", ov, f"{who}saved override dropped: {bad}"))
                continue
            if now is not None and ov.expired(now):
                who = f"{ov.miner}: " if ov.miner else ""
                events.append(OverrideEvent("expired", ov, f"{who}{_LABEL[ov.kind]} ({ov.label}) expired "
                                                           "while stopped, back to automatic"))
                continue
            if ov.miner:
                self._miner[ov.miner] = ov
            else:
                self._global[ov.kind] = ov
        self._recompute()
        return events

    @classmethod
    def restore(cls, rows: Iterable[dict], tz: str | ZoneInfo = "UTC", sunset: SunFn | None = None,
                now: float | None = None) -> "Overrides":
        ov = cls(tz, sunset)
        ov.load(rows, now)
        return ov
