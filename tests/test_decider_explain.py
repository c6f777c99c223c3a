"""``PolicyDecider.explain = False`` (what the replay runs) decides exactly what the console's decider
decides: same run, target, level, term and command for every miner, same available power, same state
kept for a restart, over any sequence of snapshots, samples, policies and overrides. Only the words
(reasons, the summary, the terms the UI shows) are left out.

The replay's results are pinned by tests/test_replay_golden.py (generated while the replay still
built every reason); this test covers what a replay never reaches (overrides, hostile values, stale
data, rules and manual modes)."""
from __future__ import annotations

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given  # noqa: E402

from test_decider_properties import SETTINGS, scenario  # noqa: E402

from edgemining_tui.engine.engine import finite_snapshot  # noqa: E402
from edgemining_tui.engine.requests import refusal  # noqa: E402
from edgemining_tui.miners.sanitize import sanitize  # noqa: E402
from edgemining_tui.policy.decider import PolicyDecider  # noqa: E402
from edgemining_tui.policy.decision import DecisionInput, MinerView  # noqa: E402


def _what(fd) -> tuple:
    """A decision without its words."""
    miners = tuple((n, d.run, d.target_w, d.level, d.term,
                    None if d.command is None else (d.command.kind, d.command.watts, d.command.level))
                   for n, d in fd.miners.items())
    return fd.ts, fd.available_w, miners


@SETTINGS
@given(scenario())
def test_a_decider_without_words_decides_the_same(sc):
    cfg, steps = sc
    told, quiet = PolicyDecider(cfg, tz="UTC"), PolicyDecider(cfg, tz="UTC")
    quiet.explain = False
    for now, snap, views, ovs, stale in steps:
        for i, args in ovs:
            a = {"miner": f"m{i}", **args}
            if refusal("override", a, {n: c for n, c, _ in views}):
                continue
            kind = {"on": "force_on", "off": "force_off", "power": "power"}[a["mode"]]
            req = {"miner": a["miner"], "watts": a.get("watts"),
                   "expiry": f"for {a['for_s']}s" if a.get("for_s") else a.get("until") or "for 1 h"}
            for d in (told, quiet):
                try:
                    d.handle(kind, dict(req), now)
                except ValueError:
                    pass
        mv = tuple(MinerView(n, 1, c, sanitize(s) if s is not None else None) for n, c, s in views)
        inp = DecisionInput(now=now, snapshot=finite_snapshot(snap), miners=mv, stale=stale)
        a, b = told.decide(inp), quiet.decide(inp)
        assert _what(a) == _what(b)
        assert b.summary == "" and not b.terms and all(d.reason == "" for n, d in b.miners.items()
                                                       if d.term in ("surplus", "idle", "soc_guard"))
        assert told.export_state() == quiet.export_state()
