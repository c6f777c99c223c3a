"""Miners simulated in-process for a replay: the emulators' MinerModel, stepped directly.

Commands map onto the model exactly as ``miners/simulated.py`` maps them (start/stop →
resume/pause, set_power → clamp to the range or the highest level that fits, set_level), but
synchronously and without building full samples: the replay calls this half a million times.
"""
from __future__ import annotations

import math

from ..miners.capabilities import FAMILY_CAPABILITIES, apply_overrides, simulated_capabilities
from ..miners.config import MinerConfig
from ..miners.model import Capabilities, CommandKind, MinerCommand, MinerSample, MinerState
from ..policy.decision import MinerView
from ..sim.miner_model import MinerModel
from .fast import make_sample as _make_sample, make_view as _make_view

_START = CommandKind.START
_STOP = CommandKind.STOP
_SET_POWER = CommandKind.SET_POWER
_SET_LEVEL = CommandKind.SET_LEVEL
_PAUSED = MinerState.PAUSED
_RAMPING = MinerState.RAMPING
_MINING = MinerState.MINING
_NEG_INF = float("-inf")


def capabilities_of(cfg: MinerConfig) -> Capabilities:
    """What the live driver would report: a simulated miner's spec, else family defaults + overrides."""
    spec = cfg.simulated
    if spec is not None:
        return apply_overrides(simulated_capabilities(spec), cfg.capabilities)
    base = FAMILY_CAPABILITIES.get(cfg.family, Capabilities(on_off=False, monitor_only=True))
    return apply_overrides(base, cfg.capabilities)


def learned_only(miners) -> list[str]:
    """Enabled miners written with ``family: auto``: the live console learns their family (and so
    their control) when they answer; a replay cannot, and runs them as monitor only."""
    return [m.name for m in miners if m.enabled and m.family == "auto" and capabilities_of(m).monitor_only]


def model_of(cfg: MinerConfig, caps: Capabilities, now: float, efficiency_j_th: float) -> MinerModel:
    """A MinerModel for the miner, paused at ``now`` (a replay starts with the fleet off)."""
    spec = cfg.simulated
    if spec is not None:
        levels = tuple((lv.name, float(lv.watts)) for lv in spec.levels)
        return MinerModel(max_w=spec.max_w, min_w=spec.min_w, idle_w=spec.idle_w,
                          efficiency_j_th=spec.efficiency_j_th, ramp_s=spec.ramp, ambient_c=spec.ambient_c,
                          levels=levels, now=now, paused=True)
    levels = tuple((lv.name, lv.watts) for lv in caps.levels)
    hi = caps.highest_w or 3250.0
    lo = caps.min_w if caps.power_target else hi
    idle = min(caps.idle_w, hi * 0.5)
    return MinerModel(max_w=hi, min_w=lo, idle_w=idle, efficiency_j_th=efficiency_j_th, ramp_s=60.0,
                      levels=levels, now=now, paused=not caps.monitor_only)


