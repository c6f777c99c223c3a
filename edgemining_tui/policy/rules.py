"""Edge Mining-compatible rules: the model and a three-valued evaluator that says why.

A policy (``RuleSet``) has ``start_rules`` and ``stop_rules``. Each rule has a condition tree of
``all_of`` / ``any_of`` / ``not_`` groups over leaves ``{field, operator, value | value_ref}``.

Semantics (Edge Mining's, ``OptimizationPolicy.decide_next_action``):

- miner status off / error / unknown -> start rules are considered; one that fires -> START
- status on                          -> stop rules are considered; one that fires -> STOP
- status starting / stopping         -> MAINTAIN (hold until the miner settles)
- rules are tried by priority, highest first (ties keep file order); disabled rules never fire;
  the first rule that is *true* acts and is named in the reason.

Differences from Edge Mining (its defects fixed): a leaf whose field (or value_ref) has no value
is UNKNOWN, not false; ``all_of``/``any_of``/``not_`` follow Kleene's three-valued logic, and only
a rule that is definitely true fires, so missing data never fails open (a ``not_`` over missing
data is unknown, not true). The reason names the unknown fields.

The context is any object with ``get(path) -> value | None`` (a ``DecisionContext`` or a dict).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any, Callable, Iterator, Mapping, Protocol

from .fields import ANY, BOOL, DATETIME, DURATION, NUMBER, STATUS, STRING

Tri = bool | None          # True / False / None (unknown)

OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "contains", "starts_with",
             "ends_with", "regex")
ORDERED_OPS = ("gt", "gte", "lt", "lte")
LIST_OPS = ("in", "not_in")
TEXT_OPS = ("contains", "starts_with", "ends_with", "regex")
SYMBOL = {"eq": "=", "ne": "≠", "gt": ">", "gte": "≥", "lt": "<", "lte": "≤", "in": "in",
          "not_in": "not in", "contains": "contains", "starts_with": "starts with",
          "ends_with": "ends with", "regex": "matches"}


class Action(str, Enum):
    START = "start"
    STOP = "stop"
    MAINTAIN = "maintain"


class RuleKind(str, Enum):
    START = "start"
    STOP = "stop"


START_STATUSES = frozenset({"off", "error", "unknown"})
STOP_STATUSES = frozenset({"on"})
HOLD_STATUSES = frozenset({"starting", "stopping"})


class Context(Protocol):
    def get(self, path: str, default: Any = None) -> Any: ...


# ------------------------------------------------------------------------------------------
# values
# ------------------------------------------------------------------------------------------
_BAD = object()


@dataclass(frozen=True, slots=True)
class TimeOfDay:
    """A YAML "HH:MM[:SS]" compared with a datetime field's local time of day."""

    seconds: int
    text: str

    def of(self, dt: datetime) -> int:
        return dt.hour * 3600 + dt.minute * 60 + dt.second

    def __str__(self) -> str:
        return self.text


def norm_for(kind: str, path: str = "") -> Callable[[Any], Any]:
    """A function turning a raw context value of ``kind`` into its comparable form (or _BAD)."""
    if path.startswith("miner_state.status"):
        from .context import em_status
        return lambda v: em_status(v)
    if kind in (NUMBER, DURATION):
        return _num
    if kind == STATUS:
        return _status
    if kind == STRING:
        return _text
    if kind == BOOL:
        return lambda v: v if isinstance(v, bool) else _BAD
    if kind == DATETIME:
        return lambda v: v if isinstance(v, datetime) else _BAD
    return _plain


def _num(v: Any) -> Any:
    if isinstance(v, bool):
        return _BAD
    if isinstance(v, (int, float)):
        return v
    if hasattr(v, "total_seconds"):   # timedelta from a hand-built context
        return v.total_seconds()
    return _BAD


def _status(v: Any) -> Any:
    if isinstance(v, Enum):
        v = v.value if isinstance(v.value, str) else v.name
    return str(v).lower()


def _text(v: Any) -> Any:
    if isinstance(v, Enum):
        v = v.value
    return v if isinstance(v, str) else str(v)


