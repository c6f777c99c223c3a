"""``edgemining-tui backtest``: replay a trace through the live decider and score it.

    edgemining-tui backtest --trace examples/week.csv --config examples/backtest.yaml
    edgemining-tui backtest --trace examples/week.csv --config examples/backtest.yaml --json
    edgemining-tui backtest --trace examples/week.csv --steps-out steps.csv --config examples/backtest.yaml
    edgemining-tui backtest --trace examples/week.csv \\
        --compare examples/backtest.yaml examples/backtest-rules.yaml

Exit codes: 0 done; 2 bad input (trace, config, rules: file:line on stderr, nothing written).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

EXIT_OK = 0
EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="edgemining-tui backtest",
                description="Replay a PV/house trace through the decider and score how much surplus it mined.")
    p.add_argument("--trace", required=True, metavar="TRACE.csv",
                   help="CSV: timestamp,pv_w,load_w[,temp_out_c,price_import,price_export] at a fixed step")
    p.add_argument("--config", metavar="CONFIG.yaml",
                   help="the console's config (site, miners, policy) plus an optional backtest: section")
    p.add_argument("--compare", nargs="+", metavar="CONFIG.yaml", default=[],
                   help="run several configs on the same trace and print them side by side")
    p.add_argument("--steps-out", metavar="STEPS.csv",
                   help="write one row per step (with --compare: one file per config, STEPS-<label>.csv)")
    p.add_argument("--json", action="store_true", help="print the scores as JSON")
    p.add_argument("--plot", action="store_true",
                   help="draw PV, house, mining, grid and battery SoC over the trace in the terminal")
    p.add_argument("--oracle", action="store_true",
                   help="also solve the perfect-foresight bound (HiGHS, the [oracle] extra) and score "
                        "each policy against it")
    p.add_argument("--html", metavar="REPORT.html",
                   help="write a self-contained report: summary, per-day bars, policies side by side, the trace")
    return p


def _steps_path(base: str, label: str, many: bool) -> Path:
    p = Path(base)
    if not many:
        return p
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in label)
    return p.with_name(f"{p.stem}-{safe}{p.suffix or '.csv'}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    from ..config.errors import ConfigError
    from .compare import load_all, render
    from .runner import run_backtest
    from .trace import TraceError, parse_trace

    paths = ([args.config] if args.config else []) + list(args.compare)
    if not paths:
        print("edgemining-tui backtest: error: give --config CONFIG.yaml or --compare CONFIG_A CONFIG_B ...",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    # everything is read and checked before anything runs or is written
    if args.oracle:
        from .oracle import OracleUnavailable, require
        try:
            require()
        except OracleUnavailable as e:
            _report(e)
            return EXIT_BAD_INPUT
    try:
        cfgs = load_all(paths)
        trace = parse_trace(args.trace)
        from ..clock import VirtualClock
        from .runner import decision_step, make_decider
        for c in cfgs:
            decision_step(c, trace)
        deciders = [make_decider(c, VirtualClock(trace.ts0), trace) for c in cfgs]
        if args.html:
            from .report import check_writable
            check_writable(args.html)
    except (ConfigError, TraceError) as e:
        _report(e)
        return EXIT_BAD_INPUT
    except OSError as e:
        print(f"edgemining-tui backtest: --html: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    from .miners import learned_only
    for c in cfgs:
        for name in learned_only(c.app.miners):
            # it mined all week at full power unremarked
            print(f"edgemining-tui backtest: {c.path}: {name} is replayed as monitor only (mining "
                  f"all the time, never commanded): family auto is learned only from the miner itself; "
                  f"name its family (docs/miners.md) to replay its control", file=sys.stderr)
    many = len(cfgs) > 1
    results = []
    from .report import StepRecorder
    recs: list[StepRecorder] = []
    try:
        for c, dec in zip(cfgs, deciders):
            rec = StepRecorder() if (args.plot or args.html) else None
            if args.steps_out:
                out = _steps_path(args.steps_out, c.label, many)
                out.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(prefix=".steps-", suffix=".csv", dir=out.parent)
                try:
                    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                        if rec is not None:
                            rec.also = fh
                        r = run_backtest(c, trace, steps_out=fh if rec is None else rec, decider=dec)
                    os.replace(tmp, out)
                except BaseException:
                    try:
                        os.unlink(tmp)
                    except OSError:
                        pass
                    raise
            else:
                r = run_backtest(c, trace, steps_out=rec, decider=dec)
            results.append(r)
            if rec is not None:
                rec.also = None
                recs.append(rec)
    except (ConfigError, TraceError) as e:   # e.g. a rules file the decider refuses
        _report(e)
        return EXIT_BAD_INPUT
    except OSError as e:
        print(f"edgemining-tui backtest: cannot write steps: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.oracle:
        from .oracle import attach
        oracle_lines = attach(cfgs, results, trace)
    if not args.json:
        tr = trace
        print(f"trace {tr.source}: {len(tr)} rows at {tr.step_s:g} s"
              + (f" (ignored columns: {', '.join(tr.ignored_columns)})" if tr.ignored_columns else ""))
    print(render(results, args.json) if (many or not args.json) else _one_json(results[0]))
    if args.oracle and not args.json:
        print("\n".join(oracle_lines))
    return _pictures(args, results, recs, trace)


def _pictures(args, results, recs, trace) -> int:
    """The summary line(s), --plot and --html (report_chart and report_html do the drawing)."""
    from . import report
    if not args.json:
        print(report.summary(results))
    if args.plot:
        import shutil

        from .report_chart import plot_text
        cols = shutil.get_terminal_size((100, 24)).columns
        out = sys.stderr if args.json else sys.stdout      # --json keeps standard output JSON
        colour = out.isatty() and not os.environ.get("NO_COLOR")
        print(plot_text(results, recs, width=max(60, min(cols, 200)), colour=colour), file=out)
    if args.html:
        from .report_html import render_html
        desc = f"trace {trace.source}: {len(trace)} rows at {trace.step_s:g} s"
        try:
            report.write_atomic(args.html, render_html(results, recs, desc))
        except OSError as e:
            print(f"edgemining-tui backtest: cannot write {args.html}: {e.strerror or e}", file=sys.stderr)
            return EXIT_BAD_INPUT
        print(f"report written to {args.html}", file=sys.stderr)
    return EXIT_OK


def _report(e: Exception) -> None:
    """One line per problem (a config may have several), each with its file:line."""
    for p in getattr(e, "problems", [e]):
        print(f"edgemining-tui backtest: {p}", file=sys.stderr)


def _one_json(r) -> str:
    import json
    return json.dumps(r.to_dict(), indent=2, ensure_ascii=False)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
