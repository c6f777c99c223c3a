"""Physics of one ASIC miner, shared by the protocol emulators and the in-process simulated driver.

Pure and clock-driven: nothing here sleeps or does I/O. Call ``step(now)`` with the current
time (any clock) before reading; it integrates from the last call. The backtest steps three of
these every simulated minute for a year, so ``step`` is plain float arithmetic on slots.

Model, deliberately simple but shaped like the real thing:
- the miner draws ``idle_w`` while paused and ramps towards its power target when mining;
  ramping up takes ``ramp_s`` for the full idle→max swing, ramping down is ``down_factor``
  times faster (firmware sheds load quickly, but re-tunes slowly);
- hashrate follows the power above idle: ``(power_w - idle_w) / efficiency_j_th`` TH/s;
- board and chip temperatures relax (first order, time constant ``thermal_tau_s``) towards
  ambient plus a rise proportional to power; fans follow the chip temperature;
- a reboot takes the miner offline for a while, then it boots paused-or-mining as before,
  with a fresh uptime.
"""
from __future__ import annotations

import math


class MinerModel:
    __slots__ = (
        "max_w", "min_w", "idle_w", "efficiency_j_th", "ramp_s", "down_factor", "ambient_c",
        "levels", "boards", "chips_per_board", "fans", "thermal_tau_s", "board_rise_c",
        "chip_extra_c", "fan_min_rpm", "fan_max_rpm",
        "target_w", "level_index", "paused", "power_w", "board_temp_c", "chip_temp_c",
        "boot_ts", "offline_until", "last_ts",
    )

    def __init__(
        self,
        *,
        max_w: float = 3250.0,
        min_w: float = 1200.0,
        idle_w: float = 15.0,
        efficiency_j_th: float = 29.5,
        ramp_s: float = 60.0,
        down_factor: float = 4.0,
        ambient_c: float = 20.0,
        levels: tuple[tuple[str, float], ...] = (),
        boards: int = 3,
        chips_per_board: int = 114,
        fans: int = 4,
        thermal_tau_s: float = 120.0,
        board_rise_c: float = 40.0,
        chip_extra_c: float = 12.0,
        fan_min_rpm: float = 1500.0,
        fan_max_rpm: float = 6000.0,
        now: float = 0.0,
        paused: bool = False,
        target_w: float | None = None,
    ) -> None:
        if not (0 <= idle_w < max_w) or min_w > max_w or efficiency_j_th <= 0:
            raise ValueError("MinerModel needs 0 <= idle_w < max_w, min_w <= max_w, efficiency > 0")
        self.max_w = float(max_w)
        self.min_w = float(min_w)
        self.idle_w = float(idle_w)
        self.efficiency_j_th = float(efficiency_j_th)
        self.ramp_s = max(1e-6, float(ramp_s))
        self.down_factor = max(1.0, float(down_factor))
        self.ambient_c = float(ambient_c)
        self.levels = tuple((str(n), float(w)) for n, w in levels)
        self.boards = int(boards)
        self.chips_per_board = int(chips_per_board)
        self.fans = int(fans)
        self.thermal_tau_s = max(1e-6, float(thermal_tau_s))
        self.board_rise_c = float(board_rise_c)
        self.chip_extra_c = float(chip_extra_c)
        self.fan_min_rpm = float(fan_min_rpm)
        self.fan_max_rpm = float(fan_max_rpm)
        if target_w is None:
            target_w = self.levels[-1][1] if self.levels else self.max_w
        self.target_w = float(target_w)
        self.level_index = len(self.levels) - 1 if self.levels else -1
        self.paused = bool(paused)
        # start in equilibrium, so a fresh demo does not begin with a cold ramp
        self.power_w = self.idle_w if paused else self.target_w
        self.board_temp_c = self._eq_board_c(self.power_w)
        self.chip_temp_c = self.board_temp_c + self.chip_extra_c * (self.power_w / self.max_w)
        self.boot_ts = float(now) - 3600.0
        self.offline_until = -math.inf
        self.last_ts = float(now)

    # ---- commands (the emulators map their protocol verbs onto these) ----
    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False

    def set_target(self, watts: float) -> float:
        """Clamp into [min_w, max_w] like firmware does and return what was applied."""
        w = min(self.max_w, max(self.min_w, float(watts)))
        self.target_w = w
        return w

    def set_level(self, index: int) -> None:
        if not self.levels:
            raise ValueError("this miner has no levels")
        index = min(len(self.levels) - 1, max(0, int(index)))
        self.level_index = index
        self.target_w = self.levels[index][1]

    def reboot(self, now: float, offline_s: float = 30.0) -> None:
        self.step(now)
        self.offline_until = now + offline_s
        self.power_w = 0.0

    # ---- time ----
    def online_at(self, now: float) -> bool:
        return now >= self.offline_until

    def step(self, now: float) -> None:
        dt = now - self.last_ts
        if dt <= 0.0:
            return
        self.last_ts = now
        if now < self.offline_until:
            self.power_w = 0.0
            self._relax(0.0, dt)
            return
        if self.offline_until > -math.inf:
            # just came back from a reboot: fresh uptime, cold start from idle
            self.boot_ts = self.offline_until
            self.offline_until = -math.inf
            self.power_w = self.idle_w
        goal = self.idle_w if self.paused else self.target_w
        p = self.power_w
        rate = (self.max_w - self.idle_w) / self.ramp_s
        if p < goal:
            p = min(goal, p + rate * dt)
        elif p > goal:
            p = max(goal, p - rate * self.down_factor * dt)
        self.power_w = p
        self._relax(p, dt)

    def _eq_board_c(self, power_w: float) -> float:
        return self.ambient_c + self.board_rise_c * (power_w / self.max_w)

    def _relax(self, power_w: float, dt: float) -> None:
        k = 1.0 - math.exp(-dt / self.thermal_tau_s)
        eq = self._eq_board_c(power_w)
        self.board_temp_c += (eq - self.board_temp_c) * k
        eq_chip = eq + self.chip_extra_c * (power_w / self.max_w)
        self.chip_temp_c += (eq_chip - self.chip_temp_c) * k

    # ---- readings (call step(now) first) ----
    @property
    def hashrate_ths(self) -> float:
        if self.paused:
            return 0.0  # a paused miner stops hashing at once, even while its draw winds down
        return max(0.0, self.power_w - self.idle_w) / self.efficiency_j_th

    @property
    def nominal_ths(self) -> float:
        return (self.max_w - self.idle_w) / self.efficiency_j_th

    @property
    def fan_rpm(self) -> float:
        span = self.board_rise_c + self.chip_extra_c
        x = (self.chip_temp_c - self.ambient_c) / span if span > 0.0 else 0.0
        x = 0.0 if x < 0.0 else (1.0 if x > 1.0 else x)
        if self.power_w <= 0.0:
            return 0.0
        return self.fan_min_rpm + (self.fan_max_rpm - self.fan_min_rpm) * x

    def uptime_s(self, now: float) -> float:
        return max(0.0, now - self.boot_ts) if now >= self.offline_until else 0.0

    @property
    def mining(self) -> bool:
        return not self.paused and self.power_w > self.idle_w

    @property
    def ramping(self) -> bool:
        goal = self.idle_w if self.paused else self.target_w
        return abs(self.power_w - goal) > max(5.0, 0.02 * self.max_w)

    @property
    def level_name(self) -> str | None:
        if not self.levels or self.level_index < 0:
            return None
        return self.levels[self.level_index][0]

    def energy_step_wh(self, dt: float) -> float:
        """Energy over the last dt seconds at the current draw (good enough for 1-min steps)."""
        return self.power_w * dt / 3600.0
