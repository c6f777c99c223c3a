"""Home Assistant REST adapter: GET /api/states/<entity_id> with a bearer token, over one kept-alive
connection (:mod:`.keepalive`).

Home Assistant has no global sign convention: each entity's sign is whatever its integration
chose, so each EntityRef carries its own ``invert`` and (optionally) ``unit``.
"""
from __future__ import annotations

import logging

from ..clock import Clock
from .config import EntityRef, HomeAssistantConfig
from .convert import KIND, decode_json, to_reading
from .keepalive import HttpFailure, KeepAliveClient
from .snapshot import EnergySnapshot, Reading, missing

# canonical field -> config attribute
FIELDS = {"pv_w": "pv", "house_w": "house", "grid_import_w": "grid",
          "battery_charge_w": "battery", "battery_soc_pct": "soc"}
# Forecast entities (Forecast.Solar, Solcast) change every 15 to 60 minutes: read once a minute,
# not every cycle (at a 1 s cycle they were 3 of 8 requests, the source's largest CPU cost).
FORECAST_EVERY_S = 60.0
FORECASTS = {"power_now_w": "forecast_power_now", "energy_next_hour_wh": "forecast_energy_next_hour",
             "energy_today_remaining_wh": "forecast_energy_today_remaining"}
_KIND_FIELD = {"power": "grid_import_w", "energy": "energy_next_hour_wh", "percent": "battery_soc_pct"}


def parse_state(body: object, ref: EntityRef, kind: str, ts: float, source: str,
                field: str | None = None) -> Reading:
    """Turn one entity's JSON into a canonical Reading; anything odd becomes a Reading with an error.

    ``kind`` is power, energy or percent; ``field`` (a canonical name) adds the plausibility check
    of that field (PV and house cannot be negative).
    """
    if not isinstance(body, dict) or "state" not in body:
        return missing(ts, source, f"{ref.entity}: malformed reply (no state)")
    attrs = body.get("attributes") or {}
    unit = ref.unit or (attrs.get("unit_of_measurement") if isinstance(attrs, dict) else None)
    state = body.get("state")
    if state in ("unavailable", "unknown", None, ""):
        return missing(ts, source, f"{ref.entity} is {state or 'empty'}")
    if not isinstance(state, str):
        # Home Assistant always sends the state as a string; anything else is not Home Assistant
        return missing(ts, source, f"{ref.entity}: state {state!r} is not a string")
    return to_reading(state, field or _KIND_FIELD.get(kind, "grid_import_w"), ts=ts, source=source,
                      label=ref.entity, unit=unit, invert=ref.invert)


def configured(cfg: HomeAssistantConfig) -> dict[str, EntityRef]:
    """Canonical key (a snapshot field or ``forecast.<key>``) -> the entity configured for it."""
    out: dict[str, EntityRef] = {}
    for fld, attr in FIELDS.items():
        if getattr(cfg, attr) is not None:
            out[fld] = getattr(cfg, attr)
    for key, attr in FORECASTS.items():
        if getattr(cfg, attr) is not None:
            out["forecast." + key] = getattr(cfg, attr)
    return out


def parse_for(key: str, body: object, ref: EntityRef, ts: float, source: str) -> Reading:
    fld = key.split(".", 1)[1] if key.startswith("forecast.") else key
    return parse_state(body, ref, KIND[fld], ts, source, fld)


def assemble(results: dict[str, Reading], now: float, source: str) -> EnergySnapshot:
    values: dict[str, Reading] = {}
    for fld, attr in FIELDS.items():
        values[fld] = results.get(fld) or missing(now, source, f"no {attr} entity configured")
    forecast = {k.split(".", 1)[1]: (r.value if r.error is None else None)
                for k, r in results.items() if k.startswith("forecast.")}
    return EnergySnapshot(ts=now, forecast=forecast, **values)

log = logging.getLogger("edgemining_tui.energy.ha")


class AuthBackoff:
    """Home Assistant refused the token (401/403): try again after 10 s, 20 s, 40 s ... up to 5 min.

    Home Assistant bans an address after a few failed logins (``ip_ban_enabled``), so a wrong token
    must cost one attempt per backoff step, never one per entity per cycle. Until a login has worked
    once, and after every refusal, a single request probes the token before the others go out.
    One log line when the token is refused and one when it is accepted again.
    """

    def __init__(self, name: str, first_s: float = 10.0, max_s: float = 300.0) -> None:
        self.name = name
        self.first_s = first_s
        self.max_s = max_s
        self.refused: str | None = None      # why, while refused
        self.confirmed = False               # a request with this token has succeeded
        self.failures = 0
        self.next_try = 0.0
        self.attempts = 0                    # requests made while the token was not confirmed

    def blocked(self, now: float) -> str | None:
        """The error to show instead of asking, while waiting for the next try."""
        if self.refused is None or now >= self.next_try:
            return None
        return f"{self.refused}; next try in {self.next_try - now:.0f} s"

    def failed(self, now: float, why: str) -> None:
        if self.refused is not None and now < self.next_try:
            return                            # the same round (concurrent requests): counted once
        self.failures += 1
        self.next_try = now + min(self.max_s, self.first_s * 2 ** (self.failures - 1))
        if self.refused is None:
            log.warning("%s: %s; trying again after %.0f s, backing off up to %.0f min", self.name, why,
                        self.next_try - now, self.max_s / 60)
        self.refused = why
        self.confirmed = False

    def accepted(self) -> None:
        if self.refused is not None:
            log.info("%s: Home Assistant accepts the token again", self.name)
        self.refused = None
        self.failures = 0
        self.confirmed = True


