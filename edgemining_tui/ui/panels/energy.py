"""Energy flow: PV, house, miners, grid and battery with direction, colour and the last hour."""
from __future__ import annotations

from collections import deque

from textual.app import ComposeResult
from textual.markup import escape
from textual.containers import Horizontal
from textual.widgets import Sparkline, Static

from ...engine.events import EngineState
from ..fmt import age, label, term_value, timer_texts, watts
from . import Panel

HOUR_S = 3600.0
# name, label, colour variable
FLOWS = (("pv", "PV", "solar"), ("house", "House", "house"), ("miners", "Miners", "miners"),
         ("grid", "Grid", "grid-import"), ("battery", "Battery", "battery"))
AGE_NAMES = {"pv_w": "pv", "house_w": "house", "grid_import_w": "grid", "battery_charge_w": "battery",
             "battery_soc_pct": "soc"}


def flow_values(st: EngineState) -> dict[str, float | None]:
    s = st.snapshot
    return {"pv": s.value("pv_w"), "house": s.value("house_w"), "miners": st.miners_w,
            "grid": s.value("grid_import_w"), "battery": s.value("battery_charge_w")}


class FlowRow(Horizontal):
    def __init__(self, key: str, text: str, colour: str) -> None:
        super().__init__(id=f"flow-{key}", classes="flow-row")
        self.key = key
        self.text = text
        self.colour = colour

    def compose(self) -> ComposeResult:
        yield Static(self.text, classes="flow-text", id=f"flow-text-{self.key}")
        yield Sparkline([], classes="flow-spark")


class EnergyPanel(Panel):
    title = "Energy"

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.history: deque[tuple[float, dict[str, float | None]]] = deque(maxlen=4000)
        self._last_ts = 0.0
        self._texts: dict[str, str] = {}
        self._spark_at = -1e18
        self.spark_every_s = 5.0     # the sparklines cover an hour; a new point every 5 s is plenty
        self.border_title = "Energy flow   ▶ into the site  ◀ out of it   (last hour)"

    def compose(self) -> ComposeResult:
        for key, text, colour in FLOWS:
            yield FlowRow(key, text, colour)
        yield Static("", id="budget")
        yield Static("", id="ages")

    def backfill(self, rows: list[dict]) -> None:
        """Seed the sparklines from the store's last hour (rows of the energy table)."""
        for r in rows:
            self.history.append((r["ts"], {"pv": r.get("pv_w"), "house": r.get("house_w"),
                                           "miners": r.get("miners_w"), "grid": r.get("grid_import_w"),
                                           "battery": r.get("battery_charge_w")}))
        if rows:
            self._last_ts = rows[-1]["ts"]

    def record(self, st: EngineState) -> None:
        if st.ts > self._last_ts:
            self.history.append((st.ts, flow_values(st)))
            self._last_ts = st.ts
        while self.history and self.history[0][0] < st.ts - HOUR_S:
            self.history.popleft()

    def _set(self, widget: Static, text: str) -> None:
        """Update only when the text changed: an unchanged update still repaints."""
        key = widget.id or str(id(widget))
        if self._texts.get(key) != text:
            self._texts[key] = text
            widget.update(text)

    def show(self, st: EngineState, force: bool = False) -> None:
        vals = flow_values(st)
        soc = st.snapshot.value("battery_soc_pct")
        sparks = force or st.ts - self._spark_at >= self.spark_every_s or st.ts < self._spark_at
        if sparks:
            self._spark_at = st.ts
        for key, text, colour in FLOWS:
            row = self.query_one(f"#flow-{key}", FlowRow)
            w = row.query_one(".flow-text", Static)
            self._set(w, self._flow_text(key, text, vals[key], soc))
            if sparks:
                series = [v.get(key) or 0.0 for _, v in self.history]
                if key in ("grid", "battery"):
                    series = [abs(x) for x in series]
                row.query_one(Sparkline).data = series[-720:]
            row.set_class(key == "grid" and (vals["grid"] or 0) < 0, "-export")
        self._set(self.query_one("#budget", Static), self._budget(st))
        self._set(self.query_one("#ages", Static), self._ages(st))

    @staticmethod
    def _flow_text(key: str, text: str, w: float | None, soc: float | None) -> str:
        var = dict((k, c) for k, _, c in FLOWS)[key]
        note = ""
        if w is None:
            arrow, val = "   ", "—"
            return f"{text:<8} {arrow} [$stale]{'no data':>9}[/]"
        if key == "pv":
            arrow = "━▶" if w > 0 else "  "
        elif key in ("house", "miners"):
            arrow = "◀━" if w > 0 else "  "
        elif key == "grid":
            if w > 0:
                arrow, note = "━▶", "import"
            elif w < 0:
                arrow, note, var = "◀━", "export", "grid-export"
            else:
                arrow, note = "  ", "balanced"
        else:  # battery: + charging (out of the site into it), - discharging
            if w > 0:
                arrow, note = "◀━", "charging"
            elif w < 0:
                arrow, note = "━▶", "discharging"
            else:
                arrow, note = "  ", "idle"
            if soc is not None:
                note = f"{note} {soc:.0f}%"
        val = watts(abs(w))
        return f"{text:<8} [${var}]{arrow} {val:>9}[/] {note}"

    @staticmethod
    def _budget(st: EngineState) -> str:
        d = st.decision
        if d is None:
            return "[b]For miners[/]  — (no decision yet)"
        lines = [f"[b]For miners[/]  [$miners]{watts(d.available_w)}[/]   drawing {watts(st.miners_w)}"]
        held = {}
        for m in d.miners.values():
            # monitor-only and offline miners are not held back by anything the site does
            if (m.term not in ("surplus",) or not m.run) and m.term not in ("monitor_only", "offline"):
                held.setdefault(m.term, []).append(m.name)
        if d.summary:
            lines.append(f"[b]Why[/]  {escape(d.summary)}")
        if held:
            lines.append("[b]Held back by[/]  " + " · ".join(
                f"{t}: {', '.join(n)}" for t, n in sorted(held.items())))
        timers = timer_texts(d.terms.get("timers"))
        if timers:
            lines.append("[b]Timers[/]  " + escape(" · ".join(timers)))
        terms = [(k, v) for k, v in d.terms.items()
                 if k not in ("available_w", "timers", "mode") and v not in (None, "", False)
                 and not (isinstance(v, (dict, list, tuple)) and not v)]
        if terms:
            lines.append("[b]Terms[/]  " + escape(" · ".join(f"{label(k)} {term_value(k, v)}" for k, v in terms[:8])))
        if st.paused:
            lines.append("[$warning]automation paused: nothing is commanded[/]")
        if st.observe_only:
            lines.append("[$warning]observe only: decisions are shown, miners are not commanded[/]")
        return "\n".join(lines)

    @staticmethod
    def _ages(st: EngineState) -> str:
        parts = []
        for name, r in st.snapshot.readings().items():
            short = AGE_NAMES.get(name, name)
            a = r.age(st.ts)
            if name in st.stale or r.error:
                parts.append(f"[$stale]{short} {age(a) if r.value is not None else 'missing'}[/]")
            else:
                parts.append(f"{short} {age(a)}")
        out = "[b]Data age[/]  " + " · ".join(parts)
        if st.stale:
            out += f"\n[$stale]STALE: {', '.join(st.stale)} — holding, then stepping down[/]"
        return out
