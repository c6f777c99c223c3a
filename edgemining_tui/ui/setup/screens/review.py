"""Step 5: the YAML that will be written; write it (validated, with backup); offer the console."""
from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from .base import StepScreen


class ReviewScreen(StepScreen):
    STEP = 5
    HEADING = "Review · this is what will be written"
    BINDINGS = [Binding("w", "write", "Write config", id="setup.write")]

    def body(self) -> ComposeResult:
        yield Static("", id="target", classes="intro")
        yield Static("", id="yaml", classes="yaml")

    def on_mount(self) -> None:
        from ..yaml_writer import render
        self.text = render(self.state)
        self.query_one("#yaml", Static).update(escape(self.text))
        self.query_one(".body").focus()
        path = self.state.config_path
        note = " (the existing file is kept as a .bak-<timestamp> copy)" if path.exists() else ""
        self.query_one("#target", Static).update(f"w writes {escape(str(path))}{escape(note)}. "
                                                 "↑↓/PgUp/PgDn scroll.")
        self.valid = self._validate()

    def _validate(self) -> bool:
        from ..yaml_writer import ConfigError, validate
        try:
            validate(self.state, self.text)
        except ConfigError as e:
            self.say(f"Not valid yet: {e}", "error")
            return False
        self.say("Valid: load_config accepts it. site.observe_only is on, so the console decides and "
                 "shows but does not command miners until you turn it off.", "ok")
        return True

    def action_write(self) -> None:
        from ..yaml_writer import ConfigError, write_config
        if not self.valid:
            self.say("Fix the problem above first (escape goes back).", "error")
            return
        try:
            result = write_config(self.state, self.text)
        except (ConfigError, OSError) as e:
            self.say(f"Not written: {e}", "error")
            return
        self.wizard.written = result
        from ..yaml_writer import check_written
        self.wizard.written_problem = check_written(result.path)
        self.app.push_screen(DoneScreen())

    async def action_next(self) -> None:
        self.action_write()


class DoneScreen(StepScreen):
    STEP = 5
    HEADING = "Done"
    BINDINGS = [Binding("y,enter", "start", "Start the console", id="setup.start"),
                Binding("n,q", "finish", "Quit", id="setup.finish")]

    def body(self) -> ComposeResult:
        w = self.wizard.written
        lines = [f"Wrote {w.path}."]
        if w.backup:
            lines.append(f"The previous file is kept as {w.backup}.")
        if w.secrets_path:
            lines.append(f"Secrets are in {w.secrets_path} (mode 0600).")
        problem = getattr(self.wizard, "written_problem", "")
        if problem:
            lines += ["", f"Warning: loading it the way the console will failed: {problem}"]
        lines += ["", "The console starts in observe-only mode: it shows what it would do, and commands "
                  "no miner until you set site.observe_only: false.", "",
                  "Start the console now?  y: yes · n: quit (run edgemining-tui later)"]
        yield Static(escape("\n".join(lines)), id="done")

    def action_back(self) -> None:
        pass        # written: going back would suggest it could be undone here

    def action_start(self) -> None:
        self.app.exit("start")

    def action_finish(self) -> None:
        self.app.exit("done")
