"""The Enphase IQ Gateway's local API (production.json, the CT meters, the IQ Batteries), converted
to our signs at the boundary; the table of every local API is in local_apis.py."""
from __future__ import annotations

from typing import Any

from ..clock import Clock
from .convert import NEGATIVE_TOLERANCE_W, NONNEGATIVE, _neg, to_reading
from .httpjson import HttpJsonSource
from .local_config import EnphaseConfig
from .snapshot import Reading, absent, missing
from .tls_pin import pin_of


class EnphaseSource(HttpJsonSource):
    vendor = "Enphase IQ Gateway"
    provides = ("pv_w", "house_w", "grid_import_w", "battery_charge_w", "battery_soc_pct")
    ENSEMBLE = "/ivp/ensemble/power"
    METERS = "/ivp/meters"

    def __init__(self, cfg: EnphaseConfig, clock: Clock, name: str = "enphase") -> None:
        super().__init__(cfg.url, cfg.timeout, clock, name)
        self.cfg = cfg
        self.tls_fingerprint = pin_of(cfg.tls_fingerprint)
        self.verify = cfg.verify_tls
        if cfg.token is not None:
            self.headers = {"Authorization": f"Bearer {cfg.token}"}
        # why this gateway has no IQ Battery (None: it has, or not asked yet); asked again every
        # ENSEMBLE_RECHECK_S, so a gateway that was booting or got a battery later is read without a restart
        self._no_ensemble: str | None = None
        self._no_ensemble_since = 0.0
        self._had_batteries = False
        self._cts: dict[str, str] | None = None      # eid -> measurementType of the enabled CTs
        self._cts_since = 0.0

    async def request(self):
        body, err = await self.fetch("/production.json", {"details": "1"})
        if err is not None:
            if "refused access" in err:
                err = enphase_refusal(self.cfg.token, self.clock.now(), err)
            return None, err
        ensemble, ens_err = None, None
        now = self.clock.now()
        if self._no_ensemble is None or now - self._no_ensemble_since >= ENSEMBLE_RECHECK_S:
            ensemble, ens_err = await self.fetch(self.ENSEMBLE)
            devices = _devices(ensemble)
            verdict = None
            if ens_err is not None and not self._had_batteries and any(
                    w in ens_err for w in ("HTTP 404", "HTML", "refused access")):
                # firmware without Ensemble, or a token that may not read it: no IQ Battery here
                verdict = f"no IQ Battery data on this gateway ({self.ENSEMBLE}: {ens_err})"
            elif ens_err is None and devices == []:
                verdict = "no IQ Battery on this gateway (its Ensemble lists none)"
            self._had_batteries = self._had_batteries or bool(devices)
            self._no_ensemble, self._no_ensemble_since = verdict, now
            if verdict is not None:
                ensemble, ens_err = None, None
        readings = await self._ct_readings(now)
        return {"production": body, "ensemble": ensemble, "ensemble_error": ens_err, "readings": readings}, None

    async def _ct_readings(self, now: float) -> dict[str, object] | None:
        """{measurementType: activePower} of the gateway's enabled CTs (/ivp/meters says which eid is
        which; /ivp/meters/readings gives all of them at one timestamp), or None: no CT meter
        endpoint (firmware before 4, a 404/401, an error body) or no enabled CT, or its readings
        failed this time; production.json is read instead."""
        if self._cts is None or now - self._cts_since >= ENSEMBLE_RECHECK_S:
            meters, err = await self.fetch(self.METERS)
            # a transient failure keeps the CTs already known; a gateway that never listed any has none
            self._cts = enabled_cts(meters) if err is None else (self._cts or {})
            self._cts_since = now
        if not self._cts:
            return None
        readings, err = await self.fetch(self.METERS + "/readings")
        return None if err is not None else ct_powers(self._cts, readings)

    def parse(self, body, ts):
        """The CT meters (/ivp/meters/readings) win over production.json where the gateway has them:
        one timestamp for all CTs, each CT's role from /ivp/meters, and a total-consumption that
        firmware 8.3.5433 overwrites with the net figure in production.json. Each CT's activePower is
        + towards the switchboard: production + producing, net + import, storage + discharging,
        total-consumption (a load CT) + consuming."""
        prod_body = body["production"]
        cts = body.get("readings") or {}
        out = {"pv_w": self._pv(prod_body, cts, ts)}
        out.update(self._battery(prod_body, body, ts))
        if "storage" in cts:
            out["battery_charge_w"] = to_reading(_neg(cts["storage"]), "battery_charge_w", ts=ts, source=self.name,
                                                 label="storage CT activePower")
            if out["battery_soc_pct"].absent:      # a storage CT means a battery, whose SoC we cannot see
                out["battery_soc_pct"] = missing(ts, self.name, f"a storage CT but {out['battery_soc_pct'].error}")
        pv, batt = out["pv_w"], out["battery_charge_w"]
        if "net-consumption" in cts:
            out["grid_import_w"] = to_reading(cts["net-consumption"], "grid_import_w", ts=ts, source=self.name,
                                              label="net-consumption CT activePower")
            # what the gateway calls total consumption (PV + grid) still holds the batteries' charging
            out["house_w"] = self._derived("house_w", "PV + grid - battery charging",
                                           (pv, 1), (out["grid_import_w"], 1), (batt, -1), ts=ts)
        elif "total-consumption" in cts:
            # a load CT measures the house alone; the batteries sit with the PV, before it
            out["house_w"] = to_reading(cts["total-consumption"], "house_w", ts=ts, source=self.name,
                                        label="total-consumption CT activePower")
            out["grid_import_w"] = self._derived("grid_import_w", "house + battery charging - PV",
                                                 (out["house_w"], 1), (batt, 1), (pv, -1), ts=ts)
        else:
            out.update(self._consumption_from_production_json(prod_body, pv, batt, ts))
        return out, {}

    def _pv(self, prod_body: dict, cts: dict, ts: float) -> Reading:
        if "production" in cts:
            raw, label = cts["production"], "production CT activePower"
        else:
            prod = {(p.get("type"), p.get("measurementType")): p for p in prod_body.get("production") or ()}
            eim = prod.get(("eim", "production"))
            pv_src, label = (eim, "production[eim].wNow") if eim and eim.get("activeCount") else \
                (prod.get(("inverters", None)), "production[inverters].wNow")
            raw = pv_src.get("wNow") if pv_src else None
        if _is_num(raw) and -50 <= raw < 0:
            raw = 0.0      # the production CT reads the inverters' own night draw as a few watts negative
        return to_reading(raw, "pv_w", ts=ts, source=self.name, label=label)

    def _consumption_from_production_json(self, prod_body: dict, pv: Reading, batt: Reading,
                                          ts: float) -> dict[str, Reading]:
        cons = {p.get("measurementType"): p for p in prod_body.get("consumption") or ()}
        out = {}
        for field, mtype in (("house_w", "total-consumption"), ("grid_import_w", "net-consumption")):
            c = cons.get(mtype)
            if c is None or not c.get("activeCount"):
                out[field] = missing(ts, self.name, f"{mtype}: no consumption CT installed on this gateway")
            else:
                out[field] = to_reading(c.get("wNow"), field, ts=ts, source=self.name, label=f"{mtype}.wNow")
        total, net = cons.get("total-consumption") or {}, cons.get("net-consumption") or {}
        if (total.get("activeCount") and _is_num(total.get("wNow")) and total.get("wNow") == net.get("wNow")
                and total.get("whLifetime") == net.get("whLifetime") and pv.value):
            # firmware 8.3.5433 copies net-consumption into total-consumption (pyenphase's known
            # issues): the house is then net + production, as the gateway computes it otherwise
            out["house_w"] = self._derived("house_w", "net-consumption + production (total-consumption "
                                           "repeats net-consumption)", (out["grid_import_w"], 1), (pv, 1), ts=ts)
        # the gateway's total-consumption is production + net: the batteries' charging is inside it
        house = out["house_w"]
        if house.value is not None and batt.value is not None:
            out["house_w"] = to_reading(house.value - batt.value, "house_w", ts=ts, source=self.name,
                                        label="total-consumption.wNow - battery charging")
        elif house.value is not None and batt.value is None and not batt.absent:
            out["house_w"] = missing(ts, self.name, "total-consumption includes the batteries, whose power is "
                                     f"unknown ({batt.error})")
        return out

    def _derived(self, field: str, label: str, *terms: tuple[Reading, int], ts: float) -> Reading:
        """A sum of readings (each with its sign); unknown with the first missing term's reason.
        An absent battery counts as 0: the site has none."""
        total = 0.0
        for r, sign in terms:
            if r.value is None and r.absent:
                continue
            if r.value is None:
                return missing(ts, self.name, f"{label}: {r.error}")
            total += sign * r.value
        if field in NONNEGATIVE and total < -NEGATIVE_TOLERANCE_W:
            # not a sign to invert: a CT installed backwards or given the wrong role on the gateway
            return missing(ts, self.name, f"{label} = {total:.0f} W: the gateway's CTs do not add up (a CT's "
                           "direction or role set wrong in its installer settings?)")
        return to_reading(total, field, ts=ts, source=self.name, label=label)

    def _battery(self, prod_body: dict, body: dict, ts: float) -> dict[str, Reading]:
        """IQ Batteries (/ivp/ensemble/power, mW, + discharging) and legacy AC Batteries
        (production.json storage[acb], W, + discharging); SoC is the mean over the units."""
        power_w, soc_units, n_units = 0.0, 0.0, 0
        acb = [s for s in prod_body.get("storage") or () if s.get("type") == "acb" and s.get("activeCount")]
        for s in acb:
            w, pct, count = s.get("wNow"), s.get("percentFull"), s.get("activeCount")
            if not (_is_num(w) and _is_num(pct) and isinstance(count, int) and count > 0):
                return self._battery_unknown(ts, f"storage[acb]: wNow {w!r}, percentFull {pct!r}, "
                                                 f"activeCount {count!r}")
            power_w += w
            soc_units, n_units = soc_units + pct * count, n_units + count
        if self._no_ensemble is None:
            ens, err = body.get("ensemble"), body.get("ensemble_error")
            if err is not None:
                return self._battery_unknown(ts, f"{self.ENSEMBLE}: {err}")
            devices = _devices(ens)
            if devices is None:
                return self._battery_unknown(ts, f"{self.ENSEMBLE}: no device list in the reply")
            for d in devices:
                mw, soc = (d.get("real_power_mw"), d.get("soc")) if isinstance(d, dict) else (None, None)
                if not _is_num(mw) or not _is_num(soc):
                    serial = d.get("serial_num") if isinstance(d, dict) else None
                    return self._battery_unknown(ts, f"{self.ENSEMBLE}: battery {serial}: "
                                                     f"real_power_mw {mw!r}, soc {soc!r}")
                power_w += mw / 1000.0
                soc_units, n_units = soc_units + soc, n_units + 1
        if n_units == 0:
            why = self._no_ensemble or "no IQ Battery or AC Battery on this gateway"
            return {f: absent(ts, self.name, why) for f in ("battery_charge_w", "battery_soc_pct")}
        return {"battery_charge_w": to_reading(-power_w, "battery_charge_w", ts=ts, source=self.name,
                                               label="batteries' real power"),
                "battery_soc_pct": to_reading(soc_units / n_units, "battery_soc_pct", ts=ts, source=self.name,
                                              label="batteries' soc")}

    def _battery_unknown(self, ts: float, why: str) -> dict[str, Reading]:
        return {f: missing(ts, self.name, why) for f in ("battery_charge_w", "battery_soc_pct")}


