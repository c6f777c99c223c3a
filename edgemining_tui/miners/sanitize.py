"""What a miner reports, checked at the boundary (issue 16): a value that is not a finite number,
or is absurd for a home ASIC, becomes None with its reason in ``MinerSample.invalid``; it never
reaches a decision as a number. Every driver's sample passes through here (miners/fleet.py).

Bounds are wide on purpose (a unit or parsing fault, never a plausible reading): the largest home
machines draw ~10 kW, hash ~1 PH/s, run ~10,000 rpm fans; chips and boards live in 0–150 °C.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from .model import Board, MinerSample

POWER_MAX_W = 50_000.0          # a whole rack behind one controller is still below this
HASHRATE_MAX_THS = 10_000.0     # 10 PH/s
TEMP_RANGE_C = (-40.0, 200.0)
FAN_MAX_RPM = 100_000
UPTIME_MAX_S = 50 * 365 * 86400.0
_TEXT_MAX = 200


def _check(v: Any, lo: float, hi: float, name: str, why: list[str], unit: str = "") -> float | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        why.append(f"{name}: {str(v)[:20]!r} is not a number")
        return None
    f = float(v)
    if not math.isfinite(f):
        why.append(f"{name}: {f} is not a finite number")
        return None
    if not lo <= f <= hi:
        why.append(f"{name}: {f:g}{unit} is outside {lo:g}–{hi:g}{unit}")
        return None
    return f


def clean_text(s: Any, n: int = _TEXT_MAX) -> Any:
    """Control characters (terminal escape codes) out, length bounded: names and messages from a
    miner go to logs and screens."""
    if not isinstance(s, str):
        return s
    if s.isprintable() and len(s) <= n:
        return s
    out = "".join(c if c.isprintable() else "?" for c in s)
    return out if len(out) <= n else out[: n - 1] + "…"


def _in(v: Any, lo: float, hi: float) -> bool:
    """What ``_check`` passes unchanged, for plain floats and ints (NaN and infinities fail the
    comparison; bools, subclasses and anything else go the long way)."""
    return v is None or ((type(v) is float or type(v) is int) and lo <= v <= hi)


def _text_ok(v: Any) -> bool:
    """What ``clean_text`` hands back as it is."""
    return type(v) is not str or (len(v) <= _TEXT_MAX and v.isprintable())


_T_LO, _T_HI = TEMP_RANGE_C


def _clean(s: MinerSample) -> bool:
    """True when :func:`sanitize` would hand the sample back as it is: every miner is read every
    cycle and nearly every sample is clean, so this is checked first without building reasons."""
    if not (_in(s.power_w, 0.0, POWER_MAX_W) and _in(s.power_limit_w, 0.0, POWER_MAX_W)
            and _in(s.hashrate_ths, 0.0, HASHRATE_MAX_THS) and _in(s.temp_c, _T_LO, _T_HI)
            and _in(s.chip_temp_c, _T_LO, _T_HI) and _in(s.fan_rpm, 0, FAN_MAX_RPM)
            and _in(s.uptime_s, 0.0, UPTIME_MAX_S)):
        return False
    for b in s.boards:
        if not (_in(b.hashrate_ths, 0.0, HASHRATE_MAX_THS) and _in(b.temp_c, _T_LO, _T_HI)
                and _in(b.chip_temp_c, _T_LO, _T_HI)):
            return False
    return (_text_ok(s.level) and _text_ok(s.model) and _text_ok(s.firmware) and _text_ok(s.error)
            and _text_ok(s.pool_user) and type(s.errors) is tuple and all(map(_text_ok, s.errors))
            and type(s.pools) is tuple and all(map(_text_ok, s.pools)))


def sanitize(s: MinerSample) -> MinerSample:
    """The sample with every invalid value None and the reasons in ``invalid`` (same object if clean)."""
    return s if _clean(s) else _checked(s)


def _checked(s: MinerSample) -> MinerSample:
    """Every value checked, with its reason when it is dropped."""
    why: list[str] = []
    power = _check(s.power_w, 0.0, POWER_MAX_W, "power_w", why, " W")
    limit = _check(s.power_limit_w, 0.0, POWER_MAX_W, "power_limit_w", why, " W")
    hr = _check(s.hashrate_ths, 0.0, HASHRATE_MAX_THS, "hashrate_ths", why, " TH/s")
    temp = _check(s.temp_c, *TEMP_RANGE_C, "temp_c", why, " °C")
    chip = _check(s.chip_temp_c, *TEMP_RANGE_C, "chip_temp_c", why, " °C")
    fan = _check(s.fan_rpm, 0, FAN_MAX_RPM, "fan_rpm", why, " rpm")
    up = _check(s.uptime_s, 0.0, UPTIME_MAX_S, "uptime_s", why, " s")
    boards = s.boards
    if boards:
        fixed = []
        for b in boards:
            bw: list[str] = []
            nb = Board(b.slot, _check(b.hashrate_ths, 0.0, HASHRATE_MAX_THS, f"board {b.slot} hashrate_ths", bw),
                       _check(b.temp_c, *TEMP_RANGE_C, f"board {b.slot} temp_c", bw),
                       _check(b.chip_temp_c, *TEMP_RANGE_C, f"board {b.slot} chip_temp_c", bw), b.chips)
            fixed.append(nb if bw else b)
            why.extend(bw)
        boards = tuple(fixed)
    texts = {k: clean_text(getattr(s, k)) for k in ("level", "model", "firmware", "error", "pool_user")}
    errors = tuple(clean_text(e) for e in s.errors)
    pools = tuple(clean_text(p) for p in s.pools)
    changed = why or any(texts[k] is not getattr(s, k) for k in texts) or errors != s.errors or pools != s.pools
    if not changed:
        return s
    return replace(s, power_w=power, power_limit_w=limit, hashrate_ths=hr, temp_c=temp, chip_temp_c=chip,
                   fan_rpm=None if fan is None else int(fan), uptime_s=up, boards=boards, errors=errors,
                   pools=pools, invalid=s.invalid + tuple(why), **texts)
