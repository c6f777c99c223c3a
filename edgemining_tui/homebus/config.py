"""The ``mqtt_publish:`` section: publish the site and the fleet to a broker, for Home Assistant
(MQTT discovery) and for consoles that watch several sites.

Example::

    mqtt_publish:
      host: 192.168.1.10          # the broker Home Assistant uses (mosquitto, EMQX)
      port: 1883                  # 8883 with tls
      username: edgemining
      password: ${MQTT_PASSWORD}
      prefix: edgemining/house    # one prefix per site: topics live under it
      discovery: true             # announce devices to Home Assistant
      discovery_prefix: homeassistant
      tls: false                  # true (the system's CAs), or {ca_file, cert_file, key_file, insecure}
                                  # as for the MQTT energy source
      request_expiry: 2min        # a command older than this (by its own "ts") is dropped

Needs the optional extra: ``pip install 'edgemining-tui[mqtt]'`` (aiomqtt).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from ..config.types import Duration, Secret
from ..energy.config import MqttTls, mqtt_tls

_TOPIC_PART = re.compile(r"^[A-Za-z0-9_\-./]+$")


@dataclass(frozen=True)
class MqttPublishConfig:
    host: str = ""
    port: int = 1883
    username: Optional[str] = None
    password: Optional[Secret] = None
    client_id: Optional[str] = None
    prefix: str = "edgemining/site"
    site_name: Optional[str] = None       # the Home Assistant device name; default: site.name
    discovery: bool = True
    discovery_prefix: str = "homeassistant"
    tls: bool | MqttTls | None = None     # the same shape as the MQTT energy source's tls:
    keepalive: Duration = 30.0
    request_expiry: Duration = 120.0

    @property
    def enabled(self) -> bool:
        return bool(self.host)

    def validate(self) -> None:
        if not self.host:
            return
        if not 1 <= self.port <= 65535:
            raise ValueError(f"port: expected 1..65535, got {self.port}")
        for key in ("prefix", "discovery_prefix"):
            v = getattr(self, key)
            if not v or not _TOPIC_PART.match(v) or v.startswith("/") or v.endswith("/") or "//" in v:
                raise ValueError(f"{key}: expected topic levels like 'edgemining/house' "
                                 f"(letters, digits, - _ . /; no wildcards), got {v!r}")
        t = mqtt_tls(self.tls)
        if t is not None:
            t.validate()
        if not 5 <= self.keepalive <= 3600:
            raise ValueError(f"keepalive: expected 5 s .. 1 h, got {self.keepalive:g} s")
        if not 5 <= self.request_expiry <= 86400:
            raise ValueError(f"request_expiry: expected 5 s .. 1 day, got {self.request_expiry:g} s")
        import importlib.util
        if importlib.util.find_spec("aiomqtt") is None:
            raise ValueError("publishing to MQTT needs aiomqtt: pip install 'edgemining-tui[mqtt]' "
                             "(or remove mqtt_publish)")
