"""Turns the engine's states and events into the few notifications a user must get, each once.

What is notified (``notify.events``):

- ``offline``: a miner is offline / unresponsive / faulted, and when it is back;
- ``command``: a command was not applied (refused, timed out, or read-back refuted it), and when the
  miner follows commands again;
- ``failsafe``: the stale-data fail-safe is holding the fleet, and when it has let go;
- ``override``: a manual override expired;
- ``summary``: a daily summary at ``notify.daily_summary`` local time;
- ``energy``: (off by default) an energy reading is missing, and when it is back.

Deduplication is level-triggered: the hub keeps the set of active conditions and notifies only on
a change (appear -> one, clear -> one), whatever the cycle rate. The set is saved in the store, so
a restart does not repeat a fault that was already reported, and a fault that cleared while the
console was down gets its all-clear on the first cycle. ``max_per_hour`` caps a storm.

Delivery runs in a background task with a bounded queue; a notifier that hangs or fails never
reaches the engine (listeners are plain calls that only enqueue).
"""
from __future__ import annotations

import asyncio
import logging
from collections import deque
from datetime import datetime, timedelta
from typing import Any, Iterable
from zoneinfo import ZoneInfo

from ..engine.events import EngineState, Event
from ..secrets import redact
from .base import SEVERITIES, LogNotifier, Notification, Notifier
from .config import NotifyConfig

log = logging.getLogger("edgemining_tui.notify")

KV_ACTIVE = "notify:active"
KV_SUMMARY = "notify:summary_day"


