"""Local energy APIs over HTTP(S), each converted to our signs at the boundary
(snapshot.py: grid + import, battery + charging):

| device | PV | house | grid (ours: + import) | battery (ours: + charging) | SoC |
|---|---|---|---|---|---|
| HomeWizard P1 v1/v2 | — | — | ``active_power_w`` / ``power_w`` (+ import) | — | — |
| OpenDTU | ``total.Power`` | — | — | — | — |
| Enphase IQ Gateway | production CT ``activePower``; else eim ``production`` (else ``inverters``) ``wNow`` | load CT, or PV + grid − charging | net CT ``activePower`` / ``net-consumption`` (+ import) | −storage CT ``activePower``; else −(Σ ``real_power_mw``/1000 + Σ acb ``wNow``) (+ discharging) | mean of the units |
| Powerwall 2 | ``solar.instant_power`` | ``load.instant_power`` | ``site.instant_power`` (+ import) | −``battery.instant_power`` (+ discharging) | ``soe.percentage`` |
| sonnenBatterie | ``Production_W`` | ``Consumption_W`` | −``GridFeedIn_W`` (+ feed-in) | −``Pac_total_W`` (+ discharging) | ``USOC`` |

The Enphase gateway, by far the largest, is in enphase.py.
"""
from __future__ import annotations

import httpx

from ..clock import Clock
from .convert import _neg, to_reading
from .enphase import EnphaseSource, ct_powers, enabled_cts  # noqa: F401 - imported from here
from .httpjson import HttpJsonSource
from .local_config import HomeWizardConfig, OpenDtuConfig, PowerwallConfig, SonnenConfig
from .snapshot import Reading, missing
from .tls_pin import pin_of


class HomeWizardSource(HttpJsonSource):
    vendor = "HomeWizard P1"
    provides = ("grid_import_w",)

    def __init__(self, cfg: HomeWizardConfig, clock: Clock, name: str = "homewizard") -> None:
        super().__init__(cfg.url, cfg.timeout, clock, name)
        self.cfg = cfg
        self.tls_fingerprint = pin_of(cfg.tls_fingerprint)
        if cfg.api == "v2":
            self.headers = {"Authorization": f"Bearer {cfg.token}", "X-Api-Version": "2"}
            self.verify = cfg.verify_tls

    async def request(self):
        body, err = await self.fetch("/api/measurement" if self.cfg.api == "v2" else "/api/v1/data")
        if err is not None and "refused access" in err:
            err = (f"{err}: the P1 meter did not accept the v2 token; press the meter's button and ask it "
                   "for a new one (POST /api/user), then put it in P1_TOKEN") if self.cfg.api == "v2" else \
                (f"{err}: the P1 meter's local API is switched off; switch on 'Local API' for this meter in "
                 "the HomeWizard Energy app")
        return body, err

    def parse(self, body, ts):
        key = "power_w" if self.cfg.api == "v2" else "active_power_w"
        return {"grid_import_w": to_reading(body.get(key), "grid_import_w", ts=ts, source=self.name, label=key,
                                            invert=self.cfg.invert)}, {}


class OpenDtuSource(HttpJsonSource):
    vendor = "OpenDTU"
    provides = ("pv_w",)

    def __init__(self, cfg: OpenDtuConfig, clock: Clock, name: str = "opendtu") -> None:
        super().__init__(cfg.url, cfg.timeout, clock, name)
        self.cfg = cfg

    async def request(self):
        return await self.fetch("/api/livedata/status")

    def parse(self, body, ts):
        invs = body.get("inverters")
        if not isinstance(invs, list):
            return {"pv_w": missing(ts, self.name, "inverters: not in the reply (not an OpenDTU?)")}, {}
        if invs and not any(isinstance(i, dict) and i.get("reachable") for i in invs):
            # Hoymiles inverters switch off their radio at dusk: asleep is a known zero, not unknown
            return {"pv_w": Reading(0.0, ts, self.name, None)}, {}
        power = (body.get("total") or {}).get("Power") or {}
        unit = power.get("u") or "W"
        return {"pv_w": to_reading(power.get("v"), "pv_w", ts=ts, source=self.name, label="total.Power",
                                   unit=unit)}, {}


POWERWALL_STOPPED = ("the Powerwall gateway answered HTTP 502: its site master is stopped (commissioning, a firmware "
                     "update, or stopped on the gateway's own web page); readings return once it runs again")


