"""Import pyasic lazily and without its side effects.

``import pyasic`` costs ~0.7 s and ~65 MB and calls ``logging.basicConfig``, which adds a root
``StreamHandler(stderr)`` that would scribble over the Textual screen (research §4). The
simulated driver and the backtest never import it; the pyasic driver calls ``load()`` on first use.
"""
from __future__ import annotations

import logging
import warnings

_pyasic = None


class _DropPyasicChatter(logging.Filter):
    """pyasic logs through the *root* logger (``logging.warning(...)``), e.g. "Read timeout expired"
    on every wedged miner. With no handler configured Python's last-resort handler would print that
    over the TUI. The driver already reports those failures as states, so drop them below ERROR."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or "pyasic" not in record.pathname


def load():
    """Return the ``pyasic`` module, importing it once and undoing its logging side effects."""
    global _pyasic
    if _pyasic is not None:
        return _pyasic
    root = logging.getLogger()
    before_handlers = list(root.handlers)
    before_level = root.level
    # asyncssh (pyasic imports it) warns at import that DSA is deprecated: ten lines of source on
    # stderr in every headless journal and `read miners`, about keys we never use
    warnings.filterwarnings("ignore", module=r"asyncssh(\..*)?")
    import pyasic  # noqa: PLC0415  (lazy on purpose)
    from pyasic import settings

    # Drop only what pyasic added; keep handlers the app (or pytest) installed itself.
    for h in list(root.handlers):
        if h not in before_handlers:
            root.removeHandler(h)
    root.setLevel(before_level)
    if not any(isinstance(f, _DropPyasicChatter) for f in root.filters):
        root.addFilter(_DropPyasicChatter())
    logging.getLogger("pyasic").setLevel(logging.ERROR)
    # pyasic warns about "incorrect commands" it removes from multicommands; not the user's concern
    warnings.filterwarnings("ignore", module=r"pyasic(\..*)?")
    # identification probes: fail fast, the caller retries on the next cycle
    settings.update("factory_get_timeout", 3)
    settings.update("factory_get_retries", 1)
    # HTTP families honour this; RPC/gRPC do not (the driver wraps every call in wait_for)
    settings.update("api_function_timeout", 4)
    _pyasic = pyasic
    return pyasic


def data_options():
    load()
    from pyasic.miners.data import DataOptions
    return DataOptions


def fast_include() -> list:
    """The fast poll: no CONFIG (an extra round trip that raises when the miner is down)."""
    D = data_options()
    return [D.HASHRATE, D.WATTAGE, D.WATTAGE_LIMIT, D.HASHBOARDS, D.FANS, D.IS_MINING, D.UPTIME, D.ERRORS]
