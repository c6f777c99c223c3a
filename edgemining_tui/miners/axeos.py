"""Bitaxe / ESP-Miner (AxeOS) control, which pyasic 0.79 does not implement (its stop, resume and
power-limit calls return False and send nothing). The requests go through pyasic's own AxeOS web
client, to the routes ESP-Miner's ``http_server.c`` registers:

- ``POST /api/system/pause`` / ``/api/system/resume``: AxeOS v2.14.0 and later; such firmware
  also reports ``miningPaused`` in ``/api/system/info``, which is how we tell it has them;
- ``GET /api/system/asic`` ``frequencyOptions``: v2.7.0 and later; the options become levels;
- ``PATCH /api/system {"frequency": MHz}``: answered 200 with an empty body, applied live by the
  firmware's power-management task; read back from ``frequency`` in the info.

Firmware with neither stays monitor-only, and ``why_limited`` says why.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .model import Level


@dataclass(frozen=True, slots=True)
class AxeosControl:
    firmware: str | None
    can_pause: bool
    frequencies_mhz: tuple[float, ...]
    why_limited: str = ""


def level_name(mhz: float) -> str:
    return f"{mhz:g} MHz"


async def probe(web: Any) -> tuple[AxeosControl, dict]:
    """What this firmware lets us control, and the info reply it was judged from."""
    info = await web.system_info()
    firmware = str(info.get("version") or "") or None
    can_pause = "miningPaused" in info
    freqs: tuple[float, ...] = ()
    try:
        asic = await web.asic_info()
        freqs = tuple(sorted({float(f) for f in asic.get("frequencyOptions") or () if _positive(f)}))
    except Exception:  # noqa: BLE001  (404 on firmware before v2.7.0: pyasic raises APIError)
        freqs = ()
    why = ""
    if not can_pause and not freqs:
        why = (f"AxeOS {firmware or '(unknown version)'} offers neither pause/resume (v2.14.0 and later) "
               "nor a frequency list (v2.7.0 and later): update the firmware to control it")
    elif not can_pause:
        why = f"AxeOS {firmware or '(unknown version)'} has no pause/resume (v2.14.0 and later): frequency only"
    return AxeosControl(firmware, can_pause, freqs, why), info


def levels(ctrl: AxeosControl, info: dict, max_w: float) -> tuple[Level, ...]:
    """Frequency options as power levels: watts scale with frequency at a fixed core voltage,
    from what it draws now at its present frequency (or its nominal maximum when idle)."""
    if not ctrl.frequencies_mhz:
        return ()
    top = ctrl.frequencies_mhz[-1]
    power_w = _num(info.get("power"))
    now_mhz = _num(info.get("frequency"))
    paused = bool(info.get("miningPaused"))
    if power_w and now_mhz and power_w > 1.0 and not paused:
        per_mhz = power_w / now_mhz
    else:
        per_mhz = (max_w or _num(info.get("maxPower")) or 0.0) / top
    return tuple(Level(level_name(f), round(per_mhz * f, 1)) for f in ctrl.frequencies_mhz)


async def set_paused(web: Any, paused: bool) -> tuple[bool, str]:
    reply = await web.send_command("system/pause" if paused else "system/resume", post=True)
    msg = str((reply or {}).get("message") or "")
    return True, msg.lower() or "accepted"


async def set_frequency(web: Any, mhz: float) -> tuple[bool, str]:
    from pyasic.errors import APIError
    try:
        await web.update_settings(frequency=int(round(mhz)))
    except APIError as e:
        # ESP-Miner answers a good PATCH with 200 and no body, which pyasic reports as a decode error
        if "empty response" not in str(e):
            raise
    return True, "accepted"


@dataclass(frozen=True, slots=True)
class AxeosReading:
    paused: bool | None
    frequency_mhz: float | None
    chip_temp_c: float | None     # hottest ASIC (temp, temp2 where the board has two)
    board_temp_c: float | None    # voltage regulator
    firmware: str | None
    shares_accepted: int | None = None
    shares_rejected: int | None = None
    stratum_user: str | None = None


def reading(info: dict) -> AxeosReading:
    chips = [t for t in (_num(info.get("temp")), _num(info.get("temp2"))) if t is not None and t > 0]
    paused = info.get("miningPaused")
    return AxeosReading(
        paused=bool(paused) if isinstance(paused, bool) else None,
        frequency_mhz=_num(info.get("frequency")),
        chip_temp_c=max(chips) if chips else None,
        board_temp_c=_num(info.get("vrTemp")),
        firmware=str(info.get("version") or "") or None,
        shares_accepted=_count(info.get("sharesAccepted")), shares_rejected=_count(info.get("sharesRejected")),
        stratum_user=str(info.get("stratumUser") or "") or None)


def _count(x: Any) -> int | None:
    v = _num(x)
    return int(v) if v is not None and v >= 0 else None


def _num(x: Any) -> float | None:
    if isinstance(x, bool) or x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if v == v and abs(v) != float("inf") else None


def _positive(x: Any) -> bool:
    v = _num(x)
    return v is not None and v > 0
