"""The setup in a real terminal: scripts/tmux_setup_check.sh drives `edgemining-tui setup` in tmux
at 80×24 on fresh XDG config/data directories and prints every screen (capture-pane); the capture
is printed into the test log."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "tmux_setup_check.sh"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tmux") is None,
                    reason="tmux is not installed (apt-get install -y tmux); the pilot tests cover the same flow")
def test_setup_in_tmux_prints_every_screen(capsys):
    env = dict(os.environ, PYTHON=sys.executable, START_CONSOLE="1")   # and accept the offer to start the console
    env.pop("HA_TOKEN", None)
    proc = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=240)
    with capsys.disabled():
        print("\n----- scripts/tmux_setup_check.sh -----")
        print(proc.stdout)
        if proc.stderr:
            print("----- stderr -----")
            print(proc.stderr)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    for expected in ("step 1/5", "OK: Home Assistant answered", "battery charging 1.20 kW",
                     "Valid: load_config accepts it", "the console on the new config", "setup exited with 0",
                     "observe_only: true",
                     "tmux setup check: OK"):
        assert expected in out, expected
    assert "tmux-check-token" not in out          # typed into a password field, never printed
