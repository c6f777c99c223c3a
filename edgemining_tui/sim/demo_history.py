"""Simulated days of history for a demo's fresh data directory, so its history panel and charts
have something to show from the first frame.

The CLI calls :func:`prefill` once per demo run whose data directory has no ``history.db`` yet
(the throw-away directory, or a new ``--data-dir``), before the runtime opens it; never on a
directory with history, and never for a real site.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

PREFILL_DAYS = 3


def prefill(data_dir: Path, cfg: Any, now: float, days: int = PREFILL_DAYS) -> int:
    """Write ``days`` simulated days ending at ``now`` into ``data_dir / "history.db"``; return
    the number of rows written. The simulated days themselves are filled in by the history panel's
    work (issue 19); until then the demo starts with an empty history."""
    return 0
