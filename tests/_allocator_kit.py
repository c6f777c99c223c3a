"""Test kit for the allocator tests: snapshots, samples, views and a tiny in-test site model."""
from __future__ import annotations

from dataclasses import dataclass, field

from edgemining_tui.energy.snapshot import EnergySnapshot, Reading, missing
from edgemining_tui.miners.model import Capabilities, CommandKind, Level, MinerSample, MinerState
from edgemining_tui.policy.decision import DecisionInput, MinerView

T0 = 1_750_000_000.0   # 2025-06-15 15:06:40 UTC

CONT = Capabilities(on_off=True, power_target=True, min_w=1200, max_w=3000, step_w=100, idle_w=15)
SMALL = Capabilities(on_off=True, power_target=True, min_w=500, max_w=1500, step_w=50, idle_w=10)
LEVELED = Capabilities(on_off=True, levels=(Level("eco", 800), Level("normal", 1400), Level("turbo", 2000)),
                       idle_w=10)
ONOFF = Capabilities(on_off=True, max_w=1000, idle_w=5)
MONITOR = Capabilities(monitor_only=True, max_w=1000)


def snap(ts: float, grid: float | None, charge: float | None = None, soc: float | None = None,
         pv: float | None = None, house: float | None = None) -> EnergySnapshot:
    def r(v: float | None) -> Reading:
        return Reading(v, ts, "test") if v is not None else missing(ts, "test", "not configured")
    return EnergySnapshot(ts, r(pv), r(house), r(grid), r(charge), r(soc))


def sample(name: str, ts: float, running: bool, power: float | None = None, limit: float | None = None,
           level: str | None = None, state: MinerState | None = None) -> MinerSample:
    st = state or (MinerState.MINING if running else MinerState.PAUSED)
    if power is None and not running and state is None:
        power = 10.0
    return MinerSample(name, ts, st, power_w=power, power_limit_w=limit, level=level)


def view(name: str, caps: Capabilities, smp: MinerSample | None, priority: int = 1) -> MinerView:
    return MinerView(name=name, priority=priority, caps=caps, sample=smp)


def inp(now: float, snapshot: EnergySnapshot, *views: MinerView, stale: tuple[str, ...] = (),
        stale_for: float = 0.0, tz: str = "UTC") -> DecisionInput:
    return DecisionInput(now=now, snapshot=snapshot, miners=tuple(views), stale=stale, stale_for_s=stale_for,
                         tz=tz)


@dataclass
class SimMiner:
    """A miner that obeys commands at once and ramps its draw toward the target over ``ramp_s``."""

    name: str
    caps: Capabilities
    priority: int = 1
    ramp_s: float = 60.0
    running: bool = False
    limit: float | None = None
    level: str | None = None
    power: float = 0.0
    starts: list[float] = field(default_factory=list)
    stops: list[float] = field(default_factory=list)
    changes: list[float] = field(default_factory=list)
    energy_wh: float = 0.0

    def __post_init__(self) -> None:
        self.power = self.caps.idle_w
        if self.limit is None:
            self.limit = self.caps.highest_w

    def target(self) -> float:
        if not self.running:
            return self.caps.idle_w
        if self.caps.power_target:
            return float(self.limit)
        if self.caps.levels:
            return next((lv.watts for lv in self.caps.levels if lv.name == self.level), self.caps.highest_w)
        return self.caps.max_w

    def step(self, dt: float) -> None:
        tgt = self.target()
        rate = max(self.caps.highest_w, 1.0) / self.ramp_s
        if self.power < tgt:
            self.power = min(tgt, self.power + rate * dt)
        else:
            self.power = max(tgt, self.power - rate * dt)
        self.energy_wh += self.power * dt / 3600.0

    def apply(self, cmd, now: float) -> None:
        if cmd.kind is CommandKind.START:
            self.running = True
            self.starts.append(now)
            if cmd.watts is not None:
                self.limit = cmd.watts
            if cmd.level is not None:
                self.level = cmd.level
        elif cmd.kind is CommandKind.STOP:
            self.running = False
            self.stops.append(now)
        elif cmd.kind is CommandKind.SET_POWER:
            self.limit = cmd.watts
            self.changes.append(now)
        elif cmd.kind is CommandKind.SET_LEVEL:
            self.level = cmd.level
            self.changes.append(now)

    def sample(self, now: float) -> MinerSample:
        st = MinerState.MINING if self.running else MinerState.PAUSED
        return MinerSample(self.name, now, st, power_w=self.power,
                           power_limit_w=self.limit if self.caps.power_target else None, level=self.level)

    def view(self, now: float) -> MinerView:
        return MinerView(self.name, self.priority, self.caps, self.sample(now))


class Site:
    """pv(t) and house(t) callables; no battery; grid = house + miners - pv."""

    def __init__(self, decider, miners: list[SimMiner], pv, house, dt: float = 10.0, start: float = T0,
                 tz: str = "UTC") -> None:
        self.decider = decider
        self.miners = miners
        self.pv = pv
        self.house = house
        self.dt = dt
        self.now = start
        self.tz = tz
        self.decisions = []

    def grid(self) -> float:
        return self.house(self.now) + sum(m.power for m in self.miners) - self.pv(self.now)

    def tick(self) -> None:
        s = snap(self.now, self.grid(), pv=self.pv(self.now), house=self.house(self.now))
        d = self.decider.decide(DecisionInput(now=self.now, snapshot=s,
                                              miners=tuple(m.view(self.now) for m in self.miners), tz=self.tz))
        self.decisions.append(d)
        for m in self.miners:
            md = d.miners[m.name]
            if md.command is not None:
                m.apply(md.command, self.now)
        for m in self.miners:
            m.step(self.dt)
        self.now += self.dt

    def run(self, seconds: float) -> None:
        end = self.now + seconds
        while self.now < end:
            self.tick()
