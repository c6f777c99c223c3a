"""The fleet: reads every miner at once, sends commands with bounded retries, verifies by read-back.

- ``read_all`` gathers every driver concurrently. Drivers enforce their own timeouts, so a hung
  miner costs at most its own poll timeout and the others' samples arrive regardless. A guard
  timeout (driver timeout + 1 s) also covers a foreign driver that forgets its own.
- ``apply`` retries a failed command with exponential backoff (bounded: ``retries`` extra
  attempts, delay doubling from ``backoff_s`` up to ``max_backoff_s``). Unsupported commands are
  not retried.
- Read-back: after a command is accepted, the miner's next sample confirms or refutes it
  (``verification(name)``). Starting a miner may take a while to show, so START stays pending
  for ``start_grace_s`` before it is refuted.
"""
from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Iterable, Mapping

from ..clock import Clock
from ..secrets import redact
from .plug import Prepares
from .sanitize import sanitize
from .model import (
    Capabilities, CommandKind, CommandResult, MinerCommand, MinerDriver, MinerSample, MinerState,
    Verification,
)


class Fleet:
    def __init__(self, drivers: Iterable[MinerDriver], clock: Clock, *, retries: int = 2,
                 backoff_s: float = 1.0, max_backoff_s: float = 8.0, start_grace_s: float = 120.0,
                 power_tolerance_w: float | None = None) -> None:
        self.clock = clock
        self._drivers: dict[str, MinerDriver] = {}
        for d in drivers:
            if d.name in self._drivers:
                raise ValueError(f"two miners are called {d.name!r}")
            self._drivers[d.name] = d
        self.retries = max(0, retries)
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.start_grace_s = start_grace_s
        self.power_tolerance_w = power_tolerance_w
        self._last: dict[str, MinerSample] = {}
        self._verif: dict[str, Verification] = {}
        self._guard: dict[str, float] = {}
        self._deadline: dict[str, float] = {}
        for name, d in self._drivers.items():
            cfg = getattr(d, "cfg", None)
            t = getattr(cfg, "poll_timeout", None)
            self._guard[name] = (t + 1.0) if t else 30.0
            ct = getattr(cfg, "command_timeout", None) or 15.0
            # every attempt at its timeout plus the backoffs between them, plus a second each
            backoffs = sum(min(self.max_backoff_s, self.backoff_s * 2 ** i) for i in range(self.retries))
            self._deadline[name] = (ct + 1.0) * (self.retries + 1) + backoffs
        self._inflight: dict[str, MinerCommand] = {}

    # ---- lookup ----
    @property
    def names(self) -> list[str]:
        return list(self._drivers)

    def driver(self, name: str) -> MinerDriver:
        return self._drivers[name]

    def capabilities(self, name: str) -> Capabilities:
        return self._drivers[name].capabilities

    def last_sample(self, name: str) -> MinerSample | None:
        return self._last.get(name)

    @property
    def samples(self) -> Mapping[str, MinerSample]:
        return self._last

    def verification(self, name: str) -> Verification | None:
        return self._verif.get(name)

    def command_deadline_s(self, name: str) -> float:
        """How long one command with all its retries may take before the engine gives up on it."""
        return self._deadline.get(name, 60.0)

    # ---- reading ----
    async def read_all(self) -> dict[str, MinerSample]:
        names = list(self._drivers)
        results = await asyncio.gather(*(self._read_one(n) for n in names))
        out = dict(zip(names, results))
        self._last.update(out)
        if self._verif:
            for name, s in out.items():
                v = self._verif.get(name)
                if v is not None and v.confirmed is None:
                    self._check(v, s, self._drivers[name].capabilities)
        return out

    async def read(self, name: str) -> MinerSample:
        s = await self._read_one(name)
        self._last[name] = s
        v = self._verif.get(name)
        if v is not None and v.confirmed is None:
            self._check(v, s, self._drivers[name].capabilities)
        return s

    async def _read_one(self, name: str) -> MinerSample:
        d = self._drivers[name]
        if name in self._inflight:
            # poll and command share the miner's connection lock (pyasic_driver.py): a poll now
            # would wait behind the command and hold up the cycle. The last sample stands, aging
            # (the decider does not command a miner whose data is too old).
            last = self._last.get(name)
            if last is not None:
                return last
            return MinerSample(name, self.clock.now(), MinerState.UNKNOWN,
                               error=f"not read: {self._inflight[name].describe()} in flight")
        try:
            async with asyncio.timeout(self._guard[name]):
                s = await d.read()
            # non-finite or absurd readings become None with a reason; control characters go
            s = sanitize(s)
            if s.error:
                # driver errors quote what the miner or the library said (URLs, tokens): the UI,
                # the decisions' reasons and the history show this text
                s = replace(s, error=redact(s.error))
            return s
        except TimeoutError:
            return MinerSample(name, self.clock.now(), MinerState.UNRESPONSIVE,
                               error=f"no answer within {self._guard[name]:g} s")
        except Exception as e:  # noqa: BLE001  (drivers should not raise; if one does, it is data)
            return MinerSample(name, self.clock.now(), MinerState.UNKNOWN, error=redact(f"driver error: {e!r}"))

    # ---- commanding ----
    async def prepare(self, name: str) -> str | None:
        """A start of ``name`` is coming (the decider's enable timer runs): a plug in front of it
        restores its power ahead (miners/plug.py). What was done, or None."""
        d = self._drivers.get(name)
        if isinstance(d, Prepares):
            return await d.prepare()
        return None

    async def apply(self, name: str, command: MinerCommand) -> CommandResult:
        d = self._drivers.get(name)
        if d is None:
            return CommandResult(False, f"no miner called {name!r}", self.clock.now())
        refusal = _unsupported(d.capabilities, command)
        if refusal:
            return CommandResult(False, f"{command.describe()}: {refusal}", self.clock.now())
        self._inflight[name] = command
        try:
            return await self._apply(name, d, command)
        finally:
            self._inflight.pop(name, None)

    async def _apply(self, name: str, d: MinerDriver, command: MinerCommand) -> CommandResult:
        delay = self.backoff_s
        attempts = 0
        sent_ts = self.clock.now()
        while True:
            attempts += 1
            try:
                res = await d.apply(command)
            except Exception as e:  # noqa: BLE001
                res = CommandResult(False, f"{command.describe()}: driver error: {e!r}", self.clock.now())
            if res.ok or attempts > self.retries or "not supported" in res.message:
                break
            await self.clock.sleep(delay)
            delay = min(self.max_backoff_s, delay * 2)
        if attempts > 1:
            res = CommandResult(res.ok, f"{res.message} (after {attempts} attempts)", res.ts, res.duration_s)
        v = Verification(command=command, sent_ts=sent_ts, result=res, attempts=attempts)
        if not res.ok:
            v.confirmed = False
            v.detail = f"not applied: {res.message}"
        else:
            v.detail = "waiting for the next poll"
        self._verif[name] = v
        return res

    def _check(self, v: Verification, s: MinerSample, caps: Capabilities) -> None:
        if s.ts < v.sent_ts:
            return
        if not s.online:
            v.detail = f"waiting: miner {s.state.value}"
            return
        cmd = v.command
        kind = cmd.kind
        if kind is CommandKind.STOP:
            if not s.running:
                _settle(v, True, f"commanded stop, miner reports {_state_words(s)}")
            else:
                _settle(v, False, f"not applied: miner reports {_state_words(s)}")
        elif kind is CommandKind.START:
            if s.running:
                _settle(v, True, f"commanded start, miner reports {_state_words(s)}")
            elif s.ts - v.sent_ts >= self.start_grace_s:
                _settle(v, False, f"not applied: miner still reports {_state_words(s)}")
            else:
                v.detail = f"waiting: miner starting ({_state_words(s)})"
        elif kind is CommandKind.SET_LEVEL:
            if s.level is not None:
                ok = s.level == cmd.level
                _settle(v, ok, f"commanded level {cmd.level}, miner reports {s.level}" if ok
                        else f"not applied: miner reports level {s.level}")
            else:
                self._check_watts(v, s, caps, _level_watts(caps, cmd.level))
        elif kind is CommandKind.SET_POWER:
            if caps.levels and not caps.power_target:
                want = _level_for_watts(caps, cmd.watts)
                if s.level is not None and want is not None:
                    ok = s.level == want
                    _settle(v, ok, f"commanded {cmd.watts:.0f} W (level {want}), miner reports level {s.level}"
                            if ok else f"not applied: miner reports level {s.level}")
                    return
            self._check_watts(v, s, caps, cmd.watts)

    def _check_watts(self, v: Verification, s: MinerSample, caps: Capabilities, want: float | None) -> None:
        if want is None:
            _settle(v, None, "cannot verify: unknown target")
            return
        if caps.power_target and caps.max_w:
            want = min(caps.max_w, max(caps.min_w, want))
        tol = self.power_tolerance_w if self.power_tolerance_w is not None else max(caps.step_w, 0.02 * want, 5.0)
        got = s.power_limit_w
        what = "limit"
        if got is None:
            got, what = s.power_w, "draw"  # no reported limit: the draw is the best evidence we have
        if got is None:
            v.detail = "waiting: miner reports no power"
            return
        if abs(got - want) <= tol:
            _settle(v, True, f"commanded {want:.0f} W, miner reports {got:.0f} W")
        else:
            _settle(v, False, f"not applied: miner reports {got:.0f} W" + (" draw" if what == "draw" else ""))

    async def close(self) -> None:
        await asyncio.gather(*(d.close() for d in self._drivers.values()), return_exceptions=True)


