"""Step 3: scan a subnet, pick the miners to manage, set priority and limits."""
from __future__ import annotations

import time

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label, Static

from ..scan import name_found, parse_subnet
from ..state import FoundMiner
from .base import StepScreen
from .policy import PolicyScreen


class MinerTable(DataTable):
    BINDINGS = [Binding("space", "toggle", "Manage on/off", id="setup.manage"),
                Binding("e", "edit", "Edit", id="setup.edit"),
                Binding("plus,equals_sign", "priority(-1)", "Priority up", show=False),
                Binding("minus", "priority(1)", "Priority down", show=False)]

    def action_toggle(self) -> None:
        self.screen.toggle_selected()  # type: ignore[attr-defined]

    def action_edit(self) -> None:
        self.screen.edit_selected()  # type: ignore[attr-defined]

    def action_priority(self, delta: int) -> None:
        self.screen.bump_priority(delta)  # type: ignore[attr-defined]


class MinersScreen(StepScreen):
    STEP = 3
    HEADING = "Miners · scan the network"

    def body(self) -> ComposeResult:
        with Horizontal(classes="scanbar"):
            yield Label("Subnet ", classes="inline")
            yield Input(self.state.subnet or self.wizard.default_subnet, id="subnet")
            yield Button("Scan", id="scan")
        yield MinerTable(id="miners", cursor_type="row")
        yield Static("", id="miner-detail")
        yield Static("enter/Scan: scan · space: manage on/off · e: name, priority, limits · "
                     "+/-: priority · no miners yet? ctrl+n skips", classes="hint")

    def on_mount(self) -> None:
        t = self.query_one("#miners", DataTable)
        for key, label, width in (("mark", "✓ #", 4), ("name", "name", 16), ("host", "host", 15),
                                  ("model", "model", 16), ("range", "power", 11)):
            t.add_column(label, key=key, width=width)
        self._fill()
        self.query_one("#subnet", Input).focus()

    def _fill(self) -> None:
        t = self.query_one("#miners", DataTable)
        row = t.cursor_row
        t.clear()
        for m in sorted(self.state.found, key=lambda m: (m.priority, m.host)):
            t.add_row(f"{'✓' if m.manage else '·'} {m.priority}", m.name, m.host, m.model, m.range_text,
                      key=m.host)
        if row is not None and t.row_count:
            t.move_cursor(row=min(row, t.row_count - 1))
        self._detail()

    @on(DataTable.RowHighlighted, "#miners")
    def _detail(self) -> None:
        m = self._selected()
        text = ""
        if m is not None:
            fw = f" · firmware {m.firmware}" if m.firmware and m.firmware not in m.model else ""
            text = (f"{m.model or 'miner'}{fw} · {m.family} · {m.control} · {m.range_text}"
                    f"{'' if m.manage else ' · not managed'}")
        self.query_one("#miner-detail", Static).update(escape(text))

    @on(Input.Submitted, "#subnet")
    @on(Button.Pressed, "#scan")
    def _scan_requested(self) -> None:
        text = self.value("#subnet")
        try:
            net = parse_subnet(text)
        except ValueError as e:
            self.say(str(e), "error")
            return
        self.state.subnet = text
        self.say(f"Scanning {net} ({net.num_addresses} addresses)…")
        self._scan(str(net))

    @work(exclusive=True, group="scan")
    async def _scan(self, subnet: str) -> None:
        t0 = time.monotonic()
        try:
            found = await self.wizard.scanner(subnet)
        except Exception as e:  # noqa: BLE001
            self.say(f"Scan failed: {type(e).__name__}: {e}", "error")
            return
        known = {m.host: m for m in self.state.found}
        for m in found:                       # keep the user's choices for miners seen before
            old = known.get(m.host)
            if old is not None:
                m.name, m.manage, m.priority = old.name, old.manage, old.priority
                m.limit_min_w, m.limit_max_w = old.limit_min_w, old.limit_max_w
            known[m.host] = m
        self.state.found = list(known.values())
        name_found(self.state.found)
        self.state.scanned = True
        self._fill()
        managed = len(self.state.managed)
        self.say(f"{len(found)} miner{'s' if len(found) != 1 else ''} answered on {subnet} in "
                 f"{time.monotonic() - t0:.1f} s; {managed} to manage.", "ok" if found else "info")
        if found:
            self.query_one("#miners", DataTable).focus()

    def _selected(self) -> FoundMiner | None:
        t = self.query_one("#miners", DataTable)
        if not t.row_count or t.cursor_row is None:
            return None
        key = t.coordinate_to_cell_key((t.cursor_row, 0)).row_key.value
        return next((m for m in self.state.found if m.host == key), None)

    def toggle_selected(self) -> None:
        m = self._selected()
        if m is not None:
            m.manage = not m.manage
            self._fill()

    def bump_priority(self, delta: int) -> None:
        m = self._selected()
        if m is not None:
            m.priority = max(1, m.priority + delta)
            self._fill()
            t = self.query_one("#miners", DataTable)
            t.move_cursor(row=t.get_row_index(m.host))

    def edit_selected(self) -> None:
        m = self._selected()
        if m is None:
            return
        others = {x.name for x in self.state.found if x is not m}

        def done(changed: bool | None) -> None:
            if changed:
                self._fill()
        self.app.push_screen(MinerEditScreen(m, others), done)

    async def action_next(self) -> None:
        if self.state.found and not self.state.managed and not getattr(self, "_warned", False):
            self._warned = True
            self.say("No miner is marked to manage (space marks one); the config will have none. "
                     "ctrl+n again to go on anyway.", "error")
            return
        self.app.push_screen(PolicyScreen())


