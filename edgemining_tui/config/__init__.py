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
    return Builder(doc, env=env).build(AppConfig)


__all__ = ["ConfigError", "load_config"]
