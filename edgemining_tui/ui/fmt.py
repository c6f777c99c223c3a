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


def shown_w(w: float | None) -> float | None:
    """Site power at the precision the console shows it (see ``power``): readings move by tens of
    watts every cycle, and a picture keyed on the raw values repainted on nearly every one."""
    if w is None:
        return None
    return float(round(w, -2)) if abs(w) >= 999.5 else float(round(w))


def power(w: float | None) -> str:
    """Site power as the flow picture, the decision sentence and the status line show it: kW with
    one decimal from 1 kW, as evcc and Home Assistant's energy card do, whole watts below (the
    fleet table keeps ``watts``: a miner's target is set in tens of watts)."""
    if w is None:
        return "—"
    w = shown_w(w)
    if abs(w) >= 1000:
        return f"{w / 1000:.1f} kW"
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
                what = TIMER_WORDS.get(what, what.replace("_", " "))
                when = "" if rem is None else (f" in {duration(float(rem))}" if rem > 0 else " now")
                extra = f" ({t['starts_today']} starts today)" if t.get("starts_today") else ""
                out.append(f"{name}: {what}{when}{extra}")
            else:
                out.append(f"{name}: {t}")
    return out


# --- plain words for the decider's terms (the UI never shows its internal identifiers) -------------
TERM_WORDS = {
    "surplus": "follows the surplus", "enable_timer": "waiting to start", "disable_timer": "about to pause",
    "min_on": "minimum run time", "min_off": "minimum rest time", "max_starts": "starts per day used up",
    "min_interval": "too soon since the last change", "soc_guard": "battery kept for the house",
    "import_cap": "grid import limit", "heat": "room warm enough", "price": "price too high",
    "rule": "a rule", "override": "manual override", "observe": "observe only", "paused": "automation paused",
    "stale": "readings missing", "offline": "offline", "monitor_only": "watched only, never commanded",
    "manual": "manual mode", "idle": "no surplus",
}
TIMER_WORDS = {"enable": "starts", "enable_timer": "starts", "disable": "pauses", "disable_timer": "pauses",
               "min_on": "may stop", "min_off": "may start again", "min_interval": "may change power",
               "max_starts": "may start again"}
# allocator terms worth showing, in this order, with their plain label
TERM_LABELS = (
    ("available_w", "Power the miners may use"), ("left_w", "Not given to any miner"),
    ("reserved_w", "Set aside for miners starting"), ("headroom_w", "Safety margin kept unused"),
    ("import_w", "Grid import now"), ("battery_charge_w", "Battery now"),
    ("battery_kept_w", "Kept for the battery"), ("battery_soc_pct", "Battery charge"),
    ("import_cap_w", "Grid import allowed for mining"), ("stale_for_s", "Readings missing for"),
    ("failsafe", "Fail-safe"), ("reserve", "Forecast reserve"), ("heat", "Heat"),
    ("mining_value", "Mining value"),
)


def term_words(term: str | None) -> str:
    return TERM_WORDS.get(term or "", (term or "").replace("_", " "))


def plain_terms(terms: dict) -> list[tuple[str, str]]:
    """The allocator's terms as (label, value) in plain words; empty and internal ones are left out."""
    out = []
    for key, text in TERM_LABELS:
        if key not in terms:
            continue
        v = terms[key]
        if v is None or v == "" or v is False or (isinstance(v, (dict, list, tuple)) and not v):
            if key == "import_cap_w":
                out.append((text, "none (only surplus)"))
            continue
        if key == "stale_for_s" and not v:
            continue
        if key == "battery_charge_w" and isinstance(v, (int, float)):
            out.append((text, "idle" if abs(v) < 0.5 else f"charging {watts(v)}" if v > 0
                        else f"discharging {watts(-v)}"))
            continue
        if key == "reserve" and isinstance(v, dict):
            out.append((text, f"keeps {v.get('keeps_pct', 0):.0f} % of the battery; needs "
                              f"{(v.get('needs_wh') or 0) / 1000:.1f} kWh, {(v.get('coming_wh') or 0) / 1000:.1f} kWh "
                              "of sun forecast" + ("; careful: the battery ran out last night" if v.get("careful")
                                                   else "")
                              + ("; the battery was full yesterday" if v.get("full_yesterday") else "")))
            continue
        if isinstance(v, dict):
            out.append((text, ", ".join(f"{k} {'yes' if x is True else 'no' if x is False else term_value(k, x)}"
                                        for k, x in list(v.items())[:4])))
            continue
        if key == "stale_for_s":
            out.append((text, duration(float(v))))
            continue
        out.append((text, term_value(key, v)))
    return out
