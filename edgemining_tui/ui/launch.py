"""Start the Textual app (imported only here, so the engine and the headless runner never load it)."""
from __future__ import annotations

from pathlib import Path


def run_app(cfg, data_dir: Path | None = None, observe: bool = False, config_path: Path | None = None,
            prefill_demo: bool = False) -> int:
    from .app import EdgeMiningApp
    app = EdgeMiningApp(cfg, data_dir=data_dir, observe=observe, config_path=config_path, prefill_demo=prefill_demo)
    app.run(mouse=bool(cfg.ui.mouse))
    return app.return_code or 0


def run_setup(path: Path, args) -> int:
    try:
        from .setup.app import run_setup_app
    except ImportError:
        import sys
        print(f"edgemining-tui: no config at {path}. Run with --demo to try the built-in demo site, "
              f"or copy config.example.yaml there.", file=sys.stderr)
        return 2
    return run_setup_app(path, args)
