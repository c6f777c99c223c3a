"""Writes each cycle to the store off the event loop; a failing disk degrades history, not control.

- One writer task at a time, on a worker thread. A cycle's energy row and miner samples are
  written with the next write, at most ``history.write_every`` (5 s) after the last one: at a
  1 s cycle one transaction per cycle was a tenth of the console's CPU. Events, commands and
  decisions are written at once, and everything on shutdown; a crash or power cut loses at most
  the last ``write_every`` of energy rows and samples, and an observer sees the owner's state at
  most that late. A cycle that writes waits for its write at most ``wait_s`` (normally it is done
  in milliseconds); when the disk is slow or the database is locked by another process, the write
  goes on in the background and later cycles queue behind it (bounded), so control never waits on
  disk.
- A failed write (disk full, locked, read-only) says so once, keeps events, commands, decisions and
  the decider's state for the next try, and drops bulky samples beyond ``max_pending`` cycles.
  When writes work again it says so once.
- Every ``history.maintain_every`` (engine clock) it rolls up and prunes (store/retention.py).
- Everything written is passed through the secrets redactor (nothing secret reaches the disk).
"""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from ..miners.model import CommandResult, MinerCommand
from .events import EngineState, Event
from .serialize import state_to_dict

if TYPE_CHECKING:
    from ..store.config import HistoryConfig

log = logging.getLogger("edgemining_tui.recorder")

_KEEP = ("events", "commands", "decisions")     # small and precious: kept while the disk fails
_MAX_KEEP_ROWS = 2000


def _redactor():
    try:
        from ..secrets import redact
        return redact
    except Exception:  # pragma: no cover
        return lambda s: s


def _w(v: float | None) -> float | None:
    return None if v is None else float(round(v))


def _d(v: float | None, digits: int) -> float | None:
    return None if v is None else round(v, digits)


