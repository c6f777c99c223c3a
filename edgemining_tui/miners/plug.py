"""Smart plugs: a miner switched by a relay, or a relay in front of a pyasic miner.

A plug is a :class:`PowerSwitch` (miners/power_switch.py: Home Assistant or Shelly Gen2).

Two ways to use one (``miners:`` entries, docs/miners.md "Smart plugs"):

- ``driver: plug``: the plug *is* the miner's control (an S9 on a socket): on = mining after
  ``boot_time``; the plug's meter is the miner's power. :class:`PlugDriver`.
- ``power_switch:`` on a pyasic miner: pyasic pauses and resumes it; after a pause longer than
  ``standby_cut_after`` (default 30 min) the plug cuts its standby draw, and a start first restores
  power and waits for the miner to boot. :class:`SwitchedDriver`. The plug is switched on only by a
  start the decider allowed (min off, starts per day) and off only while the miner is paused, so
  those protections count the plug's switching too.

The backtest can model the same with :func:`standby_cut_due` and :class:`PlugTiming`.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace
from typing import Protocol, runtime_checkable

from ..clock import Clock
from .model import (
    Capabilities, CommandKind, CommandResult, MinerCommand, MinerDriver, MinerSample, MinerState,
)
from .power_switch import HomeAssistantSwitch, PlugError, PlugReading, PowerSwitch, ShellyGen2Switch, build_switch


@dataclass(frozen=True, slots=True)
class PlugTiming:
    boot_s: float = 60.0               # from power on until the miner hashes
    standby_cut_after_s: float | None = 1800.0   # paused this long: cut the standby (None: never)


def standby_cut_due(paused_since: float | None, now: float, timing: PlugTiming) -> bool:
    """Has a paused miner waited long enough for its plug to cut the standby draw?"""
    return (timing.standby_cut_after_s is not None and paused_since is not None
            and now - paused_since >= timing.standby_cut_after_s)


# ------------------------------------------------------------------------------------------------
# a miner driven by its plug
# ------------------------------------------------------------------------------------------------
class PlugDriver:
    """``driver: plug``. On and booted: mining at the plug's metered power; on within ``boot_time``
    of being switched on: ramping; off: paused at 0 W. The plug unreachable: offline."""

    def __init__(self, cfg, clock: Clock, switch: PowerSwitch | None = None) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self.clock = clock
        self.switch = switch or build_switch(cfg.plug, cfg.name, clock)
        self.timing = PlugTiming(boot_s=cfg.plug.boot_time, standby_cut_after_s=None)
        ov = cfg.capabilities
        max_w = float(ov.max_w) if ov is not None and ov.max_w is not None else 0.0
        self._caps = Capabilities(on_off=True, power_target=False, min_w=max_w, max_w=max_w, idle_w=0.0,
                                  why_limited="a smart plug can only switch the miner on and off")
        self.on_since: float | None = None     # when we saw the plug go on (for the boot time)
        self._last_on: bool | None = None

    @property
    def capabilities(self) -> Capabilities:
        return self._caps

    async def read(self) -> MinerSample:
        t0 = time.perf_counter()
        r = await self.switch.read()
        if r.on is None:
            self._last_on = None
            return MinerSample(self.name, r.ts, MinerState.OFFLINE, error=f"plug: {r.error}",
                               poll_s=time.perf_counter() - t0)
        if r.on and self._last_on is not True and self.on_since is None:
            # on when we first looked (or switched by hand): count the boot from now
            self.on_since = r.ts
        if not r.on:
            self.on_since = None
        self._last_on = r.on
        if not r.on:
            state = MinerState.PAUSED
        elif r.ts - (self.on_since or r.ts) < self.timing.boot_s:
            state = MinerState.RAMPING
        else:
            state = MinerState.MINING
        power = r.power_w if r.power_w is not None else (0.0 if not r.on else None)
        return MinerSample(self.name, r.ts, state, power_w=power, model="smart plug",
                           error=f"plug: {r.error}" if r.error else None, poll_s=time.perf_counter() - t0)

    async def apply(self, command: MinerCommand) -> CommandResult:
        now = self.clock.now()
        desc = command.describe()
        if command.kind not in (CommandKind.START, CommandKind.STOP):
            return CommandResult(False, f"{desc}: not supported: {self._caps.why_limited}", now)
        on = command.kind is CommandKind.START
        try:
            await self.switch.set(on)
        except PlugError as e:
            return CommandResult(False, f"{desc}: plug: {e}", now)
        if on and self._last_on is not True:
            self.on_since = self.clock.now()
        elif not on:
            self.on_since = None
        self._last_on = on
        return CommandResult(True, f"{desc}: plug switched {'on' if on else 'off'}", now)

    async def close(self) -> None:
        await self.switch.close()


# ------------------------------------------------------------------------------------------------
# a plug in front of a pyasic miner
# ------------------------------------------------------------------------------------------------
_HOLD = MinerCommand(CommandKind.STOP, reason="powered ahead of its start: paused until the start")


@runtime_checkable
class Prepares(Protocol):
    """A driver that can get ready for a start the decider has announced (its enable timer runs)."""

    async def prepare(self) -> str | None: ...


class SwitchedDriver:
    """A miner (pyasic) behind a plug. While the plug is on, the miner's own reads and commands;
    a pause longer than ``standby_cut_after`` switches the plug off (the miner reads paused at
    0 W, not offline); a start switches it on, reports ramping while the miner boots, and sends
    the start to the miner once it answers."""

    def __init__(self, inner: MinerDriver, switch: PowerSwitch, timing: PlugTiming, clock: Clock) -> None:
        self.inner = inner
        self.switch = switch
        self.timing = timing
        self.clock = clock
        self.name = inner.name
        cfg = getattr(inner, "cfg", None)
        # a read may ask the plug after the miner (the fleet's guard allows for both)
        plug_s = getattr(getattr(cfg, "power_switch", None), "timeout", 3.0)
        self.cfg = cfg.with_(poll_timeout=cfg.poll_timeout + plug_s) if cfg is not None else None
        self._starting: asyncio.Task | None = None   # the start sent once the miner is back
        self.paused_since: float | None = None
        self.cut = False                          # we cut the power (the miner is off at the wall)
        self.booting_since: float | None = None   # power restored for a start, miner not yet up
        self.pending: MinerCommand | None = None  # the start to send once the miner answers
        self.hold = False                         # powered ahead of a start: kept paused until it
        self.events: list[str] = []               # what the plug did, for the log and tests

    @property
    def capabilities(self) -> Capabilities:
        return self.inner.capabilities

    async def read(self) -> MinerSample:
        now = self.clock.now()
        if self.cut:
            r = await self.switch.read()
            if r.on:          # someone switched it on by hand: the miner is ours again
                self.cut = False
                self.booting_since = self.booting_since or now
            else:
                power = r.power_w if r.power_w is not None else 0.0
                err = f"plug: {r.error}" if r.on is None else None
                return MinerSample(self.name, now, MinerState.PAUSED if r.on is not None else MinerState.OFFLINE,
                                   power_w=power, model=None, error=err or "power cut by its plug (long pause)")
        s = await self.inner.read()
        if not s.online and self.booting_since is None:
            # a miner that does not answer may simply have no power (cut before a restart, or
            # switched off by hand): the plug says
            r = await self.switch.read()
            if r.on is False:
                self.cut = True
                return MinerSample(self.name, now, MinerState.PAUSED, power_w=r.power_w or 0.0,
                                   error="power cut by its plug")
        st = self._starting
        if st is not None and st.done():
            self._starting = None
            res = st.result() if not st.cancelled() and st.exception() is None else None
            self.events.append(f"miner up after power restore: {res.message if res else 'command failed'}")
        if self.hold:
            if s.online and s.running and self.booting_since is None and self.pending is None:
                # it booted into mining, but the decider has not started it yet: pause it, and
                # until that takes it reads paused (a start the decider did not count is no start)
                if self._starting is None:
                    self._starting = asyncio.ensure_future(self.inner.apply(_HOLD))
                return replace(s, state=MinerState.PAUSED, error="powered ahead of its start, held paused")
            if s.online and not s.running and self.booting_since is None:
                self.hold = False
        if self.booting_since is not None:
            if s.online:
                self.booting_since = None
                if self.hold and self.pending is None:
                    return await self.read_held(s)
                if self.pending is not None:
                    # the start goes out in the background: a command may take longer than a poll
                    cmd, self.pending = self.pending, None
                    self._starting = asyncio.ensure_future(self.inner.apply(cmd))
                    return replace(s, state=MinerState.RAMPING, error="starting after its plug restored power")
            elif now - self.booting_since < self.timing.boot_s * 3:
                if self.hold:     # ahead of its start: paused for the decider, booting at the wall
                    return MinerSample(self.name, now, MinerState.PAUSED, power_w=s.power_w,
                                       error="booting ahead of its start (plug on)")
                return MinerSample(self.name, now, MinerState.RAMPING, power_w=s.power_w,
                                   error="booting after its plug restored power")
            else:
                self.booting_since = None
        if s.state is MinerState.PAUSED:
            if self.paused_since is None:
                self.paused_since = now
            if standby_cut_due(self.paused_since, now, self.timing):
                try:
                    await self.switch.set(False)
                except PlugError as e:
                    return replace(s, error=f"plug: could not cut the standby: {e}")
                self.cut = True
                self.events.append(f"standby cut after {now - self.paused_since:.0f} s paused")
                return replace(s, power_w=0.0, error="power cut by its plug (long pause)")
        elif s.online:
            self.paused_since = None
        return s

    async def read_held(self, s: MinerSample) -> MinerSample:
        """The first read after a boot ahead of a start: a miner that came up mining is paused."""
        if s.running:
            if self._starting is None:
                self._starting = asyncio.ensure_future(self.inner.apply(_HOLD))
            return replace(s, state=MinerState.PAUSED, error="powered ahead of its start, held paused")
        self.hold = False
        return s

    async def prepare(self) -> str | None:
        """A start is coming (the decider's enable timer runs): restore the power now, so the boot
        runs inside the enable delay and the start finds the miner up. It stays paused until the
        start. None when there is nothing to do (the power is on)."""
        if not self.cut:
            return None
        now = self.clock.now()
        try:
            await self.switch.set(True)
        except PlugError as e:
            return f"plug: could not restore power ahead of a start: {e}"
        self.cut = False
        self.paused_since = None
        self.booting_since = now
        self.pending = None
        self.hold = True
        self.events.append("power restored ahead of a start")
        return f"plug switched on ahead of a start; the miner boots (~{self.timing.boot_s:.0f} s)"

    async def apply(self, command: MinerCommand) -> CommandResult:
        now = self.clock.now()
        if command.kind is CommandKind.START:
            self.hold = False
        if command.kind is CommandKind.START and self.cut:
            try:
                await self.switch.set(True)
            except PlugError as e:
                return CommandResult(False, f"{command.describe()}: plug: {e}", now)
            self.cut = False
            self.paused_since = None
            self.booting_since = now
            self.pending = command
            self.events.append("power restored for a start")
            return CommandResult(True, f"{command.describe()}: plug switched on; the miner boots "
                                       f"(~{self.timing.boot_s:.0f} s), then starts", now)
        if command.kind is CommandKind.STOP and self.cut:
            return CommandResult(True, f"{command.describe()}: already off (power cut by its plug)", now)
        if command.kind is CommandKind.START and self.booting_since is not None:
            self.pending = command
            return CommandResult(True, f"{command.describe()}: queued until the miner has booted", now)
        res = await self.inner.apply(command)
        if command.kind is CommandKind.STOP and res.ok:
            self.paused_since = now
        return res

    async def close(self) -> None:
        if self._starting is not None:
            self._starting.cancel()
        await asyncio.gather(self.inner.close(), self.switch.close(), return_exceptions=True)


__all__ = ["PlugReading", "PlugError", "PowerSwitch", "PlugTiming", "standby_cut_due", "ShellyGen2Switch", "Prepares",
           "HomeAssistantSwitch", "build_switch", "PlugDriver", "SwitchedDriver"]
