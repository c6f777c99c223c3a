"""Rules: the active policy, the allocator's terms and timers, per-miner decisions, rule traces and
the decision log from the store."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from textual.app import ComposeResult
from textual.markup import escape
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Static

from ...engine.events import EngineState
from ..fmt import plain_terms, term_words, timer_texts, watts
from ..table import measure_now
from . import Panel

TRACE_KEYS = ("rules", "rule_traces", "rules_trace", "traces")


def rule_trace_lines(extra: Any) -> list[str]:
    """Whatever rule traces the engine put in ``state.extra``, rendered defensively (keys may be absent)."""
    if not isinstance(extra, dict):
        return []
    traces = None
    for k in TRACE_KEYS:
        if extra.get(k):
            traces = extra[k]
            break
    if traces is None:
        return []
    lines: list[str] = []
    items = traces.items() if isinstance(traces, dict) else enumerate(traces if isinstance(traces, list) else [traces])
    for key, tr in items:
        if isinstance(tr, dict):
            name = tr.get("name") or tr.get("rule") or (key if isinstance(key, str) else f"rule {key}")
            fired = tr.get("fired", tr.get("result", tr.get("matched")))
            mark = "[$success]fired[/]" if fired is True else ("[$warning]unknown[/]" if fired is None else "no")
            kind = tr.get("kind") or tr.get("type") or ""
            miner = tr.get("miner") or ""
            detail = tr.get("detail") or tr.get("why") or tr.get("explain") or tr.get("reason") or ""
            if isinstance(detail, (list, tuple)):
                detail = "; ".join(str(x) for x in detail[:4])
            head = " ".join(x for x in (str(kind), str(name), f"({miner})" if miner else "") if x)
            lines.append(f"{escape(head)}: {mark}{'  ' + escape(str(detail)) if detail else ''}")
        else:
            lines.append(escape(f"{key}: {tr}"))
    return lines[:40]


class RulesPanel(Panel):
    title = "Rules"

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.border_title = "Rules and the allocator"
        self.log_rows: list[dict] = []

    def compose(self) -> ComposeResult:
        with Horizontal(id="rules-top"):
            yield Static("", id="rules-policy")
            yield Static("", id="rules-terms")
        yield DataTable(id="rules-miners", cursor_type="row", show_cursor=False)
        with VerticalScroll(id="rules-bottom"):
            yield Static("", id="rules-traces")
            yield Static("", id="rules-log")

    def on_mount(self) -> None:
        t = self.query_one("#rules-miners", DataTable)
        for key, text in (("name", "Miner"), ("run", "Runs"), ("target", "Target"), ("term", "Decided by"),
                          ("reason", "Reason")):
            t.add_column(text, key=key)

    def show(self, st: EngineState) -> None:
        app = self.app
        cfg = getattr(app, "cfg", None)
        d = st.decision
        mode = (d.terms.get("mode") if d is not None else None) or getattr(getattr(cfg, "policy", None), "mode", "?")
        policy_words = {"surplus": "share the solar surplus", "rules": "start/stop rules",
                        "manual": "manual: only overrides"}
        lines = [f"[b]Policy[/]  {escape(policy_words.get(mode, mode))}",
                 f"[b]Automation[/]  {'[$warning]paused[/]' if st.paused else 'on'}"
                 f"{'  [$warning]observe only[/]' if st.observe_only else ''}"]
        lines.append(f"[b]Miners may use[/]  {watts(d.available_w)}" if d is not None else "")
        glob = [v for k, v in (st.overrides or {}).items() if isinstance(v, dict) and not v.get("miner")]
        for g in glob:
            lines.append(f"[$override]{escape(str(g.get('text') or g.get('kind')))}[/]")
        self.query_one("#rules-policy", Static).update("\n".join(x for x in lines if x))
        terms = plain_terms(dict(d.terms)) if d is not None else []
        timers = timer_texts(d.terms.get("timers")) if d is not None else []
        tl = ["[b]What the decision used[/]"]
        tl += [f"[$accent]{escape(t)}[/]" for t in timers]
        tl += [escape(f"{k}: {v}") for k, v in terms[:14]]
        if len(tl) == 1:
            tl.append("nothing reported")
        if self.app.size.height < 34:   # the app's "-short" breakpoint, from the terminal's size now
            # under 34 rows one item a line left no room for the per-miner table (60×20 showed its
            # header only): the policy and the figures as one paragraph, the policy column hidden
            # policy and automation are on the status line, what the miners may use is in the figures
            tl = [tl[0] + "  " + " · ".join([*lines[3:], *tl[1:]])]
        self.query_one("#rules-terms", Static).update("\n".join(tl))
        t = self.query_one("#rules-miners", DataTable)
        if d is not None:
            with app.batch_update():
                for name, m in d.miners.items():
                    row = (name, "yes" if m.run else "no", watts(m.target_w), term_words(m.term), m.reason)
                    if name in t.rows:
                        old = t.get_row(name)
                        for (key, _), val, was in zip((("name", 0), ("run", 0), ("target", 0), ("term", 0),
                                                       ("reason", 0)), row, old):
                            if val != was:   # wider text widens its column (was cut: "too soon since the")
                                t.update_cell(name, key, val, update_width=True)
                    else:
                        t.add_row(*row, key=name)
                measure_now(t)
        traces = rule_trace_lines(st.extra)
        self.query_one("#rules-traces", Static).update(
            "[b]Rule traces[/]\n" + ("\n".join(traces) if traces else "no rule traces this cycle"))

    def on_resize(self) -> None:
        st = getattr(self.app, "state", None)
        if st is not None:
            self.show(st)     # one item a line, or one paragraph (under 34 rows)

    def activated(self) -> None:
        self.on_resize()      # resized while another panel showed
        super().activated()

    def show_log(self, rows: list[dict], tz) -> None:
        """The decision log: one line per change of what was decided (newest first)."""
        lines = ["[b]Decision log[/]"]
        for r in rows:
            t = datetime.fromtimestamp(r["ts"], tz).strftime("%m-%d %H:%M:%S")
            run = "run" if r.get("run") else "off"
            tw = "" if r.get("target_w") is None else f" {watts(r['target_w'])}"
            lines.append(escape(f"{t}  {r.get('name')}: {run}{tw} ({term_words(r.get('term'))}) {r.get('reason') or ''}"))
        if len(lines) == 1:
            lines.append("no decisions recorded yet")
        self.query_one("#rules-log", Static).update("\n".join(lines))
