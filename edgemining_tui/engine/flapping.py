"""Fault events without a row per flap (issue 16).

A miner that reboots every few seconds would otherwise write a "fault" and a "fault_cleared" event
per flap (~24,000 rows a day). Per fault key, appearances are counted in a sliding window; from
``threshold`` appearances within ``window_s`` the key is *flapping*:

- one ``flapping`` event when it starts, with the count;
- while it flaps: no per-flap events; the fault stays in ``EngineState.faults`` as
  "flapping: N flaps …" (so the screen and the notification hub see one steady fault, not a
  storm); at most one ``flapping`` event an hour with the running count;
- one ``flapping_ended`` event with the total once no flap was seen for ``window_s``.

So a key that flaps forever costs at most 2 + 24 rows a day.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from ..format import duration


@dataclass
class _Key:
    seen: deque = field(default_factory=deque)    # appearance times inside the window
    flapping_since: float | None = None
    flaps: int = 0                                 # appearances since it started flapping
    reported_flaps: int = 0
    last_change: float = 0.0
    last_report: float = 0.0
    last_msg: str = ""


class FlapGuard:
    def __init__(self, threshold: int = 3, window_s: float = 600.0, report_every_s: float = 3600.0) -> None:
        self.threshold = threshold
        self.window_s = window_s
        self.report_every_s = report_every_s
        self._keys: dict[str, _Key] = {}

    def keys(self) -> list[str]:
        return list(self._keys)

    def flapping(self, key: str) -> bool:
        k = self._keys.get(key)
        return k is not None and k.flapping_since is not None

    def appeared(self, key: str, msg: str, now: float) -> tuple[str, str] | None:
        """A fault appeared. Returns the event to emit, as (kind, message); None: stay quiet."""
        k = self._keys.setdefault(key, _Key())
        k.last_change = now
        k.last_msg = msg
        if k.flapping_since is not None:
            k.flaps += 1
            return None
        k.seen.append(now)
        while k.seen and now - k.seen[0] > self.window_s:
            k.seen.popleft()
        if len(k.seen) >= self.threshold:
            k.flapping_since = k.last_report = now
            k.flaps = k.reported_flaps = len(k.seen)
            k.seen.clear()
            return "flapping", (f"flapping: {msg} {k.flaps} times in {duration(self.window_s)} "
                                f"(one event for all flaps until it settles)")
        return "fault", msg

    def cleared(self, key: str, msg: str, now: float) -> tuple[str, str] | None:
        k = self._keys.get(key)
        if k is not None:
            k.last_change = now
            if k.flapping_since is not None:
                return None
        return "fault_cleared", f"cleared: {msg}"

    def shown(self, key: str) -> str | None:
        """While flapping, what EngineState.faults says for this key (whether the fault is on now or not)."""
        k = self._keys.get(key)
        if k is None or k.flapping_since is None:
            return None
        return f"flapping ({k.flaps} flaps so far): {k.last_msg}"

    def tick(self, now: float, active: set[str]) -> list[tuple[str, str, str, str]]:
        """Once a cycle: (key, kind, severity, message) for hourly counts and ends of flapping."""
        out = []
        for key, k in list(self._keys.items()):
            if k.flapping_since is None:
                if not k.seen or now - k.seen[-1] > self.window_s:
                    del self._keys[key]          # forget quiet keys: the map stays small
                continue
            if now - k.last_change > self.window_s:
                state = "the fault is still on" if key in active else "it is fine now"
                out.append((key, "flapping_ended", "info",
                            f"stopped flapping after {k.flaps} flaps in {duration(now - k.flapping_since)}; "
                            f"{state}: {k.last_msg}"))
                del self._keys[key]
            elif now - k.last_report >= self.report_every_s:
                out.append((key, "flapping", "warning",
                            f"still flapping: {k.flaps - k.reported_flaps} flaps in the last "
                            f"{duration(now - k.last_report)}, {k.flaps} since it started: {k.last_msg}"))
                k.last_report = now
                k.reported_flaps = k.flaps
        return out
