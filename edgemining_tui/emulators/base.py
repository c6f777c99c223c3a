"""What every emulated miner shares: a physics model, a clock, fault switches, listeners.

Fault switches (set them on ``emulator.faults`` or with the helpers):
- ``refuse(True)``: stop listening, so connections are refused (a miner that is off or unplugged);
- ``faults.hang``: accept, read the request, never answer (a wedged firmware);
- ``faults.slow_s``: answer after a delay;
- ``faults.error``: answer with the protocol's error (cgminer STATUS E, gRPC INTERNAL, HTTP 500);
- ``faults.hang_commands``: answer reads, but never answer a control command (start/stop, power,
  level: a firmware that wedges on a level change while its status page still works);
- ``faults.ignore_commands``: acknowledge control commands but change nothing (read-back must notice);
- ``faults.power_range``: accepted power-target range, narrower than the model (out-of-range targets
  are rejected like Braiins OS does with INVALID_ARGUMENT);
- ``reboot(offline_s)``: refuse connections for a while, then come back with a fresh uptime.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ..clock import Clock
from ..sim.miner_model import MinerModel


@dataclass
class Faults:
    hang: bool = False
    hang_commands: bool = False
    slow_s: float = 0.0
    error: bool = False
    error_msg: str = "Fault injected by the emulator"
    ignore_commands: bool = False
    power_range: tuple[float, float] | None = None


class Listener:
    """One listening endpoint that can be closed and reopened on the same port (for refuse/reboot)."""

    host: str
    port: int

    async def open(self) -> None: ...

    async def shut(self) -> None: ...


class EmulatedMiner:
    family: str = ""

    def __init__(self, name: str, model: MinerModel, clock: Clock, host: str = "127.0.0.1") -> None:
        self.name = name
        self.model = model
        self.clock = clock
        self.host = host
        self.faults = Faults()
        self.listeners: list[Listener] = []
        self._refusing = False
        self._watch: asyncio.Task | None = None
        self._release = asyncio.Event()  # set to let hung requests go (on stop / refuse)
        self.requests = 0  # how many requests reached this miner (tests, benchmark)
        self.control_requests = 0  # of which control commands

    # ---- life cycle ----
    async def start(self) -> "EmulatedMiner":
        for lst in self.listeners:
            await lst.open()
        return self

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        self._release.set()
        for lst in self.listeners:
            await lst.shut()

    # ---- faults ----
    async def refuse(self, on: bool = True) -> None:
        if on and not self._refusing:
            self._refusing = True
            self._release.set()
            for lst in self.listeners:
                await lst.shut()
        elif not on and self._refusing:
            self._refusing = False
            self._release = asyncio.Event()
            for lst in self.listeners:
                await lst.open()

    async def reboot(self, offline_s: float = 30.0) -> None:
        """Go dark for offline_s of *clock* time, then come back (fresh uptime, ramping up)."""
        self.model.reboot(self.clock.now(), offline_s)
        await self.refuse(True)
        # done, not only None: under eager tasks (the console, Python 3.12+) _come_back may clear
        # _watch before create_task returns and is then stored
        if self._watch is None or self._watch.done():
            self._watch = asyncio.get_running_loop().create_task(self._come_back())

    async def _come_back(self) -> None:
        try:
            # poll in real time, read clock time: works with the wall clock and a virtual one
            while not self.model.online_at(self.clock.now()):
                await asyncio.sleep(0.05)
            self._watch = None
            await self.refuse(False)
        except asyncio.CancelledError:
            pass

    def set_hang(self, on: bool = True, commands_only: bool = False) -> None:
        if commands_only:
            self.faults.hang_commands = on
        else:
            self.faults.hang = on
        if not on:
            self._release.set()
            self._release = asyncio.Event()

    async def before_reply(self, command: bool = False) -> bool:
        """Apply hang/slow faults. Returns False if the request should get no answer at all.
        ``command``: the request changes what the miner does (``hang_commands`` applies)."""
        self.requests += 1
        self.control_requests += command
        if self.faults.hang or (command and self.faults.hang_commands):
            await self._release.wait()
            return False
        if self.faults.slow_s > 0:
            await asyncio.sleep(self.faults.slow_s)
        return True

    #: requests that change what the miner does (names as each protocol spells them)
    control_commands: frozenset[str] = frozenset()

    def now(self) -> float:
        t = self.clock.now()
        self.model.step(t)
        return t

    def power_ok(self, watts: float) -> bool:
        lo, hi = self.faults.power_range or (self.model.min_w, self.model.max_w)
        return lo <= watts <= hi

    def allowed_range(self) -> tuple[float, float]:
        return self.faults.power_range or (self.model.min_w, self.model.max_w)

    @property
    def ports(self) -> dict[str, int]:
        return {getattr(lst, "kind", "rpc"): lst.port for lst in self.listeners}