def _plain(v: Any) -> Any:
    return v.value if isinstance(v, Enum) else v


def _ordered(op: str) -> Callable[[Any, Any], bool]:
    return {"gt": lambda a, e: a > e, "gte": lambda a, e: a >= e,
            "lt": lambda a, e: a < e, "lte": lambda a, e: a <= e}[op]


def make_compare(op: str, kind: str, pattern: re.Pattern | None = None) -> Callable[[Any, Any], Tri]:
    """``cmp(actual, expected)`` for normalised values; None when they cannot be compared."""
    if kind == DATETIME and op in ORDERED_OPS + ("eq", "ne"):
        base = _ordered(op) if op in ORDERED_OPS else (
            (lambda a, e: a == e) if op == "eq" else (lambda a, e: a != e))

        def cmp_dt(a: datetime, e: Any) -> Tri:
            if isinstance(e, TimeOfDay):
                return base(e.of(a), e.seconds)
            if isinstance(e, datetime):
                if e.tzinfo is None:
                    e = e.replace(tzinfo=a.tzinfo)
                return base(a, e)
            if isinstance(e, date):
                return base(a.date(), e)
            return None
        return cmp_dt
    if op == "eq":
        return lambda a, e: a == e
    if op == "ne":
        return lambda a, e: a != e
    if op in ORDERED_OPS:
        return _ordered(op)
    if op == "in":
        return lambda a, e: a in e
    if op == "not_in":
        return lambda a, e: a not in e
    if op == "contains":
        return lambda a, e: (e in a) if isinstance(a, (list, tuple, set, frozenset)) else str(e) in str(a)
    if op == "starts_with":
        return lambda a, e: str(a).startswith(str(e))
    if op == "ends_with":
        return lambda a, e: str(a).endswith(str(e))
    if op == "regex":
        if pattern is not None:
            return lambda a, e: pattern.match(str(a)) is not None
        return lambda a, e: _regex(str(e)).match(str(a)) is not None
    raise ValueError(f"unknown operator {op!r}")


_REGEX_CACHE: dict[str, re.Pattern] = {}


def _regex(src: str) -> re.Pattern:
    p = _REGEX_CACHE.get(src)
    if p is None:
        p = _REGEX_CACHE[src] = re.compile(src)
    return p


def fmt(v: Any) -> str:
    if v is None:
        return "unknown"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{round(v, 2):g}" if abs(v) < 1e6 else f"{v:.0f}"
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M") if (v.second == 0) else v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, (list, tuple, frozenset, set)):
        return "[" + ", ".join(fmt(x) for x in v) + "]"
    if isinstance(v, Enum):
        return str(v.value)
    return str(v)


# ------------------------------------------------------------------------------------------
# condition tree
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class NodeTrace:
    """How one node of a condition tree evaluated, for the UI."""

    kind: str                      # "all_of" | "any_of" | "not_" | "leaf"
    truth: Tri
    children: tuple["NodeTrace", ...] = ()
    field: str | None = None
    operator: str | None = None
    expected: Any = None           # the static value (None with value_ref)
    value_ref: str | None = None
    actual: Any = None
    ref_actual: Any = None
    line: int | None = None

    def leaves(self) -> Iterator["NodeTrace"]:
        if self.kind == "leaf":
            yield self
        for c in self.children:
            yield from c.leaves()

    @property
    def text(self) -> str:
        """``energy_state.battery.state_of_charge=96 ≥ 95`` (leaves), ``all_of(...)`` otherwise."""
        if self.kind != "leaf":
            sep = {"all_of": " and ", "any_of": " or "}.get(self.kind, "")
            inner = sep.join(c.text for c in self.children)
            return f"not ({inner})" if self.kind == "not_" else f"({inner})"
        left = f"{self.field}={fmt(self.actual)}"
        right = f"{self.value_ref}={fmt(self.ref_actual)}" if self.value_ref else fmt(self.expected)
        return f"{left} {SYMBOL[self.operator or '']} {right}"

    def unknown_fields(self) -> list[str]:
        """Fields with no value under the parts of the tree that are unknown."""
        out: list[str] = []
        self._unknown(out)
        return out

    def _unknown(self, out: list[str]) -> None:
        if self.truth is not None:
            return
        if self.kind == "leaf":
            if self.actual is None and self.field not in out:
                out.append(self.field)  # type: ignore[arg-type]
            elif self.value_ref and self.ref_actual is None and self.value_ref not in out:
                out.append(self.value_ref)
            elif self.actual is not None and (self.ref_actual is not None or not self.value_ref):
                if self.field not in out:   # a value of the wrong kind: unknown too
                    out.append(self.field)  # type: ignore[arg-type]
            return
        for c in self.children:
            c._unknown(out)


