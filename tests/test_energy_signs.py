"""Sign-convention matrix: every adapter, read through its real protocol on loopback, lands in the
canonical signs (pv >= 0, house >= 0, grid + import, battery + charging). A missing value is None.

Each server serves a SiteState (canonical) in its vendor's native signs and units; the adapter
must turn it back. Push sources are awaited with ``eventually`` (a guard, not a timing assertion).
"""
from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace

import pytest

from edgemining_tui.clock import VirtualClock
from edgemining_tui.energy.factory import build_source
from edgemining_tui.energy.config import EnergyConfig
from edgemining_tui.energy.fronius import FroniusSource
from edgemining_tui.energy.ha_websocket import HomeAssistantWsSource
from edgemining_tui.energy.homeassistant import HomeAssistantSource
from edgemining_tui.energy.mqtt import MqttSource
from edgemining_tui.energy.victron import VictronSource
from edgemining_tui.energy.shelly import ShellySource
from edgemining_tui.energy.sim_source import SimSource
from edgemining_tui.sim.fronius_server import FroniusServer
from edgemining_tui.sim.ha_server import HomeAssistantServer
from edgemining_tui.sim.mqtt_site import LocalBroker, MqttSitePublisher
from edgemining_tui.sim.shelly_server import ShellyServer
from edgemining_tui.sim.site import SimSite, SimSiteConfig
from edgemining_tui.sim.state import SiteState

FIELDS = ("pv_w", "house_w", "grid_import_w", "battery_charge_w", "battery_soc_pct")


def site_state(pv: float, house: float, charge: float, soc: float, miners: float = 0.0, ts: float = 1.0) -> SiteState:
    return SiteState(ts=ts, pv_w=pv, house_w=house, miners_w=miners, battery_charge_w=charge,
                     battery_soc_pct=soc, grid_import_w=house + miners + charge - pv,
                     pv_forecast_w=4200.0, pv_forecast_next_hour_wh=3900.0, pv_forecast_rest_of_day_wh=15500.0)


# exporting while the battery charges; importing while it discharges; night (no PV, idle battery)
CASES = {
    "exporting+charging": site_state(pv=5200.0, house=800.0, charge=1000.0, soc=61.0),
    "importing+discharging": site_state(pv=300.0, house=2600.0, charge=-1500.0, soc=42.0),
    "night-importing": site_state(pv=0.0, house=900.0, charge=0.0, soc=12.0),
}


class Holder:
    def __init__(self, state: SiteState) -> None:
        self.state: SiteState | None = state

    def get(self) -> SiteState | None:
        return self.state


