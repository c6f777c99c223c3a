"""History: day / week / month bars of what the miners used (from surplus, from the battery, from the
grid), what was exported, the sats mined and the net money, for periods ending at a date you pick
(``[`` / ``]`` step, ``g`` types a date, ``r`` switches day / week / month)."""
from __future__ import annotations

import asyncio
import math
import logging
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import DataTable, Input, Static

from ..table import measure_now
from . import Panel, PlotSlot, mount_plots

log = logging.getLogger("edgemining_tui.ui")

MODES = ("day", "week", "month")
COUNTS = {"day": 14, "week": 8, "month": 6}
# key, label, colour variable
BARS = (("surplus_kwh", "from surplus", "grid-export"), ("battery_kwh", "from battery", "battery"),
        ("grid_kwh", "from grid", "grid-import"), ("exported_kwh", "exported", "solar"))
COLUMNS = (("period", "Period"), ("surplus_kwh", "Surplus kWh"), ("battery_kwh", "Battery kWh"),
           ("grid_kwh", "Grid kWh"), ("exported_kwh", "Export kWh"), ("sats", "Sats"), ("net", "Net"))
_SUM = ("surplus_kwh", "battery_kwh", "grid_kwh", "unattributed_kwh", "mined_kwh", "exported_kwh", "sats",
        "value", "net")
_DAY_CACHE: dict[tuple, dict] = {}

_EXPORT_RAW = """
select sum(max(0, -coalesce(g, 0)) * dt) / 3600000.0 as kwh from (
  select grid_import_w as g, min(max(coalesce(lead(ts) over (order by ts) - ts, ?), 0), ?) as dt
  from energy where ts >= ? and ts < ?)
"""


def exported_kwh(store: Any, a: float, b: float, cycle_s: float, max_gap_s: float) -> float:
    """Grid export between a and b: raw rows where kept, minute / hour rollups where pruned."""
    from ...econ.ledger import _tier_bounds
    total = 0.0
    for e_table, _, lo, hi, size in _tier_bounds(store, a, b):
        if size == 0:
            r = store.query(_EXPORT_RAW, [cycle_s, max_gap_s, lo, hi])
        else:
            r = store.query(f"select sum(max(0, -coalesce(grid_import_w, 0)) * min(?, n * ?)) / 3600000.0 as kwh "
                            f"from [{e_table}] where ts >= ? and ts < ?", [float(size), cycle_s, lo, hi])
        total += float((r[0]["kwh"] if r else 0.0) or 0.0)
    return total


def _day(store: Any, d: date, tz: str, cfg: Any, cycle_s: float, now: float, first_ts: float | None) -> dict:
    from ...econ.ledger import summary
    z = ZoneInfo(tz)
    a = datetime(d.year, d.month, d.day, tzinfo=z).timestamp()
    b = datetime.combine(d + timedelta(days=1), datetime.min.time(), tzinfo=z).timestamp()
    if first_ts is None or b <= first_ts or a >= now:
        return dict.fromkeys(_SUM, 0.0)
    key = (str(getattr(store, "path", id(store))), id(cfg), tz, cycle_s, a)
    if b <= now and key in _DAY_CACHE:
        return _DAY_CACHE[key]
    gap = max(60.0, 6 * cycle_s)
    s = summary(store, a, min(b, now), cfg, tz=tz, cycle_s=cycle_s)
    out = {k: float(s.get(k) or 0.0) for k in _SUM if k != "exported_kwh"}
    out["exported_kwh"] = exported_kwh(store, a, min(b, now), cycle_s, gap)
    if b <= now:
        if len(_DAY_CACHE) > 1000:
            _DAY_CACHE.clear()
        _DAY_CACHE[key] = out
    return out


def period_bounds(mode: str, end: date, count: int) -> list[tuple[str, date, date]]:
    """[(label, first day, day after the last)] oldest first, the last one containing ``end``."""
    out = []
    if mode == "day":
        for i in range(count - 1, -1, -1):
            d = end - timedelta(days=i)
            out.append((d.strftime("%a %d %b"), d, d + timedelta(days=1)))
    elif mode == "week":
        monday = end - timedelta(days=end.weekday())
        for i in range(count - 1, -1, -1):
            a = monday - timedelta(weeks=i)
            out.append((f"week of {a.strftime('%d %b')}", a, a + timedelta(days=7)))
    else:
        y, m = end.year, end.month
        months = []
        for _ in range(count):
            months.append((y, m))
            y, m = (y, m - 1) if m > 1 else (y - 1, 12)
        for y, m in reversed(months):
            a = date(y, m, 1)
            b = date(y + (m == 12), m % 12 + 1, 1)
            out.append((a.strftime("%b %Y"), a, b))
    return out


def history_bars(store: Any, now: float, mode: str, end: date, tz: str, cfg: Any = None,
                 cycle_s: float = 5.0) -> dict:
    """Per-period sums (kWh by source, exported, sats, net money) for the bars and the table."""
    from ...econ.ledger import EconomicsConfig
    cfg = cfg or EconomicsConfig()
    first = None
    for table in ("energy_hour", "energy_minute", "energy"):
        try:
            r = store.query(f"select min(ts) as t from [{table}]")
        except Exception:
            continue
        if r and r[0]["t"] is not None:
            first = float(r[0]["t"]) if first is None else min(first, float(r[0]["t"]))
    rows = []
    for label, a, b in period_bounds(mode, end, COUNTS[mode]):
        tot = dict.fromkeys(_SUM, 0.0)
        d = a
        while d < b:
            for k, v in _day(store, d, tz, cfg, cycle_s, now, first).items():
                tot[k] += v
            d += timedelta(days=1)
        tot["label"] = label
        rows.append(tot)
    return {"mode": mode, "end": end, "rows": rows, "currency": getattr(cfg, "currency", "")}


