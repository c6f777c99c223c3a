"""Private files (issue 16): the data directory is 0700 and the database and logs 0600 by default,
wherever the console runs (not only under the systemd unit's UMask). History holds the site's
energy flows and habits; nobody else on the machine needs to read it."""
from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger("edgemining_tui.store")


def private_dir(path: str | Path) -> Path:
    """Create ``path`` 0700 (parents as usual); an existing one that others can read gets a warning."""
    p = Path(path)
    if not p.exists():
        p.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(p, 0o700)      # mkdir's mode is masked by the umask; this is what we mean
        return p
    try:
        mode = stat.S_IMODE(p.stat().st_mode)
    except OSError:
        return p
    if mode & 0o077:
        log.warning("data directory %s can be read by others (mode %o): chmod 700 %s", p, mode, p)
    return p


def private_file(path: str | Path) -> Path:
    """Make sure ``path`` exists as a 0600 file of ours (tightened if it was looser)."""
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
        st = p.stat()
        if stat.S_IMODE(st.st_mode) & 0o077 and st.st_uid == os.getuid():
            os.chmod(p, 0o600)
    except OSError:
        pass    # read-only media, someone else's file: SQLite will say what is wrong
    return p


def open_private_log(path: str | Path):
    """A log file for appending, 0600."""
    private_file(path)
    return open(path, "ab")