class NotificationHub:
    def __init__(self, cfg: NotifyConfig, notifiers: Iterable[Notifier], clock: Any, *, store: Any = None,
                 tz: str = "UTC", queue_size: int = 200, backoff_s: float = 2.0, cycle_s: float = 5.0) -> None:
        self.cfg = cfg
        self.notifiers = list(notifiers)
        self.clock = clock
        self.store = store
        self.tz = ZoneInfo(tz)
        self.backoff_s = backoff_s
        self.cycle_s = cycle_s   # turns rollup row counts back into time (econ/ledger.py)
        self.active: dict[str, dict] = {}          # key -> {"title", "since", "kind"}
        self._queue: asyncio.Queue[Notification] = asyncio.Queue(queue_size)
        self._task: asyncio.Task | None = None
        self._sent_times: deque[float] = deque()
        self.suppressed = 0
        self.delivered: list[Notification] = []      # last few, for the UI and tests
        self.failed = 0
        self._summary_day: str | None = None
        self._dirty = False
        self._save_task: asyncio.Task | None = None
        if store is not None:
            try:
                saved = store.get(KV_ACTIVE) or {}
                if isinstance(saved, dict):
                    self.active = {str(k): dict(v) for k, v in saved.items() if isinstance(v, dict)}
                self._summary_day = store.get(KV_SUMMARY)
            except Exception:
                log.warning("could not read saved notification state; starting fresh")

    # --- life cycle ---------------------------------------------------------------------------
    def start(self) -> "NotificationHub":
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._deliver(), name="notify")
        return self

    async def close(self, timeout: float = 3.0) -> None:
        """Deliver what is queued (bounded by ``timeout``), then stop."""
        if self._task is not None:
            try:
                await asyncio.wait_for(self._queue.join(), timeout)
            except (asyncio.TimeoutError, Exception):
                pass
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
            self._task = None
        if self._save_task is not None and not self._save_task.done():
            # asyncio.wait, not wait_for: a save task cancelled elsewhere must not cancel our close
            await asyncio.wait({self._save_task}, timeout=timeout)
        self._save()
        if self._save_task is not None and not self._save_task.done():
            # asyncio.wait, not wait_for: a save task cancelled elsewhere must not cancel our close
            await asyncio.wait({self._save_task}, timeout=timeout)
        for n in self.notifiers:
            try:
                await n.close()
            except Exception:
                pass

    # --- the engine listener --------------------------------------------------------------------
    def __call__(self, item: EngineState | Event) -> None:
        try:
            if isinstance(item, EngineState):
                self._on_state(item)
            elif isinstance(item, Event):
                self._on_event(item)
        except Exception:  # a notification bug never reaches the engine
            log.exception("notification hub failed on %s", type(item).__name__)

    on_item = __call__

    def _wants(self, kind: str) -> bool:
        return kind in self.cfg.events

    def _on_state(self, st: EngineState) -> None:
        now_conditions: dict[str, tuple[str, str, str, str]] = {}   # key -> (kind, title, body, severity)
        for key, msg in st.faults.items():
            if key.startswith("miner:"):
                name = key.split(":", 1)[1]
                now_conditions[key] = ("offline", f"{name} is not answering", msg, "warning")
            elif key.startswith("energy:"):
                cur = now_conditions.get("energy")
                body = msg if cur is None else f"{cur[2]}; {msg}"
                now_conditions["energy"] = ("energy", "Energy data missing", body, "warning")
        if st.decision is not None:
            # engaged once the grace period is over (the allocator steps down); a short blip that is
            # only held through notifies nobody. Deciders without stages: any miner held for stale data.
            terms = st.decision.terms or {}
            held = [n for n, d in st.decision.miners.items() if d.term == "stale"]
            engaged = terms.get("failsafe") in ("minimum", "pause") if "failsafe" in terms else bool(held)
            if engaged:
                body = st.decision.summary or (st.decision.miners[held[0]].reason if held else "")
                now_conditions["failsafe"] = ("failsafe", "Fail-safe: energy data is stale", body, "warning")
        for name, v in st.verifications.items():
            if v is not None and v.confirmed is False:
                now_conditions[f"command:{name}"] = ("command", f"{name}: command not applied",
                                                     v.detail or v.result.message, "warning")
        # keep command failures reported by events until the miner confirms a command again
        for key, info in self.active.items():
            if key.startswith("command:") and key not in now_conditions:
                name = key.split(":", 1)[1]
                v = st.verifications.get(name)
                if v is None or v.confirmed is None:
                    now_conditions[key] = ("command", info.get("title", ""), "", "warning")
        self._reconcile(now_conditions, st.ts, managed=("miner:", "energy", "failsafe", "command:"))
        self._maybe_summary(st.ts)
        self._save()

    def _on_event(self, ev: Event) -> None:
        now = ev.ts
        if ev.kind == "command" and ev.severity != "info" and ev.miner:
            self._appear(f"command:{ev.miner}", "command", f"{ev.miner}: command not applied", ev.message,
                         "warning", now)
        elif ev.kind == "failsafe":
            text = ev.message.lower()
            if any(w in text for w in ("cleared", "recovered", "released", "back to normal", "fresh again")):
                self._clear("failsafe", now, ev.message)
            else:
                self._appear("failsafe", "failsafe", "Fail-safe: energy data is stale", ev.message,
                             "warning", now)
        elif ev.kind == "override":
            data = dict(ev.data or {})
            if "expired" in ev.message.lower() or data.get("change") == "expired" or data.get("event") == "expired":
                self._emit(Notification(f"override:{ev.miner or '*'}:{now:.0f}", "Override expired",
                                        ev.message, "info", "override", ts=now))

    # --- dedup ----------------------------------------------------------------------------------
    def _reconcile(self, now_conditions: dict, ts: float, managed: tuple[str, ...]) -> None:
        for key, (kind, title, body, sev) in now_conditions.items():
            if key not in self.active:
                self._appear(key, kind, title, body, sev, ts)
        for key in list(self.active):
            if key.startswith(managed) and key not in now_conditions:
                self._clear(key, ts)

    def _appear(self, key: str, kind: str, title: str, body: str, severity: str, ts: float) -> None:
        if key in self.active:
            return
        self.active[key] = {"kind": kind, "title": title, "since": ts}
        self._dirty = True
        if self._wants(kind):
            self._emit(Notification(key, title, body, severity, kind, ts=ts))

    def _clear(self, key: str, ts: float, body: str | None = None) -> None:
        info = self.active.pop(key, None)
        if info is None:
            return
        self._dirty = True
        kind = info.get("kind", "notice")
        if not self._wants(kind):
            return
        lasted = max(0.0, ts - float(info.get("since") or ts))
        title = _cleared_title(key, info.get("title", key))
        self._emit(Notification(key, title, body or f"after {_dur(lasted)}", "info", kind, cleared=True, ts=ts))

    def _emit(self, n: Notification) -> None:
        if SEVERITIES.index(n.severity if n.severity in SEVERITIES else "info") < \
                SEVERITIES.index(self.cfg.min_severity) and not n.cleared:
            return
        now = self.clock.now()     # the engine's clock: the cap holds in virtual time too
        while self._sent_times and now - self._sent_times[0] > 3600:
            self._sent_times.popleft()
        if len(self._sent_times) >= self.cfg.max_per_hour:
            self.suppressed += 1
            if self.suppressed == 1 or self.suppressed % 50 == 0:
                log.warning("notifications capped at %d an hour: %d held back", self.cfg.max_per_hour,
                            self.suppressed)
            return
        self._sent_times.append(now)
        if self.suppressed:
            n = Notification(n.key, n.title, f"{n.body} ({self.suppressed} earlier notifications were held back)",
                             n.severity, n.kind, n.cleared, n.ts, n.data)
            self.suppressed = 0
        n = Notification(n.key, f"{self.cfg.title}: {redact(n.title)}", redact(n.body), n.severity, n.kind,
                         n.cleared, n.ts, n.data)
        try:
            self._queue.put_nowait(n)
        except asyncio.QueueFull:
            log.warning("notification queue full; dropped: %s", n.title)

    # --- daily summary --------------------------------------------------------------------------
    def _maybe_summary(self, ts: float) -> None:
        at = self.cfg.summary_at
        if at is None or not self._wants("summary"):
            return
        local = datetime.fromtimestamp(ts, self.tz)
        due = local.replace(hour=at[0], minute=at[1], second=0, microsecond=0)
        day = local.date().isoformat()
        if local < due or self._summary_day == day:
            return
        self._summary_day = day
        self._dirty = True
        start = due - timedelta(days=1)
        body = self.summary_text(start.timestamp(), due.timestamp())
        if body is None:
            # nothing recorded in the day (a first start after the summary's time): "0 kWh" would
            # claim the miners stood still all day
            log.info("daily summary %s not sent: no data recorded for it", day)
            return
        self._emit(Notification(f"summary:{day}", f"Daily summary {day}", body, "info", "summary", ts=ts))

    def summary_text(self, t0: float, t1: float) -> str | None:
        """Mining energy, PV, miner hours, starts and faults over [t0, t1), from the history; None
        when nothing was recorded then. Energies count only the time recorded (as the History panel
        does, econ/ledger.py): a first start an hour before the summary reports that hour, said so,
        not the hour's average times a day."""
        if self.store is None:
            return "no history to summarise"
        from ..econ.ledger import summary
        try:
            money = summary(self.store, t0, t1, tz=self.tz.key, cycle_s=self.cycle_s)
            secs = float(money.get("seconds") or 0.0)
            if secs <= 0:
                return None
            pv = self.store.query("select avg(pv_w) as pv from energy where ts >= ? and ts < ?", [t0, t1])[0]["pv"]
            if pv is None:   # raw rows pruned or missing: the minute rollup
                pv = self.store.query("select avg(pv_w) as pv from energy_minute where ts >= ? and ts < ?",
                                      [t0, t1])[0]["pv"]
            mined_kwh = float(money.get("mined_kwh") or 0.0)
            starts = self.store.query("select count(*) as n from commands where ts >= ? and ts < ? "
                                      "and command = 'start' and ok = 1", [t0, t1])[0]["n"]
            failed = self.store.query("select count(*) as n from commands where ts >= ? and ts < ? and ok = 0",
                                      [t0, t1])[0]["n"]
            faults = self.store.query("select count(*) as n from events where ts >= ? and ts < ? "
                                      "and kind = 'fault'", [t0, t1])[0]["n"]
        except Exception as e:
            return f"summary unavailable: {redact(str(e))}"
        pv_text = "PV unknown" if pv is None else f"PV made {float(pv) * secs / 3.6e6:.1f} kWh"
        text = (f"miners used {mined_kwh:.1f} kWh, {pv_text}; {starts} starts, "
                f"{failed} commands not applied, {faults} faults")
        if secs < 0.95 * (t1 - t0):
            text += f" (data for {_dur(secs)} of the {_dur(t1 - t0)})"
        return text

    # --- persistence and delivery ------------------------------------------------------------------
    def _save(self) -> None:
        """Save the active set off the event loop (a slow or locked disk never blocks a cycle)."""
        if not self._dirty or self.store is None:
            return
        if self._save_task is not None and not self._save_task.done():
            return   # the next cycle saves again
        self._dirty = False
        active, day = dict(self.active), self._summary_day

        def write() -> None:
            self.store.put(KV_ACTIVE, active)
            if day:
                self.store.put(KV_SUMMARY, day)

        async def run() -> None:
            try:
                await asyncio.to_thread(write)
            except Exception:
                self._dirty = True   # a failing disk is reported by the recorder; retried next cycle
        try:
            self._save_task = asyncio.get_running_loop().create_task(run())
        except RuntimeError:  # no loop (closing): write directly
            try:
                write()
            except Exception:
                pass

    async def _deliver(self) -> None:
        while True:
            n = await self._queue.get()
            try:
                for ch in self.notifiers:
                    await self._send_with_retry(ch, n)
                self.delivered.append(n)
                del self.delivered[:-50]
            finally:
                self._queue.task_done()

    async def _send_with_retry(self, ch: Notifier, n: Notification) -> bool:
        delay = self.backoff_s
        for attempt in range(self.cfg.retries + 1):
            try:
                if await asyncio.wait_for(ch.send(n), self.cfg.timeout + 1.0):
                    return True
            except Exception as e:
                log.warning("notifier %s failed: %s", getattr(ch, "name", ch), redact(str(e)))
            if attempt < self.cfg.retries:
                await asyncio.sleep(delay)
                delay *= 2
        self.failed += 1
        log.warning("notification not delivered through %s: %s", getattr(ch, "name", ch), n.title)
        return False


