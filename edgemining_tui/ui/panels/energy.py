"""Energy: the flow picture (PV, grid, battery → house, miners) with the power and direction on every
link, the decision in one plain sentence, and charts of the last hour / 24 h / 7 days on one shared
kW axis with a clock axis, filled from the store."""
from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult, RenderResult
from textual.css.query import NoMatches
from textual.geometry import Region
from textual.color import Color
from textual.markup import escape
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from ...energy.snapshot import READING_WORDS, reading_names
from ..flow import Flows, draw
from ..fmt import age, power, shown_w
from . import Panel, PlotSlot, mount_plots

if TYPE_CHECKING:
    from ...engine.events import EngineState

# window key -> (span, buckets, reload every, title)
# (reloaded once per bucket: a chart read more often redraws the same points)
WINDOWS = {"1h": (3600.0, 120, 30.0, "last hour"), "24h": (86400.0, 144, 60.0, "last 24 hours"),
           "7d": (7 * 86400.0, 168, 300.0, "last 7 days")}
WINDOW_ORDER = ("1h", "24h", "7d")
# series key, label, colour variable
CHART_SERIES = (("pv", "PV", "solar"), ("house", "house", "house"), ("miners", "miners", "miners"),
                ("grid", "grid (+ import)", "grid-import"), ("battery", "battery (+ charge)", "battery"))

_BUCKETS = """
select cast((ts - ?) / ? as int) as k, avg(pv_w) as pv, avg(house_w) as house, avg(miners_w) as miners,
       avg(grid_import_w) as grid, avg(battery_charge_w) as battery, avg(battery_soc_pct) as soc
from {table} where ts >= ? and ts < ? group by k order by k
"""


def chart_query(store: Any, now: float, window: str) -> dict:
    """Bucketed averages over exactly the named window, from raw rows where they exist and from the
    minute / hour rollups where the raw rows have been pruned."""
    span, n, _, _ = WINDOWS[window]
    start = now - span
    size = span / n
    buckets: dict[int, dict] = {}
    until = now + 1.0
    for table in ("energy", "energy_minute", "energy_hour"):
        try:
            rows = store.query(_BUCKETS.format(table=table), [start, size, start, until])
            first = store.query(f"select min(ts) as t from {table} where ts >= ?", [start])
        except Exception:   # a rollup table that does not exist yet
            continue
        for r in rows:
            if 0 <= r["k"] < n and r["k"] not in buckets:
                buckets[r["k"]] = r
        t0 = first[0]["t"] if first else None
        if t0 is not None:
            until = min(until, float(t0))
        if until <= start:
            break
    keys = sorted(buckets)
    xs = [start + (k + 0.5) * size for k in keys]
    series = {key: [buckets[k][key] for k in keys] for key in ("pv", "house", "miners", "grid", "battery", "soc")}
    return {"window": window, "start": start, "now": now, "xs": xs, "series": series}


def time_ticks(start: float, end: float, tz, max_ticks: int) -> tuple[list[float], list[str]]:
    """Clock-aligned ticks (every 10 min … 1 day) labelled in the site's time zone."""
    span = end - start
    for step in (600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400):
        if span / step <= max(2, max_ticks):
            break
    first = datetime.fromtimestamp(start, tz)
    offset = first.utcoffset().total_seconds() if first.utcoffset() else 0.0
    t = (start + offset) // step * step - offset
    pos, labels = [], []
    while t <= end:
        if t >= start:
            d = datetime.fromtimestamp(t, tz)
            labels.append(d.strftime("%a %d") if step >= 86400 else
                          (d.strftime("%a %H:%M") if span > 86400 else d.strftime("%H:%M")))
            pos.append(t)
        t += step
    return pos, labels


