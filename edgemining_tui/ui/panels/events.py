"""Events: a bounded log of commands, faults, overrides and notices."""
from __future__ import annotations

from collections import deque
from datetime import datetime

from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import RichLog

from . import Panel

MAX_LINES = 500
SEVERITY_VAR = {"warning": "warning", "error": "error"}
KIND_VAR = {"override": "override", "command": "primary", "fault_cleared": "success"}


class EventsPanel(Panel):
    title = "Events"

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.border_title = "Events (commands, faults, overrides, notices)"
        self.count = 0
        self._styles: dict[str, Style] = {}
        self._events: deque[tuple[str, str, str | None, str]] = deque(maxlen=MAX_LINES)
        self._width = 0

    def compose(self) -> ComposeResult:
        # min_width 20: RichLog lays out at least min_width columns, and its default (78) cut every
        # event at 60 columns ("set power 295" for 2950 W)
        yield RichLog(id="event-log", max_lines=MAX_LINES, wrap=True, markup=False, auto_scroll=True, min_width=20)

    def on_mount(self) -> None:
        self.refresh_styles()

    def refresh_styles(self) -> None:
        from textual.color import Color
        variables = self.app.get_css_variables()
        out = {}
        for var in {*SEVERITY_VAR.values(), *KIND_VAR.values()}:
            if variables.get(var):
                try:
                    out[var] = Style(color=Color.parse(variables[var]).rich_color)
                except Exception:
                    pass
        self._styles = out

    def add(self, ts: float, kind: str, message: str, severity: str, tz) -> None:
        t = datetime.fromtimestamp(ts, tz).strftime("%m-%d %H:%M:%S")
        var = SEVERITY_VAR.get(severity) or KIND_VAR.get(kind)
        self._events.append((t, kind, var, message))
        self.query_one(RichLog).write(self._line(t, kind, var, message))
        self.count += 1

    def _line(self, t: str, kind: str, var: str | None, message: str) -> Table:
        """Time and kind, then the message wrapped under itself: an event is read whole at any width."""
        grid = Table.grid(padding=(0, 1), expand=True)
        grid.add_column(no_wrap=True)
        grid.add_column(width=13, no_wrap=True)
        grid.add_column(ratio=1, overflow="fold")
        grid.add_row(t, Text(kind, style=self._styles.get(var) if var else ""), message)
        return grid

    def on_resize(self) -> None:
        """RichLog keeps lines as laid out when written: lay them out again for the new width."""
        width = self.size.width
        log = self.query_one(RichLog)
        if width != self._width:
            self._width = width
            log.clear()
            for e in self._events:
                log.write(self._line(*e))

    def activated(self) -> None:
        self.on_resize()      # resized while another panel showed
        super().activated()

    def show(self, st) -> None:
        pass
