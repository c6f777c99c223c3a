"""The EnergySource port: anything that can produce a canonical EnergySnapshot."""
from __future__ import annotations

from typing import Callable, Protocol, runtime_checkable

from .snapshot import EnergySnapshot


class EnergySource(Protocol):
    name: str

    async def start(self) -> None:
        """Open connections or subscriptions. Must not raise for an unreachable source."""

    async def read(self) -> EnergySnapshot:
        """The latest values. Never raises: failures are Readings with ``error`` set."""

    async def close(self) -> None: ...


# A pushed value: (canonical field, its new value in canonical sign and unit, or None when it
# became unusable). Called on the event loop, from the source's receive task; must not block.
PushListener = Callable[[str, "float | None"], None]


@runtime_checkable
class PushSource(Protocol):
    """A source that learns of changes as they happen (Home Assistant WebSocket, MQTT) and can
    tell the engine at once, so a step in the grid need not wait for the next cycle."""

    def set_push_listener(self, listener: PushListener | None) -> None: ...
