"""Step 2's last screen: the live energy flow through the real adapter, the signs confirmed or flipped."""
from __future__ import annotations

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from ....energy.tls_pin import shown
from ..flow import balance_hint, describe, read_flow
from ....energy.config import PV_ONLY_KINDS
from ....energy.snapshot import READING_WORDS
from ..state import ENERGY_KINDS, MEASURES, ROLES
from .base import StepScreen
from .miners import MinersScreen


_WORDS = {"pv": "PV", "house": "house", "grid": "grid", "battery": "battery", "soc": "SoC"}


def _in_words(text: str) -> str:
    for field, word in READING_WORDS.items():
        text = text.replace(field, word)
    return text


class FlowScreen(StepScreen):
    """The live energy flow through the real adapter; the user confirms the signs or flips them."""

    STEP = 2
    HEADING = "Energy · does this look right?"
    BINDINGS = [Binding("p", "flip('pv')", "Flip PV", id="setup.flip_pv"),
                Binding("h", "flip('house')", "Flip house", id="setup.flip_house"),
                Binding("g", "flip('grid')", "Flip grid", id="setup.flip_grid"),
                Binding("b", "flip('battery')", "Flip battery", id="setup.flip_battery"),
                Binding("r", "reread", "Read again", id="setup.reread"),
                Binding("t", "trust", "Trust this certificate", id="setup.trust_cert"),
                Binding("y,enter", "confirm", "Yes, correct", id="setup.confirm")]

    def body(self) -> ComposeResult:
        yield Static("Right now the console reads:", classes="intro")
        yield Static("reading…", id="flow-line", classes="flow")
        yield DataTable(id="flow-table", cursor_type="none", show_cursor=False)
        yield Static("", id="balance", classes="hint")
        yield Static("", id="cert", classes="hint")
        yield Static("Correct? y: yes · p/h/g/b: flip the sign of PV/house/grid/battery · "
                     "r: read again", classes="hint")

    def on_mount(self) -> None:
        self.reading = None
        t = self.query_one("#flow-table", DataTable)
        t.add_column("value", key="role", width=12)
        t.add_column("reads", key="reads", width=11)
        t.add_column("the console's sign", key="sign", width=28)
        t.add_column("", key="flip", width=10)
        for role, (label, meaning) in ROLES.items():
            t.add_row(label, "", meaning, "", key=role)
        t.focus()
        self.action_reread()

    def action_reread(self) -> None:
        self.query_one("#flow-line", Static).update("reading…")
        self._read()

    @work(exclusive=True, group="flow")
    async def _read(self) -> None:
        reading = await read_flow(self.state)
        self.reading = reading
        self.refresh_bindings()
        self._show()

    def _show(self) -> None:
        r = self.reading
        if r is None:
            return
        line = describe(r)
        self.query_one("#flow-line", Static).update(escape(line) + ("" if r.failure else " — correct?"))
        t = self.query_one("#flow-table", DataTable)
        for role in ROLES:
            v = r.value(role)
            text = "—" if v is None else (f"{v:.0f} %" if role == "soc" else f"{v / 1000:+.2f} kW")
            t.update_cell(role, "reads", text)
            t.update_cell(role, "flip", "flipped" if self.state.inverts.get(role) else "")
        self.query_one("#balance", Static).update(escape(balance_hint(r)))
        pinned = self.state.fields.get("tls_fingerprint")
        if pinned:
            cert = f"Certificate pinned: only {shown(pinned)[:23]}… is trusted."
        elif r.tls_fingerprint:
            cert = (f"This gateway's certificate: {shown(r.tls_fingerprint)}. If it matches the gateway's own, "
                    "t trusts only it (otherwise any device at this address is trusted).")
        else:
            cert = ""
        self.query_one("#cert", Static).update(escape(cert))
        if r.failure:
            self.say("Reading failed; fix the details (escape) or press y to keep them anyway.", "error")
        else:
            # what a single-purpose device never measures is its nature, not an error: said in
            # words ("does not measure PV, house, battery or SoC"), not as the engine's field names
            only = MEASURES.get(self.state.energy_kind)       # one value: a grid meter, a PV gateway
            single = only is not None and len(only) == 1
            absent = [k for k, e in r.errors.items() if (single and k not in only) or "does not measure" in e]
            errs = "; ".join(f"{_WORDS.get(k, k)}: {_in_words(e)}" for k, e in r.errors.items() if k not in absent)
            if errs:
                self.say(escape(errs), "error")
            elif absent:
                words = [_WORDS.get(k, k) for k in absent]
                listed = ", ".join(words[:-1]) + " or " + words[-1] if len(words) > 1 else words[0]
                device = ENERGY_KINDS[self.state.energy_kind].split(" (")[0]
                self.say(f"{device} does not measure {listed}: shown as —.", "info")
            else:
                self.say("", "info")

    def action_flip(self, role: str) -> None:
        s = self.state
        only = MEASURES.get(s.energy_kind)
        if only is not None and role not in only:
            self.say(f"This device only gives {' and '.join(only)}.", "error")
            return
        if s.energy_kind in ("sunspec", "opendtu", "enphase", "powerwall", "sonnen"):
            self.say("This device's signs are fixed by its documentation (docs/energy-sources.md).", "error")
            return
        if s.energy_kind == "home_assistant" and not s.entities.get(role):
            self.say(f"No {role} entity chosen.", "error")
            return
        s.inverts[role] = not s.inverts.get(role, False)
        s.flow_confirmed = False
        if self.reading is not None and self.reading.values.get(role) is not None:
            self.reading.values[role] = -self.reading.values[role]   # show it at once, then re-read
            self._show()
        self._read()

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "trust":   # only an HTTPS gateway has a certificate: no "t Trust" for the rest
            r = getattr(self, "reading", None)
            return bool(r is not None and r.tls_fingerprint)
        return True

    def action_trust(self) -> None:
        r = self.reading
        if r is None or not r.tls_fingerprint:
            self.say("No HTTPS certificate to trust here.", "error")
            return
        self.state.fields["tls_fingerprint"] = r.tls_fingerprint
        self.state.flow_confirmed = False
        self.action_reread()                      # read again through the pin: it must still work

    async def action_confirm(self) -> None:
        r = self.reading
        s = self.state
        if r is None:
            self.say("Still reading…")
            return
        if s.energy_kind in PV_ONLY_KINDS:
            # alone it can never decide (the grid stays unknown); say so here, not after four steps
            self.say(f"{ENERGY_KINDS[s.energy_kind].split(' (')[0]} gives PV only, and the console decides on "
                     "the grid reading: go back (escape) and choose your grid meter; add this device by hand "
                     "under energy.sources (docs/energy-sources.md).", "error")
            return
        # nothing read (an MQTT broker with no message yet) is nothing confirmed: go on, but the
        # config must not say "confirmed at setup: No values yet"
        s.flow_confirmed = not r.failure and r.any_value
        s.flow_text = describe(r) if s.flow_confirmed else ""
        self.app.push_screen(MinersScreen())

    async def action_next(self) -> None:
        await self.action_confirm()
