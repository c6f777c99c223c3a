"""Several policies on one trace, side by side."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from .config import BacktestConfig, load_backtest_config
from .metrics import Result, format_table
from .runner import run_backtest
from .trace import Trace


def load_all(paths: Sequence[str | Path]) -> list[BacktestConfig]:
    """Load every config first, so a bad one fails before anything runs."""
    cfgs = [load_backtest_config(p) for p in paths]
    seen: dict[str, int] = {}
    out = []
    for c in cfgs:
        n = seen.get(c.label, 0)
        seen[c.label] = n + 1
        if n:   # two configs with the same label: keep the columns apart
            from dataclasses import replace
            c = replace(c, label=f"{c.label} ({n + 1})")
        out.append(c)
    return out


def compare(cfgs: Sequence[BacktestConfig], trace: Trace) -> list[Result]:
    return [run_backtest(c, trace) for c in cfgs]


def render(results: list[Result], as_json: bool) -> str:
    if as_json:
        return json.dumps([r.to_dict() for r in results], indent=2, ensure_ascii=False)
    return format_table(results)
