"""The backtest report as one HTML file: inline SVG, no script, no web fonts; nothing is loaded
from anywhere when it is opened."""
from __future__ import annotations

import html
import math
from datetime import datetime
from typing import Any, Sequence

from .metrics import Result, rows_of
from .report import LABELS, SERIES, Day, StepRecorder, buckets, per_day, summary

COLOURS = {"pv_w": "#d4a017", "load_w": "#5b8def", "miners_w": "#d9534f", "grid_import_w": "#7a7a7a",
           "battery_soc_pct": "#2e9e5b"}

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
