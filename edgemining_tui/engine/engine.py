"""The engine: read energy -> read miners -> decide -> act -> record -> publish, on an injected clock.

It knows nothing of Textual. The app runs it as a worker, the headless runner under systemd, the
backtest with a virtual clock and simulated ports. Decisions are made by a Decider (policy/).
"""
from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Protocol

from ..clock import Clock
from ..energy.balance import SignWatch
from ..energy.snapshot import EnergySnapshot
from ..energy.source import EnergySource, PushSource
from ..miners.model import Capabilities, CommandResult, MinerCommand, MinerSample, MinerState, Verification
from ..policy.decision import Decider, DecisionInput, FleetDecision, MinerView
from .events import EngineState, Event
from .flapping import FlapGuard
from .push import PushTrigger
from .recorder import Recorder
from .requests import REQUEST_TTL_S, age_refusal, refusal

log = logging.getLogger("edgemining_tui.engine")

Listener = Callable[[EngineState | Event], None]


@dataclass(frozen=True)
class MinerMeta:
    name: str
    priority: int = 1
    zone: str | None = None


class FleetPort(Protocol):
    """The miners as the engine drives them (miners/fleet.py Fleet)."""

    def capabilities(self, name: str) -> Capabilities: ...

    def verification(self, name: str) -> Verification | None: ...

    def command_deadline_s(self, name: str) -> float: ...

    async def read_all(self) -> dict[str, MinerSample]: ...

    async def prepare(self, name: str) -> str | None:
        """Get a miner ready for a start that is coming (a plug restores its power); a message or None."""

    async def apply(self, name: str, command: MinerCommand) -> CommandResult: ...

    async def close(self) -> None: ...


