"""``edgemining-tui serve``: the console in a web browser, through textual-serve, as an observer.

Every browser tab starts its own console process (textual-serve spawns one per websocket), always
with ``--observe``: a tab never owns the fleet, it watches the owner's state in the data directory
and sends requests to its inbox, as a second SSH login does. With ``--demo`` this command also
starts the demo's owner (headless) in a throw-away data directory and stops it at exit.

It binds 127.0.0.1 by default and has no login of its own: reach it from another machine through
an SSH tunnel (``ssh -L 8000:127.0.0.1:8000 pi@raspberrypi``, then http://localhost:8000).

Nothing is fetched at run time: textual-serve's page asks a web-font service for its font, so the
page is served from a template with that link replaced by the font textual-serve ships.
"""
from __future__ import annotations

import argparse
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FAIL, EXIT_BAD_INPUT = 0, 1, 2
INSTALL_HINT = ("edgemining-tui serve needs the optional textual-serve package: "
                "pip install 'edgemining-tui[serve]' (from a clone: .venv/bin/pip install -e '.[serve]')")
LOOPBACK = ("127.0.0.1", "::1", "localhost")
# the web font textual-serve ships in its static folder, used instead of the font service
_FONT_FACE = ('<style>@font-face{font-family:"Roboto Mono";font-weight:100 700;'
              'src:url("{{ config.static.url }}fonts/RobotoMono-VariableFont_wght.ttf") format("truetype")}'
              "</style>")
_REMOTE_LINK = re.compile(r"<link\b[^>]*\bhref=[\"']https?://[^>]*>", re.S)


def build_parser() -> argparse.ArgumentParser:
    from ..cli import _common, _Parser
    p = _Parser(prog="edgemining-tui serve",
                description="The console in a web browser (textual-serve). Each tab is an observer: it "
                            "watches the owner (the headless service, or --demo's own) and never "
                            "commands miners itself.",
                epilog="From another machine: ssh -L 8000:127.0.0.1:8000 USER@HOST, then open "
                       "http://localhost:8000. There is no login: keep --host on loopback.")
    _common(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, loopback only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    return p


def observer_command(config: str | None, demo: bool, data_dir: Path | None) -> str:
    """The shell command textual-serve runs for each browser tab: always an observer."""
    argv = [sys.executable, "-m", "edgemining_tui", "--observe"]
    if config:
        argv += ["--config", str(Path(config).resolve())]
    if demo:
        argv.append("--demo")
    if data_dir is not None:
        argv += ["--data-dir", str(Path(data_dir).resolve())]
    return shlex.join(argv)


def page_template() -> str:
    """textual-serve's page, with the web-font link replaced by its own shipped font."""
    import textual_serve
    src = (Path(textual_serve.__file__).parent / "templates" / "app_index.html").read_text(encoding="utf-8")
    return _REMOTE_LINK.sub(_FONT_FACE, src, count=1) if _REMOTE_LINK.search(src) else src


def make_server(command: str, host: str, port: int, title: str) -> Any:
    """A textual-serve Server that loads nothing from outside and builds its links from the address
    the browser used (so an SSH tunnel on another local port works too)."""
    import aiohttp_jinja2
    import jinja2
    from textual_serve.server import Server

    page = page_template()

    class LocalServer(Server):
        async def _make_app(self):
            app = await super()._make_app()
            aiohttp_jinja2.setup(app, loader=jinja2.DictLoader({"app_index.html": page}))
            return app

        async def handle_index(self, request):
            self.public_url = f"{request.scheme}://{request.host}"
            return await super().handle_index(request)

        def initialize_logging(self) -> None:
            super().initialize_logging()
            # one line per file a tab fetches buried the two lines that say how to reach the console
            import logging
            logging.getLogger("aiohttp.access").setLevel(logging.WARNING)

        async def on_startup(self, app) -> None:
            where = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
            lines = [f"edgemining-tui serve: the console at {where} (each tab an observer); Ctrl-C stops"]
            if host in LOOPBACK:
                lines.append(f"  from another machine: ssh -L {port}:127.0.0.1:{port} {_login()}, "
                             f"then open http://localhost:{port}")
            try:
                print("\n".join(lines), flush=True)
            except BrokenPipeError:      # nobody reads our output: serve on regardless
                from ..cli import quiet_stdout
                quiet_stdout()

    return LocalServer(command, host=host, port=port, title=title)


def _login() -> str:
    """user@host to paste into the ssh line: this machine's own names, as the laptop will type them."""
    import getpass
    import socket
    try:
        return f"{getpass.getuser()}@{socket.gethostname()}"
    except Exception:  # noqa: BLE001  (no user name in the environment or the password database)
        return "USER@THIS-HOST"


def port_problem(host: str, port: int) -> str:
    """Why (host, port) cannot be listened on, or "" (checked before the demo's owner starts)."""
    import errno
    import socket
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        return f"unknown host {host!r} ({e.strerror})"
    family, kind, proto, _, addr = infos[0]
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)     # as aiohttp does
        try:
            s.bind(addr)
        except OSError as e:
            return (e.strerror or str(e)) + (" (pick another --port)" if e.errno == errno.EADDRINUSE else "")
    return ""


