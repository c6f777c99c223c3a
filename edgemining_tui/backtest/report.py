"""What a backtest shows besides its table: who won and why (money in one line), the per-step
series the pictures are drawn from, and writing a report file atomically. The pictures are drawn
by report_chart.py (the trace as a terminal chart, plotext) and report_html.py (a self-contained
HTML report: inline SVG, no script, no web fonts).

The per-step series come from the runner's own steps CSV (``run_backtest(steps_out=...)``), read
back by :class:`StepRecorder`, so the pictures show exactly what ``--steps-out`` would write.
"""
from __future__ import annotations

import math
import os
import re
import tempfile
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from .metrics import Result

SERIES = ("pv_w", "load_w", "miners_w", "grid_import_w", "battery_soc_pct")
LABELS = {"pv_w": "PV", "load_w": "house", "miners_w": "mining", "grid_import_w": "grid (+import)",
          "battery_soc_pct": "battery SoC"}
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
