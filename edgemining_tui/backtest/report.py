"""What a backtest shows besides its table: who won and why (money in one line), the trace as a
terminal chart (plotext), and a self-contained HTML report (inline SVG, no script, no web fonts).

The per-step series come from the runner's own steps CSV (``run_backtest(steps_out=...)``), read
back by :class:`StepRecorder`, so the pictures show exactly what ``--steps-out`` would write.
"""
from __future__ import annotations

import html
import math
import os
import re
import tempfile
from array import array
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Sequence

from .metrics import Result, rows_of

SERIES = ("pv_w", "load_w", "miners_w", "grid_import_w", "battery_soc_pct")
LABELS = {"pv_w": "PV", "load_w": "house", "miners_w": "mining", "grid_import_w": "grid (+import)",
          "battery_soc_pct": "battery SoC"}
COLOURS = {"pv_w": "#d4a017", "load_w": "#5b8def", "miners_w": "#d9534f", "grid_import_w": "#7a7a7a",
           "battery_soc_pct": "#2e9e5b"}
PLOTEXT_COLOURS = {"pv_w": "orange", "load_w": "blue", "miners_w": "red", "grid_import_w": "gray",
                   "battery_soc_pct": "green"}
# the steps CSV's columns (runner.STEP_COLUMNS) that the pictures read, by position
_COL = {"pv_w": 1, "load_w": 2, "miners_w": 3, "battery_soc_pct": 5, "grid_import_w": 6}


class StepRecorder:
    """A text sink for the runner's steps CSV that keeps the columns the pictures need.
    ``also``: a second stream (the --steps-out file) that gets every byte unchanged."""

    def __init__(self, also: Any = None) -> None:
        self.also = also
        self.days: list[str] = []          # local date of each step (YYYY-MM-DD, the site's zone)
        self.clock: list[str] = []         # its local time of day (HH:MM)
        self.cols = {k: array("d") for k in SERIES}
        self._header = True
        self._rest = ""

    def write(self, text: str) -> int:
        if self.also is not None:
            self.also.write(text)
        data = self._rest + text
        lines = data.split("\n")
        self._rest = lines.pop()
        for line in lines:
            if self._header:
                self._header = False
                continue
            f = line.split(",")
            self.days.append(f[0][:10])
            self.clock.append(f[0][11:16])
            for k, i in _COL.items():
                v = f[i]
                self.cols[k].append(float(v) if v else math.nan)
        return len(text)

    def __len__(self) -> int:
        return len(self.days)


@dataclass
class Day:
    date: str
    pv_kwh: float
    load_kwh: float
    mined_kwh: float
    import_kwh: float
    export_kwh: float


def per_day(rec: StepRecorder, step_s: float) -> list[Day]:
    """kWh per local calendar day from the recorded steps."""
    h = step_s / 3600.0 / 1000.0
    out: list[Day] = []
    cur = None
    acc = [0.0] * 5
    pv, load, mined, grid = (rec.cols[k] for k in ("pv_w", "load_w", "miners_w", "grid_import_w"))
    for i, d in enumerate(rec.days):
        if d != cur:
            if cur is not None:
                out.append(Day(cur, *acc))
            cur, acc = d, [0.0] * 5
        g = grid[i]
        acc[0] += pv[i] * h
        acc[1] += load[i] * h
        acc[2] += mined[i] * h
        if g > 0:
            acc[3] += g * h
        else:
            acc[4] -= g * h
    if cur is not None:
        out.append(Day(cur, *acc))
    return out


def buckets(values: Sequence[float], n: int) -> list[float]:
    """``values`` averaged into ``n`` equal buckets (NaN cells skipped): what a chart can show."""
    m = len(values)
    if m == 0:
        return []
    n = max(1, min(n, m))
    out = []
    for b in range(n):
        lo, hi = b * m // n, (b + 1) * m // n
        seg = [v for v in values[lo:max(hi, lo + 1)] if v == v]
        out.append(sum(seg) / len(seg) if seg else math.nan)
    return out


