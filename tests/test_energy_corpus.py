"""Recorded real device replies read over the real protocol to the values their vendors define.

Every file in tests/data/energy/<vendor>/ is served by the loopback stand-in (HTTP for Fronius,
Shelly and Home Assistant; a broker for the Victron GX and Tasmota) and read by the adapter a
user configures. Night, no-battery, meter-on-load-side and secondary-meter cases are in the table.
"""
from __future__ import annotations

import asyncio
import json
import math

import pytest
from hypothesis import given, settings, strategies as st

from edgemining_tui.clock import VirtualClock
from edgemining_tui.energy.config import FroniusConfig
from edgemining_tui.energy.fronius import FroniusSource
from edgemining_tui.energy.shelly import ShellySource
from edgemining_tui.policy.site_terms import site_terms
from edgemining_tui.policy.config import BatteryPolicy, PolicyConfig
from edgemining_tui.sim.shelly_server import ShellyServer

from energy_corpus import load_corpus, served

CORPUS = load_corpus()
FIELDS = ("pv_w", "house_w", "grid_import_w", "battery_charge_w", "battery_soc_pct")


async def _settled(src, fx, timeout=10.0):
    """Read until the pushed values arrived (MQTT); HTTP sources answer on the first read."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        snap = await src.read()
        want = [f for f, v in fx["expect"].items() if v is not None]
        if all(getattr(snap, f).ok for f in want) or loop.time() > end:
            return snap
        await asyncio.sleep(0.05)


def test_every_fixture_says_where_it_came_from():
    assert len(CORPUS) >= 20
    vendors = {fx["vendor"] for fx in CORPUS.values()}
    assert vendors == {"fronius", "shelly", "victron", "home_assistant", "tasmota"}
    for name, fx in CORPUS.items():
        assert len(fx.get("_provenance", "")) > 30, name
        assert fx.get("model") and fx.get("case") and fx.get("expect"), name
        assert set(fx["expect"]) <= set(FIELDS), name
    cases = " ".join(fx["case"] for fx in CORPUS.values())
    for needed in ("night", "no battery", "load side", "SecondaryMeters", "disabled", "Inverters {}", "null"):
        assert needed in cases, needed


@pytest.mark.parametrize("name", sorted(CORPUS))
async def test_fixture_reads_to_documented_values(name):
    fx = CORPUS[name]
    clock = VirtualClock()
    async with served(fx, clock) as (src, _srv):
        snap = await _settled(src, fx)
    for f, want in fx["expect"].items():
        r = getattr(snap, f)
        if want is None:
            assert r.value is None and r.error, (f, r)
        else:
            assert r.ok, (f, r)
            assert r.value == pytest.approx(want, abs=0.01), (f, r)
    for f, words in (fx.get("expect_errors") or {}).items():
        assert words in (getattr(snap, f).error or ""), (f, getattr(snap, f))


async def test_gen24_without_battery_lets_the_miners_start():
    """GEN24 without battery (Battery_Mode disabled, SOC 0.0): no battery, not a battery at 0 %."""
    fx = CORPUS["fronius/gen24_no_battery_day"]
    async with served(fx, VirtualClock()) as (src, _):
        snap = await src.read()
    for present in (None, False):
        site = site_terms(PolicyConfig(battery=BatteryPolicy(present=present)), snap, (), 0.0, 0.0,
                          None if present is False else False)
        assert site.ok, site.why
        assert site.charge_w == 0.0 and site.soc is None


async def test_battery_present_false_wins_over_a_reported_soc():
    """A source that still reports a SoC (0 %) and no battery power: with battery.present: false the
    site is judged without a battery instead of "battery power missing"."""
    fx = CORPUS["fronius/gen24_storage_day"]
    reply = json.loads(json.dumps(fx["reply"]))
    reply["Body"]["Data"]["Site"]["P_Akku"] = None
    reply["Body"]["Data"]["Inverters"]["1"]["SOC"] = 0.0
    async with served(fx, VirtualClock(), reply=reply) as (src, _):
        snap = await src.read()
    assert snap.battery_soc_pct.value == 0.0 and snap.battery_charge_w.value is None
    blocked = site_terms(PolicyConfig(), snap, (), 0.0, 0.0, False)
    assert not blocked.ok and blocked.why == "battery power missing"
    site = site_terms(PolicyConfig(battery=BatteryPolicy(present=False)), snap, ("battery_charge_w",), 0.0, 0.0, None)
    assert site.ok and site.import_w == pytest.approx(2274.9)


def _bad_bodies(good: dict, key_path: tuple[str, ...], normal: float):
    """Broken variants of a recorded reply: (label, body, words the error must contain)."""
    text = json.dumps(good).encode()

    def with_value(v):
        doc = json.loads(text)
        node = doc
        for k in key_path[:-1]:
            node = node[k]
        node[key_path[-1]] = v
        return doc
    return [
        ("truncated", text[: len(text) // 2], "truncated"),
        ("html", b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>", "HTML"),
        ("empty", b"", "empty reply"),
        ("nan", json.dumps(with_value(float("nan"))).encode(), "not a finite number"),
        ("inf", json.dumps(with_value(float("inf"))).encode(), "not a finite number"),
        ("1e309", text.replace(json.dumps(normal).encode(), b"1e309", 1), "not a finite number"),
        ("unavailable", json.dumps(with_value("unavailable")).encode(), "unavailable"),
        ("100x", json.dumps(with_value(normal * 100 * 100)).encode(), "beyond the plausible"),
    ]


BAD_CASES = [("fronius/symo_meter_day", ("Body", "Data", "Site", "P_Grid"), 1703.74, "grid_import_w"),
             ("shelly/pro3em_mixed_phases", ("total_act_power",), 186.226, "grid_import_w"),
             ("shelly/gen1_3em_status", ("emeters", 0, "power"), 10.66, "grid_import_w")]


@pytest.mark.parametrize("name,path,normal,field", BAD_CASES, ids=[c[0] for c in BAD_CASES])
async def test_bad_replies_are_visible_errors_never_numbers(name, path, normal, field):
    fx = CORPUS[name]
    for label, body, words in _bad_bodies(fx["reply"], path, normal):
        async with served(fx, VirtualClock(), reply=body) as (src, _):
            snap = await src.read()
        r = getattr(snap, field)
        assert r.value is None and snap.value(field) is None, (label, r)
        assert words in (r.error or ""), (label, r.error)
        # and the decision falls back to its fail-safe instead of using a number
        site = site_terms(PolicyConfig(), snap, snap.stale_fields(snap.ts, 30, ("grid_import_w",)), 0.0, None)
        assert not site.ok, label


async def test_home_assistant_bad_replies():
    fx = CORPUS["home_assistant/unavailable_and_kw"]
    good = fx["reply"]["sensor.grid_power"]
    for value, words in (("NaN", "not a finite"), ("inf", "not a finite"), ("1e309", "not a finite"),
                         ("123400", "beyond the plausible"), ("unavailable", "unavailable")):
        reply = dict(fx["reply"], **{"sensor.grid_power": dict(good, state=value)})
        async with served(fx, VirtualClock(), reply=reply) as (src, _):
            snap = await src.read()
        assert snap.grid_import_w.value is None and words in snap.grid_import_w.error, (value, snap.grid_import_w)


@pytest.mark.parametrize("profile", ["em", "em1", "gen1"])
async def test_shelly_authentication(profile):
    """Auth on (digest for Gen2, basic for Gen1): without the password a visible 401, with it the value."""
    from edgemining_tui.sim.state import SiteState
    state = SiteState(ts=0.0, pv_w=0.0, house_w=500.0, miners_w=0.0, grid_import_w=500.0,
                      battery_charge_w=0.0, battery_soc_pct=50.0)
    srv = await ShellyServer(lambda: state, profile=profile, password="s3cret pw").start()
    try:
        cfg = srv.source_config(timeout=1.0)
        from dataclasses import replace
        anon = ShellySource(replace(cfg, password=None, username=None), VirtualClock())
        snap = await anon.read()
        await anon.close()
        assert snap.grid_import_w.value is None and "refused access (HTTP 401" in snap.grid_import_w.error
        src = ShellySource(cfg, VirtualClock())
        snap = await src.read()
        await src.close()
        assert snap.grid_import_w.value == pytest.approx(500.0, abs=0.1)
        assert "s3cret" not in repr(cfg)
    finally:
        await srv.close()


finite = st.floats(allow_nan=True, allow_infinity=True) | st.integers(-10**12, 10**12) | st.none() | \
    st.sampled_from(["unavailable", "", "1e309", "NaN", "12", True])


@settings(max_examples=150, deadline=None)
@given(pv=finite, grid=finite, load=finite, akku=finite, soc=finite, p=finite,
       mode=st.sampled_from(["meter", "vague-meter", "produce-only", "bidirectional", "ac-coupled", None]),
       battery_mode=st.sampled_from(["disabled", "normal", None]), secondary=st.booleans())
def test_fronius_parse_never_gives_an_implausible_number(pv, grid, load, akku, soc, p, mode, battery_mode, secondary):
    inverter = {"DT": 1, "P": p, "SOC": soc}
    if battery_mode:
        inverter["Battery_Mode"] = battery_mode
    body = {"Body": {"Data": {"Inverters": {"1": inverter},
                              "SecondaryMeters": {"1": {"Category": "METER_CAT_WR", "MLoc": 3, "P": p}},
                              "Site": {"Mode": mode, "P_PV": pv, "P_Grid": grid, "P_Load": load, "P_Akku": akku}}},
            "Head": {"Status": {"Code": 0}}}
    src = FroniusSource(FroniusConfig(url="http://127.0.0.1:9", include_secondary_meters=secondary), VirtualClock())
    values, _ = src.parse(body, 0.0)
    for f, r in values.items():
        if r.value is not None:
            assert math.isfinite(r.value) and abs(r.value) <= 100_000, (f, r)
        else:
            assert r.error, f
    if battery_mode == "disabled":
        assert values["battery_soc_pct"].value is None and "no battery" in values["battery_soc_pct"].error


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=200) | st.text(max_size=200).map(str.encode),
       ctype=st.sampled_from(["application/json", "text/html; charset=utf-8", ""]))
def test_decode_json_never_raises_and_always_says_why(body, ctype):
    from edgemining_tui.energy.convert import decode_json
    doc, err = decode_json(body, "Fronius", ctype)
    assert (doc is None) == (err is not None) or (doc is None and err is None and body.strip() == b"null")
    if err is not None:
        assert "Fronius" in err


async def _read_until_error(src, field, timeout=10.0):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        snap = await src.read()
        r = getattr(snap, field)
        if (r.error and "yet" not in r.error) or loop.time() > end:     # not "no message yet"
            return snap
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("label,payload,words", [
    ("truncated", b'{"Time":"2024-03-09T12:00:00","SML":{"Power_cur":12', "malformed JSON"),
    ("nan", b'{"SML":{"Power_cur":NaN}}', "not a finite number"),
    ("1e309", b'{"SML":{"Power_cur":1e309}}', "not a finite number"),
    ("unavailable", b'{"SML":{"Power_cur":"unavailable"}}', "unavailable"),
    ("100x", b'{"SML":{"Power_cur":123400000}}', "beyond the plausible"),
    ("empty", b"", "empty payload"),
])
async def test_bad_mqtt_payloads_are_visible_errors(label, payload, words):
    """The same sanitising for pushed values: a Tasmota SML reader's broken telemetry."""
    fx = CORPUS["tasmota/gs303_importing"]
    async with served(fx, VirtualClock(), reply=payload) as (src, _):
        snap = await _read_until_error(src, "grid_import_w")
    r = snap.grid_import_w
    assert r.value is None and snap.value("grid_import_w") is None, (label, r)
    assert words in (r.error or ""), (label, r.error)


async def test_no_battery_is_never_stale_data():
    """'No battery' is not missing data: even where the battery's reading is required (a composed
    config naming the inverter for the battery), it never makes the snapshot stale."""
    fx = CORPUS["fronius/gen24_no_battery_day"]
    async with served(fx, VirtualClock()) as (src, _):
        snap = await src.read()
    assert snap.battery_charge_w.absent and "no battery" in snap.battery_charge_w.error
    assert snap.stale_fields(snap.ts, 30, ("grid_import_w", "battery_charge_w")) == []
    fx = CORPUS["fronius/gen24_storage_day"]
    async with served(fx, VirtualClock()) as (src, _):
        snap = await src.read()
    assert not snap.battery_charge_w.absent and snap.battery_charge_w.ok
