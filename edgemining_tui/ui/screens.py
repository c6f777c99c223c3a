"""Modal screens: confirmation, prompts, choices, help, and the per-miner detail screen."""
from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.markup import escape
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Footer, Input, OptionList, Static

from ..format import duration
from .fmt import num, watts


def pool_line(s: Any, pools: dict | None) -> str:
    """The miner's standing at its pool: "pool: <worker> <state>, pool sees X TH/s vs miner Y TH/s,
    rejected Z %". Per-worker figures where the tracker has them (Braiins Pool); else the account's."""
    from ..econ.pools import find_worker
    if s is None:
        return "pool: —"
    rej = f"rejected {num(s.rejected_pct, '{:.2f}')} %" if s.rejected_pct is not None else "rejected —"
    miner = f"miner {num(s.hashrate_ths)} TH/s"
    who = s.worker or s.pool_user or "worker unknown"
    found = find_worker(pools or {}, s.worker, s.pool_user)
    if found is not None:
        pool_name, full, w = found
        state = w.get("state") or "?"
        state = state if state == "ok" else f"[$error]{escape(state)}[/]"
        return (f"pool: {escape(full)} {state} at {escape(pool_name)}, pool sees {num(w.get('hashrate_ths'))} TH/s "
                f"vs {miner}, {rej}")
    if not pools:
        return f"pool: {escape(who)} (no pool tracker configured), {miner}, {rej}"
    if s.worker is None:
        return f"pool: {escape(who)} (the miner reports no worker name; set pool_user:), {miner}, {rej}"
    accounts = []
    for name, v in pools.items():
        if not isinstance(v, dict):
            continue
        if v.get("workers"):
            accounts.append(f"{escape(name)} lists no worker {escape(s.worker)!s}")
        else:
            accounts.append(f"{escape(name)} reports the account only: {num(v.get('hashrate_ths'))} TH/s")
    return f"pool: {escape(s.worker)} ({'; '.join(accounts)}), {miner}, {rej}"


def pools_block(s: Any, pools: dict | None) -> str:
    """The detail's Pools lines: "none reported" only when the miner names no pool, no login and no
    shares; else the pool URLs it reports (if any) and its standing at the pool."""
    if s is None or not (s.pools or s.pool_user or s.shares_accepted is not None):
        return "[b]Pools[/]  none reported"
    health = pool_line(s, pools)
    if s.pools:
        return f"[b]Pools[/]  {escape(', '.join(s.pools))}\n{health}"
    return f"[b]Pools[/]  {health}"


