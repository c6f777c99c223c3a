"""Themes as data: ``*.yaml`` files turned into ``textual.theme.Theme`` at start-up.

Where they come from, later ones winning on a name clash:

1. ``edgemining_tui/ui/themes/`` - the built-in themes, shipped as package data (so an installed
   package finds them as well as a source checkout);
2. ``themes/`` at the top of a source checkout, if present (for themes added there);
3. ``$XDG_CONFIG_HOME/edgemining-tui/themes/`` - the user's own.
"""
from __future__ import annotations

import os
from pathlib import Path

import yaml
from textual.color import Color, ColorParseError
from textual.theme import Theme

BUILTIN_DIR = Path(__file__).parent / "themes"
_LOADER = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader   # libyaml when present: read before the first frame
BASE_KEYS = ("primary", "secondary", "warning", "error", "success", "accent", "foreground", "background",
             "surface", "panel", "boost")


def theme_dirs() -> list[Path]:
    dirs = [BUILTIN_DIR]
    checkout = Path(__file__).resolve().parents[2] / "themes"
    if checkout.is_dir() and (checkout.parent / "pyproject.toml").exists():
        dirs.append(checkout)
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    dirs.append(Path(base) / "edgemining-tui" / "themes")
    return dirs


def theme_from_dict(data: dict, source: str = "") -> Theme:
    if not isinstance(data, dict) or not data.get("name") or not data.get("primary"):
        raise ValueError(f"{source}: a theme needs at least 'name' and 'primary'")
    unknown = set(data) - {*BASE_KEYS, "name", "dark", "ansi", "variables", "luminosity_spread", "text_alpha"}
    if unknown:
        raise ValueError(f"{source}: unknown theme keys {', '.join(sorted(unknown))}")
    variables = {str(k): str(v) for k, v in (data.get("variables") or {}).items()}
    for key in BASE_KEYS:
        if data.get(key) is not None:
            _check_colour(str(data[key]), key, source)
    for key, value in variables.items():
        if not value.startswith("$") and value not in ("none", "reverse", "bold", "italic", "underline"):
            _check_colour(value, f"variables.{key}", source)
    kw = {k: str(data[k]) for k in BASE_KEYS if data.get(k) is not None}
    return Theme(name=str(data["name"]), dark=bool(data.get("dark", True)), ansi=bool(data.get("ansi", False)),
                 variables=variables, **kw)


def _check_colour(value: str, key: str, source: str) -> None:
    try:
        Color.parse(value)
    except ColorParseError:
        raise ValueError(f"{source}: {key}: {value!r} is not a colour") from None


def load_themes(dirs: list[Path] | None = None) -> tuple[dict[str, Theme], list[str]]:
    """All themes found, and the problems met (one line each, file named)."""
    themes: dict[str, Theme] = {}
    problems: list[str] = []
    for d in dirs if dirs is not None else theme_dirs():
        if not d.is_dir():
            continue
        for path in sorted([*d.glob("*.yaml"), *d.glob("*.yml")]):
            try:
                data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
                t = theme_from_dict(data, str(path))
            except (OSError, yaml.YAMLError, ValueError, TypeError) as e:
                problems.append(str(e) if str(path) in str(e) else f"{path}: {e}")
                continue
            themes[t.name] = t
    return themes, problems


def theme_rgb(app, var: str, fallback: tuple[int, int, int] = (200, 200, 200)) -> tuple[int, int, int]:
    """A theme variable as an (r, g, b) triple for plotext; the foreground when it is not set."""
    v = app.theme_variables
    try:
        return Color.parse(v.get(var, v.get("foreground", "#ffffff"))).rgb
    except ColorParseError:
        return fallback