ENSEMBLE_RECHECK_S = 900.0


def enabled_cts(meters: Any) -> dict[str, str]:
    """eid -> measurementType of the enabled CTs in an /ivp/meters reply ({} for anything else:
    a non-metered gateway lists none, old firmware answers {"error": ...}). Readings for an eid it
    does not list (firmware 8.3 adds an all-zero one) are never read."""
    if not isinstance(meters, list):
        return {}
    return {str(m.get("eid")): m["measurementType"] for m in meters if isinstance(m, dict)
            and m.get("state") == "enabled" and m.get("measurementType") in CT_TYPES_READ}


def ct_powers(cts: dict[str, str], readings: Any) -> dict[str, object] | None:
    """{measurementType: activePower} of an /ivp/meters/readings reply for the enabled CTs in
    ``cts`` (eid -> measurementType); None when the reply is not a list of readings."""
    if not isinstance(readings, list):
        return None
    by_eid = {str(r.get("eid")): r for r in readings if isinstance(r, dict)}
    return {mtype: by_eid[eid].get("activePower") for eid, mtype in cts.items() if eid in by_eid}


# the CTs that carry a flow of ours; backfeed, load, evse and pv3p (IQ System Controller / collar
# circuits) are not read
CT_TYPES_READ = ("production", "net-consumption", "total-consumption", "storage")


