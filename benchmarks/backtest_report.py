"""What backtest --plot / --html add to a replay of the sample week: the step recorder's share of
the replay, and the time to draw the chart and write the report (CPU seconds, median of 3).

    .venv/bin/python benchmarks/backtest_report.py [TRACE.csv] [CONFIG.yaml]
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from edgemining_tui.backtest import report, report_chart, report_html
from edgemining_tui.backtest.compare import load_all
from edgemining_tui.backtest.runner import run_backtest
from edgemining_tui.backtest.trace import parse_trace

ROOT = Path(__file__).resolve().parents[1]


def cpu(fn, n: int = 3) -> tuple[float, object]:
    times, out = [], None
    for _ in range(n):
        t0 = time.process_time()
        out = fn()
        times.append(time.process_time() - t0)
    return statistics.median(times), out


def main() -> None:
    trace_path = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "examples" / "week.csv")
    cfg_path = sys.argv[2] if len(sys.argv) > 2 else str(ROOT / "examples" / "backtest.yaml")
    trace = parse_trace(trace_path)
    cfg = load_all([cfg_path])[0]
    plain, _ = cpu(lambda: run_backtest(cfg, trace))

    def recorded():
        rec = report.StepRecorder()
        return run_backtest(cfg, trace, steps_out=rec), rec

    with_rec, (r, rec) = cpu(recorded)
    plot_s, text = cpu(lambda: report_chart.plot_text([r], [rec], width=120, colour=True))
    html_s, page = cpu(lambda: report_html.render_html([r], [rec], f"trace {trace_path}"))
    print(f"trace {trace_path}: {len(trace)} rows; config {cfg_path}")
    print(f"replay                  {plain:6.2f} s CPU (median of 3)")
    print(f"replay + step recorder  {with_rec:6.2f} s CPU ({100 * (with_rec - plain) / plain:+.0f} %)")
    print(f"--plot chart (120 cols) {plot_s:6.3f} s CPU, {len(text.splitlines())} lines")
    print(f"--html report           {html_s:6.3f} s CPU, {len(page) / 1024:.0f} KB")


if __name__ == "__main__":
    main()
