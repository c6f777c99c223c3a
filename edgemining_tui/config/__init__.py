"""Config loading: ``load_config(path)`` returns a frozen AppConfig or raises ConfigError.

Every problem found in one pass is raised together (``ConfigErrors``: the config, its secrets
file, its rules file and, on request, the data dir); warnings go to the ``warnings`` list when
one is passed, else to the log.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Mapping

from .errors import ConfigError, ConfigErrors, ConfigWarning, raise_all

log = logging.getLogger("edgemining_tui.config")


def load_config(path: str | Path, text: str | None = None, env: Mapping[str, str] | None = None, *,
                warnings: list | None = None, data_dir: str | Path | None = None,
                check_data_dir: bool = False):
    """Load and check a config. ``check_data_dir``: also check the data dir (``data_dir`` if given,
    as from ``--data-dir``, else the config's), as a start would use it."""
    from .. import secrets as _secrets
    from .loader import Builder, _dotted, read_yaml
    from .schema import AppConfig
    doc = read_yaml(path, text)
    if not isinstance(doc.data, dict):
        raise ConfigError("expected a mapping of sections (site, energy, miners, policy...) at the top",
                          doc.file, 1)
    problems: list[ConfigError] = []
    found: list = []
    given = "secrets_file" in doc.data
    try:
        values, secrets_path = _secrets.secrets_for_config(doc.data, path, env)
    except _secrets.SecretsError as e:
        problems.append(ConfigError(str(e), doc.file, doc.line_of(("secrets_file",)) if given else None,
                                    "secrets_file" if given else None))
        values, secrets_path = {}, None
    hint = secrets_path or (_secrets.given_secrets_path(doc.data, path) if given else None) \
        or _secrets.default_secrets_path()
    cfg = None
    try:
        cfg = Builder(doc, env=env, secrets=values, secrets_hint=str(hint)).build(AppConfig)
    except ConfigError as e:
        problems.append(e)
    if cfg is not None:
        _secrets.register_config_secrets(cfg)
        problems.extend(ConfigError(msg, doc.file, doc.line_of(rel), _dotted(rel))
                        for rel, msg in cfg.start_problems())
        found.extend(ConfigWarning(msg, doc.file, doc.line_of(rel), _dotted(rel)) for rel, msg in cfg.warnings())
    for file, rel, msg in _secrets.permission_findings(path if text is None else None, doc.data, secrets_path):
        if rel is not None:      # a secret in clear: at its key
            found.append(ConfigWarning(msg, doc.file, doc.line_of(rel), _dotted(rel)))
        elif given:              # the secrets file the config names: at secrets_file
            found.append(ConfigWarning(msg, doc.file, doc.line_of(("secrets_file",)), "secrets_file"))
        else:                    # the default secrets file: the file itself
            found.append(ConfigWarning(msg, str(file)))
    if check_data_dir:
        problems.extend(_data_dir_problems(doc, cfg, data_dir))
    if text is None:
        # a bad rules file is bad config: fail now, before anything starts
        from .rules import load_rules_for, load_rules_raw
        try:
            if cfg is not None:
                found.extend(load_rules_for(cfg, path)[1])
            else:
                found.extend(load_rules_raw(doc.data, path))
        except ConfigError as e:
            problems.extend(_at_rules_file(doc, p) for p in e.problems)
    if warnings is not None:
        warnings.extend(found)
    else:
        for w in found:
            log.warning("%s", w)
    raise_all(problems)
    return cfg


def _at_rules_file(doc, e: ConfigError) -> ConfigError:
    """A rules file that cannot be read at all is the config's problem: point at policy.rules_file."""
    if e.line is not None or e.file == doc.file:
        return e
    return ConfigError(f"{e.file}: {e.message}", doc.file, doc.line_of(("policy", "rules_file")),
                       "policy.rules_file")


def _data_dir_problems(doc, cfg, override: str | Path | None) -> list[ConfigError]:
    from .datadir import data_dir_problem
    from .schema import default_data_dir
    if override is not None:
        why = data_dir_problem(override)
        return [ConfigError(why, "--data-dir")] if why else []
    raw = (doc.data.get("site") or {}).get("data_dir") if isinstance(doc.data.get("site"), dict) else None
    if cfg is not None:
        target = cfg.data_dir()
    elif isinstance(raw, str) and raw.strip():
        target = Path(raw).expanduser()
    else:
        target = default_data_dir()
    why = data_dir_problem(target)
    if not why:
        return []
    if raw is not None:
        return [ConfigError(why, doc.file, doc.line_of(("site", "data_dir")), "site.data_dir")]
    return [ConfigError(f"{why} (the default data dir; set site.data_dir or pass --data-dir)", doc.file)]


__all__ = ["ConfigError", "ConfigErrors", "ConfigWarning", "load_config"]