class Node:
    __slots__ = ()

    def eval(self, ctx: Context) -> Tri:
        raise NotImplementedError

    def trace(self, ctx: Context) -> NodeTrace:
        raise NotImplementedError

    def fields(self) -> Iterator[str]:
        raise NotImplementedError


class Leaf(Node):
    __slots__ = ("field", "operator", "value", "value_ref", "kind", "ref_kind", "line",
                 "_cmp", "_norm", "_rnorm")

    def __init__(self, field: str, operator: str, value: Any = None, value_ref: str | None = None,
                 kind: str = ANY, ref_kind: str | None = None, line: int | None = None,
                 pattern: re.Pattern | None = None) -> None:
        """``value`` must already be normalised for ``kind`` (the loader does it)."""
        self.field = field
        self.operator = operator
        self.value = value
        self.value_ref = value_ref
        self.kind = kind
        self.ref_kind = ref_kind
        self.line = line
        cmp_kind = kind if kind != ANY else (ref_kind or ANY)
        self._cmp = make_compare(operator, cmp_kind, pattern)
        self._norm = norm_for(kind, field)
        rk = ref_kind or ANY
        if value_ref is not None and STATUS in (kind, rk) and kind in (STATUS, STRING, ANY) \
                and rk in (STATUS, STRING, ANY):
            # a status compared with a string compares case-insensitively on both sides
            self._norm = norm_for(STATUS, field)
            self._rnorm = norm_for(STATUS, value_ref)
        else:
            self._rnorm = norm_for(rk, value_ref or "")

    def eval(self, ctx: Context) -> Tri:
        a = ctx.get(self.field)
        if a is None:
            return None
        a = self._norm(a)
        if a is _BAD:
            return None
        if self.value_ref is None:
            e = self.value
        else:
            e = ctx.get(self.value_ref)
            if e is None:
                return None
            e = self._rnorm(e)
            if e is _BAD:
                return None
        try:
            r = self._cmp(a, e)
        except (TypeError, ValueError):
            return None
        return None if r is None else bool(r)

    def trace(self, ctx: Context) -> NodeTrace:
        a = _plain(ctx.get(self.field))
        ra = _plain(ctx.get(self.value_ref)) if self.value_ref else None
        return NodeTrace("leaf", self.eval(ctx), field=self.field, operator=self.operator,
                         expected=None if self.value_ref else self.value, value_ref=self.value_ref,
                         actual=a, ref_actual=ra, line=self.line)

    def fields(self) -> Iterator[str]:
        yield self.field
        if self.value_ref:
            yield self.value_ref

    def __repr__(self) -> str:
        rhs = f"value_ref={self.value_ref!r}" if self.value_ref else f"value={self.value!r}"
        return f"Leaf({self.field!r} {self.operator} {rhs})"


class AllOf(Node):
    __slots__ = ("children",)

    def __init__(self, children: tuple[Node, ...]) -> None:
        self.children = tuple(children)

    def eval(self, ctx: Context) -> Tri:
        unknown = False
        for c in self.children:
            r = c.eval(ctx)
            if r is False:
                return False
            if r is None:
                unknown = True
        return None if unknown else True

    def trace(self, ctx: Context) -> NodeTrace:
        ch = tuple(c.trace(ctx) for c in self.children)
        t: Tri = False if any(c.truth is False for c in ch) else (
            None if any(c.truth is None for c in ch) else True)
        return NodeTrace("all_of", t, ch)

    def fields(self) -> Iterator[str]:
        for c in self.children:
            yield from c.fields()


