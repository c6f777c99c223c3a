"""secrets.env: ``NAME=value`` lines, mode 0600, read into the environment a config is loaded with.

The config refers to a secret as ``${NAME}``; the value lives only here (and in memory while the
wizard runs). The format is the one systemd's ``EnvironmentFile=`` reads.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
HEADER = ("# edgemining-tui secrets: referenced from config.yaml as ${NAME}. Keep this file private\n"
          "# (mode 0600); it is never printed. Also usable as a systemd EnvironmentFile.\n")


def read_secrets(path: str | Path) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        return out
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        if line.startswith("export "):
            line = line[len("export "):]
        name, value = line.split("=", 1)
        name = name.strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if _NAME.match(name):
            out[name] = value
    return out


def write_secrets(path: str | Path, updates: dict[str, str]) -> Path:
    """Merge ``updates`` into the file (other names are kept), creating it with mode 0600."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    merged = read_secrets(path)
    for name, value in updates.items():
        if not _NAME.match(name):
            raise ValueError(f"not a valid variable name: {name!r}")
        if "\n" in value or "\r" in value:
            raise ValueError(f"{name}: a secret cannot contain a line break")
        merged[name] = value
    body = HEADER + "".join(f"{k}={_quote(v)}\n" for k, v in merged.items())
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, body.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    os.chmod(path, 0o600)
    return path


def _quote(value: str) -> str:
    if value and re.fullmatch(r"[A-Za-z0-9_.\-+/=:@]+", value):
        return value
    # the console's reader (edgemining_tui/secrets.py) strips one pair of quotes and unescapes nothing
    if "'" not in value:
        return "'" + value + "'"
    if '"' not in value:
        return '"' + value + '"'
    raise ValueError("a secret cannot contain both ' and \"")
