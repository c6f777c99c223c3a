"""The conditions of an Edge Mining rule: plain data -> a checked condition tree, with file, line
and rule name in every error (rules_loader.py reads the files and the rules around them).

A condition is exactly one of ``all_of`` / ``any_of`` (non-empty lists) / ``not_`` (one condition),
or a leaf ``{field, operator, value}`` / ``{field, operator, value_ref}``: the field must be one
the registry defines (Edge Mining's older names are read as their successors), the operator one
that suits its type, the value of that type.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ..config.errors import ConfigError
from ..config.yaml_read import Located, _dotted
from .fields import (ANY, BOOL, DATETIME, DURATION, EM_MINER_STATUSES, NUMBER, OUR_MINER_STATES, REGISTRY,
                     STATUS, STRING, FieldSpec, SiteSupply, valid_path_syntax)
from .rules import LIST_OPS, OPERATORS, ORDERED_OPS, TEXT_OPS, AllOf, AnyOf, Leaf, Node, Not, TimeOfDay

GROUP_KEYS = ("all_of", "any_of", "not_")
LEAF_KEYS = ("field", "operator", "value", "value_ref")
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")
# Edge Mining's older field names (its earlier core repository, edge-mining/core, before the app
# monorepo), read as the fields that replaced them there. docs/rules.md "Older Edge Mining files".
LEGACY_FIELDS = {
    # DecisionalContext.home_load_forecast (Watts, later a ConsumptionForecast) became
    # home_load.*; Edge Mining rewrote its own "Peak Home Consumption Stop" (> 2800 W) on this field
    "home_load_forecast": "home_load.total_forecast.next_2h.avg_power",
    # ForecastData.predicted_power.* (renamed in edge-mining/core 27e0b85). It was a dict keyed by
    # timestamps, so these never resolved there (always false); Edge Mining itself replaced
    # next_2_hours by next_hour_power in the same rule (edge-mining/core 40b4e58)
    "forecast.predicted_power.next_2_hours": "forecast.next_hour_power",
    "forecast.predicted_power.next_hour": "forecast.next_hour_power",
    "forecast.predicted_power.next_hour_power": "forecast.next_hour_power",
    "forecast.predicted_power.avg_next_4_hours": "forecast.avg_next_4_hours_power",
    "forecast.predicted_power.avg_next_4_hours_power": "forecast.avg_next_4_hours_power",
    # DecisionalContext.tracker_current_hashrate (HashRate) became mining_performance.current_hashrate
    "tracker_current_hashrate": "mining_performance.current_hashrate.value",
    "tracker_current_hashrate.value": "mining_performance.current_hashrate.value",
}
_COMPAT = {NUMBER: NUMBER, DURATION: NUMBER, STRING: STRING, STATUS: STRING, BOOL: BOOL,
           DATETIME: DATETIME}


@dataclass(frozen=True, slots=True)
class LoadWarning:
    message: str
    file: str | None = None
    line: int | None = None
    rule: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = self.file or "<policy>"
        if self.line is not None:
            where += f":{self.line}"
        return f"{where}: warning: {self.message}"


class _Ctx:
    """Carries the document, the site and the rule being read, to build precise errors."""

    def __init__(self, doc: Located, site: SiteSupply | None) -> None:
        self.doc = doc
        self.site = site
        self.rule: str | None = None
        self.warnings: list[LoadWarning] = []
        self.errors: list[ConfigError] = []
        self._warned: set[tuple] = set()

    def fail(self, path: tuple, message: str) -> ConfigError:
        if self.rule:
            message = f"rule '{self.rule}': {message}"
        return ConfigError(message, self.doc.file, self.doc.line_of(path), _dotted(path) or None)

    def warn(self, path: tuple, message: str, field: str | None = None) -> None:
        if field is not None:
            if (self.rule, field) in self._warned:
                return
            self._warned.add((self.rule, field))
        if self.rule:
            message = f"rule '{self.rule}': {message}"
        self.warnings.append(LoadWarning(message, self.doc.file, self.doc.line_of(path), self.rule, field))


def _condition(c: _Ctx, cond: Any, path: tuple, top: bool = False) -> Node:
    if not isinstance(cond, dict):
        raise c.fail(path, f"a condition must be a mapping (all_of, any_of, not_ or "
                           f"field/operator/value), got {_kind(cond)}")
    groups = [k for k in cond if k in GROUP_KEYS]
    leaf_keys = [k for k in cond if k in LEAF_KEYS]
    other = [k for k in cond if k not in GROUP_KEYS and k not in LEAF_KEYS]
    if other:
        k = other[0]
        hint = " (did you mean not_?)" if k in ("not", "none_of") else ""
        raise c.fail(path + (k,), f"unknown condition key '{k}'{hint} (expected all_of, any_of, not_, "
                                  "or field/operator/value/value_ref)")
    if groups and leaf_keys:
        raise c.fail(path, f"a condition is either a group ({groups[0]}) or a leaf "
                           f"(field/operator/value), not both")
    if not groups and not leaf_keys:
        raise c.fail(path, "empty condition: expected all_of, any_of, not_ or field/operator/value")
    if len(groups) > 1:
        raise c.fail(path, f"a group must have exactly one of all_of, any_of, not_ "
                           f"(found {', '.join(groups)}); nest them instead")
    if groups:
        g = groups[0]
        body = cond[g]
        if g == "not_":
            if isinstance(body, list):
                if len(body) != 1:
                    raise c.fail(path + (g,), "not_ takes one condition (wrap several in all_of/any_of)")
                return Not(_condition(c, body[0], path + (g, 0)))
            return Not(_condition(c, body, path + (g,)))
        if not isinstance(body, list) or not body:
            raise c.fail(path + (g,), f"{g} must be a non-empty list of conditions, got {_kind(body)}")
        children = tuple(_condition(c, b, path + (g, i)) for i, b in enumerate(body))
        return AllOf(children) if g == "all_of" else AnyOf(children)
    return _leaf(c, cond, path)


def _spec(c: _Ctx, fpath: Any, path: tuple, key: str) -> FieldSpec:
    if fpath is None:
        raise c.fail(path, f"missing required key '{key}'")
    if not valid_path_syntax(fpath):
        raise c.fail(path + (key,), f"{key} must be a dotted path of letters, digits and _ "
                                    f"(got {fpath!r})")
    spec = REGISTRY.lookup(fpath, c.site)
    if spec is None:
        hint = REGISTRY.suggest(fpath)
        extra = f" (did you mean {' or '.join(hint)}?)" if hint else ""
        ns = fpath.split(".", 1)[0]
        if ns in ("forecast", "price"):
            extra += f" (site-specific {ns} keys must be declared in the site config)"
        raise c.fail(path + (key,), f"unknown field '{fpath}'{extra}")
    if c.site is not None and not c.site.supplies(spec, fpath):
        who = "Edge Mining" if spec.edge_mining else "edgemining-tui"
        c.warn(path + (key,), f"field '{fpath}' is defined by {who} but this site has no data for it; "
                              f"it will be unknown at run time", fpath)
    return spec


def _legacy(fpath: Any) -> Any:
    return LEGACY_FIELDS.get(fpath, fpath) if isinstance(fpath, str) else fpath


def _em_status_words(v: Any) -> bool:
    """Is ``v`` (a word or a list) Edge Mining's miner status vocabulary rather than ours?"""
    words = v if isinstance(v, list) else [v]
    if not words or not all(isinstance(w, str) for w in words):
        return False
    norm = [w.strip().lower().removeprefix("minerstatus.") for w in words]
    return all(w in EM_MINER_STATUSES for w in norm) and any(w not in OUR_MINER_STATES for w in norm)