class PowerwallSource(HttpJsonSource):
    vendor = "Tesla Powerwall"
    provides = ("pv_w", "house_w", "grid_import_w", "battery_charge_w", "battery_soc_pct")

    def __init__(self, cfg: PowerwallConfig, clock: Clock, name: str = "powerwall") -> None:
        super().__init__(cfg.url, cfg.timeout, clock, name)
        self.cfg = cfg
        self.tls_fingerprint = pin_of(cfg.tls_fingerprint)
        self.verify = cfg.verify_tls
        self._logged_in = False

    async def _login(self) -> str | None:
        await self.start()
        assert self._client is not None
        try:
            r = await self._client.post("/api/login/Basic", json={
                "username": "customer", "password": str(self.cfg.password), "email": self.cfg.email,
                "force_sm_off": False})
        except httpx.HTTPError as e:
            return await self.http_error(e)
        if r.status_code in (401, 403):
            return "the Powerwall gateway refused the login (check the customer password: the last 5 " \
                   "characters of the gateway's password on its label)"
        if r.status_code == 429:
            return "the Powerwall gateway is refusing logins after too many failed attempts (HTTP 429): " \
                   "check the password, then wait a few minutes"
        if r.status_code == 502:
            return POWERWALL_STOPPED
        if r.status_code != 200:
            return f"the Powerwall gateway answered the login with HTTP {r.status_code}"
        self._logged_in = True
        return None

    async def request(self):
        if not self._logged_in:
            err = await self._login()
            if err:
                return None, err
        agg, err = await self.fetch("/api/meters/aggregates")
        if err and "refused access" in err:      # the session expired: log in once more
            self._logged_in = False
            err2 = await self._login()
            if err2:
                return None, err2
            agg, err = await self.fetch("/api/meters/aggregates")
        if err:
            return None, POWERWALL_STOPPED if err.endswith("HTTP 502") else err
        soe, err = await self.fetch("/api/system_status/soe")
        return {"aggregates": agg, "soe": soe if err is None else None, "soe_error": err}, None

    def parse(self, body, ts):
        agg = body["aggregates"]

        def power(key: str, field: str, flip: bool = False) -> Reading:
            v = (agg.get(key) or {}).get("instant_power")
            return to_reading(_neg(v) if flip else v, field, ts=ts, source=self.name, label=f"{key}.instant_power")
        out = {"pv_w": power("solar", "pv_w"), "house_w": power("load", "house_w"),
               "grid_import_w": power("site", "grid_import_w"),
               "battery_charge_w": power("battery", "battery_charge_w", flip=True)}
        soe = body.get("soe")
        out["battery_soc_pct"] = (to_reading(soe.get("percentage"), "battery_soc_pct", ts=ts, source=self.name,
                                             label="soe.percentage") if isinstance(soe, dict)
                                  else missing(ts, self.name, f"soe: {body.get('soe_error') or 'no reply'}"))
        return out, {}


class SonnenSource(HttpJsonSource):
    vendor = "sonnenBatterie"
    provides = ("pv_w", "house_w", "grid_import_w", "battery_charge_w", "battery_soc_pct")

    def __init__(self, cfg: SonnenConfig, clock: Clock, name: str = "sonnen") -> None:
        super().__init__(cfg.url, cfg.timeout, clock, name)
        self.cfg = cfg
        if cfg.token is not None:
            self.headers = {"Auth-Token": str(cfg.token)}

    async def request(self):
        body, err = await self.fetch("/api/v2/status")
        if err is not None and "refused access" in err:
            err = f"{err}: " + ("this sonnenBatterie wants an API token (switch on the read API on its "
                                "dashboard's Software-Integration page and copy the token it shows into the config)"
                                if self.cfg.token is None
                                else "the sonnenBatterie did not accept the token (copy it again from its "
                                     "dashboard's Software-Integration page)")
        return body, err

    def parse(self, body, ts):
        def r(key: str, field: str, flip: bool = False) -> Reading:
            v = body.get(key)
            return to_reading(_neg(v) if flip else v, field, ts=ts, source=self.name, label=key)
        return {"pv_w": r("Production_W", "pv_w"), "house_w": r("Consumption_W", "house_w"),
                "grid_import_w": r("GridFeedIn_W", "grid_import_w", flip=True),
                "battery_charge_w": r("Pac_total_W", "battery_charge_w", flip=True),
                "battery_soc_pct": r("USOC", "battery_soc_pct")}, {}
