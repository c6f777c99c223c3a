"""The Victron Venus OS preset of the MQTT source (mqtt.py holds the connection, TLS and retained-
message handling it shares with the generic source).

Victron (research §5.5): the GX publishes ``N/<portal>/system/0/<path>`` as ``{"value": x}`` only
while someone publishes ``R/<portal>/keepalive`` at least every 60 s; each keepalive makes it
publish everything again, ending with ``N/<portal>/full_publish_completed``. We send one on every
connect and then every ``keepalive`` (at most half the stale window, so an unchanged value is
never older than that); a keepalive that no ``full_publish_completed`` answers (a GX that
subscribed late, a lost message) is sent again after 1 s, 2 s, 4 s ... up to ``keepalive``. ``{"value": null}`` is an invalid value (None); an empty payload means
the device is gone (e.g. a PV inverter asleep at night) and it drops out of the sums.
Native signs: ``/Ac/Grid/Lx/Power`` + import, ``/Dc/Battery/Power`` + charging -- both already
canonical. ``/Ac/Consumption`` includes the miners (set ``house_includes_miners``).
"""
from __future__ import annotations

import asyncio
import json
from typing import Any

from ..clock import Clock
from .config import VictronConfig
from .convert import plausible, to_number, to_reading
from .mqtt import _MqttSource, as_retained, wait_event
from .snapshot import ALL_FIELDS, EnergySnapshot, Reading, missing


# Victron: canonical field -> the system/0 paths whose sum it is
VICTRON_PATHS: dict[str, tuple[str, ...]] = {
    "grid_import_w": ("Ac/Grid/L1/Power", "Ac/Grid/L2/Power", "Ac/Grid/L3/Power"),
    "house_w": ("Ac/Consumption/L1/Power", "Ac/Consumption/L2/Power", "Ac/Consumption/L3/Power"),
    "pv_w": ("Dc/Pv/Power", "Ac/PvOnGrid/L1/Power", "Ac/PvOnGrid/L2/Power", "Ac/PvOnGrid/L3/Power",
             "Ac/PvOnOutput/L1/Power", "Ac/PvOnOutput/L2/Power", "Ac/PvOnOutput/L3/Power"),
    "battery_charge_w": ("Dc/Battery/Power",),
    "battery_soc_pct": ("Dc/Battery/Soc",),
}
_INVERT_KEY = {"pv_w": "pv", "house_w": "house", "grid_import_w": "grid", "battery_charge_w": "battery"}
_ABSENT = object()
# After a (re)connect the GX sends its paths one message at a time, so a three-phase sum taken
# before they are all in can be one phase only (seen: 260.6 W of a 963.1 W import). A sum waits
# for the session's full_publish_completed, for every one of its paths, or -- for dbus-mqtt
# (Venus OS before 3.20), which never sends that topic -- this long after the connect.
FULL_PUBLISH_GRACE_S = 5.0


