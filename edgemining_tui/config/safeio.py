"""Read a user's file without trusting it: a regular file, a bounded size, text with line numbers.

Every file a user names (the config, a rules file, the secrets file, a backtest trace) is opened
here first, so ``/dev/zero``, a FIFO, a directory or a 10 GB file is refused with a clear
message before a byte is parsed, and a NUL byte or bad UTF-8 is reported with its line.
The callers turn ``InputError`` into their own error type (ConfigError, TraceError...).
"""
from __future__ import annotations

import io
import os
import stat
from pathlib import Path

KIB = 1024
MIB = 1024 * KIB
# a config with 200 miners and every key written out is ~60 KB; rules files are smaller
MAX_YAML_BYTES = 256 * KIB
MAX_SECRETS_BYTES = 64 * KIB
# a year of one-minute rows is ~20 MB (docs/backtest.md, parsed in ~1.3 s): room for it, not much more
MAX_TRACE_BYTES = 24 * MIB


class InputError(ValueError):
    """A file we refuse to read; ``line`` when the problem is at a place in it."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.message = message
        self.line = line
        super().__init__(message)


def _size(n: int) -> str:
    return f"{n / MIB:.0f} MB" if n >= MIB else f"{n // KIB} KB" if n >= KIB else f"{n} bytes"


class _Bounded(io.RawIOBase):
    """A raw reader that refuses to deliver more than ``limit`` bytes (a /proc file may lie about its size)."""

    def __init__(self, fd: int, limit: int, what: str) -> None:
        self._fh = os.fdopen(fd, "rb", buffering=0)
        self._left = limit
        self._limit = limit
        self._what = what

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        want = min(len(b), self._left + 1)
        data = self._fh.read(want)
        if len(data) > self._left:
            raise InputError(f"more than the {_size(self._limit)} a {self._what} may be")
        self._left -= len(data)
        b[:len(data)] = data
        return len(data)

    def close(self) -> None:
        self._fh.close()
        super().close()


def open_bounded(path: str | Path, limit: int, what: str = "file") -> io.RawIOBase:
    """Open a regular file for reading at most ``limit`` bytes; InputError for anything else.

    Opened non-blocking so a FIFO never hangs us, then checked with fstat on the open file (no race
    between the check and the read)."""
    p = os.path.expanduser(str(path))
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise InputError("file not found") from None
    except IsADirectoryError:
        raise InputError(f"is a directory, expected a {what}") from None
    except PermissionError:
        raise InputError("cannot read the file (permission denied)") from None
    except OSError as e:
        raise InputError(f"cannot open the file: {e.strerror or e}") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise InputError(f"is a directory, expected a {what}")
        if not stat.S_ISREG(st.st_mode):
            kind = ("a character device" if stat.S_ISCHR(st.st_mode) else "a block device" if stat.S_ISBLK(st.st_mode)
                    else "a pipe" if stat.S_ISFIFO(st.st_mode) else "a socket" if stat.S_ISSOCK(st.st_mode)
                    else "not a regular file")
            raise InputError(f"is {kind}, not a regular file: refusing to read it as a {what}")
        if st.st_size > limit:
            raise InputError(f"is {st.st_size:,} bytes, more than the {_size(limit)} a {what} may be")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return _Bounded(fd, limit, what)


def line_at(text: str | bytes, index: int) -> tuple[int, int]:
    """(line, column), both from 1, of a character (or byte) index."""
    nl = "\n" if isinstance(text, str) else b"\n"
    line = text.count(nl, 0, index) + 1
    col = index - (text.rfind(nl, 0, index) + 1) + 1
    return line, col


def decode_text(data: bytes, what: str = "file") -> str:
    """UTF-8 (a BOM is dropped) with NUL bytes and bad bytes reported at their line."""
    nul = data.find(b"\0")
    if nul >= 0:
        line, col = line_at(data, nul)
        raise InputError(f"a NUL byte at line {line}, column {col}: this is binary data, not a {what}", line)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line, col = line_at(data, e.start)
        raise InputError(f"not UTF-8 text: byte 0x{data[e.start]:02x} at line {line}, column {col}", line) from None


def read_text(path: str | Path, limit: int, what: str = "file") -> str:
    """The whole of a small regular file as text; InputError (with a line when it has one) otherwise."""
    with open_bounded(path, limit, what) as raw:
        try:
            data = raw.read()
        except OSError as e:
            raise InputError(f"cannot read the file: {e.strerror or e}") from None
    return decode_text(data, what)
