"""Is the data dir usable? Checked before anything starts, so a start never creates half of it.

The owner writes ``history.db`` (and its WAL) and ``owner.lock`` there. A data dir that is a file,
or sits somewhere we may not write, is bad input (exit 2), not a crash the service manager
restarts every 10 s forever.
"""
from __future__ import annotations

import os
from pathlib import Path

FILES = ("history.db", "owner.lock")


def data_dir_problem(path: str | Path) -> str | None:
    """Why ``path`` cannot serve as the data dir, or None. Creates nothing."""
    p = Path(os.path.expanduser(str(path)))
    try:
        if p.exists() or p.is_symlink():
            if not p.is_dir():
                return f"{p} is not a directory (it is {'a broken link' if not p.exists() else 'a file'})"
            if not os.access(p, os.W_OK | os.X_OK):
                return f"{p}: no permission to write there (the history and the owner lock live in it)"
            for name in FILES:
                f = p / name
                if f.exists() and not f.is_file():
                    return f"{f} is not a regular file"
                if f.exists() and not os.access(f, os.R_OK | os.W_OK):
                    return f"{f}: no permission to read and write it"
            return None
        anc = p.parent
        while not anc.exists() and anc != anc.parent:
            anc = anc.parent
        if not anc.is_dir():
            return f"{p} cannot be created: {anc} is a file, not a directory"
        if not os.access(anc, os.W_OK | os.X_OK):
            return f"{p} cannot be created: no permission to write in {anc}"
    except OSError as e:
        return f"{p}: cannot be used: {e.strerror or e}"
    return None
