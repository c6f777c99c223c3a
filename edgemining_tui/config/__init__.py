"""Config loading: ``load_config(path)`` returns a frozen AppConfig or raises ConfigError."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

from .errors import ConfigError


def load_config(path: str | Path, text: str | None = None, env: Mapping[str, str] | None = None):
    from .loader import Builder, read_yaml
    from .schema import AppConfig
    doc = read_yaml(path, text)
    if not isinstance(doc.data, dict):
        raise ConfigError("expected a mapping of sections (site, energy, miners, policy...) at the top",
                          doc.file, 1)
    # --- secrets hook (issue 9, edgemining_tui/secrets.py): secrets file, redaction, permissions
    from .. import secrets as _secrets
    try:
        values, secrets_path = _secrets.secrets_for_config(doc.data, path, env)
    except _secrets.SecretsError as e:
        given = isinstance(doc.data, dict) and "secrets_file" in doc.data
        raise ConfigError(str(e), doc.file, doc.line_of(("secrets_file",)) if given else None,
                          "secrets_file" if given else None) from None
    cfg = Builder(doc, env=env, secrets=values).build(AppConfig)
    _secrets.register_config_secrets(cfg)
    for w in _secrets.permission_warnings(path if text is None else None, doc.data, secrets_path):
        _secrets.log.warning("%s", w)
    # --- end secrets hook
    if text is None:
        # a bad rules file is bad config: fail now, before anything starts
        from .rules import load_rules_for
        load_rules_for(cfg, path)
    return cfg


__all__ = ["ConfigError", "load_config"]
