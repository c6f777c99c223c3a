"""Small formatting helpers for the console (plain strings, no Textual)."""
from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from ..format import duration


def watts(w: float | None) -> str:
    if w is None:
        return "—"
    if abs(w) >= 1000:
        return f"{w / 1000:.2f} kW"
    return f"{w:.0f} W"


def age(s: float | None) -> str:
    if s is None:
        return "—"
    s = max(0.0, s)
    if s < 90:
        return f"{s:.0f}s"
    if s < 5400:
        return f"{s / 60:.0f}m"
    return f"{s / 3600:.0f}h"


def clock(ts: float | None, tz: tzinfo) -> str:
    return "—" if ts is None else datetime.fromtimestamp(ts, tz).strftime("%H:%M:%S")


def num(x: Any, fmt: str = "{:.1f}", none: str = "—") -> str:
    if x is None:
        return none
    try:
        return fmt.format(x)
    except (TypeError, ValueError):
        return str(x)


def term_value(key: str, value: Any) -> str:
    """Render an allocator term or timer whatever its shape: watts, seconds, flags or words."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        k = key.lower()
        if k.endswith("_w") or k.endswith("watts"):
            return watts(float(value))
        if k.endswith("_s") or k.endswith("_in") or "timer" in k or k.endswith("_left"):
            return f"in {duration(float(value))}" if value > 0 else "now"
        if k.endswith("_pct") or k.endswith("soc"):
            return f"{value:.0f} %"
        if k.endswith("_wh"):
            return f"{value / 1000:.1f} kWh"
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, dict):
        return ", ".join(f"{label(k)} {term_value(k, v)}" for k, v in list(value.items())[:6])
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value[:6])
    return str(value)


def label(key: str) -> str:
    k = key
    for suffix in ("_w", "_s", "_pct", "_wh"):
        if k.endswith(suffix):
            k = k[: -len(suffix)]
    return k.replace("_", " ")


def parse_duration_text(text: str) -> dict:
    """'2h', '90m', '1h30m', 'for 2 h' -> {'for_s': s}; 'until 18:00', '18:00', 'sunset' -> {'until': ...};
    '' or 'until released' -> {} (no expiry). Raises ValueError with a message a user can act on."""
    from ..config.types import parse_duration
    t = " ".join(text.strip().lower().split())
    if t in ("", "until released", "released", "forever", "indefinitely"):
        return {}
    if t.startswith("for "):
        t = t[4:].replace(" ", "")
    body = t[6:] if t.startswith("until ") else t
    if body in ("sunset", "sunrise"):
        return {"until": body}
    if ":" in body:
        hh, _, mm = body.partition(":")
        if hh.isdigit() and mm.isdigit() and 0 <= int(hh) < 24 and 0 <= int(mm) < 60:
            return {"until": f"{int(hh):02d}:{int(mm):02d}"}
        raise ValueError(f"{text!r}: expected a time like 18:00")
    try:
        secs = parse_duration(t.replace(" ", "").replace("min", "m"))
    except ValueError:
        raise ValueError(f"{text!r}: expected '2h', '30m', 'until 18:00' or 'until sunset'") from None
    if secs <= 0:
        raise ValueError("the duration must be positive")
    return {"for_s": secs}


def describe_expiry(args: dict) -> str:
    if "for_s" in args:
        return f"for {duration(args['for_s'])}"
    if "until" in args:
        return f"until {args['until']}"
    return "until released"


def timer_texts(timers: Any) -> list[str]:
    """Allocator timers ({miner: {action, remaining_s, ...}}) as 'desk-bitaxe: enable in 0:15'."""
    out = []
    if isinstance(timers, dict):
        for name, t in timers.items():
            if isinstance(t, dict):
                rem = t.get("remaining_s")
                what = t.get("action") or t.get("kind") or "timer"
                when = "" if rem is None else (f" in {duration(float(rem))}" if rem > 0 else " now")
                extra = f" ({t['starts_today']} starts today)" if t.get("starts_today") else ""
                out.append(f"{name}: {what}{when}{extra}")
            else:
                out.append(f"{name}: {t}")
    return out