class SimMiner:
    """One replayed miner: its model, the last command and what it has done so far."""

    __slots__ = ("name", "priority", "zone", "caps", "model", "level_names", "last_command", "confirmed",
                 "starts", "starts_by_day", "energy_wh", "th_s_s", "commands", "sample", "view",
                 "p_sum", "hr_sum", "ramp_tol", "cut_after", "boot_s", "paused_since", "cut", "idle_saved",
                 "boot_done", "pending_day", "cuts", "ahead", "steady", "steady_p", "steady_hr", "fleet")

    def __init__(self, cfg: MinerConfig, now: float, efficiency_j_th: float = 29.5) -> None:
        self.name = cfg.name
        self.priority = cfg.priority
        self.zone = None
        self.caps = capabilities_of(cfg)
        self.model = model_of(cfg, self.caps, now, efficiency_j_th)
        self.level_names = [lv.name for lv in self.caps.levels]
        self.last_command: MinerCommand | None = None
        self.confirmed: bool | None = None
        self.starts = 0
        self.starts_by_day: dict[int, int] = {}
        self.energy_wh = 0.0
        self.th_s_s = 0.0            # ∫ hashrate dt, TH/s · s (= TH hashed)
        self.commands = 0
        self.sample: MinerSample | None = None
        self.view: MinerView | None = None
        self.ramp_tol = max(5.0, 0.02 * self.model.max_w)   # as MinerModel.ramping
        self.p_sum = 0.0             # Σ power_w over observed steps
        self.hr_sum = 0.0            # Σ hashrate_ths over observed steps
        # a smart plug in front of it (backtest.standby_cut): power cut after a pause longer than
        # cut_after, restored when a start is coming (the enable timer runs) and booting for boot_s
        self.cut_after: float | None = None
        self.boot_s = 0.0
        self.paused_since: float | None = now
        self.cut = False
        self.idle_saved = 0.0
        self.boot_done = _NEG_INF
        self.pending_day: int | None = None
        self.cuts = 0
        self.ahead = False           # restored when the enable timer starts, not on the start
        # the model sits at its goal and nothing has touched it since the last observe: the next
        # observe sees the same draw, hashrate and view (cleared by every command and plug change)
        self.steady = False
        self.steady_p = 0.0
        self.steady_hr = 0.0
        self.fleet: Fleet | None = None      # the Fleet stepping it (told when it is touched)
        ps = getattr(cfg, "power_switch", None)
        if ps is not None and ps.standby_cut_after is not None:
            self.plug(ps.standby_cut_after, ps.boot_time)   # ahead of the start, as miners/plug.py does live

    def plug(self, cut_after_s: float, boot_s: float, ahead: bool = True) -> None:
        self.cut_after = cut_after_s
        self.boot_s = boot_s
        self.ahead = ahead
        self._touched()

    def _touched(self) -> None:
        """A command or a plug change: the model leaves its goal (and the fleet its calm)."""
        self.steady = False
        f = self.fleet
        if f is not None and f._calm is not None:
            f._calm = None
            f.catch_up()

    def restore(self, now: float) -> None:
        """The plug switches on: the miner boots (standby draw, no hashing) for boot_s."""
        self._touched()
        if self.cut:
            self.cut = False
            self.model.idle_w = self.idle_saved
            self.boot_done = now + self.boot_s
            self.paused_since = now

    def _plug_step(self, now: float) -> None:
        m = self.model
        if self.pending_day is not None:
            if now >= self.boot_done:
                day, self.pending_day = self.pending_day, None
                self._start(day)
            return
        if not self.cut and m.paused and self.paused_since is not None \
                and now - self.paused_since >= self.cut_after:
            self.cut = True
            self.cuts += 1
            self.idle_saved = m.idle_w
            m.idle_w = 0.0
            m.power_w = 0.0

    def observe(self, now: float) -> MinerView:
        """Step the model to ``now`` and return what the decider sees (a fresh sample and view).

        Also adds this step's draw and hashrate to the miner's running sums (the caller scales them).
        A model that sits at its goal only has its clock moved on (its temperatures are not relaxed:
        nothing in a replay reads them). When nothing touched it since (``steady``), ``Fleet.step``
        does what this would, without asking it."""
        m = self.model
        if self.cut_after is not None:
            self._plug_step(now)
        if now > m.last_ts:
            goal = m.idle_w if m.paused else m.target_w
            if m.power_w == goal and m.offline_until == _NEG_INF:
                m.last_ts = now
            else:
                m.step(now)
        p = m.power_w
        self.p_sum += p
        if m.paused:
            state = _PAUSED
            hr = 0.0
        else:
            hr = (p - m.idle_w) / m.efficiency_j_th if p > m.idle_w else 0.0
            self.hr_sum += hr
            d = p - m.target_w
            state = _RAMPING if (d > self.ramp_tol or -d > self.ramp_tol) else _MINING
        li = m.level_index
        level = m.levels[li][0] if li >= 0 and m.levels else None
        if self.confirmed is None and self.last_command is not None:
            self.confirmed = True       # a simulated miner always does what it is told
        s = self.sample
        v = self.view
        if self.cut_after is None and p == (m.idle_w if m.paused else m.target_w) and m.offline_until == _NEG_INF:
            self.steady = True
            self.steady_p = p
            self.steady_hr = hr
        if s is not None and s.power_w == p and s.state is state and s.power_limit_w == m.target_w \
                and s.level == level and v.last_command is self.last_command and v.confirmed is self.confirmed:
            # nothing the decider reads has changed: hand it the same view (its sample keeps the
            # time it last changed; no decision reads a sample's time). Most steps take this path.
            return v
        s = _make_sample(self.name, now, state, p, m.target_w, level, hr)
        self.sample = s
        v = _make_view(self.name, self.priority, self.caps, s, self.zone, self.last_command, self.confirmed)
        self.view = v
        return v

    def apply(self, cmd: MinerCommand, day: int) -> bool:
        """Apply a command now (the model was stepped to now by observe). False: not supported."""
        caps = self.caps
        if caps.monitor_only:
            return False
        m = self.model
        kind = cmd.kind
        self._touched()
        self.commands += 1
        ok = True
        if kind is _START:
            if m.paused:
                if self.cut_after is not None and (self.cut or m.last_ts < self.boot_done):
                    self.restore(m.last_ts)          # not restored ahead: boot now
                    self.pending_day = day           # it hashes once booted
                else:
                    self._start(day)
        elif kind is _STOP:
            m.pause()
            self.pending_day = None
            self.paused_since = m.last_ts
        elif kind is _SET_LEVEL:
            if cmd.level in self.level_names:
                self._set_level(self.level_names.index(cmd.level))
            else:
                ok = False
        elif kind is _SET_POWER and cmd.watts is not None:
            if caps.power_target:
                m.set_target(cmd.watts)
            elif caps.levels:
                best, best_w = 0, None
                for i, lv in enumerate(caps.levels):
                    if lv.watts <= cmd.watts and (best_w is None or lv.watts > best_w):
                        best, best_w = i, lv.watts
                self._set_level(best)
            else:
                ok = False
        else:
            ok = False
        self.last_command = cmd
        self.confirmed = None if ok else False
        return ok

    def _start(self, day: int) -> None:
        self.model.resume()
        self.paused_since = None
        self.starts += 1
        self.starts_by_day[day] = self.starts_by_day.get(day, 0) + 1

    def _set_level(self, idx: int) -> None:
        m = self.model
        if m.levels:
            m.set_level(idx)
        else:
            m.target_w = self.caps.levels[idx].watts

    def stats(self, days: float) -> dict:
        per_day = list(self.starts_by_day.values())
        return {
            "starts": self.starts,
            "starts_per_day_max": max(per_day) if per_day else 0,
            "starts_per_day_mean": self.starts / days if days > 0 else 0.0,
            "commands": self.commands,
            "energy_kwh": self.energy_wh / 1000.0,
        }