def _start_demo_owner(args: argparse.Namespace, data_dir: Path) -> subprocess.Popen:
    argv = [sys.executable, "-m", "edgemining_tui", "--headless", "--data-dir", str(data_dir)]
    if args.config:
        argv += ["--config", str(Path(args.config).resolve())]
    if args.demo:
        argv.append("--demo")
    from ..store.files import open_private_log
    log = open_private_log(data_dir / "owner.log")
    try:
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    finally:
        log.close()


def _wait_for_owner(proc: subprocess.Popen, data_dir: Path, timeout_s: float = 30.0) -> bool:
    from ..store.lock import OwnerLock
    lock = OwnerLock(data_dir)
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        if lock.owner_pid() == proc.pid and (data_dir / "history.db").exists():
            return True
        time.sleep(0.1)
    return False


def live_owner(data_dir: Path) -> int | None:
    """The pid of the process that owns ``data_dir``, if it is still running (the lock file keeps
    the last owner's pid after it exits). Read only: serve never takes the lock, not even to test it."""
    from ..store.lock import OwnerLock
    pid = OwnerLock(data_dir).owner_pid()
    if pid is None:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass                       # alive, someone else's
    return pid


def stop_children() -> None:
    """End the console processes textual-serve started for browser tabs (its shutdown does not wait
    for them): SIGTERM to every child of this process, SIGKILL to any still there 5 s later."""
    me = os.getpid()
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == me:
            kids.append(int(stat.parent.name))
    for pid in kids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    end = time.monotonic() + 5.0
    while kids and time.monotonic() < end:
        kids = [p for p in kids if _running(p)]
        time.sleep(0.05)
    for pid in kids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _running(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        try:
            os.kill(pid, 0)
            return True
        except ProcessLookupError:
            return False


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)     # the owner's clean stop
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        import textual_serve  # noqa: F401
    except ImportError:
        print(INSTALL_HINT, file=sys.stderr)
        return EXIT_BAD_INPUT
    if not 0 < args.port < 65536:
        print(f"edgemining-tui serve: --port: {args.port} is not a port (1..65535)", file=sys.stderr)
        return EXIT_BAD_INPUT
    from ..cli import is_demo, load, report
    from ..config import ConfigError
    warnings: list = []
    try:
        cfg, path = load(args, warnings)
    except ConfigError as e:
        report(e, warnings)
        return EXIT_BAD_INPUT
    report(None, warnings)
    if cfg is None:
        print(f"edgemining-tui serve: no config at {path}; run edgemining-tui setup first, or try --demo",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.host not in LOOPBACK:
        print(f"edgemining-tui serve: warning: listening on {args.host}: anyone who reaches this port can "
              f"watch the console and send it requests (there is no login). Prefer 127.0.0.1 and ssh -L.",
              file=sys.stderr)
    problem = port_problem(args.host, args.port)
    if problem:
        print(f"edgemining-tui serve: cannot listen on {args.host}:{args.port}: {problem}", file=sys.stderr)
        return EXIT_FAIL
    demo = is_demo(args, cfg)
    title = f"edgemining-tui · {cfg.site.name}"
    owner = None
    tmp = None
    data_dir = Path(args.data_dir) if args.data_dir else None
    if data_dir is not None:
        # as the console and the headless owner say it (a read-only one ended in a traceback here)
        from ..config.datadir import data_dir_problem
        why = data_dir_problem(data_dir)
        if why:
            print(f"edgemining-tui serve: --data-dir: {why}", file=sys.stderr)
            return EXIT_BAD_INPUT
    try:
        if demo and data_dir is None:
            tmp = tempfile.TemporaryDirectory(prefix="edgemining-demo-", ignore_cleanup_errors=True)
            data_dir = Path(tmp.name)
        if demo and live_owner(data_dir) is None:
            owner = _start_demo_owner(args, data_dir)
            if not _wait_for_owner(owner, data_dir):
                tail = (data_dir / "owner.log").read_text(errors="replace")[-2000:]
                print(f"edgemining-tui serve: the demo's owner did not start:\n{tail}", file=sys.stderr)
                return EXIT_FAIL
        elif not demo:
            d = data_dir or cfg.data_dir()
            if live_owner(d) is None:
                print(f"edgemining-tui serve: no owner runs on {d} yet; the browser shows what it finds "
                      f"there. Start the owner: edgemining-tui --headless (deploy/edgemining-tui.service).",
                      file=sys.stderr)
        server = make_server(observer_command(args.config, bool(args.demo), data_dir), args.host, args.port, title)
        try:
            server.serve()
        except OSError as e:
            print(f"edgemining-tui serve: cannot listen on {args.host}:{args.port}: {e.strerror or e}",
                  file=sys.stderr)
            return EXIT_FAIL
        return EXIT_OK
    except KeyboardInterrupt:        # Ctrl-C while the demo's owner was starting
        return 130
    finally:
        if owner is not None:
            _stop(owner)       # first: it is a child too, and gets its clean SIGTERM stop here
        stop_children()
        if tmp is not None:
            tmp.cleanup()