# --- who won, and the money in one line --------------------------------------------------------
def _money(r: Result) -> dict | None:
    ec = r.economics
    if not ec:
        return None
    fed_in_kwh = (ec.get("surplus_kwh") or 0.0) + (ec.get("battery_kwh") or 0.0)
    mined = ec.get("mined_kwh") or 0.0
    return {"cur": ec.get("currency", ""), "value": ec.get("value", 0.0), "grid_cost": ec.get("grid_cost", 0.0),
            "feed_in_forgone": ec.get("feed_in_forgone", 0.0), "net": ec.get("net", 0.0), "mined_kwh": mined,
            "value_per_kwh": ec.get("value", 0.0) / mined if mined > 0 else None,
            "feed_in_per_kwh": ec.get("feed_in_forgone", 0.0) / fed_in_kwh if fed_in_kwh > 0 else None}


def money_line(r: Result) -> str:
    """``value mined − import cost − lost feed-in = net``, with the per-kWh rates that explain it."""
    m = _money(r)
    if m is None:
        return (f"{r.label}: {r.totals.mined_wh / 1000:.1f} kWh mined for {r.sats:,.0f} sats; the trace has no "
                f"prices (add price_import and price_export columns to see the money)")
    cur = f" {m['cur']}" if m["cur"] else ""
    line = (f"{r.label}: value mined {m['value']:.2f} − import cost {m['grid_cost']:.2f} − lost feed-in "
            f"{m['feed_in_forgone']:.2f} = net {m['net']:+.2f}{cur}")
    vk, fk = m["value_per_kwh"], m["feed_in_per_kwh"]
    if vk is not None and fk is not None:
        line += f" (a mined kWh earned {vk:.3f}, feeding it in would have paid {fk:.3f})"
    return line


def winner_line(results: Sequence[Result]) -> str:
    """Which policy won, by net money when the trace has prices, else by sats; and why, when the
    one that mined more lost."""
    if len(results) < 2:
        return ""
    priced = all(_money(r) is not None for r in results)
    key = (lambda r: _money(r)["net"]) if priced else (lambda r: r.sats)   # type: ignore[index]
    ranked = sorted(results, key=key, reverse=True)
    best, rest = ranked[0], ranked[1:]
    if priced:
        cur = _money(best)["cur"]   # type: ignore[index]
        others = ", ".join(f"{r.label} {_money(r)['net']:+.2f}" for r in rest)   # type: ignore[index]
        line = f"winner: {best.label}, net {_money(best)['net']:+.2f} {cur} (vs {others})"   # type: ignore[index]
        most = max(results, key=lambda r: r.totals.mined_wh)
        if most is not best and best.totals.mined_wh > 0:
            m = _money(most)
            ratio = most.totals.mined_wh / best.totals.mined_wh
            line += (f"; {most.label} mined {ratio:.1f}× more but nets less")
            if m and m["value_per_kwh"] is not None and m["feed_in_per_kwh"] is not None \
                    and m["value_per_kwh"] < m["feed_in_per_kwh"]:
                line += (f": a mined kWh earned {m['value_per_kwh']:.3f} {cur} while feeding it in paid "
                         f"{m['feed_in_per_kwh']:.3f}, so each extra kWh mined lost money")
        return line
    others = ", ".join(f"{r.label} {r.sats:,.0f}" for r in rest)
    return (f"winner: {best.label}, {best.sats:,.0f} sats (vs {others}); the trace has no prices, so this "
            f"ranks by sats, not money")


def summary(results: Sequence[Result]) -> str:
    lines = [winner_line(results)] if len(results) > 1 else []
    lines += [money_line(r) for r in results]
    return "\n".join(x for x in lines if x)