class Fleet:
    """The replayed miners, stepped together once a tick: ``step(now)`` observes each and returns
    their draw now (W); ``views`` is then what the decider is handed, the same tuple while no
    miner's view changed (most ticks)."""

    __slots__ = ("miners", "models", "views", "_paused", "_calm", "_calm_ts", "_hashing")

    def __init__(self, miners: list[SimMiner]) -> None:
        self.miners = miners
        self.models = [sm.model for sm in miners]
        self.views: tuple[MinerView, ...] = ()
        self._paused: bool | None = None     # all_paused(), until a miner is not steady
        # the fleet's draw after a step that found every miner steady, until one is touched
        # (SimMiner._touched): the next step then only moves the sums and clocks on
        self._calm: float | None = None
        # the last step while calm: the models' clocks are moved on to it when the calm ends
        # (SimMiner._touched) or the replay (catch_up), not at every step
        self._calm_ts = -math.inf
        self._hashing: list[SimMiner] = []   # of those, the ones not paused
        for sm in miners:
            sm.fleet = self

    def step(self, now: float) -> float:
        mw = self._calm
        if mw is not None:
            self._calm_ts = now
            for sm in self.miners:
                sm.p_sum += sm.steady_p
            for sm in self._hashing:
                sm.hr_sum += sm.steady_hr
            return mw
        mw = 0.0
        views = self.views
        fresh = None
        calm = True
        for i, sm in enumerate(self.miners):
            m = sm.model
            if sm.steady:
                # at its goal, untouched since the last step: the same draw, hashrate and view
                # (SimMiner.observe would find just that, at more cost)
                if now > m.last_ts:
                    m.last_ts = now
                sm.p_sum += sm.steady_p
                if not m.paused:
                    sm.hr_sum += sm.steady_hr
            else:
                v = sm.observe(now)
                self._paused = None
                if fresh is None and (i >= len(views) or v is not views[i]):
                    fresh = True
                if not sm.steady:
                    calm = False
            mw += m.power_w
        if fresh:
            self.views = tuple([sm.view for sm in self.miners])
        if calm:
            self._calm = mw
            self._hashing = [sm for sm in self.miners if not sm.model.paused]
        return mw

    def all_steady(self) -> bool:
        """Every miner at its goal and untouched since its last step (``step`` would only add its draw)."""
        for sm in self.miners:
            if not sm.steady:
                return False
        return True

    def steady_w(self) -> float:
        """The fleet's draw while every miner stays steady, summed as ``step`` sums it."""
        mw = 0.0
        for m in self.models:
            mw += m.power_w
        return mw

    def moved_to(self, now: float) -> None:
        """Steady miners stepped to ``now`` by their caller (their sums added there): their clocks follow."""
        for m in self.models:
            if now > m.last_ts:
                m.last_ts = now

    def catch_up(self) -> None:
        """The models' clocks moved on to the last step while calm (``step`` leaves them behind)."""
        self.moved_to(self._calm_ts)

    def all_paused(self) -> bool:
        """Every miner paused and drawing no more than its standby. Asked after ``step``; the
        answer stands while every miner stays steady (a command or a plug change ends that)."""
        p = self._paused
        if p is None:
            p = True
            for m in self.models:
                if not m.paused or m.power_w > m.idle_w:
                    p = False
                    break
            self._paused = p
        return p