def _settle(v: Verification, ok: bool | None, detail: str) -> None:
    v.confirmed = ok
    v.detail = detail


def _state_words(s: MinerSample) -> str:
    if s.power_w is not None:
        return f"{s.state.value} at {s.power_w:.0f} W"
    return s.state.value


def _level_watts(caps: Capabilities, name: str | None) -> float | None:
    return next((lv.watts for lv in caps.levels if lv.name == name), None)


def _level_for_watts(caps: Capabilities, watts: float | None) -> str | None:
    if watts is None or not caps.levels:
        return None
    fitting = [lv for lv in caps.levels if lv.watts <= watts]
    lv = max(fitting, key=lambda x: x.watts) if fitting else min(caps.levels, key=lambda x: x.watts)
    return lv.name


def _unsupported(caps: Capabilities, cmd: MinerCommand) -> str:
    why = f" ({caps.why_limited})" if caps.why_limited else ""
    if caps.monitor_only:
        return "not supported: this miner is monitor-only" + why
    if cmd.kind in (CommandKind.START, CommandKind.STOP) and not caps.on_off:
        return "not supported: this miner cannot be started or stopped" + why
    if cmd.kind is CommandKind.SET_POWER and not (caps.power_target or caps.levels):
        return "not supported: no power target on this miner"
    if cmd.kind is CommandKind.SET_LEVEL and not caps.levels:
        return "not supported: this miner has no levels"
    return ""
