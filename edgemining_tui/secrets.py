"""Secrets: where they come from, and keeping them out of logs, screens, exports and errors.

- Tokens and passwords are written in the config as ``${NAME}``. ``NAME`` comes from the
  environment, else from a secrets file: ``secrets_file:`` in the config, or by default
  ``~/.config/edgemining-tui/secrets.env`` (``$XDG_CONFIG_HOME`` honoured). The environment wins.
- The secrets file is ``KEY=VALUE`` lines; ``#`` comments, blank lines, ``export KEY=VALUE`` and
  single or double quotes around the value are accepted. Anything else is an error with file:line.
- Every value from the secrets file, every ``Secret`` field of the loaded config, and environment
  variables whose names say they are secret (``*TOKEN*``, ``*PASSWORD*``, ``*SECRET*``, ``*API_KEY*``)
  are registered with the redactor. ``redact(text)`` replaces them with ``***``, and also masks
  credentials in URLs (``scheme://user:pass@``), ``Bearer ...`` headers and ``token=``/``password=``
  query parameters, whether registered or not.
- ``install_redaction()`` makes every log record redacted at creation (a LogRecord factory), so it
  covers every handler the app, the headless runner or a library adds later.
- ``permission_findings(...)`` says when a config holding a literal secret, or the secrets file,
  is readable by group or others.
"""
from __future__ import annotations

import logging
import os
import re
import stat
import threading
import traceback
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any, Mapping

log = logging.getLogger("edgemining_tui.secrets")

