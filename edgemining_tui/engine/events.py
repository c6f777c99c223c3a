"""What the engine publishes: the whole state after each cycle, and discrete events."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ..energy.snapshot import EnergySnapshot
from ..miners.model import Capabilities, MinerSample, Verification
from ..policy.decision import FleetDecision


@dataclass(frozen=True, slots=True)
class Event:
    ts: float
    kind: str            # decision | command | fault | fault_cleared | override | notice | failsafe
    message: str
    miner: str | None = None
    severity: str = "info"   # info | warning | error
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EngineState:
    ts: float
    cycle: int
    snapshot: EnergySnapshot
    samples: Mapping[str, MinerSample]
    decision: FleetDecision | None
    verifications: Mapping[str, Verification | None]
    miners_w: float
    stale: tuple[str, ...] = ()
    cycle_s: float = 0.0
    role: str = "owner"          # owner | observer
    observe_only: bool = False
    paused: bool = False
    faults: Mapping[str, str] = field(default_factory=dict)   # key -> message, while active
    overrides: Mapping[str, Any] = field(default_factory=dict)
    commands: Mapping[str, str] = field(default_factory=dict)  # "command pending: ..." / "command failed: ..."
    caps: Mapping[str, Capabilities] = field(default_factory=dict)  # what each miner can take (requests.py)
    extra: Mapping[str, Any] = field(default_factory=dict)    # heat zones, prices, rules traces...
