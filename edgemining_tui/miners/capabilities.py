"""What each firmware family lets us control through pyasic 0.79.0 (research §1.5), plus config overrides.

The defaults are deliberately conservative: a family whose control path pyasic does not
implement (or implements unreliably) comes out ``monitor_only`` rather than pretending.
"""
from __future__ import annotations

from dataclasses import replace

from .config import CapabilityOverrides, SimulatedSpec
from .model import Capabilities, Level

# Typical S19-class envelope; real ranges vary per model, so docs/miners.md tells users to set
# min_w/max_w in config. Braiins rejects targets outside its range with INVALID_ARGUMENT.
_BRAIINS = Capabilities(on_off=True, power_target=True, min_w=1200.0, max_w=3300.0, step_w=50.0)
# LuxOS: set_power_limit picks the highest *profile* <= W, so expose profiles as levels
# (the driver reads the real profile list at identification).
_LUXOS = Capabilities(on_off=True, power_target=False, max_w=3250.0)
# Avalon Q work levels 0/1/2 (eco/standard/super); watts are nominal wall power.
AVALON_Q_LEVELS = (Level("eco", 800.0), Level("standard", 1300.0), Level("super", 1674.0))
_AVALON = Capabilities(on_off=True, power_target=False, levels=AVALON_Q_LEVELS, max_w=1674.0)
# Bitaxe: pyasic's stop/resume/set_power_limit return False and send nothing.
_BITAXE = Capabilities(on_off=False, power_target=False, max_w=25.0, idle_w=3.0, monitor_only=True)
# Stock Antminer: sleep/normal via send_config, which "always returns True": read-back verifies.
_ANTMINER = Capabilities(on_off=True, power_target=False, max_w=3250.0)
_WHATSMINER = Capabilities(on_off=True, power_target=True, min_w=1000.0, max_w=3600.0, step_w=100.0)
_MONITOR = Capabilities(on_off=False, power_target=False, monitor_only=True)

FAMILY_CAPABILITIES: dict[str, Capabilities] = {
    "braiins": _BRAIINS,
    "luxos": _LUXOS,
    "avalon": _AVALON,
    "bitaxe": _BITAXE,
    "antminer": _ANTMINER,
    "whatsminer": _WHATSMINER,
    "vnish": Capabilities(on_off=True, power_target=False, max_w=3250.0),
    "epic": Capabilities(on_off=True, power_target=False, max_w=3250.0),
    "auradine": Capabilities(on_off=True, power_target=True, min_w=1000.0, max_w=3500.0, step_w=50.0),
}


def family_of_pyasic(miner) -> str:
    """Map a pyasic miner object to our family name, by its backend class (no import of pyasic here)."""
    names = {c.__name__ for c in type(miner).__mro__}
    if "BOSer" in names or "BOSMiner" in names:
        return "braiins"
    if "LUXMiner" in names:
        return "luxos"
    if "AvalonMiner" in names:
        return "avalon"
    if "ESPMiner" in names:
        return "bitaxe"
    if "BTMiner" in names or "BTMinerV2" in names or "BTMinerV3" in names:
        return "whatsminer"
    if "VNish" in names:
        return "vnish"
    if "ePIC" in names:
        return "epic"
    if "Auradine" in names:
        return "auradine"
    if "AntminerModern" in names:
        return "antminer"
    return "unknown"


def for_family(family: str, miner=None) -> Capabilities:
    caps = FAMILY_CAPABILITIES.get(family, _MONITOR)
    if family == "braiins" and miner is not None and "BOSer" not in {c.__name__ for c in type(miner).__mro__}:
        # old BOSminer: power limit goes through SSH rewriting bosminer.toml; keep it on/off only
        caps = replace(caps, power_target=False)
    if family == "antminer" and miner is not None and "AntminerModern" not in {c.__name__ for c in type(miner).__mro__}:
        caps = _MONITOR  # S9/S17 stock: no sleep in pyasic
    return caps


def apply_overrides(caps: Capabilities, ov: CapabilityOverrides | None) -> Capabilities:
    if ov is None:
        return caps
    changes: dict = {}
    for key in ("min_w", "max_w", "step_w", "idle_w", "on_off", "power_target", "monitor_only"):
        v = getattr(ov, key)
        if v is not None:
            changes[key] = v
    if ov.levels is not None:
        changes["levels"] = tuple(Level(lv.name, float(lv.watts)) for lv in ov.levels)
        if ov.power_target is None:
            changes["power_target"] = False
    out = replace(caps, **changes)
    if out.min_w > out.max_w and ov.max_w is not None and ov.min_w is None:
        out = replace(out, min_w=min(out.min_w, out.max_w))
    return out


def nearest_level(levels: tuple[Level, ...], watts: float | None) -> Level | None:
    if not levels or watts is None:
        return None
    return min(levels, key=lambda lv: abs(lv.watts - watts))


def simulated_capabilities(spec: SimulatedSpec) -> Capabilities:
    """What a simulated miner can do, from its physics spec (before config overrides)."""
    cont = spec.control == "power_target"
    return Capabilities(
        on_off=True,
        power_target=cont,
        min_w=spec.min_w if cont else 0.0,
        max_w=spec.max_w,
        step_w=spec.step_w if cont else 0.0,
        levels=tuple(Level(lv.name, float(lv.watts)) for lv in spec.levels) if spec.control == "levels" else (),
        idle_w=spec.idle_w)
