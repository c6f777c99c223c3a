"""One owner per data directory: an flock the kernel drops when the owner dies, so a stale lock
from a killed process never blocks the next start."""
from __future__ import annotations

import fcntl
import os
from pathlib import Path


class OwnerLock:
    def __init__(self, data_dir: str | Path) -> None:
        self.path = Path(data_dir) / "owner.lock"
        self._fd: int | None = None

    def acquire(self) -> bool:
        """True if this process now owns the fleet; False if another live process does."""
        from .files import private_dir
        private_dir(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def owner_alive(self) -> bool:
        """Does a live process hold the lock? Asked with a shared lock that is let go at once, so
        asking never makes us the owner."""
        if self._fd is not None:
            return True
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        finally:
            os.close(fd)

    def owner_pid(self) -> int | None:
        try:
            return int(self.path.read_text().strip() or 0) or None
        except (OSError, ValueError):
            return None

    def release(self) -> None:
        if self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None
