"""The console's panels. Each shows an EngineState; only the visible one is updated."""
from __future__ import annotations

from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Static


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


class PlotSlot(Static):
    """Holds a plot's place (its id, so its CSS and layout) until the first frame is out: importing
    plotext and drawing empty axes would delay the first frame by a tenth of a second."""


async def mount_plots(panel: Widget, *ids: str) -> bool:
    """Put a ``PlotextPlot`` where each ``PlotSlot`` of ``ids`` is, under the same id; True when any
    was put (the caller then lays out and draws what it has)."""
    from textual_plotext import PlotextPlot
    done = False
    for pid in ids:
        slot = panel.query_one(f"#{pid}")
        if not isinstance(slot, PlotSlot) or slot.parent is None:
            continue
        parent = slot.parent
        i = list(parent.children).index(slot)
        await slot.remove()
        kids = list(parent.children)
        plot = PlotextPlot(id=pid)
        await (parent.mount(plot, before=kids[i]) if i < len(kids) else parent.mount(plot))
        done = True
    return done