class VictronSource(_MqttSource):
    def __init__(self, cfg: VictronConfig, clock: Clock, name: str = "victron") -> None:
        super().__init__(cfg.host, cfg.port, cfg.username, cfg.password, cfg.client_id,
                         cfg.reconnect_max, clock, name, cfg.tls)
        self.cfg = cfg
        self.prefix = f"N/{cfg.portal_id}/system/0/"
        self.completed_topic = f"N/{cfg.portal_id}/full_publish_completed"
        # path -> (number | None (invalid) | error string, ts, retained); a path absent here was
        # never seen or is gone
        self._parts: dict[str, tuple[Any, float, bool]] = {}
        self._completed = asyncio.Event()
        self._fields_of = {p: [f for f, paths in VICTRON_PATHS.items() if p in paths]
                           for paths in VICTRON_PATHS.values() for p in paths}
        self.keepalives = 0
        self.full_publishes = 0
        self._whole_session = -1          # the session whose full publish has completed
        self._seen: dict[str, int] = {}   # path -> the session it last arrived in

    def topics(self) -> list[str]:
        return [self.prefix + p for paths in VICTRON_PATHS.values() for p in paths] + [self.completed_topic]

    async def on_connected(self, client) -> None:
        topic = f"R/{self.cfg.portal_id}/keepalive"
        period = float(self.cfg.keepalive)
        session = self._session
        while session == self._session:
            self._completed.clear()
            await client.publish(topic, b"")   # an empty keepalive asks for a full republish
            self.keepalives += 1
            retry = min(1.0, period)
            sent_at = asyncio.get_running_loop().time()
            while session == self._session:
                if await wait_event(self._completed, retry) or session != self._session:
                    break
                # unanswered: ask again, backing off to one keepalive period
                await client.publish(topic, b"")
                self.keepalives += 1
                retry = min(period, retry * 2)
            waited = asyncio.get_running_loop().time() - sent_at
            await asyncio.sleep(max(0.0, period - waited))

    def on_message(self, topic: str, payload: bytes, ts: float, retained: bool = False) -> None:
        if topic == self.completed_topic:
            if not retained:
                self.full_publishes += 1
                self._whole_session = self._session
                self._completed.set()
                if self._push is not None:
                    for f in VICTRON_PATHS:
                        if len(VICTRON_PATHS[f]) > 1:
                            self._pushed(f, self._field(f, ts))
            return
        if not topic.startswith(self.prefix):
            return
        path = topic[len(self.prefix):]
        self._seen[path] = self._session
        text = payload.decode("utf-8", "replace").strip()
        if not text:
            self._parts.pop(path, None)          # the device went away
            return
        try:
            doc = json.loads(text)
            raw = doc["value"]
        except (ValueError, KeyError, TypeError):
            self._parts[path] = (f"{path}: malformed payload (expected {{\"value\": ...}})", ts, retained)
            return
        if raw is None:
            self._parts[path] = (None, ts, retained)
            return
        try:
            self._parts[path] = (to_number(raw), ts, retained)
        except ValueError as e:
            self._parts[path] = (f"{path}: {e}", ts, retained)
        if self._push is not None:
            for f in self._fields_of.get(path, ()):
                if self._sum_complete(f, ts):
                    self._pushed(f, self._field(f, ts))

    def _sum_complete(self, f: str, now: float) -> bool:
        paths = VICTRON_PATHS[f]
        if len(paths) == 1 or self._whole_session == self._session or not self._connected:
            return True
        if now - self.session_started_at >= FULL_PUBLISH_GRACE_S:
            return True
        return all(self._seen.get(p) == self._session for p in paths)

    def _field(self, f: str, now: float) -> Reading:
        if not self._sum_complete(f, now):
            return missing(now, self.name, f"waiting for the GX's full publish: {VICTRON_PATHS[f][0]} "
                                           f"and the paths summed with it are not all in yet")
        present = [(p, self._parts[p]) for p in VICTRON_PATHS[f] if p in self._parts]
        if not present:
            why = self._last_error if not self._connected and self._last_error else \
                f"the GX publishes no {VICTRON_PATHS[f][0].rsplit('/', 1)[0]}"
            return missing(now, self.name, why)
        ts = min(t for _, (_, t, _) in present)
        errors = [v for _, (v, _, _) in present if isinstance(v, str)]
        if errors:
            return missing(ts, self.name, errors[0])
        nums = [v for _, (v, _, _) in present if v is not None]
        if not nums and f == "pv_w":
            # dbus-systemcalc publishes null on every PV path when no PV device is present (or all
            # sleep): nothing produces, a known 0 W
            nums = [0.0]
        if not nums:
            return missing(ts, self.name, f"{present[0][0]}: the GX reports the value as invalid (null)")
        label = present[0][0] if len(present) == 1 else f"{present[0][0].rsplit('/', 2)[0]}/*"
        inv = self.cfg.invert[_INVERT_KEY[f]] if f in _INVERT_KEY else False
        r = plausible(to_reading(sum(nums), f, ts=ts, source=self.name, label=label,
                                 unit="W" if f != "battery_soc_pct" else "%", invert=inv), f, label)
        if r.error is None and any(ret for _, (_, _, ret) in present):
            r = as_retained(r)
        return self._finish(r)

    async def read(self) -> EnergySnapshot:
        await self.start()
        now = self.clock.now()
        return EnergySnapshot(ts=now, **{f: self._field(f, now) for f in ALL_FIELDS})
