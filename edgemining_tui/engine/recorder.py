"""Writes each cycle to the store off the event loop; a failing disk degrades history, not control."""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from ..miners.model import CommandResult, MinerCommand
from .events import EngineState, Event
from .serialize import state_to_dict

log = logging.getLogger("edgemining_tui.recorder")


class Recorder:
    def __init__(self, store: Any) -> None:
        self.store = store
        self._last_decision: dict[str, tuple] = {}
        self._events: list[dict] = []
        self.failing: str | None = None     # why history is not being written, while it is not
        self._lock = asyncio.Lock()

    def event(self, ev: Event) -> None:
        self._events.append({"ts": ev.ts, "kind": ev.kind, "severity": ev.severity, "miner": ev.miner,
                             "message": ev.message})

    def _rows(self, state: EngineState, results: dict[str, tuple[MinerCommand, CommandResult]]) -> dict:
        snap = state.snapshot
        energy = [{"ts": state.ts, "pv_w": snap.value("pv_w"), "house_w": snap.value("house_w"),
                   "grid_import_w": snap.value("grid_import_w"),
                   "battery_charge_w": snap.value("battery_charge_w"),
                   "battery_soc_pct": snap.value("battery_soc_pct"), "miners_w": state.miners_w,
                   "available_w": state.decision.available_w if state.decision else None,
                   "stale": ",".join(state.stale) or None}]
        samples = [{"ts": s.ts, "name": s.name, "state": s.state.value, "power_w": s.power_w,
                    "power_limit_w": s.power_limit_w, "hashrate_ths": s.hashrate_ths, "temp_c": s.temp_c,
                    "fan_rpm": s.fan_rpm} for s in state.samples.values()]
        decisions = []
        if state.decision is not None:
            for name, d in state.decision.miners.items():
                # a row when what was decided changes, not every cycle: "why" needs changes only
                key = (d.run, None if d.target_w is None else round(d.target_w), d.term)
                if self._last_decision.get(name) != key:
                    self._last_decision[name] = key
                    decisions.append({"ts": state.ts, "name": name, "run": int(d.run), "target_w": d.target_w,
                                      "term": d.term, "reason": d.reason})
        commands = [{"ts": r.ts or state.ts, "name": n, "command": c.kind.value, "watts": c.watts,
                     "level": c.level, "ok": int(r.ok), "message": r.message, "reason": c.reason}
                    for n, (c, r) in results.items()]
        events, self._events = self._events, []
        return {"energy": energy, "miner_samples": samples, "decisions": decisions, "commands": commands,
                "events": events}

    async def cycle(self, state: EngineState, results: dict, decider_state: dict) -> None:
        batches = self._rows(state, results)
        kv = {"state": state_to_dict(state), "decider": decider_state}
        async with self._lock:
            try:
                await asyncio.to_thread(self.store.write_cycle, batches, kv)
                if self.failing is not None:
                    log.warning("history writes work again")
                    self.failing = None
            except Exception as e:  # disk full, locked DB...: keep controlling, say so once
                if self.failing is None:
                    log.error("history write failed: %s", e)
                self.failing = f"history not saved: {e}"
                # keep events for the next try, drop bulky samples
                self._events = batches["events"] + self._events
                self._events = self._events[-500:]

    async def flush(self) -> None:
        if self._events:
            try:
                await asyncio.to_thread(self.store.insert_many, "events", self._events)
                self._events = []
            except Exception:
                pass
