"""The backtest trace as a terminal chart (plotext, imported only when drawing)."""
from __future__ import annotations

import math
from datetime import datetime
from typing import Sequence

from .metrics import Result
from .report import LABELS, StepRecorder, buckets

PLOTEXT_COLOURS = {"pv_w": "orange", "load_w": "blue", "miners_w": "red", "grid_import_w": "gray",
                   "battery_soc_pct": "green"}


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
