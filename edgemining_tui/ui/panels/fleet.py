"""Fleet: one row per miner, keyed, diffed cell by cell (update_cell only where the text changed)."""
from __future__ import annotations

import time
from typing import Any

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.markup import escape
from textual.widgets import DataTable, Input, Static

from ...engine.events import EngineState
from ...format import duration
from ...miners.model import CommandKind
from ...secrets import strip_controls

from ..fmt import num, term_words, timer_texts, watts
from ..table import RowDiffTable, measure_now
from . import Panel

# key, label
COLUMNS = (("name", "Miner"), ("state", "State"), ("mode", "Mode"), ("power", "Power / target"),
           ("hashrate", "Hash TH/s"), ("jth", "J/TH"), ("temp", "Temp °C"), ("fan", "Fan rpm"),
           ("uptime", "Uptime"), ("model", "Model / firmware"), ("reason", "Reason (in full below)"))
REASON_CELL_CHARS = 48   # the table's copy; the strip under the table has it in full
SORTS = ("name", "state", "power", "hashrate", "temp", "mode")
STATE_STYLE = {"mining": "miner-mining", "ramping": "miner-ramping", "paused": "miner-idle",
               "offline": "miner-fault", "unresponsive": "miner-fault", "fault": "miner-fault",
               "unknown": "miner-idle"}


