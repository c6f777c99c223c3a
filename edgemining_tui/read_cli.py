"""``edgemining-tui read energy|miners``: read every configured source or miner once and say what it saw.

Like evcc's ``meter`` command: a user checks a new config (signs, units, credentials) before
letting the console act on it. ``read energy`` prints each canonical value with its sign in
words, its age, its source and any error; ``read miners`` prints state, power, hashrate, chip
temperature, firmware and what can be controlled. ``--json`` gives one object for scripts.

Exit codes: 0 it read something, 1 nothing answered, 2 a config error.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
from contextlib import AsyncExitStack
from typing import Any

EXIT_OK, EXIT_NO_ANSWER, EXIT_BAD_INPUT = 0, 1, 2
ENERGY_FIELDS = ("pv_w", "house_w", "grid_import_w", "battery_charge_w", "battery_soc_pct")
# how long push sources (Home Assistant WebSocket, MQTT, Victron) may take to deliver a first value
DEFAULT_WAIT_S = 5.0


def sign_words(field: str, value: float | None) -> str:
    """The canonical sign of a value, in words (what the console will believe)."""
    if value is None:
        return ""
    if field == "grid_import_w":
        return "importing from the grid" if value > 0 else "exporting to the grid" if value < 0 else "grid balanced"
    if field == "battery_charge_w":
        return "battery charging" if value > 0 else "battery discharging" if value < 0 else "battery idle"
    if field == "pv_w":
        return "PV producing" if value > 0 else "PV not producing"
    if field == "house_w":
        return "house consuming"
    if field == "battery_soc_pct":
        return "state of charge"
    return "forecast"


def _unit(field: str) -> str:
    return "%" if field.endswith("_pct") else "Wh" if field.endswith("_wh") else "W"


def _parser(what: str) -> argparse.ArgumentParser:
    from .cli import _Parser, _common
    p = _Parser(prog=f"edgemining-tui read {what}",
                description=f"Read every configured {'energy source' if what == 'energy' else 'miner'} once.")
    _common(p)
    p.add_argument("--json", action="store_true", help="one JSON object instead of text")
    p.add_argument("--wait", type=float, default=DEFAULT_WAIT_S, metavar="S",
                   help=f"how long push sources may take to answer (default {DEFAULT_WAIT_S:g} s)")
    return p


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print("usage: edgemining-tui read {energy,miners} --config FILE [--json]\n\n"
              "Read every configured energy source (energy) or miner (miners) once and show what it saw.\n"
              "edgemining-tui read energy --help (or miners --help) for the options.")
        return EXIT_OK
    if not argv or argv[0] not in ("energy", "miners"):
        print("usage: edgemining-tui read {energy,miners} --config FILE [--json]", file=sys.stderr)
        return EXIT_BAD_INPUT
    what = argv[0]
    args = _parser(what).parse_args(argv[1:])
    from .cli import load
    from .config import ConfigError
    try:
        cfg, path = load(args)
    except ConfigError as e:
        print(f"edgemining-tui: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if cfg is None:
        print(f"edgemining-tui: no config at {path} (pass --config FILE)", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        if what == "energy":
            out, code = asyncio.run(read_energy(cfg, args.wait))
        else:
            out, code = asyncio.run(read_miners(cfg, args.wait))
    except _BadConfig as e:
        print(f"edgemining-tui: {path}: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.json:
        print(json.dumps(out, indent=2, allow_nan=False))
    else:
        print(render_energy(out) if what == "energy" else render_miners(out))
    return code


class _BadConfig(Exception):
    pass


async def _demo(cfg, clock, stack: AsyncExitStack):
    """The demo's loopback site and emulated miners, when the config is the demo's."""
    if cfg.demo is None:
        return None
    from .runtime import demo_time_offset
    from .sim.demo_fleet import start_demo
    rt = await start_demo(cfg, clock, rt_offset=demo_time_offset(cfg, clock))
    stack.push_async_callback(rt.close)
    return rt


# --- energy -------------------------------------------------------------------------------------
async def read_energy(cfg, wait_s: float = DEFAULT_WAIT_S) -> tuple[dict[str, dict], int]:
    from .clock import RealClock
    from .energy.factory import build_source
    clock = RealClock()
    async with AsyncExitStack() as stack:
        demo = await _demo(cfg, clock, stack)
        energy_cfg = demo.energy_cfg if demo is not None else cfg.energy
        if energy_cfg.source in ("demo", "sim") and not energy_cfg.composed:
            raise _BadConfig("energy: no source configured (source: demo needs the demo: section)")
        try:
            source = build_source(energy_cfg, clock)
        except (RuntimeError, ValueError) as e:
            raise _BadConfig(f"energy: {e}") from None
        if cfg.policy.battery.present is False:
            from .energy.composite import WithoutBattery
            source = WithoutBattery(source)      # what the console will believe
        stack.push_async_callback(source.close)
        await source.start()
        loop = asyncio.get_running_loop()
        end = loop.time() + max(0.0, wait_s)
        while True:
            snap = await source.read()
            # push sources deliver after subscribing; polled ones answered already
            if all(r.ok or not _pending(r.error) for r in snap.readings().values()) or loop.time() >= end:
                break
            await asyncio.sleep(0.1)
        now = clock.now()
    out: dict[str, dict] = {}
    for name in ENERGY_FIELDS:
        r = getattr(snap, name)
        usable = r.value is not None and r.error is None
        out[name] = {"value": r.value if usable else None, "error": r.error if not usable else None,
                     "age_s": round(max(0.0, now - r.ts), 3) if usable else None, "source": r.source or None,
                     "sign": sign_words(name, r.value) if usable else None}
    for key, v in snap.forecast.items():
        v = _finite(v)
        out[f"forecast.{key}"] = {"value": v, "error": None if v is not None else "no forecast value",
                                  "age_s": round(max(0.0, now - snap.ts), 3) if v is not None else None,
                                  "source": None, "sign": None}
    answered = any(d["value"] is not None for d in out.values())
    return out, EXIT_OK if answered else EXIT_NO_ANSWER


def _pending(error: str | None) -> bool:
    """An error that only means the push source has not delivered yet."""
    return bool(error) and (" yet" in error or "publishes no" in error)


def render_energy(out: dict[str, dict]) -> str:
    lines = []
    for name, d in out.items():
        if d["value"] is not None:
            v = f"{d['value']:.1f} {_unit(name)}"
            lines.append(f"{name:<38} {v:>12}  {d['sign'] or '':<24} age {d['age_s']:.1f} s  from {d['source'] or '-'}")
        else:
            lines.append(f"{name:<38} {'—':>12}  error: {d['error']}" + (f"  (from {d['source']})" if d.get("source") else ""))
    return "\n".join(lines)


# --- miners -------------------------------------------------------------------------------------
def _control(cap) -> dict[str, Any]:
    return {"controllable": cap.controllable, "on_off": cap.on_off and not cap.monitor_only,
            "power_target": cap.power_target and not cap.monitor_only,
            "min_w": cap.min_w if cap.power_target else None, "max_w": cap.max_w or None,
            "levels": [{"name": lv.name, "watts": lv.watts} for lv in cap.levels],
            "monitor_only": cap.monitor_only, "why_limited": cap.why_limited or None}


def control_words(c: dict[str, Any]) -> str:
    if c["monitor_only"] or not c["controllable"]:
        return "monitor only" + (f" ({c['why_limited']})" if c["why_limited"] else "")
    parts = []
    if c["power_target"]:
        parts.append(f"power target {c['min_w']:.0f}–{c['max_w']:.0f} W")
    if c["levels"]:
        parts.append("levels " + ", ".join(f"{lv['name']} {lv['watts']:.0f} W" for lv in c["levels"]))
    if c["on_off"]:
        parts.append("start/stop")
    text = ", ".join(parts)
    return text + (f" ({c['why_limited']})" if c["why_limited"] else "")


async def read_miners(cfg, wait_s: float = DEFAULT_WAIT_S) -> tuple[dict[str, dict], int]:
    from .clock import RealClock
    from .miners.factory import build_driver
    clock = RealClock()
    async with AsyncExitStack() as stack:
        demo = await _demo(cfg, clock, stack)
        configs = list(demo.miner_cfgs if demo is not None else ()) + [m for m in cfg.miners if m.enabled]
        if not configs:
            raise _BadConfig("miners: none configured")
        drivers = [build_driver(m, clock) for m in configs]
        for d in drivers:
            stack.push_async_callback(d.close)
        samples = await asyncio.gather(*(asyncio.wait_for(d.read(), max(1.0, wait_s) + 10.0) for d in drivers),
                                       return_exceptions=True)
    out: dict[str, dict] = {}
    for d, s in zip(drivers, samples):
        if isinstance(s, BaseException):
            out[d.name] = {"state": "unresponsive", "error": f"{type(s).__name__}: {s}"[:200], "power_w": None,
                           "hashrate_ths": None, "chip_temp_c": None, "temp_c": None, "firmware": None,
                           "model": None, "control": _control(d.capabilities)}
            continue
        out[d.name] = {"state": s.state.value, "power_w": _finite(s.power_w), "hashrate_ths": _finite(s.hashrate_ths),
                       "chip_temp_c": _finite(s.chip_temp_c), "temp_c": _finite(s.temp_c), "firmware": s.firmware, "model": s.model,
                       "error": s.error, "control": _control(d.capabilities)}
    answered = any(m["state"] not in ("offline", "unresponsive", "unknown") for m in out.values())
    return out, EXIT_OK if answered else EXIT_NO_ANSWER


def _finite(v: float | None) -> float | None:
    return v if isinstance(v, (int, float)) and math.isfinite(v) else None


def render_miners(out: dict[str, dict]) -> str:
    def num(v, unit, fmt="{:.0f}"):
        return "—" if v is None else (fmt.format(v) + unit)
    lines = []
    for name, m in out.items():
        lines.append(f"{name}: {m['state']}" + (f" — {m['error']}" if m.get("error") else ""))
        lines.append(f"  power {num(m['power_w'], ' W')}, hashrate {num(m['hashrate_ths'], ' TH/s', '{:.2f}')}, "
                     f"chip {num(m['chip_temp_c'], ' °C', '{:.1f}')}, board {num(m['temp_c'], ' °C', '{:.1f}')}")
        lines.append(f"  {m['model'] or 'model unknown'}, firmware {m['firmware'] or 'unknown'}")
        lines.append(f"  control: {control_words(m['control'])}")
    return "\n".join(lines)

