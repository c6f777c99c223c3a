"""The console's panels. Each shows an EngineState; only the visible one is updated."""
from __future__ import annotations

from textual.containers import Vertical


class Panel(Vertical):
    """A panel: ``show(state)`` renders the latest state; ``activated()`` runs when it becomes visible."""

    title = ""

    def show(self, st) -> None:  # pragma: no cover - overridden
        pass

    def activated(self) -> None:
        """Runs after the layout that shows the panel. A panel resized while another one showed
        can keep content rendered for its old size (tmux under load, 200×60 → 60×20: the 20-row
        flow picture cut to 9 rows, the Rules figures one a line): repaint all of it then."""
        size = self.app.size
        if size != getattr(self, "_shown_at", None):
            self._shown_at = size
            for w in self.walk_children():
                w.refresh()