def _devices(ensemble: Any) -> list | None:
    """The battery list of an /ivp/ensemble/power reply (its key is ``devices:``, colon included)."""
    devices = ensemble.get("devices:", ensemble.get("devices")) if isinstance(ensemble, dict) else None
    return devices if isinstance(devices, list) else None


def _is_num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def enphase_refusal(token: object, now: float, err: str) -> str:
    """The gateway's 401/403 said in words the owner can act on: an expired token says when it
    expired and where to get a new one (the JWT's own ``exp``; its signature is the gateway's business)."""
    exp = jwt_expiry(str(token)) if token is not None else None
    if token is None:
        return (f"{err}: firmware 7 and later need the owner's token (from entrez.enphaseenergy.com, for this "
                "gateway's serial number)")
    if exp is not None and exp <= now:
        import datetime as dt
        when = dt.datetime.fromtimestamp(exp, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        return (f"the Enphase token expired on {when}: get a new one at entrez.enphaseenergy.com (owner tokens "
                "last a year) and put it in the config's token entry (ENVOY_TOKEN in secrets.env after the setup)")
    return f"{err}: the gateway did not accept the token (is it for this gateway's serial number?)"


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT, unverified; None for anything that is not one."""
    import base64
    import json
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    exp = payload.get("exp") if isinstance(payload, dict) else None
    return float(exp) if _is_num(exp) else None