class HistoryPanel(Panel):
    title = "History"

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.mode = "day"
        self.end: date | None = None       # None: today
        self.loaded_at = -1e18
        self.data: dict | None = None
        self.border_title = "History"

    def compose(self) -> ComposeResult:
        with Horizontal(id="history-bar"):
            yield Static("", id="history-head")
            yield Input(placeholder="g: date YYYY-MM-DD", id="history-date")
        yield PlotSlot("", id="history-chart")
        yield DataTable(id="history-table", cursor_type="row", zebra_stripes=True)

    async def _mount_plot(self) -> None:
        if await mount_plots(self, "history-chart") and self.data is not None:
            self._draw_chart(self.data["rows"], self.data["mode"])

    def on_mount(self) -> None:
        self.call_after_refresh(self._mount_plot)
        t = self.query_one("#history-table", DataTable)
        # fixed widths: columns sized from their content re-lay the table whenever a row or the
        # currency label arrives, and the picture jumps while it loads
        for key, text in COLUMNS:
            width = 14 if key == COLUMNS[0][0] else (10 if key == "net" else max(len(text), 9))
            t.add_column(text, key=key, width=width)

    def toggle_range(self) -> None:
        self.mode = MODES[(MODES.index(self.mode) + 1) % len(MODES)]
        self.loaded_at = -1e18

    def shift(self, steps: int, today: date) -> None:
        end = self.end or today
        if self.mode == "day":
            end += timedelta(days=steps)
        elif self.mode == "week":
            end += timedelta(weeks=steps)
        else:
            m = end.month - 1 + steps
            end = date(end.year + m // 12, m % 12 + 1, 1)
        self.end = None if end >= today else end
        self.loaded_at = -1e18

    def pick(self, text: str, today: date) -> str | None:
        """A typed date: None when taken, else what is wrong with it."""
        text = text.strip()
        if text in ("", "today"):
            self.end = None
        else:
            try:
                d = date.fromisoformat(text)
            except ValueError:
                return f"{text!r}: type a date like {today.isoformat()}"
            self.end = None if d >= today else d
        self.loaded_at = -1e18
        return None

    async def load(self, store: Any, now: float, tz, max_gap_s: float = 60.0, economics: Any = None,
                   cycle_s: float = 5.0) -> None:
        today = datetime.fromtimestamp(now, tz).date()
        end = self.end or today
        data = await asyncio.to_thread(history_bars, store, now, self.mode, end, str(tz), economics, cycle_s)
        self.loaded_at = now
        self.data = data
        self.render_data(data, tz)

    def render_data(self, data: dict, tz=None) -> None:
        rows, mode = data["rows"], data["mode"]
        end: date = data["end"]
        self.border_title = (f"History by {mode}: {COUNTS[mode]} {mode}s to {end.strftime('%a %d %b %Y')}"
                             "  (r: day/week/month  [ ]: earlier/later  g: date)")
        cur = data.get("currency") or ""
        tot = {k: sum(r[k] for r in rows) for k in ("surplus_kwh", "battery_kwh", "grid_kwh", "exported_kwh",
                                                     "sats", "net")}
        self.query_one("#history-head", Static).update(
            f"[b]Mined[/] [$grid-export]{tot['surplus_kwh']:.1f}[/] kWh from surplus, "
            f"[$battery]{tot['battery_kwh']:.1f}[/] battery, [$grid-import]{tot['grid_kwh']:.1f}[/] grid · "
            f"[b]exported[/] [$solar]{tot['exported_kwh']:.1f}[/] · {tot['sats']:,.0f} sats · {tot['net']:+.2f} {cur}")
        self._draw_chart(rows, mode)
        t = self.query_one("#history-table", DataTable)
        with self.app.batch_update():
            t.columns["net"].label = Text(f"Net {cur}".strip())
            t.clear()
            for r in reversed(rows):
                t.add_row(r["label"], f"{r['surplus_kwh']:.2f}", f"{r['battery_kwh']:.2f}", f"{r['grid_kwh']:.2f}",
                          f"{r['exported_kwh']:.2f}", f"{r['sats']:,.0f}", f"{r['net']:+.2f}")
            measure_now(t)

    def _draw_chart(self, rows: list[dict], mode: str) -> None:
        p = self.query_one("#history-chart")
        if isinstance(p, PlotSlot):
            return      # drawn when the plot is mounted
        from ..theming import theme_rgb

        def rgb(var: str) -> tuple[int, int, int]:
            return theme_rgb(self.app, var)
        plt = p.plt
        plt.clear_data()
        plt.clear_figure()
        short = [_short(r["label"], mode) for r in rows]
        try:
            plt.multiple_bar(short, [[r[k] for r in rows] for k, _, _ in BARS],
                             labels=[lbl for _, lbl, _ in BARS], color=[rgb(c) for _, _, c in BARS])
            # every k-th label, k from the chart's width: plotext's own thinning of crowded labels
            # shifts with a column of width, and a label set that moves is a chart that flickers
            step = max(1, math.ceil(len(short) * 7 / max(20, p.size.width - 8)))
            plt.xticks(list(range(1, len(short) + 1, step)), short[::step])
            plt.title(f"Energy per {mode} in kWh")
        except Exception:   # the chart is a picture of the table below; never lose the table over it
            log.exception("history chart failed")
        p.refresh()


def _short(label: str, mode: str) -> str:
    if mode == "day":
        return label[4:10]          # "06 Dec"
    if mode == "week":
        return label[8:]            # "30 Nov"
    return label[:3]                # "Dec"
