"""An in-process miner over the shared physics model: no sockets, no pyasic (backtest, engine tests).

Time comes only from the injected clock, so a VirtualClock replays a year in seconds.
``faults`` lets engine tests see offline/unresponsive/failed commands without sockets.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..clock import Clock
from ..sim.miner_model import MinerModel
from .capabilities import apply_overrides, simulated_capabilities
from .config import MinerConfig, SimulatedSpec
from .model import (
    Board, Capabilities, CommandKind, CommandResult, MinerCommand, MinerSample, MinerState,
)


@dataclass
class SimFaults:
    offline: bool = False          # reads come back OFFLINE, commands fail
    unresponsive: bool = False     # reads come back UNRESPONSIVE, commands time out
    refuse_commands: bool = False  # commands fail with "refused by the miner"
    ignore_commands: bool = False  # commands "succeed" but change nothing (read-back must catch it)


class SimulatedDriver:
    def __init__(self, cfg: MinerConfig, clock: Clock, model: MinerModel | None = None) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self.clock = clock
        spec = cfg.simulated or SimulatedSpec()
        self.spec = spec
        levels = tuple((lv.name, float(lv.watts)) for lv in spec.levels)
        self.model = model or MinerModel(
            max_w=spec.max_w, min_w=spec.min_w, idle_w=spec.idle_w, efficiency_j_th=spec.efficiency_j_th,
            ramp_s=spec.ramp, ambient_c=spec.ambient_c, levels=levels, now=clock.now(),
            paused=spec.start_paused)
        self.faults = SimFaults()
        self._caps = apply_overrides(simulated_capabilities(spec), cfg.capabilities)

    @property
    def capabilities(self) -> Capabilities:
        return self._caps

    async def read(self) -> MinerSample:
        now = self.clock.now()
        if self.faults.unresponsive:
            return MinerSample(self.name, now, MinerState.UNRESPONSIVE,
                               error=f"no answer within {self.cfg.poll_timeout:g} s")
        m = self.model
        m.step(now)
        if self.faults.offline or not m.online_at(now):
            return MinerSample(self.name, now, MinerState.OFFLINE, error="connection refused")
        hr = m.hashrate_ths
        if m.paused:
            state = MinerState.PAUSED
        elif m.ramping:
            state = MinerState.RAMPING
        else:
            state = MinerState.MINING
        per_board = hr / m.boards if m.boards else hr
        board_t = round(m.board_temp_c, 1)
        chip_t = round(m.chip_temp_c, 1)
        boards = tuple(Board(i, per_board, board_t, chip_t, m.chips_per_board) for i in range(m.boards))
        return MinerSample(
            name=self.name, ts=now, state=state, power_w=m.power_w, power_limit_w=m.target_w,
            level=m.level_name, hashrate_ths=hr, temp_c=board_t, fan_rpm=int(m.fan_rpm),
            uptime_s=m.uptime_s(now), model="Simulated", firmware="sim", boards=boards, poll_s=0.0)

    async def apply(self, command: MinerCommand) -> CommandResult:
        now = self.clock.now()
        desc = command.describe()
        if self.faults.unresponsive:
            return CommandResult(False, f"{desc}: no answer within {self.cfg.command_timeout:g} s", now)
        if self.faults.offline or not self.model.online_at(now):
            return CommandResult(False, f"{desc}: connection refused", now)
        if self.faults.refuse_commands:
            return CommandResult(False, f"{desc}: refused by the miner", now)
        caps = self._caps
        if caps.monitor_only:
            return CommandResult(False, f"{desc}: not supported: this miner is monitor-only", now)
        m = self.model
        m.step(now)
        apply = not self.faults.ignore_commands
        kind = command.kind
        if kind in (CommandKind.START, CommandKind.STOP):
            if apply:
                if kind is CommandKind.START:
                    # the decided power comes with the start, so it ramps straight to it
                    if command.level is not None and caps.levels:
                        names = [lv.name for lv in caps.levels]
                        if command.level in names:
                            self._set_level(names.index(command.level))
                    elif command.watts is not None and caps.power_target:
                        m.set_target(command.watts)
                    m.resume()
                else:
                    m.pause()
            return CommandResult(True, f"{desc}: accepted", now)
        if kind is CommandKind.SET_LEVEL:
            names = [lv.name for lv in caps.levels]
            if command.level not in names:
                return CommandResult(False, f"{desc}: unknown level {command.level!r}", now)
            if apply:
                self._set_level(names.index(command.level))
            return CommandResult(True, f"{desc}: accepted", now)
        if kind is CommandKind.SET_POWER and command.watts is not None:
            if caps.power_target:
                if apply:
                    m.set_target(command.watts)
                return CommandResult(True, f"{desc}: accepted", now)
            if caps.levels:
                fitting = [i for i, lv in enumerate(caps.levels) if lv.watts <= command.watts]
                idx = max(fitting, key=lambda i: caps.levels[i].watts) if fitting else 0
                if apply:
                    self._set_level(idx)
                return CommandResult(True, f"{desc}: accepted (level {caps.levels[idx].name})", now)
            return CommandResult(False, f"{desc}: not supported: no power target on this miner", now)
        return CommandResult(False, f"{desc}: not supported", now)

    def _set_level(self, idx: int) -> None:
        lv = self._caps.levels[idx]
        if self.model.levels:
            self.model.set_level(idx)
        else:  # levels only from config overrides: drive the model by watts
            self.model.target_w = lv.watts

    async def close(self) -> None:
        return None
