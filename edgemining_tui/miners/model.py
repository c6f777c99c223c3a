"""What the engine knows about a miner: capabilities, samples, commands. No I/O here."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol


class MinerState(str, Enum):
    MINING = "mining"
    RAMPING = "ramping"
    PAUSED = "paused"
    OFFLINE = "offline"          # refuses connections / answers nothing useful
    UNRESPONSIVE = "unresponsive"  # accepted but timed out
    FAULT = "fault"              # answers, but reports an error state
    UNKNOWN = "unknown"


# the states the properties below test, looked up once (an Enum class attribute costs more than
# the test itself, and the decider asks several times per miner per cycle)
_NOT_ONLINE = (MinerState.OFFLINE, MinerState.UNRESPONSIVE, MinerState.UNKNOWN)
_RUNNING = (MinerState.MINING, MinerState.RAMPING)
# MinerSample.online / .running as state tests, for a hot loop that reads the state once anyway
NOT_ONLINE_STATES, RUNNING_STATES = _NOT_ONLINE, _RUNNING


@dataclass(frozen=True, slots=True)
class Level:
    name: str
    watts: float


@dataclass(frozen=True, slots=True)
class Capabilities:
    """How a miner can be controlled. ``monitor_only`` miners are read, never commanded."""

    on_off: bool = True
    power_target: bool = False
    min_w: float = 0.0
    max_w: float = 0.0
    step_w: float = 0.0
    levels: tuple[Level, ...] = ()
    idle_w: float = 15.0           # what it draws while paused
    monitor_only: bool = False
    why_limited: str = ""          # what the firmware lacks, in words, where control is partial or absent

    @property
    def controllable(self) -> bool:
        return not self.monitor_only and (self.on_off or self.power_target or bool(self.levels))

    @property
    def lowest_w(self) -> float:
        """The least power it can draw while mining."""
        if self.power_target:
            return self.min_w
        if self.levels:
            return min(lv.watts for lv in self.levels)
        return self.max_w

    @property
    def highest_w(self) -> float:
        if self.power_target:
            return self.max_w
        if self.levels:
            return max(lv.watts for lv in self.levels)
        return self.max_w


@dataclass(frozen=True, slots=True)
class Board:
    slot: int
    hashrate_ths: float | None = None
    temp_c: float | None = None
    chip_temp_c: float | None = None
    chips: int | None = None


@dataclass(frozen=True, slots=True)
class MinerSample:
    """One poll of one miner. ``power_w`` is what it draws now; ``power_limit_w`` what it reports as target."""

    name: str
    ts: float
    state: MinerState
    power_w: float | None = None
    power_limit_w: float | None = None
    level: str | None = None
    hashrate_ths: float | None = None
    temp_c: float | None = None        # hottest board
    fan_rpm: int | None = None
    uptime_s: float | None = None
    model: str | None = None
    firmware: str | None = None
    error: str | None = None           # why it is offline / fault, in words
    boards: tuple[Board, ...] = ()
    pools: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    poll_s: float | None = None        # how long the poll took
    chip_temp_c: float | None = None   # hottest chip, where the miner reports chip temperatures
    pool_user: str | None = None       # the stratum login of the active pool ("account.worker")
    shares_accepted: int | None = None   # since the miner (re)connected, as the miner counts them
    shares_rejected: int | None = None
    # readings dropped at the boundary (miners/sanitize.py): "power_w: nan is not a finite number"
    invalid: tuple[str, ...] = ()

    @property
    def online(self) -> bool:
        return self.state not in _NOT_ONLINE

    @property
    def running(self) -> bool:
        return self.state in _RUNNING

    @property
    def worker(self) -> str | None:
        """The worker name pools show: what follows the first dot of the stratum user."""
        if not self.pool_user:
            return None
        return self.pool_user.split(".", 1)[1] if "." in self.pool_user else None

    @property
    def rejected_pct(self) -> float | None:
        a, r = self.shares_accepted, self.shares_rejected
        if a is None or r is None or a + r <= 0:
            return None
        return 100.0 * r / (a + r)

    @property
    def efficiency_j_th(self) -> float | None:
        if self.power_w and self.hashrate_ths and self.hashrate_ths > 0:
            return self.power_w / self.hashrate_ths
        return None


class CommandKind(str, Enum):
    START = "start"
    STOP = "stop"
    SET_POWER = "set_power"
    SET_LEVEL = "set_level"


@dataclass(frozen=True, slots=True)
class MinerCommand:
    kind: CommandKind
    watts: float | None = None
    level: str | None = None
    reason: str = ""

    def describe(self) -> str:
        if self.kind is CommandKind.SET_POWER:
            return f"set power {self.watts:.0f} W"
        if self.kind is CommandKind.SET_LEVEL:
            return f"set level {self.level}"
        if self.kind is CommandKind.START and self.watts is not None:
            return f"start at {self.watts:.0f} W"
        if self.kind is CommandKind.START and self.level is not None:
            return f"start at level {self.level}"
        return self.kind.value


@dataclass(frozen=True, slots=True)
class CommandResult:
    ok: bool
    message: str = ""
    ts: float = 0.0
    duration_s: float = 0.0


class MinerDriver(Protocol):
    """One miner. Implementations never raise: failures come back as states and results."""

    name: str

    @property
    def capabilities(self) -> Capabilities: ...

    async def read(self) -> MinerSample: ...

    async def apply(self, command: MinerCommand) -> CommandResult: ...

    async def close(self) -> None: ...


@dataclass
class Verification:
    """Read-back of the last command: confirmed on the next poll, or 'not applied'."""

    command: MinerCommand
    sent_ts: float
    result: CommandResult
    confirmed: bool | None = None   # None: waiting for the next poll
    detail: str = ""
    attempts: int = 1
    extra: dict = field(default_factory=dict)
