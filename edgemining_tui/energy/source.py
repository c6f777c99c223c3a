"""The EnergySource port: anything that can produce a canonical EnergySnapshot."""
from __future__ import annotations

from typing import Protocol

from .snapshot import EnergySnapshot


class EnergySource(Protocol):
    name: str

    async def start(self) -> None:
        """Open connections or subscriptions. Must not raise for an unreachable source."""

    async def read(self) -> EnergySnapshot:
        """The latest values. Never raises: failures are Readings with ``error`` set."""

    async def close(self) -> None: ...
