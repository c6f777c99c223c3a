"""Bitaxe (AxeOS) control through pyasic's web client against an emulator that replays replies
recorded from real firmware (edgemining_tui/data/axeos/) and registers only the routes each AxeOS
version has (ESP-Miner http_server.c): pause/resume from v2.14.0, frequency options from v2.7.0."""
from __future__ import annotations

import asyncio

import pytest

from edgemining_tui.emulators.bitaxe import axeos_version, recorded
from edgemining_tui.miners.model import CommandKind, MinerCommand, MinerState

from miner_fixtures import spec, start

STOP = MinerCommand(CommandKind.STOP)
START = MinerCommand(CommandKind.START)


async def _bitaxe(firmware: str):
    handle, fleet = await start([spec("axe", "bitaxe", firmware=firmware, ramp_s=0.05,
                                            poll_timeout=5.0, command_timeout=5.0)])
    await fleet.read_all()     # identification probes what the firmware offers
    return handle, fleet


async def _settle(fleet, s=0.15):
    await asyncio.sleep(s)
    return (await fleet.read_all())["axe"]


def test_recorded_replies_carry_provenance_and_versions():
    for name, version in (("info-v2.12.2.json", (2, 12, 2)), ("info-v2.7.0.json", (2, 7, 0))):
        data = recorded(name)
        assert axeos_version(data["version"]) == version
        assert "_provenance" not in data and data["ASICModel"] == "BM1370"


async def test_current_firmware_pauses_resumes_and_reads_back():
    handle, fleet = await _bitaxe("v2.14.0")
    try:
        caps = fleet.driver("axe").capabilities
        assert caps.on_off and not caps.monitor_only and [lv.name for lv in caps.levels][:2] == ["400 MHz", "490 MHz"]
        r = await fleet.apply("axe", STOP)
        assert r.ok, r.message
        s = await _settle(fleet)
        assert s.state is MinerState.PAUSED and handle["axe"].model.paused
        assert fleet.verification("axe").confirmed is True
        r = await fleet.apply("axe", START)
        assert r.ok, r.message
        s = await _settle(fleet)
        assert s.running and not handle["axe"].model.paused
        assert fleet.verification("axe").confirmed is True
    finally:
        await handle.stop()


async def test_frequency_level_is_sent_as_a_patch_and_verified_by_read_back():
    handle, fleet = await _bitaxe("v2.14.0")
    try:
        r = await fleet.apply("axe", MinerCommand(CommandKind.SET_LEVEL, level="490 MHz"))
        assert r.ok, r.message
        assert handle["axe"].patches[-1] == {"frequency": 490}
        s = await _settle(fleet)
        assert s.level == "490 MHz"
        v = fleet.verification("axe")
        assert v.confirmed is True and "490 MHz" in v.detail
        # a power target picks the highest frequency that fits under it
        low = fleet.driver("axe").capabilities.levels[0]
        r = await fleet.apply("axe", MinerCommand(CommandKind.SET_POWER, watts=low.watts + 0.1))
        assert r.ok and handle["axe"].patches[-1] == {"frequency": 400}
    finally:
        await handle.stop()


async def test_ignored_frequency_change_is_caught_by_read_back():
    handle, fleet = await _bitaxe("v2.14.0")
    try:
        handle["axe"].faults.ignore_commands = True
        assert (await fleet.apply("axe", MinerCommand(CommandKind.SET_LEVEL, level="400 MHz"))).ok
        await _settle(fleet)
        v = fleet.verification("axe")
        assert v.confirmed is False and "not applied" in v.detail
    finally:
        await handle.stop()


async def test_firmware_without_pause_offers_frequency_only_and_says_why():
    handle, fleet = await _bitaxe("v2.12.2")
    try:
        caps = fleet.driver("axe").capabilities
        assert not caps.on_off and caps.levels and not caps.monitor_only
        assert "v2.14.0" in caps.why_limited
        r = await fleet.apply("axe", STOP)
        assert not r.ok and "pause/resume" in r.message
        assert not handle["axe"].model.paused
    finally:
        await handle.stop()


async def test_old_firmware_stays_monitor_only_with_the_reason():
    handle, fleet = await _bitaxe("v2.6.0")
    try:
        caps = fleet.driver("axe").capabilities
        assert caps.monitor_only and not caps.levels
        assert "v2.6.0" in caps.why_limited and "update the firmware" in caps.why_limited
        r = await fleet.apply("axe", STOP)
        assert not r.ok and "monitor-only" in r.message and "v2.14.0" in r.message
        assert handle["axe"].requests_to("/api/system/pause") == 0
    finally:
        await handle.stop()


async def test_details_chip_and_board_temperature_and_real_firmware():
    handle, fleet = await _bitaxe("v2.14.0")
    try:
        s = await _settle(fleet, 0.0)
        info = handle["axe"].info()
        assert s.firmware == "v2.14.0"
        assert s.chip_temp_c == pytest.approx(info["temp"], abs=0.5)
        assert s.temp_c == pytest.approx(info["vrTemp"], abs=0.5)
    finally:
        await handle.stop()


async def test_avalon_firmware_is_its_build_not_cgminer():
    handle, fleet = await start([spec("ava", "avalon")])
    try:
        s = (await fleet.read_all())["ava"]
        assert s.firmware and s.firmware != "4.11.1" and "_" in s.firmware   # LVERSION, e.g. 25021401_56abae7
    finally:
        await handle.stop()