# --- the terminal chart ----------------------------------------------------------------------
def time_ticks(rec: StepRecorder, n_out: int, most: int = 10) -> tuple[list[float], list[str]]:
    """x positions (in bucket units) and labels for the time axis: where each local day starts,
    or, for a trace of two days or less, every few hours."""
    m = len(rec.days)
    pos, lab = [], []
    prev = None
    starts = [i for i, d in enumerate(rec.days) if i == 0 or d != rec.days[i - 1]]
    if len(starts) <= 2:
        every = 6 if len(starts) == 2 else 3
        for i, hm in enumerate(rec.clock):
            hour = hm[:2]
            if hm[3:5] == "00" and hour != prev and int(hour) % every == 0 or i == 0:
                pos.append(i * n_out / m)
                lab.append(hm if i not in starts else      # a day's start: its name stands for 00:00
                           datetime.strptime(rec.days[i], "%Y-%m-%d").strftime("%a %d"))
                prev = hour
    else:
        for i in starts:
            pos.append(i * n_out / m)
            lab.append(datetime.strptime(rec.days[i], "%Y-%m-%d").strftime("%a %d"))
    step = max(1, math.ceil(len(pos) / most))
    return pos[::step], lab[::step]


def plot_text(results: Sequence[Result], recs: Sequence[StepRecorder], width: int = 100, height: int = 22,
              colour: bool = True) -> str:
    """One chart per policy: PV, house, mining and grid in kW on the left axis, the battery's SoC in %
    on the right, over the whole trace (each column the mean of its steps)."""
    import plotext as plt
    out = []
    # in colour: braille lines (two dots a column); without: one letter a column says which line
    n = (2 if colour else 1) * max(20, width - 16)
    for r, rec in zip(results, recs):
        plt.clf()
        plt.plotsize(width, height)
        plt.theme("pro" if colour else "clear")
        xs = list(range(n))
        shown = []
        for k in ("pv_w", "load_w", "miners_w", "grid_import_w", "battery_soc_pct"):
            ys = buckets(rec.cols[k], n)
            if not any(v == v for v in ys):
                continue                          # no battery: no SoC line
            side = "right" if k == "battery_soc_pct" else "left"
            ys = [v if v == v else 0.0 for v in ys] if side == "right" else [v / 1000.0 for v in ys]
            plt.plot(xs[:len(ys)], ys, color=PLOTEXT_COLOURS[k], marker="braille" if colour else _MARK[k],
                     yside=side)
            shown.append(k)
        if "battery_soc_pct" in shown:
            plt.ylim(0, 100, yside="right")
            plt.ylabel("SoC %", yside="right")
        pos, lab = time_ticks(rec, n)
        plt.xticks(pos, lab)
        plt.ylabel("kW")
        plt.title(f"{r.label}: {len(rec)} steps of {r.step_s:g} s")
        text = plt.build()
        key = "   ".join((plt.colorize(f"━ {LABELS[k]}", PLOTEXT_COLOURS[k]) if colour else f"{_MARK[k]} {LABELS[k]}")
                         + (" % (right)" if k == "battery_soc_pct" else " kW") for k in shown)
        out.append((text if colour else plt.uncolorize(text)).rstrip("\n") + "\n" + "    " + key)
    plt.clf()
    return "\n".join(_rstrip_lines(t) for t in out)


# without colour, each line is drawn with its own letter
_MARK = {"pv_w": "P", "load_w": "h", "miners_w": "m", "grid_import_w": "g", "battery_soc_pct": "s"}


def _rstrip_lines(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.splitlines())


