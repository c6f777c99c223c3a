"""Rule traces for the console's Rules panel: each rule's live truth and the values behind it."""
from __future__ import annotations

from typing import Any

from .decision import DecisionInput

MAX_TRACES = 40   # a screenful; a big policy times many miners is summarised, not dumped


def rule_traces(hook: Any, inp: DecisionInput) -> list[dict]:
    """One dict per (miner, considered rule): {name, kind, miner, fired, detail}.

    ``fired`` is the rule's three-valued truth (True / False / None for unknown), so the panel can
    show which rules would act, which are blocked by a missing value, and why.
    """
    ruleset = getattr(hook, "ruleset", None)
    site = getattr(hook, "_site", None)
    if ruleset is None or site is None:
        return []
    ctx = site(inp)
    out: list[dict] = []
    for v in inp.miners:
        mctx = ctx.for_miner(v.sample, capabilities=v.caps)
        for tr in ruleset.explain(mctx):
            if not tr.considered or not tr.enabled:
                continue
            detail = "; ".join(leaf.text for leaf in tr.leaves[:4])
            if tr.unknown_fields:
                detail += f"  (unknown: {', '.join(tr.unknown_fields[:3])})"
            out.append({"name": tr.rule, "kind": tr.kind.value, "miner": v.name, "fired": tr.truth,
                        "detail": detail})
            if len(out) >= MAX_TRACES:
                return out
    return out
