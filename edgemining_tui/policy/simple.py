"""The simplest decider: run miners, highest priority first, while the surplus covers them.

Used by engine tests that need a predictable decider; the product uses policy/decider.py.
"""
from __future__ import annotations

from ..miners.model import CommandKind, MinerCommand
from .decision import DecisionInput, FleetDecision, MinerDecision, PlainDecider


class SimpleDecider(PlainDecider):
    def __init__(self, headroom_w: float = 100.0) -> None:
        self.headroom_w = headroom_w

    def decide(self, inp: DecisionInput) -> FleetDecision:
        grid = inp.snapshot.value("grid_import_w")
        out: dict[str, MinerDecision] = {}
        if grid is None or inp.stale:
            for v in inp.miners:
                out[v.name] = MinerDecision(v.name, bool(v.sample and v.sample.running), None, None, "stale",
                                            "energy data missing: holding")
            return FleetDecision(inp.now, None, out, summary="stale data")
        drawn = sum((v.sample.power_w or 0.0) for v in inp.miners if v.sample and v.sample.power_w)
        available = drawn - grid - self.headroom_w
        left = available
        for v in sorted(inp.miners, key=lambda m: m.priority):
            running = bool(v.sample and v.sample.running)
            need = v.caps.lowest_w
            if v.caps.monitor_only or not v.sample or not v.sample.online:
                out[v.name] = MinerDecision(v.name, running, None, None,
                                            "monitor_only" if v.caps.monitor_only else "offline", "not commanded")
                continue
            if left >= need:
                target = min(v.caps.highest_w, left) if v.caps.power_target else need
                left -= target
                cmd = None
                if not running:
                    cmd = MinerCommand(CommandKind.START, reason=f"surplus {available:.0f} W")
                out[v.name] = MinerDecision(v.name, True, target, None, "surplus",
                                            f"surplus {available:.0f} W covers {need:.0f} W", cmd)
            else:
                cmd = MinerCommand(CommandKind.STOP, reason="no surplus") if running else None
                out[v.name] = MinerDecision(v.name, False, None, None, "surplus",
                                            f"surplus {left:.0f} W < {need:.0f} W", cmd)
        return FleetDecision(inp.now, available, out, {"available_w": available})
