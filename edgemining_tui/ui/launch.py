"""Start the Textual app (imported only here, so the engine and the headless runner never load it)."""
from __future__ import annotations

import gc
from pathlib import Path

_gc_paused = False


def pause_gc() -> None:
    """Pause the cyclic garbage collector while the console starts. Start-up creates a few hundred
    thousand objects that live as long as the process (modules, classes, the config, widgets);
    the collector scanned them ~120 times before the first frame, ~40 ms of its CPU. It runs again
    once the first frame is out (``resume_gc``), or when the run ends. A collector the user turned
    off stays off."""
    global _gc_paused
    if gc.isenabled():
        gc.disable()
        _gc_paused = True


def resume_gc() -> None:
    global _gc_paused
    if _gc_paused:
        _gc_paused = False
        gc.enable()


def run_app(cfg, data_dir: Path | None = None, observe: bool = False, config_path: Path | None = None,
            prefill_demo: bool = False) -> int:
    try:
        from .app import EdgeMiningApp
        app = EdgeMiningApp(cfg, data_dir=data_dir, observe=observe, config_path=config_path,
                            prefill_demo=prefill_demo)
        app.run(mouse=bool(cfg.ui.mouse))
    finally:
        resume_gc()         # the app resumed it after its first frame, unless it never got there
    return app.return_code or 0


def run_setup(path: Path, args) -> int:
    resume_gc()
    given = getattr(args, "data_dir", None)
    if given:
        # the console it offers to start at the end would refuse it: say so before the five steps
        import sys
        from ..config.datadir import data_dir_problem
        why = data_dir_problem(given)
        if why:
            print(f"edgemining-tui: --data-dir: {why}", file=sys.stderr)
            return 2
    try:
        from .setup.app import run_setup_app
    except ImportError:
        import sys
        print(f"edgemining-tui: no config at {path}. Run with --demo to try the built-in demo site, "
              f"or copy config.example.yaml there.", file=sys.stderr)
        return 2
    return run_setup_app(path, args)
