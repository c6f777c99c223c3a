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
        pass


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
