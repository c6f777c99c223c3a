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
    async with contextlib.AsyncExitStack() as stack:
        src, srv = await _serve(fx, clock, fx["reply"] if reply is None else reply, stack)
        stack.push_async_callback(src.close)
        yield src, srv


async def _serve(fx: dict, clock, body, stack: contextlib.AsyncExitStack):
    from edgemining_tui.energy.factory import build_one
    cfg = dict(fx.get("config") or {})
    vendor = fx["vendor"]
    if vendor == "fronius":
        from edgemining_tui.sim.fronius_server import FroniusServer
        srv = FroniusServer(replay={fx["request"]["path"]: body})
    elif vendor == "shelly":
        from edgemining_tui.sim.shelly_server import ShellyServer
        srv = ShellyServer(profile=cfg.get("profile", "em"), replay={fx["request"]["path"]: body})
    elif vendor == "home_assistant":
        from edgemining_tui.sim.ha_server import HomeAssistantServer
        srv = HomeAssistantServer(lambda: None)
        srv.replay = body
    else:
        return await _serve_mqtt(fx, clock, body, cfg, stack)
    await srv.start()
    stack.push_async_callback(srv.close)
    if vendor == "home_assistant":
        blank = {k: None for k in ("pv", "house", "grid", "battery", "soc", "forecast_power_now",
                                   "forecast_energy_next_hour", "forecast_energy_today_remaining")}
        section = srv.source_config(websocket=False, **{**blank, **{k: _entity(v) for k, v in cfg.items()}})
    else:
        section = srv.source_config(**cfg)
    return build_one(vendor, section, clock, vendor), srv


async def _serve_mqtt(fx: dict, clock, body, cfg: dict, stack: contextlib.AsyncExitStack):
    from edgemining_tui.energy.factory import build_one
    from edgemining_tui.sim.mqtt_site import LocalBroker
    from edgemining_tui.sim.topic_replay import TopicReplay
    broker = await stack.enter_async_context(LocalBroker())
    if fx["vendor"] == "victron":
        from edgemining_tui.energy.config import VictronConfig
        rep = TopicReplay.victron(fx["portal_id"], body, port=broker.port)
        # a short keepalive: a first one sent before our subscription took effect is soon repeated
        section, kind = VictronConfig(portal_id=fx["portal_id"], port=broker.port, keepalive=1.0), "victron"
    else:
        from edgemining_tui.energy.config import MqttConfig
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        rep = TopicReplay({fx["topic"]: payload}, port=broker.port, period_s=0.1)
        section, kind = MqttConfig(port=broker.port, **{k: _mqtt_value(v) for k, v in cfg.items()}), "mqtt"
    await stack.enter_async_context(rep)
    src = build_one(kind, section, clock, fx["vendor"])
    await src.start()
    return src, rep