class Engine:
    def __init__(self, *, clock: Clock, source: EnergySource, fleet: FleetPort, decider: Decider,
                 miners: Iterable[MinerMeta], store: Any = None, interval_s: float = 5.0,
                 stale_after_s: float = 30.0, required: tuple[str, ...] = ("grid_import_w",),
                 observe_only: bool = False, house_includes_miners: bool = False,
                 tz: str = "UTC", extras: Iterable[Any] = (), push_threshold_w: float = 150.0,
                 request_ttl_s: float = REQUEST_TTL_S) -> None:
        self.clock = clock
        self.source = source
        self.fleet = fleet
        self.decider = decider
        self.meta = {m.name: m for m in miners}
        self.store = store
        self.recorder = Recorder(store) if store is not None else None
        self.interval_s = interval_s
        self.stale_after_s = stale_after_s
        self.required = required
        self.observe_only = observe_only
        self.paused = False
        self.house_includes_miners = house_includes_miners
        self.tz = tz
        self.request_ttl_s = request_ttl_s
        # extras contribute to the decision input and the state (heat zones, prices...): each has
        # async update(engine) -> None, and contribute(inp_kwargs: dict) / state_extra() -> dict
        self.extras = list(extras)
        # re-reads the config file and swaps the decider (runtime.ConfigReloader); None: no file
        self.reloader: Callable[[], str] | None = None
        self.state: EngineState | None = None
        self.cycle_no = 0
        self._listeners: list[Listener] = []
        self._wake = _WakeEvent()
        self._stale_since: float | None = None
        self._faults: dict[str, str] = {}
        self._flaps = FlapGuard()
        # command isolation (issue 16): each miner's command runs in its own task with its own
        # deadline; the cycle never waits on one. At most one command per miner is in flight: while
        # it is, the decider sees it pending and sends nothing new (no stacking, no queue).
        self._cmd_tasks: dict[str, asyncio.Task] = {}
        self._cmd_pending: dict[str, tuple[MinerCommand, float]] = {}   # name -> (command, sent at)
        self._cmd_done: list[tuple[str, MinerCommand, CommandResult]] = []  # finished, not yet recorded
        self._cmd_failed: dict[str, str] = {}                           # name -> why, until one succeeds
        self._cmd_streak: dict[str, list] = {}     # name -> [failures in a row, last reported at, count then]
        self._requests: list[tuple[str, dict, asyncio.Future | None]] = []
        # push that acts: a source that receives changes wakes the loop when the surplus moves
        self.push = PushTrigger(self._wake.set, threshold_w=push_threshold_w)
        # the live sign check: pv + import − export against house + charge + miners (energy/balance.py)
        self.signs = SignWatch()
        if isinstance(source, PushSource):
            source.set_push_listener(self.push)

    # --- subscriptions --------------------------------------------------------------------
    def subscribe(self, fn: Listener) -> Callable[[], None]:
        self._listeners.append(fn)
        return lambda: self._listeners.remove(fn) if fn in self._listeners else None

    def _emit(self, item: EngineState | Event) -> None:
        for fn in list(self._listeners):
            try:
                fn(item)
            except Exception:  # a broken listener must never stop the control loop
                log.exception("listener failed")
        if isinstance(item, Event) and self.recorder is not None:
            self.recorder.event(item)

    def event(self, kind: str, message: str, miner: str | None = None, severity: str = "info",
              **data: Any) -> None:
        self._emit(Event(self.clock.now(), kind, _redact(message), miner, severity, data))

    # --- requests from the UI or observers -----------------------------------------------
    def request(self, action: str, args: dict | None = None) -> asyncio.Future:
        """Queue a user action; it is applied at the start of the next cycle, which is woken now.
        A request the decider could not take (requests.py) is refused now, never queued."""
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        args = dict(args or {})
        why = refusal(action, args, self.capabilities())
        if why:
            self.event("request_refused", f"refused {action}: {why}", _miner_arg(args), "warning")
            fut.set_exception(ValueError(why))
            return fut
        self._requests.append((action, args, fut))
        self._wake.set()
        return fut

    def capabilities(self) -> dict[str, Any]:
        """What each miner can do, as the fleet knows it now (identification may refine it)."""
        out = {}
        for name in self.meta:
            try:
                out[name] = self.fleet.capabilities(name)
            except Exception:  # noqa: BLE001  (a fleet without this miner: it takes no override)
                continue
        return out

    def force_cycle(self) -> None:
        self._wake.set()

    def _apply_request(self, action: str, args: dict) -> str:
        """Turn a user action (engine/actions.py) into a decider override or an engine setting.

        Pause and observe-only are overrides of the decider, so it knows nothing was sent and no
        start is counted; deciders without overrides fall back to the engine's own flags.
        """
        from . import actions as A
        now = self.clock.now()
        handle = self.decider.handle if self.decider.takes_overrides else None
        until = args.get("until") or (f"for {float(args['for_s']):g}s" if args.get("for_s") else None)
        if action == A.CYCLE:
            msg = "cycle forced"
        elif action == A.RELOAD:
            msg = self._reload()
        elif action == A.SET_POLICY:
            msg = self._set_policy(str(args.get("mode", "")))
        elif handle is None:
            if action in (A.PAUSE, A.RESUME):
                self.paused = action == A.PAUSE
                msg = "automation paused" if self.paused else "automation resumed"
            elif action == A.OBSERVE_ONLY:
                self.observe_only = bool(args.get("on", True))
                msg = "observe only on" if self.observe_only else "observe only off"
            else:
                raise ValueError(f"unknown action {action!r}")
        elif action == A.PAUSE:
            msg = handle("pause", {"expiry": until or "until released"}, now)
        elif action == A.RESUME:
            msg = handle("release", {"kind": "pause"}, now)
        elif action == A.OBSERVE_ONLY:
            if args.get("on", True):
                msg = handle("observe", {"expiry": until or "until released"}, now)
            else:
                msg = handle("release", {"kind": "observe"}, now)
        elif action == A.OVERRIDE:
            miner = args.get("miner")
            if miner not in self.meta:
                raise ValueError(f"no miner called {miner!r}")
            kind = {"on": "force_on", "off": "force_off", "power": "power"}.get(str(args.get("mode")))
            if kind is None:
                raise ValueError("override mode must be on, off or power")
            if kind == "power":
                w = args.get("watts")
                if not isinstance(w, (int, float)) or w <= 0:
                    raise ValueError("a power override needs watts > 0")
            msg = handle(kind, {"miner": miner, "watts": args.get("watts"), "expiry": until or "for 1 h"}, now)
        elif action == A.RELEASE:
            miner = args.get("miner")
            msg = handle("release", {} if miner in (None, "*") else {"miner": miner}, now)
        else:
            miner = args.get("miner")
            if miner is not None and miner != "*" and miner not in self.meta:
                raise ValueError(f"no miner called {miner!r}")
            msg = handle(action, args, now)   # the decider's own vocabulary (force_on, power, ...)
        self.event("notice" if action in (A.CYCLE, A.RELOAD) else "override", msg, args.get("miner"))
        return msg

    def _set_policy(self, mode: str) -> str:
        return self.decider.set_mode(mode)

    def _reload(self) -> str:
        if self.reloader is None:
            raise ValueError("reload not available: this engine was not started from a config file")
        try:
            return self.reloader()
        except ValueError as e:
            self.event("notice", str(e), severity="warning")
            raise

    def _drain_requests(self) -> None:
        reqs, self._requests = self._requests, []
        if self.store is not None:
            now = self.clock.now()
            caps = None
            for row in self.store.pending_requests():
                # an observer's request carries its time: an old one (queued while no owner ran)
                # is dropped, never applied; any request is checked as the decider would take it
                why = age_refusal(row.get("ts"), now, self.request_ttl_s)
                if why:
                    res = f"dropped: {why}"
                    self.event("request_expired", f"{row.get('action')!s:.40} {res}", _miner_arg(row["args"]),
                               "warning")
                else:
                    caps = caps if caps is not None else self.capabilities()
                    why = refusal(row["action"], row["args"], caps)
                    if why:
                        res = f"refused: {why}"
                        self.event("request_refused", f"refused {row['action']!s:.40}: {why}",
                                   _miner_arg(row["args"]), "warning")
                    else:
                        try:
                            res = self._apply_request(row["action"], row["args"])
                        except Exception as e:
                            res = f"refused: {e}"
                self.store.mark_applied(row["id"], now, res)
        for action, args, fut in reqs:
            try:
                res = self._apply_request(action, args)
                if fut is not None and not fut.done():
                    fut.set_result(res)
            except Exception as e:
                if fut is not None and not fut.done():
                    fut.set_exception(e)

    # --- the cycle ------------------------------------------------------------------------
    async def _read_energy(self) -> EnergySnapshot:
        try:
            return await self.source.read()
        except Exception as e:  # adapters should not raise; if one does, it is stale data, not a crash
            log.exception("energy source failed")
            return EnergySnapshot.empty(self.clock.now(), self.source.name,
                                        f"energy source failed: {type(e).__name__}")

    async def _read_miners(self) -> dict[str, MinerSample]:
        try:
            return await self.fleet.read_all()
        except Exception as e:
            log.exception("fleet read failed")
            now = self.clock.now()
            return {n: MinerSample(n, now, MinerState.UNKNOWN, error=f"read failed: {e}") for n in self.meta}

    def _views(self, samples: dict[str, MinerSample]) -> tuple[MinerView, ...]:
        views = []
        for name, meta in self.meta.items():
            ver = self.fleet.verification(name)
            views.append(MinerView(name=name, priority=meta.priority, caps=self.fleet.capabilities(name),
                                   sample=samples.get(name), zone=meta.zone,
                                   last_command=ver.command if ver else None,
                                   confirmed=ver.confirmed if ver else None,
                                   pending=self._cmd_pending[name][0] if name in self._cmd_pending else None))
        return tuple(views)

    def _track_faults(self, snapshot: EnergySnapshot, samples: dict[str, MinerSample], stale: list[str],
                      signs: str | None = None) -> None:
        """One event when a fault appears and one when it clears, never one per cycle; a fault that
        comes and goes every few seconds becomes one "flapping" event with a count (flapping.py)."""
        now = self.clock.now()
        now_faults: dict[str, str] = {}
        for f in stale:
            r = getattr(snapshot, f)
            now_faults[f"energy:{f}"] = _redact(r.error or f"{f} is {r.age(now):.0f} s old")
        for name, s in samples.items():
            if s.state in (MinerState.OFFLINE, MinerState.UNRESPONSIVE, MinerState.FAULT):
                now_faults[f"miner:{name}"] = _redact(f"{name} {s.state.value}" + (f": {s.error}" if s.error else ""))
        if signs is not None:
            now_faults["energy:signs"] = signs
        flaps = self._flaps
        for key, msg in now_faults.items():
            if key not in self._faults:
                ev = flaps.appeared(key, msg, now)
                if ev is not None:
                    self.event(ev[0], ev[1], _miner_of(key), "warning", key=key)
        for key, msg in self._faults.items():
            if key not in now_faults:
                ev = flaps.cleared(key, msg, now)
                if ev is not None:
                    self.event(ev[0], ev[1], _miner_of(key), "info", key=key)
        self._faults = now_faults
        for key, kind, severity, msg in flaps.tick(now, set(now_faults)):
            self.event(kind, msg, _miner_of(key), severity, key=key)

    def _shown_faults(self) -> dict[str, str]:
        """The faults on screen: a flapping one stays shown (with its count) between its flaps."""
        out = dict(self._faults)
        for key in self._flaps.keys():
            shown = self._flaps.shown(key)
            if shown is not None:
                out[key] = shown
        return out

    async def cycle(self) -> EngineState:
        t0 = time.perf_counter()
        self._drain_requests()
        self.push.begin()
        snapshot, samples = await asyncio.gather(self._read_energy(), self._read_miners())
        self.push.baseline(snapshot)
        now = self.clock.now()
        snapshot = finite_snapshot(snapshot)
        miners_w = sum(s.power_w or 0.0 for s in samples.values() if s.power_w is not None)
        if self.house_includes_miners:
            snapshot = _subtract_miners(snapshot, miners_w)
        stale = snapshot.stale_fields(now, self.stale_after_s, self.required)
        if stale:
            self._stale_since = self._stale_since if self._stale_since is not None else now
        else:
            self._stale_since = None
        self._track_faults(snapshot, samples, stale, self.signs.observe(snapshot, miners_w, now))
        for ex in self.extras:
            try:
                await ex.update(self, snapshot, samples)
            except Exception:
                log.exception("extra %s failed", ex)
        kw: dict[str, Any] = {}
        for ex in self.extras:
            ex.contribute(kw)
        inp = DecisionInput(now=now, snapshot=snapshot, miners=self._views(samples), stale=tuple(stale),
                            stale_for_s=(now - self._stale_since) if self._stale_since is not None else 0.0,
                            tz=self.tz, **kw)
        try:
            decision: FleetDecision | None = self.decider.decide(inp)
        except Exception as e:  # a decider bug must not crash the loop: nothing is commanded
            log.exception("decider failed")
            self.event("fault", f"decision failed: {type(e).__name__}: {e}", severity="error")
            decision = None
        for oe in self.decider.pop_events():
            # set/released were already announced when the request was applied
            if oe.kind in ("expired", "dropped"):
                self.event("override", oe.message, oe.override.miner,
                           "warning" if oe.kind == "dropped" else "info", change=oe.kind)
        if decision is not None:
            await self._act(decision)
        results, self._cmd_done = self._cmd_done, []
        verifications = {n: self.fleet.verification(n) for n in self.meta}
        self.cycle_no += 1
        extra: dict[str, Any] = {}
        for ex in self.extras:
            extra.update(ex.state_extra())
        hook = self.decider.rules
        if hook is not None:
            from ..policy.traces import rule_traces
            try:
                extra["rules"] = rule_traces(hook, inp)
            except Exception:  # the panel shows no traces; the decision stands
                log.exception("rule traces failed")
        state = EngineState(ts=now, cycle=self.cycle_no, snapshot=snapshot, samples=samples, decision=decision,
                            verifications=verifications, miners_w=miners_w, stale=tuple(stale),
                            cycle_s=time.perf_counter() - t0,
                            observe_only=self.observe_only or bool(decision and decision.terms.get("observe")),
                            paused=self.paused or bool(decision and decision.terms.get("paused")),
                            faults=self._shown_faults(), commands=self.command_status(),
                            caps=self.capabilities(),
                            overrides=self._overrides_view(now), extra=extra)
        self.state = state
        if self.recorder is not None:
            await self.recorder.cycle(state, results, self._export_decider())
        self._emit(state)
        return state

    def _overrides_view(self, now: float) -> dict:
        try:
            return self.decider.overrides_view(now)
        except Exception:  # the panel shows none; the cycle goes on
            log.exception("overrides_view failed")
            return {}

    def _export_decider(self) -> dict:
        try:
            return self.decider.export_state()
        except Exception:
            log.exception("export_state failed")
            return {}

    async def _act(self, decision: FleetDecision) -> None:
        if self.paused or self.observe_only:
            return
        started = False
        for n, d in decision.miners.items():
            cmd = d.command
            if cmd is None or n not in self.meta:
                continue
            if n in self._cmd_pending:
                # not stacked: the decider saw it pending; a decider that ignores that is not obeyed
                log.debug("%s: %s not sent, %s still pending", n, cmd.describe(),
                          self._cmd_pending[n][0].describe())
                continue
            self._cmd_pending[n] = (cmd, self.clock.now())
            self._track(n, asyncio.create_task(self._send(n, cmd, d.reason), name=f"command:{n}"))
            started = True
        # a start is coming (the enable timer runs): a plug in front of the miner restores its
        # power now, so the boot runs inside the delay (miners/plug.py SwitchedDriver.prepare)
        for n, d in decision.miners.items():
            key = "prepare:" + n
            if d.term == "enable_timer" and d.command is None and n in self.meta \
                    and n not in self._cmd_pending and key not in self._cmd_tasks:
                self._track(key, asyncio.create_task(self._prepare(n, key), name=key))
                started = True
        if started:
            # one turn of the loop: a command that needs no I/O (simulated miners) finishes in this
            # cycle; one that talks to a miner finishes in its own time
            await asyncio.sleep(0)

    def _track(self, key: str, task: asyncio.Task) -> None:
        # The console's loop runs tasks eagerly (Textual, Python 3.12+): one that needs no I/O has
        # already finished, and its own pop of ``key``, inside create_task. Kept, it would block
        # the next prepare of that miner for good.
        if not task.done():
            self._cmd_tasks[key] = task

    async def _prepare(self, name: str, key: str) -> None:
        try:
            async with asyncio.timeout(self._deadline_s(name)):
                msg = await self.fleet.prepare(name)
        except Exception as e:  # noqa: BLE001  (a plug that fails here is tried again next cycle)
            msg = f"could not get ready for its start: {type(e).__name__}: {e}"
        finally:
            self._cmd_tasks.pop(key, None)
        if msg:
            self.event("command", f"{name}: {msg}", name)

    def _deadline_s(self, name: str) -> float:
        try:
            return float(self.fleet.command_deadline_s(name))
        except Exception:  # noqa: BLE001  (a miner the fleet does not know: the general bound)
            return 60.0

    async def _send(self, name: str, cmd: MinerCommand, reason: str) -> None:
        deadline = self._deadline_s(name)
        try:
            try:
                async with asyncio.timeout(deadline):
                    r = await self.fleet.apply(name, cmd)
            except TimeoutError:
                r = CommandResult(False, f"{cmd.describe()}: no result within the {deadline:g} s deadline",
                                  self.clock.now())
            except Exception as e:  # noqa: BLE001  (a driver bug is a failed command, not a crash)
                r = CommandResult(False, f"{cmd.describe()}: {type(e).__name__}: {e}", self.clock.now())
        finally:
            self._cmd_pending.pop(name, None)
            self._cmd_tasks.pop(name, None)
        self._cmd_done.append((name, cmd, r))
        if len(self._cmd_done) > 1000:   # nobody records (no cycles): keep the newest
            del self._cmd_done[:-1000]
        now = self.clock.now()
        streak = self._cmd_streak.get(name)
        if r.ok:
            self._cmd_failed.pop(name, None)
            if streak is not None and streak[0] > 1:
                self.event("command", f"{name}: commands apply again after {streak[0]} failures", name)
            self._cmd_streak.pop(name, None)
            self.event("command", f"{name}: {cmd.describe()} ({reason})", name)
            return
        self._cmd_failed[name] = r.message
        if streak is None:
            self._cmd_streak[name] = [1, now, 0]
            self.event("command", f"{name}: {cmd.describe()} failed: {r.message}", name, "warning")
            return
        # a miner that fails every command (hung, refusing) gets one event an hour with the count,
        # not one per attempt: the commands table still has every attempt
        streak[0] += 1
        if now - streak[1] >= 3600.0:
            self.event("command", f"{name}: still failing: {streak[0] - streak[2]} commands failed in the "
                                  f"last {_hours(now - streak[1])}, {streak[0]} in a row; last: {r.message}",
                       name, "warning")
            streak[1], streak[2] = now, streak[0]

    def command_status(self) -> dict[str, str]:
        """Per miner: "command pending: ..." while one is in flight, "command failed: ..." after a failure."""
        now = self.clock.now()
        out = {n: f"command failed: {_redact(m)}" for n, m in self._cmd_failed.items()}
        for n, (cmd, ts) in self._cmd_pending.items():
            out[n] = f"command pending: {cmd.describe()} ({now - ts:.0f} s)"
        return out

    async def wait_commands(self) -> None:
        """Let the commands in flight finish (tests, shutdown)."""
        tasks = [t for t in self._cmd_tasks.values() if not t.done()]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    # --- running ----------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event | None = None, cycles: int | None = None) -> None:
        """Cycle every ``interval_s`` until ``stop`` is set (or ``cycles`` have run)."""
        stop = stop or asyncio.Event()
        try:
            await self.source.start()
        except Exception:
            log.exception("energy source start failed; will retry on read")
        n = 0
        loop = asyncio.get_running_loop()
        # between cycles one future is awaited, resolved by whichever comes first: the interval's
        # sleep, a wake (a request, a push, force_cycle) or stop. Waiting on the two events with
        # a task each, every cycle, was three tasks made and cancelled a cycle.
        woken: asyncio.Future | None = None

        def rouse(_: object = None) -> None:
            if woken is not None and not woken.done():
                woken.set_result(None)
        stopper = asyncio.ensure_future(stop.wait())
        stopper.add_done_callback(rouse)
        try:
            while not stop.is_set():
                started = self.clock.now()
                await self.cycle()
                n += 1
                if cycles is not None and n >= cycles:
                    break
                delay = max(0.0, self.interval_s - (self.clock.now() - started))
                self._wake.clear()
                if self._requests or self.push.due:
                    continue
                if stop.is_set():       # set during the cycle: the stopper's callback has run already
                    break
                woken = loop.create_future()
                self._wake.on_set = rouse
                sleeper = asyncio.ensure_future(self.clock.sleep(delay))
                sleeper.add_done_callback(rouse)
                try:
                    await woken
                finally:
                    self._wake.on_set = None
                    if not sleeper.done():
                        sleeper.cancel()
        finally:
            stopper.cancel()

    async def close(self) -> None:
        self.push.cancel()
        for t in list(self._cmd_tasks.values()):
            t.cancel()   # a miner that hangs on a command must not hold up the shutdown
        await asyncio.gather(*self._cmd_tasks.values(), return_exceptions=True)
        for closer in (self.source.close, self.fleet.close):
            try:
                await closer()
            except Exception:
                log.exception("close failed")
        if self.recorder is not None:
            await self.recorder.flush()


