"""The engine without a UI: for systemd. One log line a cycle; SIGTERM or Ctrl-C exits 0."""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from .engine.events import EngineState, Event
from .format import cycle_line

log = logging.getLogger("edgemining_tui")


class _PipeHandler(logging.StreamHandler):
    """Log lines to standard output. When its reader goes away (``| head``), the run ends as on
    SIGTERM (the owner shuts down cleanly) instead of printing a traceback for every line."""

    def handleError(self, record: logging.LogRecord) -> None:
        if isinstance(sys.exc_info()[1], BrokenPipeError):
            from .cli import quiet_stdout
            quiet_stdout()
            os.kill(os.getpid(), signal.SIGTERM)
            return
        super().handleError(record)


def setup_logging(level: str) -> None:
    handler = _PipeHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    logging.basicConfig(level=getattr(logging, level, logging.INFO), handlers=[handler])
    # one line a cycle is the contract; per-request chatter from the HTTP client is noise
    for noisy in ("httpx", "httpcore", "grpclib", "websockets"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from .secrets import install_redaction   # issue 9: no secret in any log line
    install_redaction()


async def headless(cfg, data_dir: Path | None = None, cycles: int | None = None, observe: bool = False,
                   config_path: Path | None = None) -> int:
    from .runtime import open_runtime
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    rt = await open_runtime(cfg, data_dir=data_dir, observe=observe, config_path=config_path)
    try:
        if rt.engine is None:
            pid = rt.lock.owner_pid()
            log.error("another process (pid %s) owns the fleet in %s; not starting a second controller",
                      pid, rt.data_dir)
            return 1
        tz = ZoneInfo(cfg.site.timezone)
        every = _health_every()
        next_health = [0.0]

        def on(item: EngineState | Event) -> None:
            if isinstance(item, EngineState):
                log.info(cycle_line(item, tz))
                if item.ts >= next_health[0]:
                    next_health[0] = item.ts + every
                    log.info("health: %s", health_line())
            elif item.kind != "decision":
                (log.warning if item.severity != "info" else log.info)("%s: %s", item.kind, item.message)

        rt.engine.subscribe(on)
        log.info("owner of %d miners; data in %s", len(rt.engine.meta), rt.data_dir)
        await rt.engine.run(stop, cycles=cycles)
        log.info("stopping")
    finally:
        await rt.close()
    return 0


def _health_every() -> float:
    """Seconds between health lines (EDGEMINING_HEALTH_EVERY, default 10 min; the soak uses less)."""
    try:
        return max(1.0, float(os.environ.get("EDGEMINING_HEALTH_EVERY", "600")))
    except ValueError:
        return 600.0


def health_line() -> str:
    """What a months-long run must not grow: memory, file descriptors, threads, asyncio tasks."""
    import threading
    rss_kb = fds = -1
    try:
        with open("/proc/self/status") as f:
            rss_kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        fds = len(os.listdir("/proc/self/fd"))
    except (OSError, StopIteration, ValueError):
        pass
    return (f"rss_kb={rss_kb} fds={fds} threads={threading.active_count()} "
            f"tasks={len(asyncio.all_tasks())}")


def run_headless(cfg, data_dir: Path | None = None, cycles: int | None = None, level: str = "INFO",
                 observe: bool = False, config_path: Path | None = None) -> int:
    setup_logging(level)
    try:
        return asyncio.run(headless(cfg, data_dir, cycles, observe, config_path))
    except KeyboardInterrupt:
        return 0