def _leaf(c: _Ctx, cond: dict, path: tuple) -> Leaf:
    fpath = _legacy(cond.get("field"))
    if fpath == "miner.status" and _em_status_words(cond.get("value")):
        # Edge Mining's older files compare its Miner.status (ON, OFF, ERROR...) here: read them
        # as miner_state.status, the same words on today's field (the table in docs/rules.md)
        fpath = "miner_state.status"
    if cond.get("value_ref") is not None:
        cond = dict(cond, value_ref=_legacy(cond.get("value_ref")))
    spec = _spec(c, fpath, path, "field")
    op_raw = cond.get("operator")
    if op_raw is None:
        raise c.fail(path, "missing required key 'operator'")
    op = str(op_raw).lower() if isinstance(op_raw, str) else op_raw
    if op not in OPERATORS:
        raise c.fail(path + ("operator",), f"unknown operator {op_raw!r} (expected one of: "
                                           f"{', '.join(OPERATORS)})")
    has_v = cond.get("value") is not None
    has_ref = cond.get("value_ref") is not None
    if has_v == has_ref:
        raise c.fail(path, "exactly one of 'value' or 'value_ref' is required" if not has_v else
                     "'value' and 'value_ref' are mutually exclusive")
    kind = spec.kind
    if has_ref:
        rspec = _spec(c, cond["value_ref"], path, "value_ref")
        _check_ref(c, fpath, kind, op, cond["value_ref"], rspec.kind, path)
        pattern = None
        return Leaf(fpath, op, None, cond["value_ref"], kind, rspec.kind, c.doc.line_of(path), pattern)
    value, pattern = _value(c, fpath, spec, op, cond["value"], path + ("value",))
    return Leaf(fpath, op, value, None, kind, None, c.doc.line_of(path), pattern)


def _check_ref(c: _Ctx, field: str, kind: str, op: str, ref: str, rkind: str, path: tuple) -> None:
    if op in LIST_OPS:
        raise c.fail(path + ("value_ref",), f"operator {op} needs a list in 'value'; "
                                            f"value_ref '{ref}' names a single value")
    if ANY in (kind, rkind):
        return
    if _COMPAT[kind] != _COMPAT[rkind]:
        raise c.fail(path + ("value_ref",), f"cannot compare {field} ({kind}) with {ref} ({rkind})")
    if op in ORDERED_OPS and _COMPAT[kind] not in (NUMBER, DATETIME):
        raise c.fail(path + ("operator",), f"operator {op} needs numbers or times; {field} is {kind}")
    if op in TEXT_OPS and _COMPAT[kind] != STRING:
        raise c.fail(path + ("operator",), f"operator {op} needs a text field; {field} is {kind}")


