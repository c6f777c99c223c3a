"""docs/rules.md documents every field; the policy package imports without Textual."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from edgemining_tui.policy.fields import LOAD_WINDOWS, REGISTRY

DOC = Path(__file__).parent.parent / "docs" / "rules.md"


def test_every_field_is_documented():
    text = DOC.read_text(encoding="utf-8")
    missing = []
    for spec in REGISTRY.specs:
        p = spec.path
        for w in LOAD_WINDOWS:
            p = p.replace(f".{w}.", ".<window>.")
        if f"`{p}`" not in text:
            missing.append(p)
    assert missing == []


def test_policy_imports_without_textual():
    code = ("import sys; sys.modules['textual'] = None\n"
            "import edgemining_tui.policy.rules_loader, edgemining_tui.policy.context\n"
            "print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr
