"""What the owner and the console load at run time: no numpy or pandas (a Pi's memory and start-up),
even in an environment where the [oracle] extra installed numpy."""
from __future__ import annotations

import subprocess
import sys

import pytest

CODE = """
import sys, tempfile, pathlib
import edgemining_tui.cli, edgemining_tui.runtime, edgemining_tui.headless, edgemining_tui.ui.app
from edgemining_tui.store.db import Store
with tempfile.TemporaryDirectory() as d:
    s = Store(pathlib.Path(d) / "history.db")
    s.db["energy"].insert({"ts": 1.0, "pv_w": 1.0})
    s.close()
print(sorted(m for m in ("numpy", "pandas") if m in sys.modules))
"""


def test_the_owner_and_console_never_import_numpy_or_pandas():
    out = subprocess.run([sys.executable, "-c", CODE], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"


def test_numpy_still_imports_after_the_store_for_the_oracle():
    pytest.importorskip("highspy")       # the [oracle] extra brings numpy; without it nothing to check
    code = "import edgemining_tui.store.db as d, numpy; print(d.sqlite_utils.Database.__name__, numpy.__name__)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.split() == ["Database", "numpy"]
