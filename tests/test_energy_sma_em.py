"""SMA Energy Meter / Sunny Home Manager 2.0 (Speedwire): a datagram recorded from a real Home
Manager (tests/data/energy/sma_em/, provenance in the file) sent as UNICAST UDP to 127.0.0.1, to a
source bound to 127.0.0.1 on an ephemeral port (no multicast traffic leaves the machine). The
meter pushes; nothing is polled, so these tests wait for the datagram to arrive, not for a reply."""
from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import pytest

from edgemining_tui.clock import VirtualClock
from edgemining_tui.energy.config import EnergyConfig
from edgemining_tui.energy.factory import build_source
from edgemining_tui.energy.local_config import SmaEmConfig
from edgemining_tui.energy.sma_em import SpeedwireError, parse_datagram

DATA = Path(__file__).parent / "data" / "energy" / "sma_em"
CORPUS = {f.stem: json.loads(f.read_text()) for f in sorted(DATA.glob("*.json"))}
FX = CORPUS["home_manager_exporting"]
REAL = bytes.fromhex(FX["datagram_hex"])
SERIAL = FX["serial"]
GROUP = "239.12.255.254"


def with_serial(dg: bytes, serial: int) -> bytes:
    """The recorded datagram as a second meter would send it (serial at bytes 20..23)."""
    return dg[:20] + serial.to_bytes(4, "big") + dg[24:]


def with_powers(dg: bytes, import_dw: int, export_dw: int) -> bytes:
    """The recorded datagram with other 1:1.4.0 / 1:2.4.0 values (the 0.1 W units of the protocol)."""
    b = bytearray(dg)
    imp, exp = b.index(bytes.fromhex("00010400")) + 4, b.index(bytes.fromhex("00020400")) + 4
    b[imp:imp + 4], b[exp:exp + 4] = import_dw.to_bytes(4, "big"), export_dw.to_bytes(4, "big")
    return bytes(b)


async def started(clock, **kw):
    cfg = EnergyConfig(source="sma_em", sma_em=SmaEmConfig(interface="127.0.0.1", port=0, group=None, **kw))
    cfg.validate()
    src = build_source(cfg, clock)
    await src.start()
    assert src.bound_port, src.last_error
    return src


async def send(src, *datagrams: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for d in datagrams:
            s.sendto(d, ("127.0.0.1", src.bound_port))
    for _ in range(100):                      # loopback delivery is immediate; give the loop a turn
        await asyncio.sleep(0.005)
        if src.last is not None or src.other_serials:
            break
    await asyncio.sleep(0.01)


async def test_recorded_home_manager_datagram_reads_as_export():
    clock = VirtualClock(1_750_000_000)
    src = await started(clock)
    try:
        before = await src.read()
        assert before.grid_import_w.value is None and "no datagram" in before.grid_import_w.error
        await send(src, REAL)
        snap = await src.read()
        assert snap.grid_import_w.ok and snap.grid_import_w.value == pytest.approx(FX["expect"]["grid_import_w"])
        assert snap.grid_export_w == pytest.approx(8835.5)
        assert snap.pv_w.value is None and "does not measure" in snap.pv_w.error
        # the value's time is its arrival: a meter that falls silent shows as a growing age
        clock.advance(45)
        assert (await src.read()).grid_import_w.age(clock.now()) == pytest.approx(45)
        await send(src, with_powers(REAL, 12345, 0))
        assert (await src.read()).grid_import_w.value == pytest.approx(1234.5)
    finally:
        await src.close()


async def test_serial_filter_picks_the_grid_meter_among_several():
    clock = VirtualClock(1_750_000_000)
    other = with_serial(with_powers(REAL, 5000, 0), 1900000001)
    src = await started(clock, serial=SERIAL)
    try:
        await send(src, other)
        r = (await src.read()).grid_import_w
        assert r.value is None and "1900000001" in r.error and str(SERIAL) in r.error
        await send(src, REAL, other)
        assert (await src.read()).grid_import_w.value == pytest.approx(-8835.5)
    finally:
        await src.close()
    # without serial: two meters on the network is an error, never an alternating value
    src = await started(clock)
    try:
        await send(src, REAL, other)
        r = (await src.read()).grid_import_w
        assert r.value is None and "set serial" in r.error
    finally:
        await src.close()


async def test_garbage_and_cut_short_datagrams_leave_the_last_value():
    clock = VirtualClock(1_750_000_000)
    src = await started(clock)
    try:
        await send(src, REAL)
        await send(src, b"garbage", REAL[:300], b"SMA\x00", with_powers(REAL, 0, 0)[:-40])
        assert (await src.read()).grid_import_w.value == pytest.approx(-8835.5)
    finally:
        await src.close()


async def test_an_interface_that_is_not_local_is_an_error_not_a_crash():
    src = build_source(EnergyConfig(source="sma_em", sma_em=SmaEmConfig(interface="192.0.2.7", port=0)),
                       VirtualClock(0))
    try:
        r = (await src.read()).grid_import_w
        assert r.value is None and "cannot listen" in r.error and "192.0.2.7" in r.error
    finally:
        await src.close()


def test_config_refuses_a_group_that_is_not_multicast_and_a_bad_interface():
    with pytest.raises(ValueError, match="group"):
        SmaEmConfig(group="192.168.1.5").validate()
    with pytest.raises(ValueError, match="interface"):
        SmaEmConfig(interface="eth0").validate()
    SmaEmConfig().validate()


def test_every_recorded_datagram_says_where_it_came_from():
    assert len(CORPUS) >= 4
    for name, fx in CORPUS.items():
        assert len(fx["_provenance"]) > 40 and fx["model"] and fx["case"] and fx["expect"], name
    cases = " ".join(fx["case"] for fx in CORPUS.values())
    assert "importing" in cases and "exporting" in cases
    assert {fx["susy_id"] for fx in CORPUS.values() if "susy_id" in fx} >= {349, 372}   # Energy Meter 2.0, Home Manager 2.0
    assert len({len(bytes.fromhex(fx["datagram_hex"])) for fx in CORPUS.values()}) >= 2   # firmware with other layouts


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_each_recorded_datagram_parses_to_its_documented_grid_power(name):
    fx = CORPUS[name]
    dg = parse_datagram(bytes.fromhex(fx["datagram_hex"]))
    assert dg.serial == fx["serial"] and dg.grid_import_w == pytest.approx(fx["expect"]["grid_import_w"])
    if "susy_id" in fx:
        assert dg.susy_id == fx["susy_id"]


def _multicast_sender() -> socket.socket:
    """A sender whose datagrams stay on this host: out through the loopback interface, TTL 0."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 0)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
    return s


async def _multicast_source(clock, group=GROUP, **kw):
    src = build_source(EnergyConfig(source="sma_em", sma_em=SmaEmConfig(interface="127.0.0.1", port=0, group=group,
                                                                        **kw)), clock)
    await src.start()
    if not src.bound_port:
        pytest.skip(f"this host cannot join a multicast group on loopback: {src.last_error}")
    return src


async def test_multicast_path_on_loopback_reads_each_recorded_meter():
    """The path a real meter takes: the source joins 239.12.255.254 on an interface (here the
    loopback one) and the datagrams arrive addressed to the group, not to us. Each recorded meter
    in turn, as when the user swaps a meter (the serial is pinned, so only the right one counts)."""
    clock = VirtualClock(1_750_000_000)
    for name, fx in sorted(CORPUS.items()):
        src = await _multicast_source(clock, serial=fx["serial"])
        try:
            with _multicast_sender() as tx:
                try:
                    tx.sendto(bytes.fromhex(fx["datagram_hex"]), (GROUP, src.bound_port))
                except OSError as e:
                    pytest.skip(f"this host cannot send multicast on loopback ({e.strerror})")
                for _ in range(200):
                    await asyncio.sleep(0.005)
                    if src.last is not None:
                        break
            r = (await src.read()).grid_import_w
            assert r.ok and r.value == pytest.approx(fx["expect"]["grid_import_w"]), (name, r)
        finally:
            await src.close()


async def test_a_source_that_joined_another_group_hears_nothing():
    """The join is what makes the meter's datagrams arrive: listening on the port alone is not enough."""
    clock = VirtualClock(1_750_000_000)
    src = await _multicast_source(clock, group="239.12.255.253")
    try:
        with _multicast_sender() as tx:
            try:
                tx.sendto(REAL, (GROUP, src.bound_port))
            except OSError as e:
                pytest.skip(f"this host cannot send multicast on loopback ({e.strerror})")
        await asyncio.sleep(0.1)
        r = (await src.read()).grid_import_w
        assert r.value is None and "no datagram" in r.error
    finally:
        await src.close()


def test_parser_on_the_recorded_datagram_and_other_protocols():
    dg = parse_datagram(REAL)
    assert (dg.susy_id, dg.serial) == (501, SERIAL) and dg.grid_import_w == pytest.approx(-8835.5)
    # an inverter or the Home Manager's 0x6081 telegram on the same group is not a meter reading
    assert parse_datagram(REAL[:16] + b"\x60\x81" + REAL[18:]) is None
    with pytest.raises(SpeedwireError):
        parse_datagram(REAL[:100])


hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.binary(max_size=80), st.integers(0, len(REAL)))
def test_parser_never_fails_other_than_speedwire_error(tail, cut):
    for data in (REAL[:cut] + tail, b"SMA\x00" + tail, tail):
        try:
            dg = parse_datagram(data)
        except SpeedwireError:
            continue
        assert dg is None or dg.grid_import_w is None or abs(dg.grid_import_w) < 2 ** 32


async def test_read_energy_waits_for_the_meter_and_prints_its_grid_value(tmp_path):
    """`read energy` on an sma_em config: the first datagram arrives after the command started."""
    from edgemining_tui.config import load_config
    from edgemining_tui.read_cli import read_energy
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = tmp_path / "c.yaml"
    path.write_text(f"energy:\n  source: sma_em\n  sma_em: {{interface: 127.0.0.1, port: {port}, group: null, "
                    f"serial: {SERIAL}}}\n")
    task = asyncio.create_task(read_energy(load_config(path), 5.0))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        while not task.done():
            await asyncio.sleep(0.05)
            s.sendto(REAL, ("127.0.0.1", port))
    out, code = await task
    assert code == 0 and out["grid_import_w"]["value"] == pytest.approx(-8835.5)
    assert out["pv_w"]["value"] is None and "does not measure" in out["pv_w"]["error"]