def nice_ticks(lo: float, hi: float, max_ticks: int) -> list[float]:
    """Round ticks (…, 0.5, 1, 2, 5, 10 …) covering lo..hi, always including 0 when it is inside."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    span = max(hi - lo, 1e-6)
    step = 0.1
    for m in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500):
        step = m
        if span / m <= max(2, max_ticks):
            break
    first = (lo // step) * step
    out, t = [round(first, 6)], first
    while t < hi - step * 0.001:
        t += step
        out.append(round(t, 6))
    if len(out) < 2:     # every value 0 (miners off, the rest unknown): plotext divides by the span
        out.append(round(first + step, 6))
    return out


def plain_reason(st: EngineState) -> str:
    """The decision in one sentence a person can read: what runs, on what, and what holds back."""
    d = st.decision
    if st.paused:
        return "Automation is paused: nothing is commanded."
    if d is None:
        return "Waiting for the first decision…"
    ms = list(d.miners.values())
    running = [m for m in ms if m.run and m.term not in ("monitor_only", "offline")]
    controlled = [m for m in ms if m.term not in ("monitor_only", "offline")]
    avail = d.available_w
    head = (f"{len(running)} of {len(controlled)} controlled miners on, drawing {power(st.miners_w)}"
            + (f" of the {power(avail)} the site can spare" if avail is not None else ""))
    waits = [m for m in controlled if not m.run]
    if waits:
        m = waits[0]
        head += f"; {m.name} waits: {m.reason}" if m.reason else f"; {m.name} is off"
        if len(waits) > 1:
            head += f" (+{len(waits) - 1} more)"
    if st.stale:
        head += f". Readings missing or old: {reading_names(st.stale)}"
    if st.observe_only:
        head += ". Observe only: miners are not commanded"
    return head + "."


class FlowView(Widget):
    """The flow picture, drawn to fit the widget (big numbers when there is room).

    Painted line by line from strips kept until the picture changes: readings move a few watts
    every cycle, the picture (rounded numbers, arrows, gauge) much less often."""

    DEFAULT_CSS = "FlowView { height: 12; }"

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.flows = Flows(None, None, None, None, None, None)
        self._styles: dict[str | None, Style] = {}
        self._styles_theme = ""
        self._rows: list[list[tuple[str, str | None]]] = []
        self._rows_size: tuple[int, int] = (0, 0)
        self._strips: list[Strip] = []
        self._strips_key: tuple = ()

    def set_flows(self, flows: Flows) -> None:
        if flows != self.flows:
            self.flows = flows
            self._redraw()

    def on_resize(self) -> None:
        self._redraw()

    def _redraw(self) -> None:
        size = (self.size.width, self.size.height)
        rows = draw(self.flows, *size)
        if size != self._rows_size or len(rows) != len(self._rows):
            self._rows, self._rows_size = rows, size
            self._strips_key = ()
            self.refresh()
        elif rows != self._rows:
            # only the rows whose figures changed go to the terminal (a miner ramping changes two)
            changed = [Region(0, y, size[0], 1) for y, (a, b) in enumerate(zip(rows, self._rows)) if a != b]
            self._rows = rows
            self._strips_key = ()
            self.refresh(*changed)

    def _style(self, key: str | None) -> Style:
        if self._styles_theme != self.app.theme:
            self._styles, self._styles_theme = {}, self.app.theme
        if key not in self._styles:
            v = self.app.theme_variables
            bold = bool(key and key.startswith("bold:"))
            var = key[5:] if bold else key
            if var is None:
                st = Style()
            elif var == "dim":
                fg, bg = Color.parse(v.get("foreground", "#ffffff")), Color.parse(v.get("background", "#000000"))
                st = Style(color=fg.blend(bg, 0.45).rich_color)
            else:
                try:
                    st = Style(color=Color.parse(v.get(var, v.get("foreground", "#ffffff"))).rich_color)
                except Exception:
                    st = Style()
            self._styles[key] = st + Style(bold=True) if bold else st
        return self._styles[key]

    @staticmethod
    def _runs(row: list[tuple[str, str | None]]):
        """``(text, colour key)`` runs of one row."""
        run, cur = "", None
        for ch, key in row:
            if key != cur and run:
                yield run, cur
                run = ""
            cur = key
            run += ch
        if run:
            yield run, cur

    def render(self) -> RenderResult:
        """The picture as Rich text (what the strips show; tests read it)."""
        out = Text()
        for i, row in enumerate(draw(self.flows, self.size.width, self.size.height)):
            if i:
                out.append("\n")
            for run, key in self._runs(row):
                out.append(run, self._style(key))
        return out

    def render_lines(self, crop):
        base = self.rich_style
        width = self.size.width
        key = (base, width, self.app.theme, self._rows_size)
        if key != self._strips_key:
            if self._rows_size != (width, self.size.height):
                self._rows = draw(self.flows, width, self.size.height)
                self._rows_size = (width, self.size.height)
            self._strips = [Strip([Segment(run, base + self._style(k)) for run, k in self._runs(row)])
                            .adjust_cell_length(width, base).simplify() for row in self._rows]
            self._strips_key = key
            self._blank = Strip.blank(width, base)
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        return self._strips[y] if y < len(self._strips) else self._blank


class EnergyPanel(Panel):
    title = "Energy"

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self._texts: dict[str, str] = {}
        self.window = "1h"
        self.chart: dict | None = None
        self.chart_loaded_at = -1e18
        self.chart_first = False     # in short layouts: show the chart instead of the picture
        self._tz = None
        self.short = False
        self._laid_out_for = None
        self._flow: FlowView | None = None      # found once: show() runs every cycle
        self._title()

    def _title(self) -> None:
        self.border_title = (f"Energy flow · chart: {WINDOWS[self.window][3]} (r: 1 h / 24 h / 7 d, v: picture/chart)")

    def compose(self) -> ComposeResult:
        yield FlowView(id="flow")
        yield Static("", id="budget")
        yield Static("", id="ages")
        yield PlotSlot("", id="energy-chart")
        yield PlotSlot("", id="soc-chart")

    def on_mount(self) -> None:
        self.call_after_refresh(self._mount_plots)

    async def _mount_plots(self) -> None:
        if await mount_plots(self, "energy-chart", "soc-chart"):
            self._layout()
            if self.chart is not None and self._tz is not None:
                self.draw_charts(self._tz)

    def on_resize(self) -> None:
        self._layout()

    def _layout(self) -> None:
        """Picture, sentence and chart when they fit; when they do not (80×24 and smaller), the
        picture or the chart (``v`` swaps them)."""
        self._laid_out_for = self.content_size
        h, w = self.content_size.height, self.content_size.width
        try:
            flow = self.query_one(FlowView)
            chart = self.query_one("#energy-chart")
            soc = self.query_one("#soc-chart")
        except NoMatches:    # a plot taking its slot's place
            return
        flow_h = 20 if h >= 40 and w >= 90 else 12 if h >= 15 else 9 if h >= 12 else 3
        both = h - flow_h - 3 >= 8
        self.short = not both
        if both or not self.chart_first:
            flow.display = True
            flow.styles.height = flow_h
            rest = h - flow_h - 3
            chart.display = both
            soc.display = rest >= 24
        else:
            flow.display = False
            chart.display = True
            soc.display = False
        soc.styles.height = 9

    def toggle_view(self) -> None:
        self.chart_first = not self.chart_first
        self._layout()

    def activated(self) -> None:
        if self.content_size != self._laid_out_for:
            # resized while another panel showed (tmux: 200×60 → 60×20 kept the 20-row picture
            # and pushed the sentence off the screen)
            self._layout()
        super().activated()

    def show(self, st: EngineState, force: bool = False) -> None:
        if self.content_size != self._laid_out_for:   # a Resize handled before the new size arrived
            self._layout()
        s = st.snapshot
        running = sum(1 for x in st.samples.values() if x.running)
        soc = s.value("battery_soc_pct")
        if self._flow is None:
            self._flow = self.query_one(FlowView)
        # at the precision shown: the picture is drawn again only when what it shows changes
        self._flow.set_flows(Flows(
            shown_w(s.value("pv_w")), shown_w(s.value("house_w")), shown_w(st.miners_w),
            shown_w(s.value("grid_import_w")), shown_w(s.value("battery_charge_w")),
            None if soc is None else float(round(soc)),
            f"{running} of {len(st.samples)} mining" if st.samples else ""))
        self._set("budget", self._budget(st, running))
        self._set("ages", self._ages(st))

    def _set(self, wid: str, text: str) -> None:
        """Update only when the text changed: an unchanged update still repaints. Lay the screen out
        again only when the text needs another number of rows: a layout re-arranges every widget and
        repaints the charts (at a 1 s cycle it was most of the console's repaint CPU)."""
        if self._texts.get(wid) == text:
            return
        self._texts[wid] = text
        w = self.query_one(f"#{wid}", Static)
        width = w.content_size.width
        if not width:
            w.update(text)
            return
        before = w.get_content_height(self.content_size, self.app.size, width)
        w.update(text, layout=False)
        if w.get_content_height(self.content_size, self.app.size, width) != before:
            w.refresh(layout=True)

    @staticmethod
    def _budget(st: EngineState, running: int) -> str:
        line = escape(plain_reason(st))
        held: dict[str, list[str]] = {}
        d = st.decision
        if d is not None:
            for m in d.miners.values():
                # only what keeps a miner off or below what it could draw: not the surplus it follows,
                # not monitor-only miners, not what keeps it on (an override, its minimum run time)
                if m.term in ("monitor_only", "offline", "surplus"):
                    continue
                if m.run and m.term in ("min_on", "disable_timer", "override", "rule", "manual"):
                    continue
                held.setdefault(_TERM_WORDS.get(m.term, m.term.replace("_", " ")), []).append(m.name)
        if held:
            line += "\n[b]Held back by[/]  " + escape(" · ".join(f"{t}: {', '.join(n)}" for t, n in sorted(held.items())))
        return line

    @staticmethod
    def _ages(st: EngineState) -> str:
        parts = []
        for name, r in st.snapshot.readings().items():
            short = READING_WORDS.get(name, name)
            a = r.age(st.ts)
            if name in st.stale or r.error:
                parts.append(f"[$stale]{short} {age(a) if r.value is not None else 'missing'}[/]")
            else:
                parts.append(f"{short} {age(a)}")
        out = "[b]Readings[/]  " + " · ".join(parts) + " old"
        if st.stale:   # first: one row, cut with an ellipsis when narrow, and this part must show
            out = f"[$stale]STALE: {reading_names(st.stale)} — holding, then stepping down[/]   " + out
        return out

    # --- charts -----------------------------------------------------------------------------
    def next_window(self) -> None:
        self.window = WINDOW_ORDER[(WINDOW_ORDER.index(self.window) + 1) % len(WINDOW_ORDER)]
        self.chart_loaded_at = -1e18
        self._title()

    def chart_due(self, now: float) -> bool:
        return now - self.chart_loaded_at >= WINDOWS[self.window][2] or now < self.chart_loaded_at

    async def load_chart(self, store: Any, now: float, tz) -> None:
        self.chart_loaded_at = now
        data = await asyncio.to_thread(chart_query, store, now, self.window)
        self.chart = data
        self.draw_charts(tz)

    def draw_charts(self, tz) -> None:
        self._tz = tz
        data = self.chart
        p = self.query_one("#energy-chart")
        if data is None or isinstance(p, PlotSlot):
            return      # drawn when the plots are mounted
        from textual_plotext import PlotextPlot
        from ..theming import theme_rgb

        def rgb(var: str) -> tuple[int, int, int]:
            return theme_rgb(self.app, var)
        xs, start, end = data["xs"], data["start"], data["now"]
        title = WINDOWS[data["window"]][3]
        assert isinstance(p, PlotextPlot)
        plt = p.plt
        plt.clear_data()
        plt.clear_figure()
        for key, label, var in CHART_SERIES:
            pts = [(x, y / 1000.0) for x, y in zip(xs, data["series"][key]) if y is not None]
            if pts:
                plt.plot([a for a, _ in pts], [b for _, b in pts], label=label, color=rgb(var), marker="braille")
        plt.xlim(start, end)
        values = [y / 1000.0 for key, _, _ in CHART_SERIES for y in data["series"][key] if y is not None]
        if values:
            ticks = nice_ticks(min(values), max(values), max(2, (p.size.height or 10) // 3))
            plt.ylim(ticks[0], ticks[-1])
            plt.yticks(ticks, [f"{t:g}" for t in ticks])
        width = max(20, p.size.width or 80)
        pos, labels = time_ticks(start, end, tz, max_ticks=max(2, width // 12))
        plt.xticks(pos, labels)
        plt.title(f"Power in kW, {title} ({len(xs)} points)" if xs else f"Power in kW, {title}: no data yet")
        plt.horizontal_line(0, color=rgb("house"))
        p.refresh()
        s = self.query_one("#soc-chart", PlotextPlot)
        splt = s.plt
        splt.clear_data()
        splt.clear_figure()
        pts = [(x, y) for x, y in zip(xs, data["series"]["soc"]) if y is not None]
        if pts:
            splt.plot([a for a, _ in pts], [b for _, b in pts], color=rgb("battery"), marker="braille")
        splt.xlim(start, end)
        splt.ylim(0, 100)
        splt.yticks([0, 50, 100], ["0", "50", "100"])
        splt.xticks(pos, labels)
        splt.title(f"Battery state of charge in %, {title}")
        s.refresh()


_TERM_WORDS = {"enable_timer": "waiting to start", "disable_timer": "about to pause", "min_on": "minimum run time",
               "min_off": "minimum rest time", "max_starts": "starts per day used up",
               "min_interval": "too soon since the last change", "soc_guard": "battery kept for the house",
               "import_cap": "grid import cap", "heat": "room warm enough", "price": "price too high",
               "rule": "a rule", "override": "manual override (off)", "observe": "observe only",
               "paused": "paused", "stale": "readings missing", "manual": "manual mode", "idle": "nothing to do"}