# --- the HTML report -------------------------------------------------------------------------
_CSS = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em auto;max-width:1100px;
color:#1d2329;background:#fff;padding:0 1em}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}
.sum{background:#f3f6f9;border-left:4px solid #2e9e5b;padding:.6em 1em;margin:1em 0}
.sum p{margin:.3em 0}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
td,th{padding:2px 10px;border-bottom:1px solid #e3e7eb;text-align:left;vertical-align:top}
th{background:#f3f6f9}
svg{display:block;margin:.4em 0 1em}
svg text{font:11px system-ui,sans-serif;fill:#444}
.key span{display:inline-block;margin-right:1.2em}
.key i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}
"""
_POLICY_COLOURS = ("#3d6fd1", "#d1703d", "#2e9e5b", "#9b4fd1", "#c9a227", "#777777")


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _nice_max(v: float) -> float:
    if not v > 0:
        return 1.0
    mag = 10 ** math.floor(math.log10(v))
    for f in (1, 2, 2.5, 5, 10):
        if v <= f * mag:
            return f * mag
    return 10 * mag


def _ticks(top: float, n: int = 4) -> list[float]:
    return [top * i / n for i in range(n + 1)]


def kw_range(recs: Sequence[StepRecorder], n: int) -> tuple[float, float, float]:
    """(bottom, top, tick step) in kW shared by every trace chart, so policies compare by eye."""
    lo = hi = 0.0
    for rec in recs:
        for k in ("pv_w", "load_w", "miners_w", "grid_import_w"):
            for v in buckets(rec.cols[k], n):
                if v == v:
                    lo, hi = min(lo, v / 1000.0), max(hi, v / 1000.0)
    step = _nice_max((hi - lo) / 4 or 1.0)
    return math.floor(lo / step) * step, math.ceil(hi / step) * step or step, step


_TRACE_W, _TRACE_LEFT, _TRACE_RIGHT = 1000, 50, 46
_TRACE_N = _TRACE_W - _TRACE_LEFT - _TRACE_RIGHT      # one point per pixel column


def trace_svg(r: Result, rec: StepRecorder, yr: tuple[float, float, float] | None = None,
              width: int = _TRACE_W, height: int = 260) -> str:
    """PV, house, mining and grid (kW, left) and SoC (%, right) over the trace, as polylines;
    ``yr``: the shared kW range from :func:`kw_range`."""
    left, right, top, bottom = _TRACE_LEFT, _TRACE_RIGHT, 10, 28
    w, h = width - left - right, height - top - bottom
    n = min(len(rec), w)
    kw = {k: [v / 1000.0 for v in buckets(rec.cols[k], n)] for k in ("pv_w", "load_w", "miners_w", "grid_import_w")}
    ymin, ymax, ystep = yr or kw_range([rec], n)

    def y_of(v: float) -> float:
        return top + h * (ymax - v) / (ymax - ymin)

    def x_of(i: int) -> float:
        return left + (w * i / max(1, n - 1))

    parts = [f'<svg role="img" aria-label="{_e(r.label)} trace" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">']
    for i in range(int(round((ymax - ymin) / ystep)) + 1):
        v = ymin + i * ystep
        y = y_of(v)
        parts.append(f'<line x1="{left}" x2="{left + w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e7eb"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{v:g}</text>')
    parts.append(f'<text x="4" y="{top + 10}">kW</text>')
    # day boundaries
    m = len(rec)
    prev = None
    for i, d in enumerate(rec.days):
        if d != prev:
            x = left + w * i / max(1, m)
            parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + h}" stroke="#c8ced4" '
                         f'stroke-dasharray="2,3"/>')
            label = datetime.strptime(d, "%Y-%m-%d").strftime("%a %d %b")
            parts.append(f'<text x="{x + 3:.1f}" y="{top + h + 16}">{_e(label)}</text>')
            prev = d
    for k, ys in kw.items():
        pts = " ".join(f"{x_of(i):.1f},{y_of(v):.1f}" for i, v in enumerate(ys) if v == v)
        parts.append(f'<polyline fill="none" stroke="{COLOURS[k]}" stroke-width="1.2" points="{pts}"/>')
    soc = buckets(rec.cols["battery_soc_pct"], n)
    if any(v == v for v in soc):
        pts = " ".join(f"{x_of(i):.1f},{top + h * (100 - v) / 100:.1f}" for i, v in enumerate(soc) if v == v)
        parts.append(f'<polyline fill="none" stroke="{COLOURS["battery_soc_pct"]}" stroke-width="1.2" '
                     f'stroke-dasharray="5,2" points="{pts}"/>')
        for v in (0, 50, 100):
            parts.append(f'<text x="{left + w + 6}" y="{top + h * (100 - v) / 100 + 4:.1f}">{v} %</text>')
    parts.append(f'<line x1="{left}" x2="{left + w}" y1="{y_of(0):.1f}" y2="{y_of(0):.1f}" stroke="#888"/>')
    parts.append("</svg>")
    return "".join(parts)


def day_bars_svg(title: str, unit: str, days: list[str], series: list[tuple[str, list[float]]],
                 bounds: list[list[float] | None] | None = None, width: int = 1000, height: int = 220) -> str:
    """Grouped bars: one group per day, one bar per policy; ``bounds`` (per policy, per day) draws
    a dashed line over each bar at what the perfect-foresight bound mined that day."""
    left, right, top, bottom = 50, 10, 18, 24
    w, h = width - left - right, height - top - bottom
    vals = [v for _, ys in series for v in ys] + [v for b in (bounds or []) if b for v in b]
    ymax = _nice_max(max([0.0] + vals))
    nd, np_ = max(1, len(days)), max(1, len(series))
    group = w / nd
    bar = group * 0.8 / np_
    parts = [f'<svg role="img" aria-label="{_e(title)}" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
             f'<text x="{left}" y="12">{_e(title)} ({_e(unit)} per day)</text>']
    for v in _ticks(ymax):
        y = top + h - h * v / ymax
        parts.append(f'<line x1="{left}" x2="{left + w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e7eb"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{v:g}</text>')
    for di, d in enumerate(days):
        gx = left + di * group + group * 0.1
        for si, (label, ys) in enumerate(series):
            v = ys[di] if di < len(ys) else 0.0
            bh = h * max(0.0, v) / ymax
            parts.append(f'<rect x="{gx + si * bar:.1f}" y="{top + h - bh:.1f}" width="{max(1.0, bar - 1):.1f}" '
                         f'height="{bh:.1f}" fill="{_POLICY_COLOURS[si % len(_POLICY_COLOURS)]}">'
                         f'<title>{_e(label)} {_e(d)}: {v:.1f} {_e(unit)}</title></rect>')
            b = bounds[si] if bounds and si < len(bounds) else None
            if b is not None and di < len(b):
                y = top + h - h * max(0.0, b[di]) / ymax
                parts.append(f'<line x1="{gx + si * bar:.1f}" x2="{gx + (si + 1) * bar - 1:.1f}" y1="{y:.1f}" '
                             f'y2="{y:.1f}" stroke="#111" stroke-width="2" stroke-dasharray="3,2">'
                             f'<title>bound {_e(d)}: {b[di]:.1f} {_e(unit)}</title></line>')
        label = datetime.strptime(d, "%Y-%m-%d").strftime("%a %d")
        parts.append(f'<text x="{left + di * group + group / 2:.1f}" y="{top + h + 16}" '
                     f'text-anchor="middle">{_e(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def oracle_rows(r: Result) -> list[tuple[str, str]]:
    """The perfect-foresight bound's lines for one policy (backtest --oracle), if it was solved."""
    o = getattr(r, "oracle", None)
    if not o:
        return []
    if o.get("status") != "Optimal" or o.get("bound_kwh") is None:
        return [("oracle bound", f"none ({o.get('status', '?')})")]
    return [("oracle bound", f"{o['bound_kwh']:.1f} kWh mined without extra import (perfect foresight)"),
            ("captured of bound", f"{o['captured_pct_of_bound']:.1f} %"),
            ("net of bound", f"{o['net_pct_of_bound']:.1f} % ({o['net_kwh']:.1f} kWh)")]


def _bound_by_day(r: Result, dates: list[str]) -> list[float] | None:
    per = (getattr(r, "oracle", None) or {}).get("mined_kwh_by_day")
    return [float(per.get(d, 0.0)) for d in dates] if per else None


def render_html(results: Sequence[Result], recs: Sequence[StepRecorder], trace_desc: str) -> str:
    """The report as one HTML file: nothing is loaded from anywhere when it is opened. With
    ``--oracle`` each policy's column also holds the perfect-foresight bound and its shares of it."""
    dailies = [per_day(rec, r.step_s) for r, rec in zip(results, recs)]
    dates = sorted({d.date for days in dailies for d in days})

    def col(days: list[Day], attr: str) -> list[float]:
        by = {d.date: getattr(d, attr) for d in days}
        return [by.get(d, 0.0) for d in dates]

    names = ", ".join(r.label for r in results)
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>Backtest: {_e(names)}</title>", f"<style>{_CSS}</style></head><body>",
           f"<h1>Backtest: {_e(names)}</h1>", f"<p>{_e(trace_desc)}</p>", '<div class="sum">']
    for line in summary(results).splitlines():
        out.append(f"<p>{_e(line)}</p>")
    for r in results:
        bound = dict(oracle_rows(r))
        if "captured of bound" in bound:
            out.append(f"<p>{_e(r.label)}: captured {_e(bound['captured of bound'])} of the perfect-foresight "
                       f"bound ({_e(bound['oracle bound'].split(' mined')[0])})</p>")
    out.append("</div>")
    out.append('<p class="key">' + "".join(
        f'<span><i style="background:{_POLICY_COLOURS[i % len(_POLICY_COLOURS)]}"></i>{_e(r.label)}</span>'
        for i, r in enumerate(results)) + "</p>")
    out.append("<h2>Per day</h2>")
    bounds = [_bound_by_day(r, dates) for r in results]
    for title, attr in (("mined", "mined_kwh"), ("grid import", "import_kwh"), ("exported", "export_kwh")):
        out.append(day_bars_svg(title, "kWh", dates, [(r.label, col(d, attr)) for r, d in zip(results, dailies)],
                                bounds=bounds if attr == "mined_kwh" and any(bounds) else None))
    if any(bounds):
        out.append("<p>- - - the perfect-foresight bound's mining that day (backtest --oracle)</p>")
    out.append("<h2>Side by side</h2>")
    cols = [dict(rows_of(r) + oracle_rows(r)) for r in results]
    labels: list[str] = []
    for c in cols:
        for lbl in c:
            if lbl not in labels:
                labels.append(lbl)
    head = "".join(f"<th>{_e(r.label)}</th>" for r in results)
    out.append(f"<table><tr><th></th>{head}</tr>")
    for lbl in labels:
        cells = "".join(f"<td>{_e(c.get(lbl, ''))}</td>" for c in cols)
        out.append(f"<tr><th>{_e(lbl.strip())}</th>{cells}</tr>")
    out.append("</table>")
    out.append('<h2 id="trace">The trace</h2>')
    out.append('<p class="key">' + "".join(
        f'<span><i style="background:{COLOURS[k]}"></i>{_e(LABELS[k])}</span>' for k in SERIES) + "</p>")
    yr = kw_range(recs, _TRACE_N)
    for r, rec in zip(results, recs):
        out.append(f"<h3>{_e(r.label)}</h3>")
        out.append(trace_svg(r, rec, yr))
    notes = [f"{r.label}: {n}" for r in results for n in r.notes]
    if notes:
        out.append("<h2>Notes</h2><ul>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def check_writable(path: str | Path) -> None:
    """OSError now, before a long run, if the report could not be written there."""
    p = Path(path)
    if p.is_dir():
        raise OSError(f"{p} is a folder")
    parent = next((a for a in [p.parent, *p.parent.parents] if a.exists()), Path("."))
    if not parent.is_dir():
        raise OSError(f"{parent} is not a folder")
    if not os.access(parent, os.W_OK):
        raise OSError(f"cannot write in {parent}")


def write_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder (no half file)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}-", dir=p.parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)      # as an ordinary new file, not mkstemp's 0600
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)