class MinerEditScreen(ModalScreen[bool]):
    """Name, priority and power limits of one miner."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "save", "Save", priority=True)]

    def __init__(self, miner: FoundMiner, other_names: set[str]) -> None:
        super().__init__()
        self.miner = miner
        self.other_names = other_names

    def compose(self) -> ComposeResult:
        m = self.miner
        with Vertical(id="edit-box"):
            yield Static(f"{escape(m.model or 'miner')} at {m.host} · {escape(m.control)} · "
                         f"detected {m.range_text}", classes="intro")
            yield Label("Name")
            yield Input(m.name, id="e-name")
            yield Label("Priority (lower numbers get surplus first)")
            yield Input(str(m.priority), id="e-prio")
            yield Label("Power limits in W (empty: as detected)")
            with Horizontal(classes="pair"):
                yield Input("" if m.limit_min_w is None else f"{m.limit_min_w:.0f}", id="e-min",
                            placeholder=f"min {m.min_w:.0f}" if m.min_w else "min")
                yield Input("" if m.limit_max_w is None else f"{m.limit_max_w:.0f}", id="e-max",
                            placeholder=f"max {m.max_w:.0f}" if m.max_w else "max")
            yield Static("enter: save · escape: cancel", id="e-status", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#e-name", Input).focus()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_save()

    def action_cancel(self) -> None:
        self.dismiss(False)

    def _err(self, text: str) -> None:
        self.query_one("#e-status", Static).update(text)

    def action_save(self) -> None:
        name = self.query_one("#e-name", Input).value.strip()
        if not name:
            return self._err("A miner needs a name.")
        if name in self.other_names:
            return self._err(f"Another miner is already called {name!r}.")
        try:
            prio = int(self.query_one("#e-prio", Input).value.strip())
            lo_t = self.query_one("#e-min", Input).value.strip()
            hi_t = self.query_one("#e-max", Input).value.strip()
            lo = float(lo_t.rstrip("Ww")) if lo_t else None
            hi = float(hi_t.rstrip("Ww")) if hi_t else None
        except ValueError:
            return self._err("Priority is a whole number; limits are watts, e.g. 1500.")
        if prio < 1:
            return self._err("Priority starts at 1.")
        if (lo is not None and lo < 0) or (hi is not None and hi <= 0):
            return self._err("Limits are positive watts.")
        if lo is not None and hi is not None and lo > hi:
            return self._err(f"Minimum {lo:.0f} W is above maximum {hi:.0f} W.")
        m = self.miner
        m.name = name
        m.priority, m.limit_min_w, m.limit_max_w = prio, lo, hi
        self.dismiss(True)