class AnyOf(AllOf):
    __slots__ = ()

    def eval(self, ctx: Context) -> Tri:
        unknown = False
        for c in self.children:
            r = c.eval(ctx)
            if r is True:
                return True
            if r is None:
                unknown = True
        return None if unknown else False

    def trace(self, ctx: Context) -> NodeTrace:
        ch = tuple(c.trace(ctx) for c in self.children)
        t: Tri = True if any(c.truth is True for c in ch) else (
            None if any(c.truth is None for c in ch) else False)
        return NodeTrace("any_of", t, ch)


class Not(Node):
    __slots__ = ("child",)

    def __init__(self, child: Node) -> None:
        self.child = child

    def eval(self, ctx: Context) -> Tri:
        r = self.child.eval(ctx)
        return None if r is None else not r

    def trace(self, ctx: Context) -> NodeTrace:
        c = self.child.trace(ctx)
        return NodeTrace("not_", None if c.truth is None else not c.truth, (c,))

    def fields(self) -> Iterator[str]:
        yield from self.child.fields()


def _why(t: NodeTrace, values: dict[str, Any], nested: bool = False) -> str:
    """Text for why ``t`` has its (definite) truth, collecting the values it rests on."""
    if t.kind == "leaf":
        values[t.field] = t.actual  # type: ignore[index]
        if t.value_ref:
            values[t.value_ref] = t.ref_actual
        return t.text
    if t.kind == "not_":
        return f"not ({_why(t.children[0], values)})"
    want = t.truth
    decisive = [c for c in t.children if c.truth is want]
    if (t.kind == "all_of") == (want is True):
        parts = [_why(c, values, True) for c in decisive]       # all needed
        sep = " and " if t.kind == "all_of" else " or "
        text = sep.join(parts)
        return f"({text})" if nested and len(parts) > 1 else text
    return _why(decisive[0], values, nested)                     # one is enough


# ------------------------------------------------------------------------------------------
# rules and policy
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    name: str
    conditions: Node
    kind: RuleKind
    priority: int = 0
    enabled: bool = True
    description: str = ""
    id: str = ""
    line: int | None = None

    def eval(self, ctx: Context) -> Tri:
        return self.conditions.eval(ctx)

    def fields(self) -> list[str]:
        return list(dict.fromkeys(self.conditions.fields()))


@dataclass(frozen=True, slots=True)
class RuleTrace:
    """One rule's evaluation, for the UI: truth, whether it was in play, and its leaves."""

    rule: str
    kind: RuleKind
    priority: int
    enabled: bool
    considered: bool          # its list is the one the miner's status selects
    truth: Tri
    fired: bool               # the rule the decision names
    tree: NodeTrace
    id: str = ""

    @property
    def leaves(self) -> list[NodeTrace]:
        return list(self.tree.leaves())

    @property
    def unknown_fields(self) -> list[str]:
        return self.tree.unknown_fields()

    @property
    def state(self) -> str:
        if not self.enabled:
            return "disabled"
        return {True: "true", False: "false", None: "unknown"}[self.truth]


@dataclass(frozen=True, slots=True)
class RuleDecision:
    action: Action
    rule: str | None
    reason: str
    values: dict[str, Any] = field(default_factory=dict)
    kind: RuleKind | None = None          # the list that was considered
    status: str = ""                      # the Edge Mining status the decision was made for
    unknown: tuple[str, ...] = ()         # fields that left some rule unknown
    rule_id: str | None = None

    @property
    def fired(self) -> bool:
        return self.rule is not None


