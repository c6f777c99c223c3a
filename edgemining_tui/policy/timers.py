"""Per-miner control state: what we asked for, the enable/disable timers, and the hardware-protection
clocks (last start/stop/change, starts today) that must survive a restart.

Plain ``__slots__`` objects mutated in place: the backtest calls ``decide()`` half a million times.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

# what export_state() keeps for a miner (timers that protect hardware, not the enable/disable countdowns)
_PERSIST = ("on", "setpoint_w", "level", "last_start", "last_stop", "last_change", "starts_day",
            "starts_today")


class MinerState:
    __slots__ = ("on", "setpoint_w", "level", "last_start", "last_stop", "last_change", "starts_day",
                 "starts_today", "enable_since", "disable_since", "awaiting", "sent_kind", "sent_w",
                 "sent_level", "sent_ts", "attempts", "known", "restored", "stopped_by",
                 "dip_wh", "dip_ts")

    def __init__(self) -> None:
        self.on = False                     # what we believe / intend: mining or not
        self.setpoint_w: float | None = None
        self.level: str | None = None
        self.last_start: float | None = None
        self.last_stop: float | None = None
        self.last_change: float | None = None
        self.starts_day = ""
        self.starts_today = 0
        self.enable_since: float | None = None
        self.disable_since: float | None = None
        self.awaiting = False               # an on/off command of ours is not confirmed yet
        self.sent_kind: str | None = None   # the last command we emitted
        self.sent_w: float | None = None
        self.sent_level: str | None = None
        self.sent_ts: float | None = None
        self.attempts = 0                   # sends of the unconfirmed on/off command
        self.restored = False               # came from export_state() (a restart)
        self.known = False                  # reconciled with at least one sample since (re)start
        self.stopped_by = ""                # "failsafe" when the fail-safe paused it
        self.dip_wh = 0.0                   # Wh the running dip (disable timer) has drawn beyond the surplus
        self.dip_ts = 0.0                   # ... counted up to this time

    def export(self) -> dict:
        return {k: getattr(self, k) for k in _PERSIST}

    @classmethod
    def restore(cls, d: dict) -> "MinerState":
        st = cls()
        for k in _PERSIST:
            if k in d:
                setattr(st, k, d[k])
        st.on = bool(st.on)
        st.restored = True
        st.starts_today = int(st.starts_today or 0)
        st.starts_day = str(st.starts_day or "")
        return st

    def starts_on(self, day: str) -> int:
        return self.starts_today if self.starts_day == day else 0

    def count_start(self, day: str) -> None:
        if self.starts_day != day:
            self.starts_day = day
            self.starts_today = 0
        self.starts_today += 1


class DayKey:
    """The site-local date of a timestamp, recomputed only when midnight passes."""

    __slots__ = ("tz", "_key", "_lo", "_hi")

    def __init__(self, tz: str | ZoneInfo = "UTC") -> None:
        self.tz = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz or "UTC")
        self._key = ""
        self._lo = self._hi = 0.0

    def __call__(self, ts: float) -> str:
        if self._lo <= ts < self._hi:
            return self._key
        dt = datetime.fromtimestamp(ts, self.tz)
        start = dt.replace(hour=0, minute=0, second=0, microsecond=0)
        nxt = (start + timedelta(days=1)).replace(tzinfo=None)
        nxt = nxt.replace(tzinfo=self.tz)
        self._key = start.date().isoformat()
        self._lo = start.timestamp()
        self._hi = nxt.timestamp()
        return self._key


def fmt_dur(s: float) -> str:
    """0:42, 3:10, 1:59:12."""
    s = int(s + 0.999) if s > 0 else 0
    h, r = divmod(s, 3600)
    m, sec = divmod(r, 60)
    if h:
        return f"{h}:{m:02d}:{sec:02d}"
    return f"{m}:{sec:02d}"


def fmt_kw_below(a_w: float, b_w: float) -> str:
    """``a < b`` in kW with just enough decimals that the printed numbers compare the same way
    (never "1.5 kW < 1.5 kW"); whole watts when kW decimals would need more than three."""
    for digits in (1, 2, 3):
        if round(a_w / 1000, digits) < round(b_w / 1000, digits):
            return f"{a_w / 1000:.{digits}f} kW < {b_w / 1000:.{digits}f} kW"
    return f"{a_w:.1f} W < {b_w:.1f} W"


def fmt_kw(w: float) -> str:
    """1.9 kW, 0.4 kW, -0.3 kW (one decimal, for reasons)."""
    return f"{w / 1000:.1f} kW"
