"""Command line: the console, the headless owner, and the tools (scan, backtest, history, check)."""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

EXIT_BAD_INPUT = 2
EXIT_BROKEN_PIPE = 141          # as a shell reports a process ended by SIGPIPE
# every subcommand with its one line for --help (the order is the help's)
SUBCOMMANDS = {
    "setup": "guided first-run setup: energy source, miners, policy; writes the config",
    "check": "validate a config file and exit",
    "scan": "list the miners that answer on a subnet",
    "history": "export, size and maintain the history database (export, stats, maintain)",
    "backtest": "replay a PV/house trace through the policy and score it (--plot, --html)",
    "tune": "replay your history through a grid of policy settings and write the best into the config",
    "read": "read every energy source (read energy) or miner (read miners) once and show what it saw",
    "serve": "the console in a web browser, every tab an observer (needs the [serve] extra)",
}


def demo_config_path() -> Path:
    return Path(__file__).parent / "data" / "demo.yaml"


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="PATH", help="config file (default: ~/.config/edgemining-tui/config.yaml)")
    p.add_argument("--demo", action="store_true",
                   help="run the built-in demo site (no hardware needed) in a throw-away data directory")
    p.add_argument("--data-dir", metavar="DIR",
                   help="where history and the owner lock live (default: the config's; a demo's own temporary one)")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse exits 2 already; keep its message short and clear
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)


def _epilog() -> str:
    w = max(len(n) for n in SUBCOMMANDS)
    lines = ["commands (edgemining-tui COMMAND --help for each):"]
    lines += [f"  {name:<{w}}  {text}" for name, text in SUBCOMMANDS.items()]
    lines += ["", "Without a command it opens the console (or setup when there is no config yet)."]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="edgemining-tui", usage="edgemining-tui [options] | edgemining-tui COMMAND ...",
                description="Turn surplus solar power into Bitcoin mining.", epilog=_epilog(),
                formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(p)
    p.add_argument("--headless", action="store_true", help="run the engine without a UI (for systemd)")
    p.add_argument("--observe", action="store_true", help="never take ownership; only watch the owner")
    p.add_argument("--site", action="append", metavar="PREFIX", default=[],
                   help="watch a site through the MQTT broker of mqtt_publish (its topic prefix; repeat for more)")
    p.add_argument("--cycles", type=int, help="stop after N cycles (headless)")
    p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return p


def load(args: argparse.Namespace, warnings: list | None = None, check_data_dir: bool = False):
    """The config to run: --config, else --demo's built-in one, else the XDG default.

    ``check_data_dir``: the data dir a start would use (``--data-dir`` or the config's) is checked
    too, so ``check`` and a start refuse exactly the same inputs."""
    from .config import load_config
    from .config.schema import default_config_path
    if args.config:
        path = Path(args.config)
    elif args.demo:
        path = demo_config_path()
    else:
        path = default_config_path()
        if not path.exists():
            return None, path
    cfg = load_config(path, warnings=warnings, data_dir=getattr(args, "data_dir", None),
                      check_data_dir=check_data_dir)
    if args.demo and cfg.demo is None:
        # --demo with a user config: keep the user's policy, run it on the demo site
        from dataclasses import replace
        demo = load_config(demo_config_path())
        cfg = replace(cfg, demo=demo.demo, energy=demo.energy, miners=(), site=replace(cfg.site))
    return cfg, path


def is_demo(args: argparse.Namespace, cfg) -> bool:
    """A run of the simulated demo site: --demo, or a config whose energy source is the demo."""
    return bool(getattr(args, "demo", False)) or getattr(cfg, "demo", None) is not None


@contextmanager
def run_data_dir(args: argparse.Namespace, cfg, prefill: bool = True) -> Iterator[Path | None]:
    """The data directory of this run. --data-dir wins; a demo without one runs in a throw-away
    directory removed at exit, so it never writes history or overrides into the real one (a demo
    config's own ``site.data_dir`` is kept, as asked for); otherwise None: the config's.

    ``prefill=False``: the caller writes the demo's simulated days itself (the console does, after
    its first frame, with :func:`prefill_demo_dir`)."""
    demo = is_demo(args, cfg)
    if args.data_dir:
        d = Path(args.data_dir)
        if demo and prefill:
            _prefill(d, cfg)
        yield d
        return
    if not demo or (not getattr(args, "demo", False) and cfg.site.data_dir):
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="edgemining-demo-", ignore_cleanup_errors=True) as tmp:
        d = Path(tmp)
        if prefill:
            _prefill(d, cfg)
        yield d


def prefill_demo_dir(data_dir: Path, cfg) -> None:
    """A fresh demo directory gets a few simulated days of history (sim/demo_history.py); a
    directory with history, or a config that is not a demo, is left alone."""
    if getattr(cfg, "demo", None) is None or (data_dir / "history.db").exists():
        return
    import time
    from .sim import demo_history
    from .store.files import private_dir
    private_dir(data_dir)
    demo_history.prefill(data_dir, cfg, time.time())


def _prefill(data_dir: Path, cfg) -> None:
    try:
        prefill_demo_dir(data_dir, cfg)
    except Exception as e:  # noqa: BLE001 - the demo runs without its back story
        print(f"edgemining-tui: demo history not pre-filled: {type(e).__name__}: {e}", file=sys.stderr)


