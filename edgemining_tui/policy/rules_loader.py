"""Edge Mining policy YAML -> RuleSet, with file, line and rule name in every error.

Accepted files:

- a policy (Edge Mining's ``data/policies/<id>.yaml``): ``id``, ``name``, ``description``,
  ``start_rules``, ``stop_rules``, ``metadata`` (free-form, kept as-is);
- a rule snippet (Edge Mining's ``data/examples/rules/{start,stop}/*.yaml``): ``rules: [...]``,
  loaded with ``load_rules_file(path, kind)``.

A rule: ``name`` (required), ``conditions`` (required), ``id``, ``description``, ``priority``
(int, default 0, higher first), ``enabled`` (default true). Conditions: exactly one of
``all_of`` / ``any_of`` (non-empty lists) / ``not_`` (one condition), or a leaf
``{field, operator, value}`` / ``{field, operator, value_ref}``, read by rule_conditions.py.

Errors are ``ConfigError`` (the CLI exits 2): bad YAML, missing or unknown keys, a field nobody
defines, an unknown operator, a value of the wrong type for the field and operator, a bad regex.
A field Edge Mining defines but this site cannot supply is a warning (``LoadWarning``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..config.errors import ConfigError, raise_all
from ..config.loader import Located, read_yaml
from .fields import SiteSupply
from .rule_conditions import LEGACY_FIELDS, LoadWarning, _condition, _Ctx, _kind  # noqa: F401 (LEGACY_FIELDS)
from .rules import Node, Rule, RuleKind, RuleSet

POLICY_KEYS = ("id", "name", "description", "start_rules", "stop_rules", "metadata")
RULE_KEYS = ("id", "name", "description", "conditions", "priority", "enabled")


# ------------------------------------------------------------------------------------------
# public API
# ------------------------------------------------------------------------------------------
def load_policy(path: str | Path, site: SiteSupply | None = None,
                text: str | None = None) -> tuple[RuleSet, list[LoadWarning]]:
    """Read one Edge Mining policy file. Raises ConfigError; returns the policy and warnings."""
    doc = read_yaml(path, text)
    return parse_policy(doc, site, default_id=Path(str(path)).stem)


def parse_policy(doc: Located, site: SiteSupply | None = None,
                 default_id: str = "") -> tuple[RuleSet, list[LoadWarning]]:
    c = _Ctx(doc, site)
    data = doc.data
    if not isinstance(data, dict) or not data:
        raise c.fail((), "a policy must be a mapping with name, start_rules and stop_rules")
    for key in data:
        if key not in POLICY_KEYS:
            if key == "rules":
                raise c.fail((key,), "this is a rule snippet file ('rules:'), not a policy; "
                                     "a policy has start_rules and stop_rules")
            c.warn((key,), f"unknown top-level key '{key}' ignored (expected: {', '.join(POLICY_KEYS)})")
    name = _text(c, data, ("name",), required=True)
    pid = _text(c, data, ("id",)) or default_id
    description = _text(c, data, ("description",)) or ""
    metadata = data.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise c.fail(("metadata",), "metadata must be a mapping")
    start = _rule_list(c, data, ("start_rules",), RuleKind.START)
    stop = _rule_list(c, data, ("stop_rules",), RuleKind.STOP)
    raise_all(c.errors)
    _check_ids(c, [(("start_rules", i), r) for i, r in enumerate(start)] +
               [(("stop_rules", i), r) for i, r in enumerate(stop)])
    for kind, rules in (("start", start), ("stop", stop)):
        if not rules:
            c.warn((f"{kind}_rules",), f"the policy has no {kind} rules")
    rs = RuleSet(name=name, start_rules=tuple(start), stop_rules=tuple(stop), id=str(pid),
                 description=description.strip(), metadata=metadata, file=doc.file)
    return rs, c.warnings


def load_rules_file(path: str | Path, kind: RuleKind | str, site: SiteSupply | None = None,
                    text: str | None = None) -> tuple[list[Rule], list[LoadWarning]]:
    """Read an Edge Mining rule snippet (``rules: [...]``) as start or stop rules."""
    kind = RuleKind(kind)
    doc = read_yaml(path, text)
    c = _Ctx(doc, site)
    data = doc.data
    if isinstance(data, list):
        data = {"rules": data}
    if not isinstance(data, dict) or "rules" not in data:
        raise c.fail((), "a rule file must have a 'rules:' list")
    rules = _rule_list(c, data, ("rules",), kind)
    raise_all(c.errors)
    _check_ids(c, [(("rules", i), r) for i, r in enumerate(rules)])
    return sorted(rules, key=lambda r: -r.priority), c.warnings


def load_policies(directory: str | Path, site: SiteSupply | None = None
                  ) -> tuple[dict[str, RuleSet], list[LoadWarning], list[ConfigError]]:
    """Every ``*.yaml``/``*.yml`` policy in a directory; one bad file never hides the others."""
    policies: dict[str, RuleSet] = {}
    warnings: list[LoadWarning] = []
    errors: list[ConfigError] = []
    for p in sorted(Path(directory).glob("*.y*ml")):
        try:
            rs, w = load_policy(p, site)
        except ConfigError as e:
            errors.append(e)
            continue
        if rs.id in policies:
            errors.append(ConfigError(f"duplicate policy id '{rs.id}' (also in {policies[rs.id].file})",
                                      str(p), None, "id"))
            continue
        policies[rs.id] = rs
        warnings.extend(w)
    return policies, warnings, errors


def parse_conditions(conditions: Any, site: SiteSupply | None = None, file: str = "<rule>") -> Node:
    """Build a condition tree from plain data (API/UI use); errors as ConfigError without lines."""
    c = _Ctx(Located({"conditions": conditions}, {}, file), site)
    return _condition(c, conditions, ("conditions",), top=True)


# ------------------------------------------------------------------------------------------
# rules
# ------------------------------------------------------------------------------------------
def _text(c: _Ctx, data: dict, path: tuple, required: bool = False) -> str | None:
    key = path[-1]
    v = data.get(key)
    if v is None:
        if required:
            raise c.fail(path[:-1], f"missing required key '{key}'")
        return None
    if isinstance(v, bool) or isinstance(v, (dict, list)):
        raise c.fail(path, f"'{key}' must be text, got {_kind(v)}")
    v = str(v)
    if required and not v.strip():
        raise c.fail(path, f"'{key}' must not be empty")
    return v


def _rule_list(c: _Ctx, data: dict, path: tuple, kind: RuleKind) -> list[Rule]:
    items = data.get(path[-1])
    if items is None:
        return []
    if not isinstance(items, list):
        raise c.fail(path, f"'{path[-1]}' must be a list of rules, got {_kind(items)}")
    out = []
    for i, item in enumerate(items):
        try:
            out.append(_rule(c, item, path + (i,), kind))
        except ConfigError as e:      # one bad rule never hides the next one's problems
            c.errors.append(e)
            c.rule = None
    return out


def _rule(c: _Ctx, item: Any, path: tuple, kind: RuleKind) -> Rule:
    c.rule = None
    if not isinstance(item, dict):
        raise c.fail(path, f"a rule must be a mapping, got {_kind(item)}")
    name = item.get("name")
    if isinstance(name, str) and name.strip():
        c.rule = name.strip()
    for key in item:
        if key not in RULE_KEYS:
            raise c.fail(path + (key,), f"unknown key '{key}' (expected one of: {', '.join(RULE_KEYS)})")
    name = _text(c, item, path + ("name",), required=True)
    c.rule = name.strip()
    if "conditions" not in item or item["conditions"] is None:
        raise c.fail(path, "missing required key 'conditions'")
    priority = item.get("priority", 0)
    if priority is None:
        priority = 0
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise c.fail(path + ("priority",), f"priority must be a whole number, got {_kind(priority)}")
    enabled = item.get("enabled", True)
    if enabled is None:
        enabled = True
    if not isinstance(enabled, bool):
        raise c.fail(path + ("enabled",), f"enabled must be true or false, got {_kind(enabled)}")
    rid = _text(c, item, path + ("id",)) or ""
    desc = _text(c, item, path + ("description",)) or ""
    node = _condition(c, item["conditions"], path + ("conditions",), top=True)
    rule = Rule(name=c.rule, conditions=node, kind=kind, priority=priority, enabled=enabled,
                description=desc.strip(), id=rid.strip(), line=c.doc.line_of(path))
    c.rule = None
    return rule


def _check_ids(c: _Ctx, rules: list[tuple[tuple, Rule]]) -> None:
    seen_ids: dict[str, tuple] = {}
    seen_names: dict[tuple[str, str], tuple] = {}
    for path, r in rules:
        if r.id:
            if r.id in seen_ids:
                c.rule = r.name
                err = c.fail(path + ("id",), f"duplicate rule id '{r.id}' (also at line "
                                             f"{c.doc.line_of(seen_ids[r.id])})")
                c.rule = None
                raise err
            seen_ids[r.id] = path
        key = (r.kind.value, r.name)
        if key in seen_names:
            c.rule = r.name
            c.warn(path + ("name",), f"another {r.kind.value} rule has the same name; "
                                     "reasons will not tell them apart")
            c.rule = None
        seen_names[key] = path


__all__ = ["load_policy", "load_rules_file", "load_policies", "parse_policy", "parse_conditions",
           "LoadWarning", "SiteSupply"]
