"""First-run setup: a keyboard-driven wizard from nothing to a working config (issue 11).

Only ``app.py`` and ``screens.py`` import Textual; the rest (state, YAML rendering, secrets, the
Home Assistant probe, the miner scan, the live energy check) is plain Python and tested alone.
"""
