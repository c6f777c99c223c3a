"""Events: a bounded log of commands, faults, overrides and notices."""
from __future__ import annotations

from datetime import datetime

from rich.style import Style
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

    def compose(self) -> ComposeResult:
        yield RichLog(id="event-log", max_lines=MAX_LINES, wrap=False, markup=False, auto_scroll=True)

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
        line = Text(f"{t} ")
        line.append(f"{kind:<13}", style=self._styles.get(var) if var else None)
        line.append(f" {message}")
        self.query_one(RichLog).write(line)
        self.count += 1

    def show(self, st) -> None:
        pass
