"""The ``policy:`` section: which decider runs, and the surplus allocator's terms and timers.

Example (every key is optional; the values shown are the defaults)::

    policy:
      mode: surplus              # surplus | rules | manual
      groups: {}                 # per-miner mode, e.g. {shed-s9: rules, office-bitaxe: manual}
      headroom: 100W             # kept unused so the site leans to export, not import; auto: adapts
                                 # to the grid reading's noise (policy/headroom.py)
      import_cap: null           # e.g. 500W: never plan grid import above this
      enable:  {threshold: 0W, delay: 60s}
      disable: {threshold: 0W, delay: 180s}
      min_on: 10m
      min_off: 5m
      max_starts_per_day: 6
      min_change_interval: 120s
      ramp: 60s                  # how long a miner takes to settle on a new target
      command_retry: 60s         # resend an unconfirmed command after this long
      battery: {priority_soc: 50%, buffer_soc: 90%, buffer_start_soc: null}
      # or: battery: {reserve: forecast, capacity: 10kWh, forecast_trust: 80%}  (policy/reserve.py);
      # reserve: auto (the default) is forecast once capacity is given; forecast_trust_sunrise: 75%
      # counts on less of the forecast in the morning, rising to forecast_trust at sunset
      stale: {grace: 60s, minimum_for: 120s}
      miners:                    # per-miner timer overrides
        garage-s19: {min_on: 20m, max_starts_per_day: 4}
      rules_file: null           # an Edge Mining policy YAML (start_rules / stop_rules)
      start_rules_files: []      # Edge Mining rule-list files (a 'rules:' list each), added as start rules
      stop_rules_files: []       # ... and as stop rules
      heat_cap: minimum          # a zone above its band holds its miners at minimum | pauses them

See docs/allocator.md for why each default is what it is.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Optional, Union

from ..config.types import Duration, Energy, Percent, Power, bounded

Day = bounded(Duration, 0, 86400)           # timers: up to a day
Starts = bounded(int, 1, 1440)              # starts per day: at most one a minute

Mode = Literal["surplus", "rules", "manual"]
Reserve = Literal["auto", "levels", "forecast"]
RESERVES: tuple[str, ...] = ("auto", "levels", "forecast")
MODES: tuple[str, ...] = ("surplus", "rules", "manual")
HeatCap = Literal["minimum", "pause"]
HEAT_CAPS: tuple[str, ...] = ("minimum", "pause")


@dataclass(frozen=True)
class EnableConfig:
    """Start a stopped miner once ``available >= its lowest power + threshold`` for ``delay``."""

    threshold: bounded(Power, 0, 100_000) = 0.0
    delay: Day = 60.0

    def validate(self) -> None:
        if self.threshold < 0:
            raise ValueError("threshold: cannot be negative (it is extra surplus required to start)")


@dataclass(frozen=True)
class DisableConfig:
    """Pause a running miner once it would import more than ``threshold`` at minimum for ``delay``."""

    threshold: bounded(Power, 0, 100_000) = 0.0
    delay: Day = 180.0

    def validate(self) -> None:
        if self.threshold < 0:
            raise ValueError("threshold: cannot be negative (it is the import tolerated at minimum)")


@dataclass(frozen=True)
class BatteryPolicy:
    """evcc's three SoC levels. ``None`` switches a level off."""

    priority_soc: Optional[Percent] = 50.0      # below: the battery keeps its charge power
    buffer_soc: Optional[Percent] = 90.0        # above: the battery may keep a running miner alive
    buffer_start_soc: Optional[Percent] = None  # above: the battery may start a miner with no surplus
    # is there a home battery? None: yes once it has reported a value (then a missing reading is stale data)
    present: Optional[bool] = None
    # levels: the three SoC levels above. forecast: the battery keeps the share of the surplus it
    # needs to be full by sunset, from the PV forecast for the rest of today (policy/reserve.py);
    # the levels apply only while the forecast is missing. auto: forecast when the capacity is
    # known (and the site's coordinates, for the sun), else levels.
    reserve: Reserve = "auto"
    capacity: Optional[bounded(Energy, 0, 1_000_000, above=True)] = None           # usable Wh; needed by reserve: forecast
    forecast_trust: Percent = 80.0              # the share of the forecast counted on
    # the share counted on at sunrise, rising linearly to forecast_trust at sunset; None: flat
    forecast_trust_sunrise: Optional[Percent] = None
    # count on the forecast surplus times this quantile of the site's recent days' actual /
    # forecast surplus at the same time of day (policy/reserve.py SurplusMisses); the trust above
    # applies until 3 days are known. None: off
    forecast_learned: Optional[Percent] = None

    def validate(self) -> None:
        if self.reserve not in RESERVES:
            raise ValueError(f"reserve: expected auto, levels or forecast, got {self.reserve!r}")
        if self.reserve == "forecast" and not self.capacity:
            raise ValueError("capacity: reserve: forecast needs the battery's usable capacity (e.g. 10kWh)")
        if not 0 < self.forecast_trust <= 100:
            raise ValueError("forecast_trust: expected more than 0 % and at most 100 %")
        ts = self.forecast_trust_sunrise
        if ts is not None and not 0 < ts <= self.forecast_trust:
            raise ValueError(f"forecast_trust_sunrise: expected more than 0 % and at most forecast_trust "
                             f"({self.forecast_trust:g} %)")
        q = self.forecast_learned
        if q is not None and not 0 <= q <= 100:
            raise ValueError("forecast_learned: expected a quantile from 0 % to 100 %")
        p = self.priority_soc if self.priority_soc is not None else 0.0
        b = self.buffer_soc
        s = self.buffer_start_soc
        if b is not None and b < p:
            raise ValueError(f"buffer_soc: {b:g} % is below priority_soc {p:g} % "
                             "(needed: priority <= buffer <= buffer_start)")
        if s is not None:
            if s < p:
                raise ValueError(f"buffer_start_soc: {s:g} % is below priority_soc {p:g} % "
                                 "(needed: priority <= buffer <= buffer_start)")
            if b is not None and s < b:
                raise ValueError(f"buffer_start_soc: {s:g} % is below buffer_soc {b:g} % "
                                 "(needed: priority <= buffer <= buffer_start)")