class ConfirmScreen(ModalScreen[bool]):
    """Names what will change; y confirms, n or escape cancels. Cancel has the focus first."""

    BINDINGS = [Binding("y", "answer(True)", "Yes", id="confirm.yes"),
                Binding("n,escape", "answer(False)", "No", id="confirm.no")]

    def __init__(self, title: str, body: str) -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="confirm-dialog"):
            yield Static(f"[b]{self.title_text}[/]", classes="dialog-title")
            yield Static(self.body, classes="dialog-body", id="confirm-body")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Yes (y)", id="yes", variant="warning")
                yield Button("No (n)", id="no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class PromptScreen(ModalScreen[str | None]):
    """One line of text (watts, a duration); enter submits, escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="prompt.cancel")]

    def __init__(self, title: str, help_text: str, placeholder: str = "", value: str = "") -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.help_text = help_text
        self.placeholder = placeholder
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="prompt-dialog"):
            yield Static(f"[b]{self.title_text}[/]", classes="dialog-title")
            yield Static(self.help_text, classes="dialog-body")
            yield Input(value=self.value, placeholder=self.placeholder, id="prompt-input")
            yield Static("", id="prompt-error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def show_error(self, text: str) -> None:
        self.query_one("#prompt-error", Static).update(f"[$error]{text}[/]")


class ChoiceScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="choice.cancel")]

    def __init__(self, title: str, choices: list[tuple[str, str]], current: str | None = None) -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.choices = choices
        self.current = current

    def compose(self) -> ComposeResult:
        from textual.widgets.option_list import Option
        with Vertical(classes="dialog", id="choice-dialog"):
            yield Static(f"[b]{self.title_text}[/]", classes="dialog-title")
            yield OptionList(*[Option(f"{text}{'  (current)' if key == self.current else ''}", id=key)
                               for key, text in self.choices], id="choice-list")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class HelpScreen(ModalScreen[None]):
    """Every key, by binding id, with what it does; remap any of them under ui.keymap in the config."""

    BINDINGS = [Binding("escape,q,question_mark,f1", "close", "Close", id="help.close")]

    def __init__(self, rows: list[tuple[str, str, str, str]]) -> None:
        super().__init__(classes="dialog-screen")
        self.rows = rows

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="help-dialog"):
            yield Static("[b]Keys[/]   remap with ui.keymap: {binding id: key} in the config", classes="dialog-title")
            t = DataTable(id="help-table", cursor_type="row", zebra_stripes=True)
            yield t
            yield Static("escape closes · ctrl+p or : opens the command palette", classes="dialog-body")

    def on_mount(self) -> None:
        t = self.query_one(DataTable)
        t.add_columns("Key", "Action", "Id", "What it does")
        for key, desc, bid, tip in self.rows:
            t.add_row(key, desc, bid, tip)
        t.focus()

    def action_close(self) -> None:
        self.dismiss(None)


class MinerDetailScreen(Screen[None]):
    """One miner: boards, pools, errors, the decision, read-back, override and recent commands."""

    BINDINGS = [Binding("escape,backspace", "app.pop_screen", "Back", id="detail.back")]

    def __init__(self, name: str) -> None:
        super().__init__(id="miner-detail")
        self.miner = name

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="detail-body"):
            yield Static("", id="detail-head")
            yield DataTable(id="detail-boards", cursor_type="none", show_cursor=False)
            yield Static("", id="detail-more")
            yield Static("", id="detail-commands")
        yield Footer()

    def on_mount(self) -> None:
        t = self.query_one("#detail-boards", DataTable)
        t.add_columns("Board", "TH/s", "Board °C", "Chip °C", "Chips")
        st = getattr(self.app, "state", None)
        if st is not None:
            self.show(st)
        self.run_worker(self.load_commands(), group="detail", exclusive=True, exit_on_error=False)

    async def load_commands(self) -> None:
        store = getattr(self.app, "store", None)
        if store is None:
            return
        rows = await asyncio.to_thread(
            store.query, "select * from commands where name = ? order by ts desc limit 15", [self.miner])
        tz = self.app.tz
        lines = ["[b]Recent commands[/]"]
        for r in rows:
            t = datetime.fromtimestamp(r["ts"], tz).strftime("%m-%d %H:%M:%S")
            what = r["command"] + (f" {watts(r['watts'])}" if r.get("watts") else "") + \
                (f" {r['level']}" if r.get("level") else "")
            ok = "ok" if r.get("ok") else f"[$error]failed[/] {r.get('message') or ''}"
            lines.append(f"{t}  {escape(what)}  {ok}  ({escape(r.get('reason') or '')})")
        if len(lines) == 1:
            lines.append("none recorded")
        self.query_one("#detail-commands", Static).update("\n".join(lines))

    def show(self, st: Any) -> None:
        s = st.samples.get(self.miner)
        d = st.decision.miners.get(self.miner) if st.decision else None
        v = st.verifications.get(self.miner)
        ov = (st.overrides or {}).get(self.miner)
        head = [f"[b]{self.miner}[/]  {s.model or '' if s else ''} {s.firmware or '' if s else ''}"]
        if s is None:
            head.append("no sample yet")
        else:
            head.append(f"state {s.state.value}   power {watts(s.power_w)} (limit {watts(s.power_limit_w)})   "
                        f"hashrate {num(s.hashrate_ths)} TH/s   {num(s.efficiency_j_th)} J/TH")
            chip = f"hottest chip {num(s.chip_temp_c, '{:.0f}')} °C   " if s.chip_temp_c is not None else ""
            head.append(f"{chip}hottest board {num(s.temp_c, '{:.0f}')} °C   fan {num(s.fan_rpm, '{:.0f}')} rpm   "
                        f"up {duration(s.uptime_s) if s.uptime_s is not None else '—'}   "
                        f"poll {num(s.poll_s, '{:.2f}')} s")
            if s.error:
                head.append(f"[$error]{escape(s.error)}[/]")
            if s.invalid:
                head.append(f"[$warning]invalid readings (not used): {escape('; '.join(s.invalid))}[/]")
        if d is not None:
            head.append(escape(f"decision: {'run' if d.run else 'off'} {watts(d.target_w)}  [{d.term}] {d.reason}"))
        if v is not None:
            conf = "confirmed" if v.confirmed else ("waiting for read-back" if v.confirmed is None else
                                                    "[$error]NOT applied[/]")
            head.append(f"last command: {v.command.describe()} — {conf} {v.detail}")
        cmd_status = (st.commands or {}).get(self.miner)
        if cmd_status:
            head.append(escape(cmd_status))
        head.append(f"mode: [$override]{ov.get('text')}[/]" if isinstance(ov, dict) else "mode: automatic")
        self.query_one("#detail-head", Static).update("\n".join(head))
        t = self.query_one("#detail-boards", DataTable)
        t.clear()
        for b in (s.boards if s else ()):
            t.add_row(str(b.slot), num(b.hashrate_ths), num(b.temp_c), num(b.chip_temp_c), num(b.chips, "{}"))
        errors = "\n  ".join(s.errors) if s and s.errors else "none"
        econ = (st.extra or {}).get("economics") if isinstance(getattr(st, "extra", None), dict) else None
        pools = pools_block(s, (econ or {}).get("pools") if isinstance(econ, dict) else None)
        self.query_one("#detail-more", Static).update(f"{pools}\n[b]Errors[/]  {errors}")
