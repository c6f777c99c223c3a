"""Config for one miner (a ``miners:`` list entry). Filled by config/loader.py from YAML.

Example::

    miners:
      - name: garage-s19
        host: 192.168.1.50
        family: braiins            # auto | braiins | luxos | avalon | bitaxe | antminer | whatsminer
        password: ${BOS_PASSWORD}
        priority: 1
        capabilities: {min_w: 1200W, max_w: 3250W, step_w: 50W}
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Literal, Optional

from ..config.types import Duration, Power, Secret, bounded

Watts = bounded(Power, 0, 100_000)      # one miner: 0 W .. 100 kW

Family = Literal["auto", "braiins", "luxos", "avalon", "bitaxe", "antminer", "whatsminer",
                 "vnish", "epic", "auradine"]
FAMILIES: tuple[str, ...] = ("auto", "braiins", "luxos", "avalon", "bitaxe", "antminer",
                             "whatsminer", "vnish", "epic", "auradine")


@dataclass(frozen=True)
class LevelSpec:
    name: str
    watts: Watts


@dataclass(frozen=True)
class Ports:
    """Only needed for non-standard ports (emulators, port forwards). Leave out for real miners."""

    rpc: Optional[int] = None     # cgminer JSON-RPC, default 4028
    grpc: Optional[int] = None    # Braiins OS gRPC, default 50051
    web: Optional[int] = None     # HTTP API (Bitaxe and others), default 80

    def validate(self) -> None:
        for key in ("rpc", "grpc", "web"):
            v = getattr(self, key)
            if v is not None and not 0 < v < 65536:
                raise ValueError(f"{key}: a port must be 1..65535, got {v}")


@dataclass(frozen=True)
class CapabilityOverrides:
    """Whatever is set here wins over what the driver detects for the family."""

    min_w: Optional[Watts] = None
    max_w: Optional[bounded(Power, 0, 100_000, above=True)] = None
    step_w: Optional[Watts] = None
    idle_w: Optional[Watts] = None
    levels: Optional[tuple[LevelSpec, ...]] = None
    on_off: Optional[bool] = None
    power_target: Optional[bool] = None
    monitor_only: Optional[bool] = None

    def validate(self) -> None:
        if self.min_w is not None and self.min_w < 0:
            raise ValueError("min_w: cannot be negative")
        if self.min_w is not None and self.max_w is not None and self.min_w > self.max_w:
            raise ValueError(f"min_w: {self.min_w:.0f} W is above max_w {self.max_w:.0f} W")
        if self.step_w is not None and self.max_w is not None and self.step_w > self.max_w:
            raise ValueError(f"step_w: {self.step_w:.0f} W is above max_w {self.max_w:.0f} W")
        if self.idle_w is not None and self.max_w is not None and self.idle_w >= self.max_w:
            raise ValueError(f"idle_w: {self.idle_w:.0f} W must be below max_w {self.max_w:.0f} W")
        if self.levels is not None and self.max_w is not None and any(lv.watts > self.max_w for lv in self.levels):
            raise ValueError(f"levels: a level is above max_w {self.max_w:.0f} W")
        if self.levels is not None:
            names = [lv.name for lv in self.levels]
            if len(set(names)) != len(names):
                raise ValueError("levels: level names must be unique")
            if any(lv.watts <= 0 for lv in self.levels):
                raise ValueError("levels: level watts must be positive")


@dataclass(frozen=True)
class SimulatedSpec:
    """Physics of a simulated miner (driver: simulated), see sim/miner_model.py."""

    max_w: bounded(Power, 0, 100_000, above=True) = 3250.0
    min_w: Watts = 1200.0
    idle_w: Watts = 15.0
    efficiency_j_th: bounded(float, 1, 1000) = 29.5
    ramp: bounded(Duration, 0, 3600) = 60.0
    ambient_c: bounded(float, -50, 80, unit=" °C") = 20.0
    control: Literal["power_target", "levels", "on_off"] = "power_target"
    levels: tuple[LevelSpec, ...] = ()
    step_w: bounded(Power, 0, 100_000, above=True) = 50.0
    start_paused: bool = False

    def validate(self) -> None:
        if self.min_w > self.max_w:
            raise ValueError(f"min_w: {self.min_w:.0f} W is above max_w {self.max_w:.0f} W")
        if not 0 <= self.idle_w < self.max_w:
            raise ValueError("idle_w: must be at least 0 and below max_w")
        if self.efficiency_j_th <= 0:
            raise ValueError("efficiency_j_th: must be positive")
        if self.control == "levels" and not self.levels:
            raise ValueError("levels: control 'levels' needs at least one level")


@dataclass(frozen=True)
class PlugConfig:
    """A smart plug (miners/plug.py): ``driver: plug``'s ``plug:``, or a miner's ``power_switch:``.

    Shelly Plus/Pro (Gen2 RPC): ``{kind: shelly, host: 192.168.1.60, switch_id: 0}``.
    Home Assistant: ``{kind: home_assistant, entity: switch.miner_socket, power_entity:
    sensor.miner_socket_power}``; ``url``/``token`` default to ``energy.home_assistant``'s.
    """

    kind: Literal["shelly", "home_assistant"]
    host: str = ""                        # shelly: IP address or http://host:port
    switch_id: int = 0                    # shelly: which relay (Switch id)
    url: Optional[str] = None             # home_assistant: default energy.home_assistant.url
    token: Optional[Secret] = None        # home_assistant: default energy.home_assistant.token
    entity: Optional[str] = None          # home_assistant: switch.* (or light.*, fan.*)
    power_entity: Optional[str] = None    # home_assistant: sensor.* with the plug's power (W or kW)
    boot_time: bounded(Duration, 0, 3600) = 60.0            # from power on until the miner hashes
    standby_cut_after: Optional[bounded(Duration, 0, 86400)] = 1800.0   # power_switch: cut the standby after this pause
    timeout: bounded(Duration, 0.1, 60) = 3.0

    def validate(self) -> None:
        if self.kind == "shelly" and not self.host:
            raise ValueError("host: a Shelly plug needs its IP address")
        if self.kind == "home_assistant":
            if not self.entity or self.entity.split(".", 1)[0] not in ("switch", "light", "fan", "input_boolean"):
                raise ValueError("entity: a Home Assistant plug needs a switch.* entity "
                                 f"(got {self.entity!r})")
            if self.power_entity is not None and not self.power_entity.startswith("sensor."):
                raise ValueError(f"power_entity: expected a sensor.* entity, got {self.power_entity!r}")
        if self.switch_id < 0:
            raise ValueError("switch_id: cannot be negative")
        if self.boot_time < 0:
            raise ValueError("boot_time: cannot be negative")
        if self.standby_cut_after is not None and self.standby_cut_after < 60:
            raise ValueError("standby_cut_after: at least 1 min (a relay is not a fast switch)")
        if not 0 < self.timeout <= 60:
            raise ValueError("timeout: expected between 0 and 60 s")


@dataclass(frozen=True)
class MinerConfig:
    name: str
    host: str = ""
    driver: Literal["pyasic", "simulated", "plug"] = "pyasic"
    family: Family = "auto"
    model: Optional[str] = None          # e.g. "Antminer S19 Pro", "Avalon Q", "BM1370"; direct mode
    ports: Optional[Ports] = None
    username: Optional[Secret] = None
    password: Optional[Secret] = None
    priority: bounded(int, -1_000_000, 1_000_000) = 100   # lower runs first
    enabled: bool = True
    capabilities: Optional[CapabilityOverrides] = None
    poll_timeout: bounded(Duration, 0.1, 300) = 5.0
    command_timeout: bounded(Duration, 0.1, 600) = 15.0
    simulated: Optional[SimulatedSpec] = None
    plug: Optional[PlugConfig] = None            # driver: plug (the plug is the miner's control)
    power_switch: Optional[PlugConfig] = None    # a plug in front of a pyasic miner (standby cut)
    # its stratum login ("account.worker") when the miner does not report it; the part after the
    # dot is matched against the pool tracker's workers
    pool_user: Optional[str] = None

    def validate(self) -> None:
        if not self.name or not self.name.strip():
            raise ValueError("name: a miner needs a name")
        if self.driver == "plug":
            if self.plug is None:
                raise ValueError("plug: driver plug needs a plug: {kind: shelly, host: ...} or "
                                 "{kind: home_assistant, entity: switch....}")
            if self.capabilities is None or self.capabilities.max_w is None:
                raise ValueError("capabilities: a plug miner needs max_w (what it draws while mining)")
        elif self.plug is not None:
            raise ValueError("plug: only for driver: plug (a plug in front of a pyasic miner is power_switch:)")
        if self.power_switch is not None and self.driver != "pyasic":
            raise ValueError("power_switch: only for pyasic miners (driver: plug already is a plug)")
        if self.driver == "pyasic":
            if not self.host:
                raise ValueError("host: a pyasic miner needs the IP address of the miner")
            try:
                ipaddress.ip_address(self.host)
            except ValueError:
                # pyasic's RPC client accepts bare IP addresses only
                raise ValueError(f"host: expected an IP address like 192.168.1.50, got {self.host!r}") from None
            if self.family == "auto" and self.ports and any(
                    p is not None for p in (self.ports.rpc, self.ports.grpc, self.ports.web)):
                raise ValueError("family: custom ports need an explicit family "
                                 "(identification only probes the standard ports)")
        if self.poll_timeout <= 0:
            raise ValueError("poll_timeout: must be positive")
        if self.command_timeout <= 0:
            raise ValueError("command_timeout: must be positive")

    def with_(self, **changes) -> "MinerConfig":
        from dataclasses import replace
        return replace(self, **changes)

    def __repr__(self) -> str:  # never show secrets, even by accident
        return f"MinerConfig(name={self.name!r}, driver={self.driver!r}, host={self.host!r}, family={self.family!r})"