class HomeAssistantSource:
    """Reads each configured entity in turn over one kept-alive connection; one bad entity never
    spoils the others.

    Why in turn, and through :mod:`.keepalive` rather than httpx: at a 1 s cycle the five GETs a
    second were the console's largest CPU cost. In turn they share one connection; h11 over that
    connection costs a quarter of httpx's pool per GET (benchmarks/http_poll.py, docs/console.md).
    On a LAN a reply takes milliseconds, so five in turn still fit a cycle; when Home Assistant does
    not answer or cannot be reached, the entities after it are not tried in that cycle (they would
    wait as long), they carry the same error.
    """

    def __init__(self, cfg: HomeAssistantConfig, clock: Clock, name: str = "home_assistant") -> None:
        self.cfg = cfg
        self.clock = clock
        self.name = name
        self.entities = configured(cfg)
        self._client: KeepAliveClient | None = None
        self._unreachable: str | None = None     # why the last request failed below HTTP, if it did
        self.auth = AuthBackoff(name)
        self._forecasts: dict[str, tuple[float, Reading]] = {}   # key -> (read at, good reading)

    async def start(self) -> None:
        if self._client is None:
            self._client = KeepAliveClient(
                self.cfg.url, {"Authorization": f"Bearer {self.cfg.token}", "Content-Type": "application/json",
                               "Accept": "application/json", "User-Agent": "edgemining-tui"},
                timeout_s=float(self.cfg.timeout))

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def _get(self, key: str, ref: EntityRef) -> Reading:
        now = self.clock.now()
        self._unreachable = None
        assert self._client is not None
        try:
            r = await self._client.get(f"/api/states/{ref.entity}")
        except HttpFailure as e:
            self._unreachable = (f"Home Assistant {e.reason}" if e.timed_out
                                 else f"cannot reach Home Assistant ({e.reason})")
            return missing(now, self.name, f"{ref.entity}: {self._unreachable}")
        if r.status in (401, 403):
            why = f"Home Assistant refused the token ({r.status})"
            self.auth.failed(self.clock.now(), why)
            return missing(now, self.name, self.auth.blocked(self.clock.now()) or why)
        if r.status < 500:
            self.auth.accepted()              # the token passed (404 and the like come after auth)
        if r.status == 404:
            return missing(now, self.name, f"{ref.entity}: no such entity (404)")
        if r.status != 200:
            return missing(now, self.name, f"{ref.entity}: Home Assistant answered HTTP {r.status}")
        body, err = decode_json(r.body, "Home Assistant", r.content_type)
        if err is not None:
            return missing(now, self.name, f"{ref.entity}: {err}")
        # a successful read is current as of now: HA's last_updated only moves when the value changes
        return parse_for(key, body, ref, self.clock.now(), self.name)

    async def read_all(self) -> dict[str, Reading]:
        await self.start()
        keys = list(self.entities)
        now = self.clock.now()
        blocked = self.auth.blocked(now)
        if blocked is not None:
            return {k: missing(now, self.name, blocked) for k in keys}
        first: dict[str, Reading] = {}
        if not self.auth.confirmed and keys:
            # one request tells whether the token works; the others follow only if it does
            self.auth.attempts += 1
            first = {keys[0]: await self._get(keys[0], self.entities[keys[0]])}
            if self.auth.refused is not None:
                why = self.auth.blocked(self.clock.now()) or self.auth.refused
                return {k: first.get(k) or missing(now, self.name, why) for k in keys}
        kept = {k: r for k, (t, r) in self._forecasts.items() if 0 <= now - t < FORECAST_EVERY_S and k in self.entities}
        rest = [k for k in keys if k not in first and k not in kept]
        got: dict[str, Reading] = {}
        for k in rest:
            ref = self.entities[k]
            if self._unreachable is not None or self.auth.refused is not None:
                # Home Assistant is down, hangs or refused the token: asking again would only wait
                why = self._unreachable or self.auth.blocked(self.clock.now()) or self.auth.refused
                got[k] = missing(now, self.name, f"{ref.entity}: {why}" if self._unreachable else str(why))
                continue
            got[k] = await self._get(k, ref)
        self._unreachable = None
        for k, r in got.items():
            if k.startswith("forecast.") and r.error is None:
                self._forecasts[k] = (now, r)
        return {k: first.get(k) or kept.get(k) or got[k] for k in keys}

    async def read(self) -> EnergySnapshot:
        now = self.clock.now()
        return assemble(await self.read_all(), now, self.name)