def uptime(s: float | None) -> str:
    """Minute resolution, so the column does not change every cycle (every change repaints the table)."""
    if s is None:
        return "—"
    m = int(s // 60)
    d, m = divmod(m, 1440)
    h, m = divmod(m, 60)
    return f"{d}d{h:02d}h" if d else f"{h}h{m:02d}m"


def read_back_mark(d: Any, v: Any, cmd_status: str | None) -> str:
    """The mark after "power / target": a promise that the miner's own reading confirms the decision.

    Only the verification of a command that does what the row says counts: right after a force off
    the last verification is still the start's (✓), and the stop is in flight or unread; that is
    pending (…), not confirmed. No command for this decision (nothing to change, or automation
    paused): no mark, since nothing was read back for it."""
    if cmd_status and cmd_status.startswith("command pending"):
        return " …"
    if v is None:
        return ""
    if d is not None and d.run == (v.command.kind is CommandKind.STOP):
        return ""
    return " ✓" if v.confirmed else (" …" if v.confirmed is None else " ✗")


def miner_row(name: str, st: EngineState) -> tuple[dict[str, tuple[str, str | None]], dict[str, Any]]:
    """Display text (and a colour variable) per column, plus raw values to sort on."""
    s = st.samples.get(name)
    d = st.decision.miners.get(name) if st.decision else None
    v = st.verifications.get(name)
    ov = st.overrides.get(name) if isinstance(st.overrides, dict) else None
    state = s.state.value if s else "unknown"
    model = "—"
    if s and (s.model or s.firmware):
        model = " ".join(x for x in (s.model, s.firmware) if x)
    power = s.power_w if s else None
    target = d.target_w if d is not None and d.target_w is not None else (s.power_limit_w if s else None)
    cmd_status = st.commands.get(name) if st.commands else None
    check = read_back_mark(d, v, cmd_status)
    if d is not None and not d.run:
        ptxt = f"{watts(power)} / off{check}"
    else:
        ptxt = f"{watts(power)} / {watts(target)}{check}"
    hr = s.hashrate_ths if s else None
    jth = s.efficiency_j_th if s else None
    if ov:
        rem = ov.get("remaining_s")
        what = {"force_on": "on", "force_off": "off", "power": watts(ov.get("watts"))}.get(ov.get("kind"), "manual")
        mode = f"{what} {duration(rem)}" if rem is not None else f"{what} ∞"
        mode_var = "override"
    else:
        mode, mode_var = "auto", None
    reason = (d.reason if d else "") or (s.error if s and s.error else "")
    if v is not None and v.confirmed is False and v.detail:
        reason = f"not applied: {v.detail}"
    if cmd_status:
        reason = cmd_status   # "command pending: ..." / "command failed: ..." (engine.py)
    cells = {
        "name": (strip_controls(name), None),
        "model": (model[:22], None),
        "state": (state, STATE_STYLE.get(state)),
        "power": (ptxt, "miner-fault" if (v is not None and v.confirmed is False) or
                  (cmd_status or "").startswith("command failed") else None),
        "hashrate": (num(hr, "{:.1f}"), None),
        "jth": (num(jth, "{:.1f}"), None),
        "temp": (num(s.temp_c if s else None, "{:.0f}"), None),
        "fan": (num(s.fan_rpm if s else None, "{:.0f}"), None),
        "uptime": (uptime(s.uptime_s if s else None), None),
        "mode": (mode, mode_var),
        "reason": (reason if len(reason) <= REASON_CELL_CHARS else reason[:REASON_CELL_CHARS - 1] + "…", None),
    }
    raw = {"name": name, "state": state, "power": power or 0.0, "hashrate": hr or 0.0,
           "temp": (s.temp_c if s and s.temp_c is not None else -1.0), "mode": mode}
    return cells, raw


def detail_text(name: str, st: EngineState) -> str:
    """``loft-s21 · mining · auto · 1.50 kW of 1.50 kW ✓`` then the whole reason, then its timers."""
    cells, _ = miner_row(name, st)
    d = st.decision.miners.get(name) if st.decision else None
    s = st.samples.get(name)
    v = st.verifications.get(name)
    reason = (d.reason if d else "") or (s.error if s and s.error else "") or "no decision yet"
    if v is not None and v.confirmed is False and v.detail:
        reason = f"not applied: {v.detail}"
    head = f"[b]{escape(name)}[/] · {escape(cells['state'][0])} · {escape(cells['mode'][0])} · " \
           f"{escape(cells['power'][0])}" + (f" · {escape(term_words(d.term))}" if d else "")
    timers = st.decision.terms.get("timers") if st.decision else None
    mine = timer_texts({name: timers[name]}) if isinstance(timers, dict) and name in timers else []
    lines = [head, f"[b]Why[/] {escape(reason)}"]
    if mine:
        lines.append("[b]Timer[/] " + escape(mine[0].split(": ", 1)[1]))
    return "\n".join(lines)


class FleetPanel(Panel):
    title = "Fleet"

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.shown: dict[str, dict[str, tuple[str, str | None]]] = {}
        self.raw: dict[str, dict[str, Any]] = {}
        self.filter_text = ""
        self.sort_key = "name"
        self.styles_by_var: dict[str, Style] = {}
        # one Text per (text, colour): most cells repeat ("mining", "auto", a fan speed) and a
        # refresh of 500 miners writes ~1,000 of them; the table only reads its cells
        self._texts: dict[tuple[str, str | None], Text] = {}
        self.last_refresh_ms = 0.0
        self._detail_text = ""
        self.border_title = "Fleet"

    def compose(self) -> ComposeResult:
        with Horizontal(id="fleet-bar"):
            yield Input(placeholder="filter: name, state, model  (/)", id="fleet-filter")
            yield Static("sort: name (s)", id="fleet-sort")
        yield RowDiffTable(id="fleet-table", cursor_type="row", zebra_stripes=True, fixed_columns=1)
        yield Static("", id="fleet-detail")

    def on_mount(self) -> None:
        t = self.query_one(DataTable)
        for key, text in COLUMNS:
            t.add_column(text, key=key)
        self.refresh_styles()

    def refresh_styles(self) -> None:
        """Theme colours for cells, resolved from the theme's variables (no colour is hard-coded)."""
        from textual.color import Color
        variables = self.app.get_css_variables()
        out = {}
        for var in set(STATE_STYLE.values()) | {"override"}:
            value = variables.get(var)
            if value:
                try:
                    out[var] = Style(color=Color.parse(value).rich_color)
                except Exception:
                    pass
        self.styles_by_var = out
        self._texts.clear()
        self.shown.clear()   # re-render every cell in the new colours on the next refresh

    @property
    def table(self) -> DataTable:
        return self.query_one("#fleet-table", DataTable)

    def selected(self) -> str | None:
        t = self.table
        if t.row_count == 0:
            return None
        try:
            key = t.coordinate_to_cell_key(t.cursor_coordinate).row_key
        except Exception:
            return None
        return None if key is None else key.value

    def _cell(self, text: str, var: str | None) -> Text:
        got = self._texts.get((text, var))
        if got is None:
            if len(self._texts) >= 8192:
                self._texts.clear()
            style = self.styles_by_var.get(var) if var else None
            got = self._texts[(text, var)] = Text(text, style=style) if style is not None else Text(text)
        return got

    def _matches(self, name: str, cells: dict) -> bool:
        if not self.filter_text:
            return True
        f = self.filter_text.lower()
        return any(f in cells[k][0].lower() for k in ("name", "state", "model", "mode"))

    def show(self, st: EngineState) -> None:
        t0 = time.perf_counter()
        t = self.table
        names = list(st.samples) or (list(st.decision.miners) if st.decision else [])
        wanted: dict[str, dict] = {}
        for name in names:
            cells, raw = miner_row(name, st)
            self.raw[name] = raw
            if self._matches(name, cells):
                wanted[name] = cells
        changed_sort = False
        quiet: list[tuple[str, str, Any]] = []
        # read once: DataTable's columns are keyed by ColumnKey, whose hash and equality are Python
        # calls (a tick with ~1,000 changed cells made ~1,000 such lookups)
        fits = {c.key.value: c.content_width for c in t.columns.values()}
        sort_key = self.sort_key
        cell = self._cell
        with self.app.batch_update():
            for name in [n for n in self.shown if n not in wanted]:
                if name in t.rows:
                    t.remove_row(name)
                del self.shown[name]
                changed_sort = True
            for name, cells in wanted.items():
                old = self.shown.get(name)
                if old is None:
                    if name in t.rows:
                        for key, _ in COLUMNS:
                            t.update_cell(name, key, self._cell(*cells[key]), update_width=True)
                    else:
                        t.add_row(*(self._cell(*cells[k]) for k, _ in COLUMNS), key=name)
                    changed_sort = True
                elif old != cells:
                    for key, _ in COLUMNS:
                        now = cells[key]
                        if old[key] != now:
                            if len(now[0]) > fits[key]:
                                t.update_cell(name, key, cell(*now), update_width=True)
                            else:   # the common case: only this row repaints
                                quiet.append((name, key, cell(*now)))
                            if key == sort_key:
                                changed_sort = True
                self.shown[name] = cells
            t.set_cells(quiet)
            if changed_sort and t.row_count > 1:
                self._sort()
            measure_now(t)
        self.show_detail(st)
        self.last_refresh_ms = (time.perf_counter() - t0) * 1000

    def show_detail(self, st: EngineState | None = None) -> None:
        """The selected miner's full reason and timers, always visible under the table."""
        st = st or getattr(self.app, "state", None)
        name = self.selected()
        text = "" if st is None or name is None else detail_text(name, st)
        if text != self._detail_text:
            self._detail_text = text
            self.query_one("#fleet-detail", Static).update(text, layout=False)   # fixed height

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "fleet-table":
            self.show_detail()

    def _sort(self) -> None:
        key = self.sort_key
        reverse = key in ("power", "hashrate", "temp")
        self.table.sort("name", key=lambda row_name: self.raw.get(_plain(row_name), {}).get(key, ""),
                        reverse=reverse)

    def cycle_sort(self) -> None:
        i = SORTS.index(self.sort_key) if self.sort_key in SORTS else 0
        self.sort_key = SORTS[(i + 1) % len(SORTS)]
        self.query_one("#fleet-sort", Static).update(f"sort: {self.sort_key} (s)")
        if self.table.row_count > 1:
            self._sort()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "fleet-filter":
            self.filter_text = event.value.strip()
            self.shown_reset_filter()

    def shown_reset_filter(self) -> None:
        st = getattr(self.app, "state", None)
        if st is not None:
            self.show(st)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "fleet-filter":
            self.table.focus()

    def on_key(self, event) -> None:
        # escape leaves the filter as enter does (the filter stays); without it every key after `/`,
        # the panel digits and q included, was typed into the filter
        if event.key == "escape" and self.app.focused is self.query_one("#fleet-filter", Input):
            event.stop()
            self.table.focus()


def _plain(cell: Any) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)