def _value(c: _Ctx, field: str, spec: FieldSpec, op: str, v: Any, path: tuple) -> tuple[Any, Any]:
    """Check ``v`` against the field kind and operator; return the normalised value (+ regex)."""
    kind = spec.kind
    if op in LIST_OPS:
        if not isinstance(v, list):
            raise c.fail(path, f"operator {op} needs a list, e.g. [1, 2, 3]; got {_kind(v)}")
        if not v:
            raise c.fail(path, f"operator {op} needs a non-empty list")
        if kind == DATETIME:
            raise c.fail(path[:-1] + ("operator",), f"operator {op} does not apply to times; "
                                                    f"use the .hour/.weekday fields with a list")
        items = [_scalar(c, field, spec, op, x, path + (i,)) for i, x in enumerate(v)]
        try:
            return frozenset(items), None
        except TypeError:
            return tuple(items), None
    if isinstance(v, (list, dict)):
        raise c.fail(path, f"operator {op} needs a single value, got {_kind(v)}"
                           + (" (use in / not_in for a list)" if isinstance(v, list) else ""))
    if op in TEXT_OPS:
        if kind not in (STRING, STATUS, ANY):
            raise c.fail(path[:-1] + ("operator",), f"operator {op} needs a text field; {field} is a {kind}")
        if isinstance(v, bool) or not isinstance(v, (str, int, float)):
            raise c.fail(path, f"operator {op} needs text, got {_kind(v)}")
        if op == "regex":
            try:
                return str(v), re.compile(str(v))
            except re.error as e:
                raise c.fail(path, f"bad regular expression {str(v)!r}: {e}") from None
        return (str(v).lower() if kind == STATUS else str(v)), None
    if op in ORDERED_OPS:
        if kind in (STRING, STATUS, BOOL):
            raise c.fail(path[:-1] + ("operator",), f"operator {op} needs numbers or times; "
                                                    f"{field} is a {kind}")
    return _scalar(c, field, spec, op, v, path), None


def _scalar(c: _Ctx, field: str, spec: FieldSpec, op: str, v: Any, path: tuple) -> Any:
    kind = spec.kind
    if kind in (NUMBER, DURATION):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise c.fail(path, f"{field} is a number{_unit(spec)}; operator {op} needs a number, got {_kind(v)}")
        if isinstance(v, float) and not math.isfinite(v):
            raise c.fail(path, f"{field}: expected a finite number, got {v}")
        return v
    if kind == BOOL:
        if not isinstance(v, bool):
            raise c.fail(path, f"{field} is true/false; got {_kind(v)}")
        return v
    if kind == STATUS:
        if not isinstance(v, str):
            raise c.fail(path, f"{field} is one of {', '.join(spec.choices)}; got {_kind(v)}")
        s = v.strip().lower()
        if s.startswith("minerstatus."):      # "MinerStatus.ON" written by hand
            s = s.split(".", 1)[1]
        if spec.choices and s not in spec.choices:
            raise c.fail(path, f"{field} is one of {', '.join(spec.choices)}; got {v!r}")
        return s
    if kind == STRING:
        if not isinstance(v, str):
            raise c.fail(path, f"{field} is text; got {_kind(v)} (quote it)")
        return v
    if kind == DATETIME:
        return _when(c, field, v, path)
    return v   # ANY


def _when(c: _Ctx, field: str, v: Any, path: tuple) -> Any:
    if isinstance(v, datetime):
        return v
    if isinstance(v, date):
        return v
    if isinstance(v, int) and not isinstance(v, bool):
        # YAML 1.1 reads an unquoted 18:30 as the sexagesimal number 1110 (minutes)
        if 0 <= v < 24 * 60:
            return TimeOfDay(v * 60, f"{v // 60:02d}:{v % 60:02d}")
    if isinstance(v, str):
        m = _HHMM.match(v.strip())
        if m:
            h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
            return TimeOfDay(h * 3600 + mi * 60 + s, v.strip())
        try:
            return datetime.fromisoformat(v.strip())
        except ValueError:
            pass
    raise c.fail(path, f"{field} is a time; give \"HH:MM\", a date or an ISO datetime, got {_kind(v)}")


def _unit(spec: FieldSpec) -> str:
    return f" ({spec.unit})" if spec.unit else ""


def _kind(v: Any) -> str:
    if v is None:
        return "nothing"
    if isinstance(v, bool):
        return f"boolean {str(v).lower()}"
    if isinstance(v, (int, float)):
        return f"number {v}"
    if isinstance(v, str):
        return f"text {v!r}"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "a mapping"
    return type(v).__name__