@dataclass(frozen=True)
class StaleConfig:
    """Fail-safe on stale energy data: hold for ``grace``, then minimum for ``minimum_for``, then pause."""

    grace: bounded(Duration, 0, 3600) = 60.0
    minimum_for: Day = 120.0


@dataclass(frozen=True)
class MinerTimers:
    """Per-miner overrides of the fleet's timers; unset keys use the fleet value."""

    enable_delay: Optional[Day] = None
    disable_delay: Optional[Day] = None
    min_on: Optional[Day] = None
    min_off: Optional[Day] = None
    max_starts_per_day: Optional[Starts] = None
    min_change_interval: Optional[Day] = None
    ramp: Optional[bounded(Duration, 0, 3600)] = None

    def validate(self) -> None:
        if self.max_starts_per_day is not None and self.max_starts_per_day < 1:
            raise ValueError("max_starts_per_day: must be at least 1")


@dataclass(frozen=True)
class PolicyConfig:
    __key_aliases__ = {"headroom": "headroom_w", "import_cap": "import_cap_w"}

    mode: Mode = "surplus"
    groups: dict[str, Mode] = field(default_factory=dict)
    # "auto": adapts to the grid reading's measured noise (policy/headroom.py)
    headroom_w: Union[Literal["auto"], bounded(Power, 0, 100_000)] = 100.0
    import_cap_w: Optional[bounded(Power, 0, 100_000)] = None
    enable: EnableConfig = field(default_factory=EnableConfig)
    disable: DisableConfig = field(default_factory=DisableConfig)
    min_on: Day = 600.0
    min_off: Day = 300.0
    max_starts_per_day: Starts = 6
    min_change_interval: Day = 120.0
    ramp: bounded(Duration, 0, 3600) = 60.0
    command_retry: bounded(Duration, 0, 86400, above=True) = 60.0
    battery: BatteryPolicy = field(default_factory=BatteryPolicy)
    stale: StaleConfig = field(default_factory=StaleConfig)
    miners: dict[str, MinerTimers] = field(default_factory=dict)
    # Edge Mining rules, for the rule engine (policy/rules*.py): a policy file, or inline lists
    rules_file: Optional[str] = None
    start_rules_files: tuple[str, ...] = ()
    stop_rules_files: tuple[str, ...] = ()
    start_rules: tuple[Any, ...] = ()
    stop_rules: tuple[Any, ...] = ()
    # what a miner in a zone above its comfort band does: hold at its minimum power (on/off miners and
    # miners that can't go lower pause), or pause (heat/ zones; see docs/allocator.md "Heat")
    heat_cap: HeatCap = "minimum"

    def validate(self) -> None:
        if self.headroom_w != "auto" and self.headroom_w < 0:
            raise ValueError("headroom: cannot be negative")
        if self.import_cap_w is not None and self.import_cap_w < 0:
            raise ValueError("import_cap: cannot be negative (0 W means never import for mining)")
        if self.max_starts_per_day < 1:
            raise ValueError("max_starts_per_day: must be at least 1")
        if self.heat_cap not in HEAT_CAPS:
            raise ValueError(f"heat_cap: expected minimum or pause, got {self.heat_cap!r}")
        if self.command_retry <= 0:
            raise ValueError("command_retry: must be positive")
        for name, m in self.groups.items():
            if m not in MODES:
                raise ValueError(f"groups: miner {name!r} has unknown mode {m!r} (expected surplus, rules or manual)")
        if self.min_change_interval <= self.ramp:
            raise ValueError(f"min_change_interval: {self.min_change_interval:g} s must be longer than "
                             f"ramp {self.ramp:g} s (a miner must settle before the next change)")
        for name, t in self.miners.items():
            mci = t.min_change_interval if t.min_change_interval is not None else self.min_change_interval
            ramp = t.ramp if t.ramp is not None else self.ramp
            if mci <= ramp:
                raise ValueError(f"miners: {name}: min_change_interval {mci:g} s must be longer than "
                                 f"its ramp {ramp:g} s")

    def mode_of(self, miner: str) -> str:
        return self.groups.get(miner, self.mode)

    def timers_for(self, miner: str) -> "Timing":
        t = self.miners.get(miner)

        def pick(attr: str, default: Any) -> Any:
            v = getattr(t, attr) if t is not None else None
            return default if v is None else v
        return Timing(
            enable_delay=float(pick("enable_delay", self.enable.delay)),
            disable_delay=float(pick("disable_delay", self.disable.delay)),
            min_on=float(pick("min_on", self.min_on)),
            min_off=float(pick("min_off", self.min_off)),
            max_starts=int(pick("max_starts_per_day", self.max_starts_per_day)),
            min_change=float(pick("min_change_interval", self.min_change_interval)),
            ramp=float(pick("ramp", self.ramp)),
        )


@dataclass(frozen=True, slots=True)
class Timing:
    """The resolved timers for one miner (plain floats, read on the hot path)."""

    enable_delay: float
    disable_delay: float
    min_on: float
    min_off: float
    max_starts: int
    min_change: float
    ramp: float
