"""Network scan with pyasic's real identification, and the YAML it prints."""
from __future__ import annotations

import pytest

from edgemining_tui.clock import RealClock
from edgemining_tui.config.loader import Builder, read_yaml
from edgemining_tui.emulators.fleet import EmulatorSpec, start_emulators
from edgemining_tui.miners.config import MinerConfig
from edgemining_tui.miners.scan import format_scan, parse_subnet, run_scan_cli, scan


async def test_scan_finds_emulators_and_prints_loadable_yaml():
    # a /29 of our own: 127.0.3.248-255
    specs = [EmulatorSpec("b", "braiins", "127.0.3.249", standard_ports=True),
             EmulatorSpec("l", "luxos", "127.0.3.250", standard_ports=True),
             EmulatorSpec("a", "avalon", "127.0.3.251", standard_ports=True)]
    handle = await start_emulators(specs, RealClock())
    try:
        results = await scan("127.0.3.248/29", timeout=30)
    finally:
        await handle.stop()
    by_host = {r.host: r for r in results}
    assert by_host["127.0.3.249"].family == "braiins"
    assert by_host["127.0.3.250"].family == "luxos"
    assert by_host["127.0.3.251"].family == "avalon"
    assert by_host["127.0.3.249"].firmware == "24.06"
    assert [lv.name for lv in by_host["127.0.3.250"].capabilities.levels] == ["-4", "-2", "default", "+2"]
    text = format_scan(results)
    doc = read_yaml("scan.yaml", text)
    cfgs = [Builder(read_yaml("scan.yaml", text), env={}).build(MinerConfig, item, ("miners", i))
            for i, item in enumerate(doc.data["miners"])]
    fams = {c.host: c.family for c in cfgs}
    assert fams["127.0.3.249"] == "braiins" and fams["127.0.3.251"] == "avalon"
    assert next(c for c in cfgs if c.family == "braiins").model == "ANTMINER S19 PRO"


def test_format_scan_empty():
    assert "no miners found" in format_scan([])


@pytest.mark.parametrize("bad", ["300.1.1.0/24", "hello", "10.0.0.0/8", "::1/128"])
def test_bad_subnet_exit_code_2(bad, capsys):
    assert run_scan_cli(bad) == 2
    assert "edgemining-tui scan:" in capsys.readouterr().err
    with pytest.raises(ValueError):
        parse_subnet(bad)