def report(err, warnings: list) -> None:
    """Every problem and warning on stderr, one per line, each with its file:line."""
    for w in warnings:
        print(f"edgemining-tui: {w}", file=sys.stderr)
    if err is not None:
        for p in err.problems:
            print(f"edgemining-tui: {p.render()}", file=sys.stderr)
        n = len(err.problems)
        if n > 1:
            print(f"edgemining-tui: {n} problems; nothing was started", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """The command line; a reader that closes the pipe early (``| head``) ends it quietly."""
    try:
        rc = _main(argv)
        sys.stdout.flush()
        return rc
    except BrokenPipeError:
        quiet_stdout()
        return EXIT_BROKEN_PIPE
    finally:
        from .ui.launch import resume_gc
        resume_gc()         # paused for the console's start-up; any other end of the run resumes it


def quiet_stdout() -> None:
    """Point standard output at /dev/null, so the interpreter's last flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from .secrets import install_redaction   # issue 9: every log record redacted (app, headless, tools)
    install_redaction()
    if argv and argv[0] in SUBCOMMANDS:
        return run_subcommand(argv[0], argv[1:])
    args = build_parser().parse_args(argv)
    if not args.headless:
        from .ui.launch import pause_gc
        pause_gc()          # for the console's start-up: loading the config is part of it
    from .config import ConfigError
    warnings: list = []
    try:
        cfg, path = load(args, warnings, check_data_dir=True)
    except ConfigError as e:
        report(e, warnings)
        return EXIT_BAD_INPUT
    report(None, warnings)
    if cfg is None:
        if args.headless:
            print(f"edgemining-tui: no config at {path}. Create one (see config.example.yaml), "
                  f"pass --config PATH, or try --demo.", file=sys.stderr)
            return EXIT_BAD_INPUT
        from .ui.launch import run_setup
        return run_setup(path, args)
    if args.observe and is_demo(args, cfg) and not args.data_dir:
        print("edgemining-tui: each demo runs in its own throw-away data directory; to watch one, "
              "give its --data-dir (edgemining-tui serve --demo does this for a browser)", file=sys.stderr)
        return EXIT_BAD_INPUT
    with run_data_dir(args, cfg, prefill=args.headless) as data_dir:
        if args.headless:
            from .headless import run_headless
            return run_headless(cfg, data_dir=data_dir, cycles=args.cycles, level=args.log_level,
                                observe=args.observe, config_path=path)
        if args.site:
            from dataclasses import replace
            cfg = replace(cfg, ui=replace(cfg.ui, sites=tuple(args.site)))
        from .ui.launch import run_app
        return run_app(cfg, data_dir=data_dir, observe=args.observe or bool(cfg.ui.sites), config_path=path,
                       prefill_demo=True)


def run_subcommand(name: str, argv: list[str]) -> int:
    if name == "scan":
        p = _Parser(prog="edgemining-tui scan", description="List the miners that answer on a subnet.")
        p.add_argument("subnet", help="e.g. 192.168.1.0/24")
        a = p.parse_args(argv)
        from .miners.scan import run_scan_cli
        return run_scan_cli(a.subnet)
    if name == "backtest":
        from .backtest.cli import main as backtest_main
        return backtest_main(argv)
    if name == "tune":
        from .backtest.tune import main as tune_main
        return tune_main(argv)
    if name == "read":
        from .read_cli import main as read_main
        return read_main(argv)
    if name == "history":
        from .store.export_cli import main as history_main
        return history_main(argv)
    if name == "serve":
        from .ui.serve import main as serve_main
        return serve_main(argv)
    if name == "check":
        p = _Parser(prog="edgemining-tui check",
                    description="Check a config (and its secrets, rules file and data dir) as a start would, "
                                "report every problem and warning, and exit: 0 fine, 2 bad input.")
        _common(p)
        p.add_argument("--strict", action="store_true", help="treat warnings as problems (exit 2)")
        a = p.parse_args(argv)
        from .config import ConfigError
        warnings: list = []
        try:
            cfg, path = load(a, warnings, check_data_dir=True)
        except ConfigError as e:
            report(e, warnings)
            return EXIT_BAD_INPUT
        report(None, warnings)
        if cfg is None:
            print(f"edgemining-tui: no config at {path}", file=sys.stderr)
            return EXIT_BAD_INPUT
        if warnings and a.strict:
            print(f"edgemining-tui: {len(warnings)} warning{'s' if len(warnings) > 1 else ''} "
                  "and --strict: not OK", file=sys.stderr)
            return EXIT_BAD_INPUT
        # the demo's emulated miners live under demo:, not miners: ("0 miners" for a fleet of four)
        n_demo = len(cfg.demo.miners) if cfg.demo is not None else 0
        print(f"{path}: OK ({len(cfg.miners)} miners" + (f" + {n_demo} demo miners" if n_demo else "")
              + f", energy source {cfg.energy.source}, "
              f"policy {getattr(cfg.policy, 'mode', '?')}"
              + (f", {len(warnings)} warning{'s' if len(warnings) > 1 else ''}" if warnings else "") + ")")
        return 0
    if name == "setup":
        p = _Parser(prog="edgemining-tui setup", description="Guided first-run setup.")
        _common(p)
        a = p.parse_args(argv)
        from .config.schema import default_config_path
        from .ui.launch import run_setup
        return run_setup(Path(a.config) if a.config else default_config_path(), a)
    return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
