"""The console's panels. Each shows an EngineState; only the visible one is updated."""
from __future__ import annotations

from textual.containers import Vertical


class Panel(Vertical):
    """A panel: ``show(state)`` renders the latest state; ``activated()`` runs when it becomes visible."""

    title = ""

    def show(self, st) -> None:  # pragma: no cover - overridden
        pass

    def activated(self) -> None:
        pass
