"""Start a mixed fleet of emulated miners in the current asyncio loop, and the configs to reach them.

    handle = await start_emulators([EmulatorSpec("garage", "braiins"), ...], clock)
    fleet = build_fleet(handle.configs, clock)      # real PyasicDrivers over loopback
    ...
    await handle.stop()

Two binding modes:
- ``standard_ports=True``: bind the vendor ports (4028, 50051, 80) on the spec's own loopback
  address (127.0.0.N); configs use ``family: auto`` so pyasic's real identification runs.
  Port 80 needs root; without it the Bitaxe falls back to an ephemeral port and direct mode.
- otherwise (default): ephemeral ports on the given address; configs name the family and ports
  and the driver constructs the pyasic class directly. Cheap and clash-free for tests.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..clock import Clock
from ..miners.config import CapabilityOverrides, MinerConfig, Ports
from .base import EmulatedMiner

EmuFamily = Literal["braiins", "luxos", "avalon", "bitaxe"]


@dataclass(frozen=True)
class EmulatorSpec:
    name: str
    family: EmuFamily
    host: str = "127.0.0.1"
    standard_ports: bool = False
    max_w: float | None = None
    min_w: float | None = None
    idle_w: float | None = None
    efficiency_j_th: float | None = None
    ramp_s: float | None = None
    ambient_c: float | None = None
    start_paused: bool = False
    priority: int = 100
    poll_timeout: float = 5.0
    command_timeout: float = 15.0
    firmware: str | None = None     # Bitaxe: the AxeOS version to answer as (what it offers follows)
    model_kw: dict = field(default_factory=dict)

    def model_kwargs(self) -> dict:
        kw = dict(self.model_kw)
        for k, v in (("max_w", self.max_w), ("min_w", self.min_w), ("idle_w", self.idle_w),
                     ("efficiency_j_th", self.efficiency_j_th), ("ramp_s", self.ramp_s),
                     ("ambient_c", self.ambient_c)):
            if v is not None:
                kw[k] = v
        kw["paused"] = self.start_paused
        return kw


class EmulatedFleet:
    """Handle on running emulators: ``miners[name]`` for fault switches, ``configs`` for the drivers."""

    def __init__(self) -> None:
        self.miners: dict[str, EmulatedMiner] = {}
        self.configs: list[MinerConfig] = []

    def __getitem__(self, name: str) -> EmulatedMiner:
        return self.miners[name]

    def config(self, name: str) -> MinerConfig:
        return next(c for c in self.configs if c.name == name)

    async def stop(self) -> None:
        for m in self.miners.values():
            try:
                await m.stop()
            except Exception:  # noqa: BLE001  (best effort on shutdown)
                pass

    async def __aenter__(self) -> "EmulatedFleet":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()


def _build(spec: EmulatorSpec, clock: Clock) -> EmulatedMiner:
    now = clock.now()
    kw = spec.model_kwargs()
    std = spec.standard_ports
    if spec.family == "braiins":
        from .boser import BOSerEmulator, boser_model
        return BOSerEmulator(spec.name, boser_model(now, **kw), clock, spec.host,
                             rpc_port=4028 if std else 0, grpc_port=50051 if std else 0)
    if spec.family == "luxos":
        from .luxos import LuxOSEmulator, luxos_model
        return LuxOSEmulator(spec.name, luxos_model(now, **kw), clock, spec.host, rpc_port=4028 if std else 0)
    if spec.family == "avalon":
        from .avalon import AvalonEmulator, avalon_model
        return AvalonEmulator(spec.name, avalon_model(now, **kw), clock, spec.host, rpc_port=4028 if std else 0)
    if spec.family == "bitaxe":
        from .bitaxe import BitaxeEmulator, bitaxe_model
        extra = {"firmware": spec.firmware} if spec.firmware else {}
        return BitaxeEmulator(spec.name, bitaxe_model(now, **kw), clock, spec.host, web_port=80 if std else 0,
                              **extra)
    raise ValueError(f"no emulator for family {spec.family!r}")


def _config_for(spec: EmulatorSpec, emu: EmulatedMiner, identified: bool) -> MinerConfig:
    caps = None
    if spec.family == "braiins":
        # tell the driver the emulator's real range (real users set this per model in config)
        caps = CapabilityOverrides(min_w=emu.model.min_w, max_w=emu.model.max_w, step_w=50.0)
    ports = None
    if not identified:
        p = emu.ports
        ports = Ports(rpc=p.get("rpc"), grpc=p.get("grpc"), web=p.get("web"))
    return MinerConfig(
        name=spec.name, host=spec.host, driver="pyasic", family="auto" if identified else spec.family,
        ports=ports, priority=spec.priority, capabilities=caps, poll_timeout=spec.poll_timeout,
        command_timeout=spec.command_timeout)


async def start_emulators(specs, clock: Clock) -> EmulatedFleet:
    handle = EmulatedFleet()
    try:
        for spec in specs:
            if spec.name in handle.miners:
                raise ValueError(f"two emulated miners are called {spec.name!r}")
            emu = _build(spec, clock)
            identified = spec.standard_ports
            try:
                await emu.start()
            except PermissionError:
                if spec.family != "bitaxe":
                    raise
                # port 80 needs root: serve on an ephemeral port and use direct mode instead
                emu.web.port = 0
                await emu.start()
                identified = False
            handle.miners[spec.name] = emu
            handle.configs.append(_config_for(spec, emu, identified))
    except BaseException:
        await handle.stop()
        raise
    return handle


def demo_specs(base_host: str = "127.0.0.1", standard_ports: bool = False) -> list[EmulatorSpec]:
    """The demo's mixed fleet: one of each family, hosts 127.0.0.N+ when standard ports are used."""
    def host(i: int) -> str:
        if not standard_ports:
            return base_host
        a, b, c, d = (int(x) for x in base_host.split("."))
        return f"{a}.{b}.{c}.{d + i}"
    return [
        EmulatorSpec("s19-braiins", "braiins", host(1), standard_ports, priority=1),
        EmulatorSpec("s19-luxos", "luxos", host(2), standard_ports, priority=2),
        EmulatorSpec("avalon-q", "avalon", host(3), standard_ports, priority=3),
        EmulatorSpec("bitaxe", "bitaxe", host(4), standard_ports, priority=9),
    ]