def _cleared_title(key: str, title: str) -> str:
    if key.startswith("miner:"):
        return f"{key.split(':', 1)[1]} is back"
    if key == "failsafe":
        return "Fail-safe released: energy data is fresh again"
    if key.startswith("command:"):
        return f"{key.split(':', 1)[1]}: commands are applied again"
    if key == "energy":
        return "Energy data is back"
    return f"cleared: {title}"


def _dur(s: float) -> str:
    s = int(s)
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def build_hub(cfg: NotifyConfig, clock: Any, store: Any = None, tz: str = "UTC",
              extra: Iterable[Notifier] = (), cycle_s: float = 5.0) -> NotificationHub | None:
    """The hub for a config: Apprise when urls are given, the log when ``log: true``. None: nothing to do."""
    notifiers: list[Notifier] = list(extra)
    if cfg.log:
        notifiers.append(LogNotifier())
    if cfg.urls:
        from .apprise_notifier import AppriseNotifier, NotifyUnavailable
        ap = AppriseNotifier(cfg.urls, cfg.timeout)
        try:
            ap.check()
            notifiers.append(ap)
        except NotifyUnavailable as e:
            log.error("%s; notifications go to the log only", e)
    if not notifiers:
        return None
    return NotificationHub(cfg, notifiers, clock, store=store, tz=tz, cycle_s=cycle_s)