MASK = "***"
_MIN_LEN = 4            # shorter values would mask ordinary words and numbers
_SECRET_NAME = re.compile(r"(TOKEN|PASSWORD|PASSWD|SECRET|API_?KEY|APIKEY|PRIVATE_KEY)", re.I)
_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PATTERNS = (
    # scheme://user:password@host  ->  scheme://user:***@host
    (re.compile(r"(?P<pre>\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^/\s:@]*:)(?P<secret>[^@\s/]+)(?=@)"), MASK),
    # Authorization: Bearer xxx
    (re.compile(r"(?P<pre>\b[Bb]earer\s+)(?P<secret>[A-Za-z0-9._~+/=\-]{6,})"), MASK),
    # ?token=xxx&password=yyy, "api_key": "zzz"
    (re.compile(r"(?P<pre>\b(?:access_token|token|password|passwd|apikey|api_key|secret)"
                r"[\"']?\s*[=:]\s*[\"']?)(?P<secret>[^\s&\"',;}]{4,})", re.I), MASK),
    # Authorization: Basic dXNlcjpwYXNz (httpx/httpcore DEBUG lines print the headers)
    (re.compile(r"(?P<pre>\b[Bb]asic\s+)(?P<secret>[A-Za-z0-9+/=]{4,})"), MASK),
    # header tuples and dicts: (b'x-api-key', b'abc'), 'X-Auth-Token': 'abc', api-key=abc
    (re.compile(r"(?P<pre>\b(?:x-)?(?:api[-_]?key|auth[-_]?token|access[-_]?key)[\"']?\s*[,=:]\s*b?[\"']?)"
                r"(?P<secret>[^\s&\"',;})]{4,})", re.I), MASK),
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_controls(text: Any) -> Any:
    """Control characters (terminal escape codes, NUL) shown as \\xNN: names from miners or configs
    reach logs and screens, where an escape code could rewrite the terminal. Newlines and tabs stay."""
    if not isinstance(text, str) or not _CONTROL.search(text):
        return text
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


class SecretsError(ValueError):
    """A bad secrets file; str() carries file:line."""


class _Registry:
    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()
        self._re: re.Pattern | None = None

    def add(self, value: Any) -> None:
        if value is None:
            return
        v = str(value)
        if len(v.strip()) < _MIN_LEN:
            return
        with self._lock:
            if v not in self._values:
                self._values.add(v)
                self._re = None

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._re = None

    @property
    def values(self) -> frozenset[str]:
        return frozenset(self._values)

    def pattern(self) -> re.Pattern | None:
        with self._lock:
            if self._re is None and self._values:
                # longest first, so a secret that contains another is masked whole
                alts = sorted(self._values, key=len, reverse=True)
                self._re = re.compile("|".join(re.escape(a) for a in alts))
            return self._re


REGISTRY = _Registry()


def register(*values: Any) -> None:
    """Mark values as secret: they are masked wherever ``redact`` runs."""
    for v in values:
        REGISTRY.add(v)


def redact(text: Any) -> Any:
    """``text`` with every registered secret and every credential-looking pattern masked."""
    if not isinstance(text, str) or not text:
        return text
    pat = REGISTRY.pattern()
    if pat is not None:
        text = pat.sub(MASK, text)
    for rx, mask in _PATTERNS:
        text = rx.sub(lambda m: m.group("pre") + mask, text)
    return text


def redact_obj(obj: Any) -> Any:
    """Redact every string inside dicts, lists and tuples (exports, JSON state)."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {k: redact_obj(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(redact_obj(v) for v in obj)
    return obj


# --- the secrets file ---------------------------------------------------------------------------
def default_secrets_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "edgemining-tui" / "secrets.env"


def parse_secrets(text: str, file: str = "<secrets>") -> dict[str, str]:
    out: dict[str, str] = {}
    for i, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):].strip()
        if "=" not in line:
            raise SecretsError(f"{file}:{i}: expected KEY=VALUE, got a line without '=' "
                               f"(the line is not shown: it may hold a secret)")
        key, value = line.split("=", 1)
        key = key.strip()
        if not _KEY_RE.match(key):
            raise SecretsError(f"{file}:{i}: {key[:40]!r} is not a valid name "
                               "(letters, digits and _ , not starting with a digit)")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif value[:1] and value[:1] in "'\"":
            raise SecretsError(f"{file}:{i}: {key}: the quote opened here is not closed on the same line")
        else:
            value = value.split(" #", 1)[0].rstrip()
        if key in out:
            raise SecretsError(f"{file}:{i}: {key} is given twice")
        out[key] = value
    return out


def load_secrets_file(path: str | Path, required: bool = True) -> dict[str, str]:
    """Read a KEY=VALUE file and register every value as secret. Missing + not required: {}."""
    from .config.safeio import MAX_SECRETS_BYTES, InputError, read_text
    p = Path(os.path.expanduser(str(path)))
    if not required and not _exists(p):
        return {}
    try:
        text = read_text(p, MAX_SECRETS_BYTES, "KEY=VALUE secrets file")
    except InputError as e:
        if e.message == "file not found":
            raise SecretsError(f"{p}: secrets file not found") from None
        # never show a byte of it: it may hold a secret
        raise SecretsError(f"{p}{f':{e.line}' if e.line else ''}: {e.message}") from None
    values = parse_secrets(text, str(p))
    register(*values.values())
    return values


def register_env_secrets(env: Mapping[str, str] | None = None) -> None:
    """Environment variables whose names say they hold secrets are masked too."""
    env = os.environ if env is None else env
    for k, v in env.items():
        if _SECRET_NAME.search(k):
            register(v)


def register_config_secrets(cfg: Any) -> int:
    """Walk a loaded config and register every ``Secret`` value. Returns how many were found."""
    from .config.types import Secret
    seen: set[int] = set()
    found = 0

    def walk(x: Any) -> None:
        nonlocal found
        if id(x) in seen:
            return
        if isinstance(x, Secret):
            register(str(x))
            found += 1
            return
        if isinstance(x, (str, int, float, bool)) or x is None:
            return
        seen.add(id(x))
        if is_dataclass(x) and not isinstance(x, type):
            for f in fields(x):
                walk(getattr(x, f.name, None))
        elif isinstance(x, Mapping):
            for v in x.values():
                walk(v)
        elif isinstance(x, (list, tuple, set, frozenset)):
            for v in x:
                walk(v)
    walk(cfg)
    return found


# --- file permissions ---------------------------------------------------------------------------
_SECRET_KEYS = {"token", "password", "passwd", "username", "api_key", "apikey", "secret", "urls"}


def _literal_secret_keys(data: Any, path: tuple = ()) -> list[tuple]:
    """Config keys (paths) that hold a secret written in clear (not as ${NAME})."""
    out: list[tuple] = []
    if isinstance(data, dict):
        for k, v in data.items():
            key = str(k)
            if key.lower() in _SECRET_KEYS and key.lower() != "username":
                vals = v if isinstance(v, list) else [v]
                if any(isinstance(s, str) and s and "${" not in s for s in vals):
                    out.append(path + (k,))
            out.extend(_literal_secret_keys(v, path + (k,)))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out.extend(_literal_secret_keys(v, path + (i,)))
    return out


def _readable_by_others(path: Path) -> int | None:
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    return mode if mode & (stat.S_IRGRP | stat.S_IROTH) else None


def permission_findings(config_path: str | Path | None = None, config_data: Any = None,
                        secrets_path: str | Path | None = None) -> list[tuple[Path, tuple | None, str]]:
    """Secret-bearing files that group or others can read: (the file, the config key holding the
    first secret in clear or None for the secrets file, the message)."""
    out: list[tuple[Path, tuple | None, str]] = []
    if secrets_path is not None:
        p = Path(os.path.expanduser(str(secrets_path)))
        mode = _readable_by_others(p)
        if mode is not None:
            out.append((p, None, f"{p} holds secrets and is readable by group/others "
                                 f"(mode {stat.S_IMODE(mode):04o}); fix with: chmod 600 {p}"))
    if config_path is not None and config_data is not None:
        p = Path(config_path)
        keys = _literal_secret_keys(config_data)
        mode = _readable_by_others(p) if keys else None
        if mode is not None:
            names = ", ".join(".".join(map(str, k)) for k in keys[:3])
            # shown after "key '...token': ", where the log's redaction masks the next long word:
            # the message starts with a short one, so the path stays readable
            out.append((p, keys[0], f"a secret in clear ({names}), and {p} is readable by group/others "
                                    f"(mode {stat.S_IMODE(mode):04o}); fix with: chmod 600 {p}, or move them to "
                                    f"{default_secrets_path()} and write ${{NAME}} in the config"))
    return out


def given_secrets_path(doc_data: Any, config_path: str | Path | None) -> Path | None:
    """Where ``secrets_file:`` points (relative to the config), or None when it names no path."""
    given = doc_data.get("secrets_file") if isinstance(doc_data, dict) else None
    if not isinstance(given, str) or not given.strip():
        return None
    p = Path(os.path.expanduser(given))
    if not p.is_absolute() and config_path is not None:
        p = Path(config_path).parent / p
    return p


def secrets_for_config(doc_data: Any, config_path: str | Path | None,
                       env: Mapping[str, str] | None = None) -> tuple[dict[str, str], Path | None]:
    """The secrets file's values for a config about to be built, and the file they came from.

    ``secrets_file:`` in the config must exist; the default file is read when present (and only
    when the process environment is in use, so tests passing ``env`` stay isolated)."""
    given = doc_data.get("secrets_file") if isinstance(doc_data, dict) else None
    if given is not None:
        p = given_secrets_path(doc_data, config_path)
        if p is None:
            raise SecretsError("expected a path to a KEY=VALUE file")
        return load_secrets_file(p, required=True), p
    if env is not None:
        return {}, None
    p = default_secrets_path()
    return load_secrets_file(p, required=False), (p if _exists(p) else None)


def _exists(p: Path) -> bool:
    """Whether a file is there; one we may not even look at (HOME of another user) is not."""
    try:
        return p.exists()
    except OSError:
        return False


# --- logging ------------------------------------------------------------------------------------
_installed = False


class RedactingFilter(logging.Filter):
    """A handler filter, for handlers created before ``install_redaction`` or outside it."""

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_record(record)
        return True


def _redact_record(record: logging.LogRecord) -> None:
    if getattr(record, "_redacted", False):
        return
    try:
        msg = record.getMessage()
    except Exception:  # a broken format string: keep what we can, redacted
        msg = f"{record.msg} {record.args}"
    record.msg = strip_controls(redact(msg))
    record.args = None
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        record.exc_info = None
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    record._redacted = True


def install_redaction(logger: logging.Logger | None = None) -> None:
    """Redact every log record at creation, and add a filter to the root handlers (belt and braces)."""
    global _installed
    register_env_secrets()
    if not _installed:
        old = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = old(*args, **kwargs)
            _redact_record(record)
            return record
        logging.setLogRecordFactory(factory)
        _installed = True
    target = logger or logging.getLogger()
    for h in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in h.filters):
            h.addFilter(RedactingFilter())


def safe_message(exc: BaseException) -> str:
    """An exception's message fit for a screen or a notification."""
    return redact(f"{type(exc).__name__}: {exc}" if not str(exc) else str(exc))


__all__ = ["MASK", "REGISTRY", "RedactingFilter", "SecretsError", "default_secrets_path", "install_redaction",
           "strip_controls",
           "load_secrets_file", "parse_secrets", "permission_findings", "redact", "redact_obj", "register",
           "register_config_secrets", "register_env_secrets", "safe_message", "secrets_for_config"]

