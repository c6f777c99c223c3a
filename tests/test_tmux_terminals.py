"""The demo console in real terminals (scripts/tmux_terminals.py --quick): tmux at 60×20 as
xterm-256color, at 80×24 as TERM=xterm (16 colours) and at 200×60 under NO_COLOR, every panel visited
with the keyboard and read back with capture-pane. The script's full run (all four sizes in each
terminal, with resizes) is `python scripts/tmux_terminals.py`; docs/console.md lists what it checks."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "tmux_terminals.py"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tmux") is None,
                    reason="tmux is not installed (apt-get install -y tmux; .ci/run does); the pilot and snapshot "
                           "tests cover the panels without a real terminal")
def test_every_panel_in_three_terminals(capsys):
    env = dict(os.environ, PYTHON=sys.executable)
    proc = subprocess.run([sys.executable, str(SCRIPT), "--quick"], env=env, capture_output=True, text=True,
                          timeout=170)
    with capsys.disabled():
        print("\n----- scripts/tmux_terminals.py --quick -----")
        print(proc.stdout[-6000:])
        if proc.stderr:
            print("----- stderr -----\n" + proc.stderr[-3000:])
    assert proc.returncode == 0, proc.stdout[-4000:]
    out = proc.stdout
    for term, size in (("xterm-256color", "60x20"), ("xterm", "80x24"), ("NO_COLOR", "200x60")):
        assert any(line.startswith(term) and size in line for line in out.splitlines()), (term, size)
    assert "colour codes under NO_COLOR: none" in out
    assert "tmux_terminals: OK" in out
