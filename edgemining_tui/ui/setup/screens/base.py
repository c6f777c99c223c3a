"""The frame every setup step shares: title line, body, status line, key footer; back and next."""
from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

if TYPE_CHECKING:
    from ..app import SetupApp


STEPS = 5


class StepScreen(Screen):
    """One wizard step: a title line, a body, a status line and the key footer."""

    STEP = 1
    HEADING = ""
    BINDINGS = [
        Binding("escape", "back", "Back", id="setup.back"),
        Binding("ctrl+n", "next", "Next", priority=True, id="setup.next"),
    ]

    @property
    def wizard(self) -> "SetupApp":
        return self.app  # type: ignore[return-value]

    @property
    def state(self):
        return self.wizard.state

    def compose(self) -> ComposeResult:
        yield Static(f"Setup · step {self.STEP}/{STEPS} · {self.HEADING}", classes="step-title")
        with VerticalScroll(classes="body"):
            yield from self.body()
        yield Static("", id="status", classes="status")
        yield Footer()

    def body(self) -> ComposeResult:
        yield from ()

    def say(self, text: str, kind: str = "info") -> None:
        st = self.query_one("#status", Static)
        st.update(text)
        st.set_class(kind == "error", "-error")
        st.set_class(kind == "ok", "-ok")

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:   # the default screen sits below the first step
            self.app.pop_screen()

    async def action_next(self) -> None:
        pass

    def value(self, selector: str) -> str:
        return self.query_one(selector, Input).value.strip()


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