async def eventually(check, timeout: float = 15.0, interval: float = 0.02):
    """Poll an async ``check`` until it returns a truthy value; its last result in the failure."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    last = None
    while loop.time() < end:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met; last: {last!r}")


def matches(snap, st: SiteState, fields, tol: float = 1.0) -> bool:
    want = {"pv_w": st.pv_w, "house_w": st.house_w + st.miners_w, "grid_import_w": st.grid_import_w,
            "battery_charge_w": st.battery_charge_w, "battery_soc_pct": st.battery_soc_pct}
    for f in fields:
        v = snap.value(f)
        if v is None or abs(v - want[f]) > tol:
            return False
    return True


# --- one harness per adapter: (source, server, fields it provides) -----------------------------------
@contextlib.asynccontextmanager
async def ha_rest(holder, clock):
    srv = await HomeAssistantServer(holder.get).start()
    src = HomeAssistantSource(srv.source_config(), clock)
    try:
        yield src, srv, FIELDS
    finally:
        await src.close()
        await srv.close()


@contextlib.asynccontextmanager
async def ha_ws(holder, clock):
    srv = await HomeAssistantServer(holder.get, websocket=True).start()
    src = HomeAssistantWsSource(srv.source_config(), clock)
    await src.start()
    await eventually(lambda: _true(src.connected))
    try:
        yield src, srv, FIELDS
    finally:
        await src.close()
        await srv.close()


@contextlib.asynccontextmanager
async def fronius(holder, clock):
    srv = await FroniusServer(holder.get).start()
    src = FroniusSource(srv.source_config(), clock)
    try:
        yield src, srv, FIELDS
    finally:
        await src.close()
        await srv.close()


@contextlib.asynccontextmanager
async def shelly(holder, clock):
    srv = await ShellyServer(holder.get).start()
    src = ShellySource(srv.source_config(), clock)
    try:
        yield src, srv, ("grid_import_w",)
    finally:
        await src.close()
        await srv.close()


@contextlib.asynccontextmanager
async def mqtt_generic(holder, clock):
    async with LocalBroker() as broker:
        pub = await MqttSitePublisher(holder.get, port=broker.port, shape="generic").start()
        src = MqttSource(pub.generic_config(), clock)
        await src.start()
        try:
            yield src, pub, FIELDS
        finally:
            await src.close()
            await pub.close()


@contextlib.asynccontextmanager
async def victron(holder, clock):
    async with LocalBroker() as broker:
        pub = await MqttSitePublisher(holder.get, port=broker.port, shape="victron").start()
        src = VictronSource(pub.victron_config(), clock)
        await src.start()
        try:
            yield src, pub, FIELDS
        finally:
            await src.close()
            await pub.close()


async def _true(x):
    return x


ADAPTERS = {"ha_rest": ha_rest, "ha_websocket": ha_ws, "fronius": fronius, "shelly": shelly,
            "mqtt": mqtt_generic, "victron": victron}


@pytest.mark.parametrize("adapter", list(ADAPTERS))
async def test_sign_matrix(adapter):
    """All three site situations through one connection, so push sources see the changes arrive."""
    clock = VirtualClock()
    holder = Holder(CASES["exporting+charging"])
    async with ADAPTERS[adapter](holder, clock) as (src, _srv, fields):
        for name, st in CASES.items():
            holder.state = st
            snap = await eventually(lambda: _snap_if(src, st, fields))
            for f in fields:
                r = getattr(snap, f)
                assert r.error is None, (name, f, r)
            # the signs, spelled out
            g = snap.value("grid_import_w")
            assert (g < 0) == (st.grid_import_w < 0), (name, g)
            if "battery_charge_w" in fields:
                b = snap.value("battery_charge_w")
                assert b == pytest.approx(st.battery_charge_w, abs=1.0), (name, b)
                assert snap.value("pv_w") >= 0 and snap.value("house_w") >= 0
            for f in set(FIELDS) - set(fields):
                assert getattr(snap, f).value is None and getattr(snap, f).error


async def _snap_if(src, st, fields):
    snap = await src.read()
    return snap if matches(snap, st, fields) else None


@pytest.mark.parametrize("adapter", ["ha_rest", "ha_websocket", "mqtt"])
async def test_forecast_values(adapter):
    clock = VirtualClock()
    holder = Holder(CASES["exporting+charging"])
    async with ADAPTERS[adapter](holder, clock) as (src, _srv, fields):
        async def ok():
            s = await src.read()
            return s if s.forecast.get("energy_today_remaining_wh") else None
        snap = await eventually(ok)
        assert snap.forecast["power_now_w"] == pytest.approx(4200.0, abs=1)
        assert snap.forecast["energy_next_hour_wh"] == pytest.approx(3900.0, abs=1)      # served in kWh
        assert snap.forecast["energy_today_remaining_wh"] == pytest.approx(15500.0, abs=1)


# --- missing values are None, never 0 --------------------------------------------------------------
async def test_ha_unavailable_is_none():
    clock = VirtualClock()
    holder = Holder(CASES["exporting+charging"])
    async with ha_rest(holder, clock) as (src, srv, _):
        srv.overrides["sensor.battery_power"] = "unavailable"
        srv.overrides["sensor.battery_soc"] = "unknown"
        snap = await src.read()
        assert snap.battery_charge_w.value is None and "unavailable" in snap.battery_charge_w.error
        assert snap.battery_soc_pct.value is None and "unknown" in snap.battery_soc_pct.error
        assert snap.grid_import_w.ok


async def test_ha_websocket_unavailable_is_none():
    clock = VirtualClock()
    holder = Holder(CASES["exporting+charging"])
    async with ha_ws(holder, clock) as (src, srv, _):
        srv.overrides["sensor.grid_power"] = "unavailable"

        async def gone():
            s = await src.read()
            return s if s.grid_import_w.value is None else None
        snap = await eventually(gone)
        assert "unavailable" in snap.grid_import_w.error
        assert snap.pv_w.ok


async def test_fronius_nulls():
    clock = VirtualClock()
    holder = Holder(CASES["night-importing"])
    async with fronius(holder, clock) as (src, srv, _):
        # night, inverter asleep: P_PV null is Fronius's 0
        snap = await src.read()
        body = srv.payload()
        assert body["Body"]["Data"]["Site"]["P_PV"] is None and body["Body"]["Data"]["Inverters"]["1"]["P"] is None
        assert snap.pv_w.value == 0.0 and snap.pv_w.error is None
        # a null while the inverter is awake is unknown, not 0
        holder.state = CASES["importing+discharging"]
        srv.overrides = {"P_PV": None, "P_Akku": None}
        snap = await src.read()
        assert snap.pv_w.value is None and "P_PV" in snap.pv_w.error
        assert snap.battery_charge_w.value is None and "P_Akku" in snap.battery_charge_w.error
        assert snap.grid_import_w.value == pytest.approx(CASES["importing+discharging"].grid_import_w, abs=0.1)


async def test_fronius_without_battery():
    clock = VirtualClock()
    holder = Holder(replace(CASES["exporting+charging"], battery_charge_w=0.0))
    srv = await FroniusServer(holder.get, battery=False).start()
    src = FroniusSource(srv.source_config(), clock)
    try:
        snap = await src.read()
        assert snap.battery_charge_w.value is None and snap.battery_soc_pct.value is None
        assert snap.pv_w.ok and snap.grid_import_w.ok
    finally:
        await src.close()
        await srv.close()


async def test_fronius_house_includes_miners():
    """P_Load is what the meter sees: the miners are in it (the engine subtracts them)."""
    clock = VirtualClock()
    holder = Holder(site_state(pv=4000, house=700, charge=0, soc=50, miners=1400))
    async with fronius(holder, clock) as (src, _srv, _):
        snap = await src.read()
        assert snap.house_w.value == pytest.approx(2100.0, abs=0.1)
        assert snap.grid_import_w.value == pytest.approx(-1900.0, abs=0.1)


async def test_shelly_null_and_reversed_ct():
    clock = VirtualClock()
    holder = Holder(CASES["importing+discharging"])
    srv = await ShellyServer(holder.get).start()
    try:
        src = ShellySource(srv.source_config(), clock)
        srv.overrides = {"total_act_power": None}
        snap = await src.read()
        assert snap.grid_import_w.value is None and "total_act_power" in snap.grid_import_w.error
        srv.overrides = {}
        srv.reversed_ct = True
        assert (await src.read()).grid_import_w.value < 0          # wrong way round...
        await src.close()
        src = ShellySource(srv.source_config(invert=True), clock)  # ...fixed by invert: true
        assert (await src.read()).grid_import_w.value == pytest.approx(800.0, abs=0.1)
        await src.close()
    finally:
        await srv.close()


async def test_mqtt_missing_values_are_none():
    clock = VirtualClock()
    holder = Holder(CASES["exporting+charging"])
    async with mqtt_generic(holder, clock) as (src, pub, fields):
        await eventually(lambda: _snap_if(src, holder.state, fields))
        pub.overrides = {"battery": b'{"power": null, "soc": 55}', "pv/power": b""}

        async def gone():
            s = await src.read()
            return s if s.battery_charge_w.value is None and s.pv_w.value is None else None
        snap = await eventually(gone)
        assert "no value" in snap.battery_charge_w.error
        assert "empty payload" in snap.pv_w.error
        assert snap.battery_soc_pct.value == 55.0


async def test_victron_null_and_gone():
    clock = VirtualClock()
    holder = Holder(CASES["exporting+charging"])
    async with victron(holder, clock) as (src, pub, fields):
        await eventually(lambda: _snap_if(src, holder.state, fields))
        assert src.keepalives >= 1
        pub.overrides = {"Dc/Battery/Power": b'{"value": null}', "Dc/Battery/Soc": b""}

        async def gone():
            s = await src.read()
            return s if s.battery_charge_w.value is None and s.battery_soc_pct.value is None else None
        snap = await eventually(gone)
        assert "invalid" in snap.battery_charge_w.error
        assert snap.battery_soc_pct.error            # the device went away: no value, with a reason
        # night: the AC PV inverter's path turns null (no such device); the DC charger says 0
        pub.overrides = {}
        holder.state = CASES["night-importing"]
        snap = await eventually(lambda: _snap_if(src, holder.state, fields))
        assert snap.pv_w.value == 0.0


async def test_sim_source_matches_site_and_balances():
    clock = VirtualClock(1_717_243_200.0 + 12 * 3600)      # a June noon
    site = SimSite(SimSiteConfig(seed=3))
    miners = {"w": 1500.0}
    src = SimSource(site, clock, lambda: miners["w"])
    await src.read()
    clock.advance(10)
    snap = await src.read()
    st = site.state
    assert st.ts == clock.now()
    for f in FIELDS:
        assert snap.value(f) == pytest.approx(getattr(st, f))
        assert getattr(snap, f).ts == clock.now()
    # pv + import = house + miners + charge
    assert snap.value("pv_w") + snap.value("grid_import_w") == pytest.approx(
        snap.value("house_w") + 1500.0 + snap.value("battery_charge_w"), abs=1e-6)
    assert snap.forecast["power_now_w"] == pytest.approx(st.pv_forecast_w)
    assert set(snap.forecast) == {"power_now_w", "energy_next_hour_wh", "energy_today_remaining_wh"}
    # same instant: no second step
    again = await src.read()
    assert again.grid_import_w == snap.grid_import_w
    # the demo kind is built by build_source when the site is handed in
    src2 = build_source(EnergyConfig(source="sim"), clock, site=site, get_miners_w=lambda: 0.0)
    assert isinstance(src2, SimSource)