@dataclass(frozen=True)
class RuleSet:
    """A loaded policy. Rule lists are in evaluation order (priority high→low, then file order)."""

    name: str
    start_rules: tuple[Rule, ...] = ()
    stop_rules: tuple[Rule, ...] = ()
    id: str = ""
    description: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    file: str | None = None

    def __post_init__(self) -> None:
        for attr in ("start_rules", "stop_rules"):
            rules = tuple(getattr(self, attr))
            order = sorted(range(len(rules)), key=lambda i: (-rules[i].priority, i))
            object.__setattr__(self, attr, tuple(rules[i] for i in order))

    def rules(self, kind: RuleKind) -> tuple[Rule, ...]:
        return self.start_rules if kind is RuleKind.START else self.stop_rules

    def fields(self) -> list[str]:
        return list(dict.fromkeys(f for r in self.start_rules + self.stop_rules for f in r.fields()))

    # -- deciding -------------------------------------------------------------------------
    def decide(self, ctx: Context, status: Any = None) -> RuleDecision:
        """START/STOP/MAINTAIN for one miner. ``status`` defaults to ``miner_state.status``."""
        st = _status_of(ctx, status)
        kind = kind_for_status(st)
        if kind is None:
            return RuleDecision(Action.MAINTAIN, None, f"miner is {st}: hold until it settles",
                                status=st)
        return self.match(kind, ctx, status=st)

    def match(self, kind: RuleKind, ctx: Context, status: str = "") -> RuleDecision:
        """Try one rule list regardless of status (the allocator's veto/force check)."""
        rules = self.rules(kind)
        action = Action.START if kind is RuleKind.START else Action.STOP
        unknown_rules: list[Rule] = []
        for rule in rules:
            if not rule.enabled:
                continue
            t = rule.conditions.eval(ctx)
            if t is True:
                tr = rule.conditions.trace(ctx)
                values: dict[str, Any] = {}
                text = _why(tr, values)
                return RuleDecision(action, rule.name, f"rule '{rule.name}' fired: {text}", values,
                                    kind, status, rule_id=rule.id)
            if t is None:
                unknown_rules.append(rule)
        enabled = sum(1 for r in rules if r.enabled)
        if not enabled:
            reason = f"no enabled {kind.value} rules"
        else:
            reason = f"no {kind.value} rule fired"
        unknown: list[str] = []
        if unknown_rules:
            parts = []
            for rule in unknown_rules:
                fs = rule.conditions.trace(ctx).unknown_fields()
                unknown.extend(f for f in fs if f not in unknown)
                parts.append(f"rule '{rule.name}' unknown ({', '.join(fs) or 'no data'})")
            reason += "; " + "; ".join(parts)
        return RuleDecision(Action.MAINTAIN, None, reason, {f: None for f in unknown}, kind, status,
                            tuple(unknown))

    def explain(self, ctx: Context, status: Any = None) -> list[RuleTrace]:
        """Every rule (start list, then stop list) with its tri-state truth and leaf values."""
        st = _status_of(ctx, status)
        kind = kind_for_status(st)
        out: list[RuleTrace] = []
        for k in (RuleKind.START, RuleKind.STOP):
            fired_done = False
            for rule in self.rules(k):
                tr = rule.conditions.trace(ctx)
                considered = k is kind
                fired = considered and rule.enabled and tr.truth is True and not fired_done
                fired_done = fired_done or fired
                out.append(RuleTrace(rule.name, k, rule.priority, rule.enabled, considered, tr.truth,
                                     fired, tr, rule.id))
        return out


def kind_for_status(status: str) -> RuleKind | None:
    if status in START_STATUSES:
        return RuleKind.START
    if status in STOP_STATUSES:
        return RuleKind.STOP
    return None


def _status_of(ctx: Context, status: Any) -> str:
    from .context import em_status
    if status is None:
        status = ctx.get("miner_state.status")
    return em_status(status)


__all__ = ["Action", "RuleKind", "Rule", "RuleSet", "RuleDecision", "RuleTrace", "NodeTrace",
           "Leaf", "AllOf", "AnyOf", "Not", "Node", "TimeOfDay", "OPERATORS", "kind_for_status", "Tri"]
