"""The corpus of recorded device replies (tests/data/energy/<vendor>/*.json) and how to serve one.

Each file: ``_provenance`` (where the reply was recorded), ``model``/``firmware``/``case``,
``config`` (adapter settings the case needs), ``expect`` (canonical values per the vendor's
documentation; null = unknown), ``expect_errors`` (field -> words the error must contain) and
``reply`` (the recorded body, or for MQTT vendors the recorded messages).
"""
from __future__ import annotations

import contextlib
import json
from pathlib import Path

CORPUS = Path(__file__).parent / "data" / "energy"
VENDORS = ("fronius", "shelly", "victron", "home_assistant", "tasmota")


def load_corpus() -> dict[str, dict]:
    out = {}
    for vendor in VENDORS:
        for f in sorted((CORPUS / vendor).glob("*.json")):
            doc = json.loads(f.read_text())
            doc["vendor"] = vendor
            out[f"{vendor}/{f.stem}"] = doc
    return out


def _entity(spec):
    from edgemining_tui.energy.config import EntityRef
    return EntityRef(spec) if isinstance(spec, str) else EntityRef(**spec)


def _mqtt_value(spec):
    from edgemining_tui.energy.config import MqttValue
    return MqttValue(spec) if isinstance(spec, str) else MqttValue(**spec)


@contextlib.asynccontextmanager
async def served(fx: dict, clock, reply=None):
    """(source, server) reading ``fx``'s recorded reply over the vendor's real protocol on loopback.

    ``reply`` replaces the recorded body (bad-reply tests)."""
    from edgemining_tui.energy.factory import build_one
    body = fx["reply"] if reply is None else reply
    cfg = dict(fx.get("config") or {})
    vendor = fx["vendor"]
    if vendor in ("fronius", "shelly"):
        if vendor == "fronius":
            from edgemining_tui.sim.fronius_server import FroniusServer as Server
            srv = Server()
        else:
            from edgemining_tui.sim.shelly_server import ShellyServer as Server
            srv = Server(profile=cfg.get("profile", "em"))
        srv.replay = {fx["request"]["path"]: body}
        await srv.start()
        src = build_one(vendor, srv.source_config(**cfg), clock, vendor)
        try:
            yield src, srv
        finally:
            await src.close()
            await srv.close()
        return
    if vendor == "home_assistant":
        from edgemining_tui.sim.ha_server import HomeAssistantServer
        srv = HomeAssistantServer(lambda: None)
        srv.replay = body
        await srv.start()
        refs = {k: _entity(v) for k, v in cfg.items()}
        blank = {k: None for k in ("pv", "house", "grid", "battery", "soc", "forecast_power_now",
                                   "forecast_energy_next_hour", "forecast_energy_today_remaining")}
        src = build_one("home_assistant", srv.source_config(websocket=False, **{**blank, **refs}), clock, "ha")
        try:
            yield src, srv
        finally:
            await src.close()
            await srv.close()
        return
    from edgemining_tui.sim.mqtt_site import LocalBroker
    from edgemining_tui.sim.topic_replay import TopicReplay
    async with LocalBroker() as broker:
        if vendor == "victron":
            from edgemining_tui.energy.config import VictronConfig
            rep = TopicReplay.victron(fx["portal_id"], body, port=broker.port)
            # a short keepalive: a first one sent before our subscription took effect is soon repeated
            cfg_obj = VictronConfig(portal_id=fx["portal_id"], port=broker.port, keepalive=1.0)
            kind = "victron"
        else:
            from edgemining_tui.energy.config import MqttConfig
            rep = TopicReplay({fx["topic"]: json.dumps(body).encode() if not isinstance(body, bytes) else body},
                              port=broker.port, period_s=0.1)
            cfg_obj = MqttConfig(port=broker.port, **{k: _mqtt_value(v) for k, v in cfg.items()})
            kind = "mqtt"
        await rep.start()
        src = build_one(kind, cfg_obj, clock, vendor)
        await src.start()
        try:
            yield src, rep
        finally:
            await src.close()
            await rep.close()