class Recorder:
    def __init__(self, store: Any, wait_s: float = 1.0, max_pending: int = 120,
                 history: "HistoryConfig | None" = None) -> None:
        self.store = store
        self.wait_s = wait_s
        self.max_pending = max_pending
        self.history = history if history is not None else getattr(store, "history", None)
        self._last_decision: dict[str, tuple] = {}
        self._events: list[dict] = []
        self.failing: str | None = None     # why history is not being written, while it is not
        self.writes_failed = 0
        self.writes_ok = 0
        self._pending: list[tuple[dict, dict]] = []
        self._task: asyncio.Task | None = None
        self._maint_task: asyncio.Task | None = None
        self._last_maint: float | None = None
        self.last_maintenance: dict | None = None
        self._redact = _redactor()
        self._last_write: float | None = None     # engine time of the last cycle written
        self._unsaved: tuple[EngineState, dict] | None = None   # the latest state, while not written

    def event(self, ev: Event) -> None:
        self._events.append({"ts": ev.ts, "kind": ev.kind, "severity": ev.severity, "miner": ev.miner,
                             "message": self._redact(ev.message)})
        if len(self._events) > _MAX_KEEP_ROWS:
            del self._events[:-_MAX_KEEP_ROWS]

    def _rows(self, state: EngineState, results: list[tuple[str, MinerCommand, CommandResult]]) -> dict:
        red = self._redact
        snap = state.snapshot
        # history precision: whole watts, 0.1 % and °C, 1 GH/s. A whole number is stored in 1-3 bytes
        # instead of 8, which is most of the file (see benchmarks/db_size.py); the live state is exact.
        energy = [{"ts": state.ts, "pv_w": _w(snap.value("pv_w")), "house_w": _w(snap.value("house_w")),
                   "grid_import_w": _w(snap.value("grid_import_w")),
                   "battery_charge_w": _w(snap.value("battery_charge_w")),
                   "battery_soc_pct": _d(snap.value("battery_soc_pct"), 1), "miners_w": _w(state.miners_w),
                   "available_w": _w(state.decision.available_w) if state.decision else None,
                   "stale": ",".join(state.stale) or None}]
        samples = [{"ts": s.ts, "name": s.name, "state": s.state.value, "power_w": _w(s.power_w),
                    "power_limit_w": _w(s.power_limit_w), "hashrate_ths": _d(s.hashrate_ths, 3),
                    "temp_c": _d(s.temp_c, 1), "fan_rpm": s.fan_rpm} for s in state.samples.values()]
        decisions = []
        if state.decision is not None:
            for name, d in state.decision.miners.items():
                # a row when what was decided changes, not every cycle: "why" needs changes only
                key = (d.run, None if d.target_w is None else round(d.target_w), d.term)
                if self._last_decision.get(name) != key:
                    self._last_decision[name] = key
                    decisions.append({"ts": state.ts, "name": name, "run": int(d.run), "target_w": d.target_w,
                                      "term": d.term, "reason": red(d.reason)})
        commands = [{"ts": r.ts or state.ts, "name": n, "command": c.kind.value, "watts": c.watts,
                     "level": c.level, "ok": int(r.ok), "message": red(r.message), "reason": red(c.reason)}
                    for n, c, r in results]
        events, self._events = self._events, []
        return {"energy": energy, "miner_samples": samples, "decisions": decisions, "commands": commands,
                "events": events}

    # --- writing ------------------------------------------------------------------------------
    def _write_every(self) -> float:
        return self.history.write_every if self.history is not None else 0.0

    async def cycle(self, state: EngineState, results: list, decider_state: dict) -> None:
        batches = self._rows(state, results)
        every = self._write_every()
        # energy rows and samples wait for the next write (one transaction per write_every);
        # events, commands and decisions go at once, as does everything while writes fail (retry)
        due = (every <= 0 or self._last_write is None or not 0 <= state.ts - self._last_write < every
               or any(batches.get(t) for t in _KEEP) or self.failing is not None)
        if not due:
            self._pending.append((batches, {}))
            self._unsaved = (state, decider_state)
            self._trim()
            self._maybe_maintain(state.ts)
            return
        self._last_write = state.ts
        self._unsaved = None
        self._pending.append((batches, {"state": state_to_dict(state), "decider": decider_state}))
        self._trim()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._writer(), name="history-writer")
        # wait for this cycle's write, but never longer than wait_s: control does not wait on disk
        await asyncio.wait({self._task}, timeout=self.wait_s)
        self._maybe_maintain(state.ts)

    def _trim(self) -> None:
        """Bound the queue while the disk fails or stalls: drop the oldest cycles' bulky rows."""
        if len(self._pending) <= self.max_pending:
            return
        drop = self._pending[:-self.max_pending]
        keep_tail = self._pending[-self.max_pending:]
        saved: dict[str, list] = {t: [] for t in _KEEP}
        for b, _ in drop:
            for t in _KEEP:
                saved[t].extend(b.get(t, ()))
        first_b, first_kv = keep_tail[0]
        for t in _KEEP:
            first_b[t] = (saved[t] + list(first_b.get(t, ())))[-_MAX_KEEP_ROWS:]
        self._pending = keep_tail

    async def _writer(self) -> None:
        while self._pending:
            todo, self._pending = self._pending, []
            merged: dict[str, list[dict]] = {}
            kv: dict[str, Any] = {}
            for b, k in todo:
                for t, rows in b.items():
                    merged.setdefault(t, []).extend(rows)
                kv.update(k)
            try:
                await asyncio.to_thread(self.store.write_cycle, merged, kv)
                self.writes_ok += 1
                if self.failing is not None:
                    log.warning("history writes work again")
                    self.failing = None
            except Exception as e:  # disk full, locked DB...: keep controlling, say so once
                self.writes_failed += 1
                if self.failing is None:
                    log.error("history write failed (control goes on; history is not saved): %s",
                              self._redact(str(e)))
                self.failing = f"history not saved: {self._redact(str(e))}"
                # keep the small, precious rows and the latest state for the next try; drop samples
                keep = {t: merged.get(t, [])[-_MAX_KEEP_ROWS:] for t in _KEEP}
                self._pending.insert(0, (keep, kv))
                self._trim()
                return   # the next cycle retries

    # --- retention ----------------------------------------------------------------------------
    def _maybe_maintain(self, now: float) -> None:
        every = self.history.maintain_every if self.history is not None else 600.0
        if self._last_maint is None:
            # the first maintenance a little after start, not in the middle of start-up
            self._last_maint = now - every + min(every, 60.0)
            return
        if now - self._last_maint < every or self.failing is not None:
            return
        if self._maint_task is not None and not self._maint_task.done():
            return
        self._last_maint = now
        maintain = getattr(self.store, "maintain", None)
        if maintain is None:
            return
        self._maint_task = asyncio.get_running_loop().create_task(self._maintain(maintain, now),
                                                                  name="history-maintenance")

    async def _maintain(self, maintain, now: float) -> None:
        try:
            self.last_maintenance = await asyncio.to_thread(maintain, now)
        except Exception as e:
            log.warning("history maintenance failed (will retry): %s", self._redact(str(e)))

    async def flush(self, timeout: float = 5.0) -> None:
        """On shutdown: finish the write in flight and what is queued, within ``timeout``."""
        tasks = [t for t in (self._task, self._maint_task) if t is not None and not t.done()]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
        if self._events:
            self._pending.append(({"events": self._events}, {}))
            self._events = []
        if self._unsaved is not None:
            st, decider = self._unsaved
            self._unsaved = None
            self._pending.append(({}, {"state": state_to_dict(st), "decider": decider}))
        if self._pending and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self._writer())
            await asyncio.wait({self._task}, timeout=timeout)