class _WakeEvent(asyncio.Event):
    """The engine's wake-up: an Event that also resolves the run loop's wait, when it waits."""

    on_set: Callable[[], None] | None = None

    def set(self) -> None:
        super().set()
        if self.on_set is not None:
            self.on_set()


def _redact(text: str) -> str:
    """Issue 9: no secret reaches a screen, a log or the history through an event message."""
    try:
        from ..secrets import redact, strip_controls
    except Exception:  # pragma: no cover
        return text
    return strip_controls(redact(text))


def finite_snapshot(snapshot: EnergySnapshot) -> EnergySnapshot:
    """Adapters already turn NaN and infinities into None (energy/convert.py); this is the engine's
    own guard at its boundary for any source that does not: such a value is missing, with a reason."""
    from dataclasses import replace
    from ..energy.snapshot import ALL_FIELDS
    bad = {}
    for f in ALL_FIELDS:
        r = getattr(snapshot, f)
        v = r.value
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)):
            bad[f] = replace(r, value=None, error=f"{f}: {str(v)[:20]} is not a finite number")
    fc = snapshot.forecast
    if fc and any(not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v)
                  for v in fc.values() if v is not None):
        snapshot = replace(snapshot, forecast={k: v for k, v in fc.items()
                                               if isinstance(v, (int, float)) and not isinstance(v, bool)
                                               and math.isfinite(v)})
    return snapshot.with_values(**bad) if bad else snapshot


def _miner_arg(args: Any) -> str | None:
    m = args.get("miner") if isinstance(args, dict) else None
    return m if isinstance(m, str) and len(m) <= 64 else None


def _hours(s: float) -> str:
    return f"{s / 3600:.1f} h"


def _miner_of(key: str) -> str | None:
    return key.split(":", 1)[1] if key.startswith("miner:") else None


def _subtract_miners(snapshot: EnergySnapshot, miners_w: float) -> EnergySnapshot:
    from dataclasses import replace
    h = snapshot.house_w
    if h.value is None:
        return snapshot
    return snapshot.with_values(house_w=replace(h, value=max(0.0, h.value - miners_w)))
