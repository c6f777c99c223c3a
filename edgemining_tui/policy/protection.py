"""Hardware protection: minimum on/off time and starts per day. Shared by surplus and rules modes."""
from __future__ import annotations

from .config import Timing
from .timers import MinerState, fmt_dur


def min_on_left(st: MinerState, t: Timing, now: float) -> float:
    if st.last_start is None or t.min_on <= 0.0:
        return 0.0
    return t.min_on - (now - st.last_start)


def min_off_left(st: MinerState, t: Timing, now: float) -> float:
    if st.last_stop is None or t.min_off <= 0.0:
        return 0.0
    return t.min_off - (now - st.last_stop)


def start_block(st: MinerState, t: Timing, now: float, day: str) -> tuple[str, str, float] | None:
    """Why a start is not allowed now: (term, reason, seconds left or 0), or None if it is."""
    left = min_off_left(st, t, now)
    if left > 0.0:
        return "min_off", f"min off-time: {fmt_dur(left)} left", left
    n = st.starts_on(day)
    if n >= t.max_starts:
        return "max_starts", f"{n} starts today = max", 0.0
    return None
