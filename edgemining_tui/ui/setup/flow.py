"""Read the chosen energy source once, through the console's own adapter, and say what it sees.

This is what the wizard asks the user to confirm ("PV 3.20 kW, exporting 1.10 kW — correct?"):
the same adapter and the same ``invert`` flags the engine will use, so a sign wrong here is wrong
there too, and flipping it here fixes both.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from ...clock import RealClock
from ...config.types import Secret
from ...energy.balance import check_balance
from .state import HOUSE_COUNTS_MINERS, POWER_ROLES, SetupState

FIELD_OF = {"pv": "pv_w", "house": "house_w", "grid": "grid_import_w", "battery": "battery_charge_w",
            "soc": "battery_soc_pct"}


def energy_config(state: SetupState):
    """The EnergyConfig the new config file will produce (secrets resolved from the wizard's memory)."""
    from ...energy import config as ec
    f = state.fields
    kind = state.energy_kind
    inv = state.inverts
    if kind == "home_assistant":
        refs = {role: (ec.EntityRef(ent, invert=inv.get(role, False)) if ent else None)
                for role, ent in state.entities.items()}
        if state.forecast_ref:
            refs["forecast_energy_today_remaining"] = ec.EntityRef(state.forecast_ref)
        section = ec.HomeAssistantConfig(url=f.get("url", ""), token=Secret(state.secrets.get("HA_TOKEN", "")),
                                         timeout=float(f.get("timeout", 3.0) or 3.0), **refs)
    elif kind == "fronius":
        section = ec.FroniusConfig(url=f.get("url", ""), invert=ec.Invert(**{r: inv[r] for r in POWER_ROLES}))
    elif kind == "shelly":
        section = ec.ShellyConfig(url=f.get("url", ""), id=int(f.get("id", 0) or 0), invert=inv["grid"])
    elif kind == "mqtt":
        vals = {role: ec.MqttValue(topic=f[role], invert=inv.get(role, False))
                for role in ("pv", "house", "grid", "battery", "soc") if f.get(role)}
        section = ec.MqttConfig(host=f.get("host", "127.0.0.1"), port=int(f.get("port", 1883) or 1883),
                                username=f.get("username") or None,
                                password=Secret(state.secrets["MQTT_PASSWORD"]) if state.secrets.get("MQTT_PASSWORD") else None,
                                **vals)
    elif kind == "victron":
        section = ec.VictronConfig(portal_id=f.get("portal_id", ""), host=f.get("host", "127.0.0.1"),
                                   port=int(f.get("port", 1883) or 1883),
                                   invert=ec.Invert(**{r: inv[r] for r in POWER_ROLES}))
    elif kind in LOCAL:
        section = _local_section(state, kind)
    else:
        raise ValueError(f"no live reading for energy source {kind!r}")
    section.validate()
    return ec.EnergyConfig(source=kind, **{kind: section},
                           house_includes_miners=state.house_includes_miners or kind in HOUSE_COUNTS_MINERS)


@dataclass
class FlowReading:
    values: dict[str, float | None] = field(default_factory=dict)    # role -> canonical value
    errors: dict[str, str] = field(default_factory=dict)             # role -> why it is missing
    failure: str = ""                                                # the source could not be read at all
    tls_fingerprint: str | None = None      # the certificate an HTTPS gateway presented (hex), to pin

    def value(self, role: str) -> float | None:
        return self.values.get(role)

    @property
    def any_value(self) -> bool:
        return any(v is not None for v in self.values.values())


async def read_flow(state: SetupState, attempts: int = 5, pause_s: float = 1.0) -> FlowReading:
    """One reading of the configured source. Push sources (MQTT) get a few seconds to fill in."""
    from ...energy.factory import build_source
    try:
        cfg = energy_config(state)
        source = build_source(cfg, RealClock())
    except (ValueError, RuntimeError, TypeError) as e:
        return FlowReading(failure=str(e))
    out = FlowReading()
    try:
        start = getattr(source, "start", None)
        if start is not None:
            await asyncio.wait_for(start(), 10)
        for i in range(attempts):
            snap = await asyncio.wait_for(source.read(), 15)
            out = FlowReading()
            for role, fld in FIELD_OF.items():
                r = getattr(snap, fld, None)
                out.values[role] = None if r is None else r.value
                if r is not None and r.value is None and r.error:
                    out.errors[role] = r.error
            wanted = _wanted(state)
            if all(out.values.get(r) is not None for r in wanted) or i == attempts - 1:
                break
            await asyncio.sleep(pause_s)
    except Exception as e:  # noqa: BLE001 - any failure is shown to the user as text
        out.failure = f"{type(e).__name__}: {e}"
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            try:
                await close()
            except Exception:  # noqa: BLE001
                pass
    url = state.fields.get("url", "")
    if state.energy_kind in PINNABLE and url.startswith("https://") and not out.failure:
        from ...energy.tls_pin import presented_fingerprint
        out.tls_fingerprint = await presented_fingerprint(url, 5.0)
    return out


PINNABLE = ("enphase", "powerwall", "homewizard")     # HTTPS gateways with self-signed certificates
LOCAL = ("sunspec", "homewizard", "opendtu", "enphase", "powerwall", "sonnen", "sma_em")


def _local_section(state: SetupState, kind: str):
    """The config section of a local API or Modbus device from the form (secrets from memory)."""
    from ...energy import local_config as lc
    f = state.fields

    def secret(name: str):
        v = state.secrets.get(name)
        return Secret(v) if v else None
    if kind == "sunspec":
        meter = f.get("meter_unit_id")
        return lc.SunSpecConfig(host=f.get("host", ""), port=int(f.get("port", 502) or 502),
                                preset=f.get("preset", "generic"), meter_unit_id=int(meter) if meter else None)
    pin = f.get("tls_fingerprint") or None
    if kind == "homewizard":
        token = secret("P1_TOKEN")
        return lc.HomeWizardConfig(url=f.get("url", ""), api="v2" if token else "v1", token=token,
                                   invert=state.inverts.get("grid", False), tls_fingerprint=pin)
    if kind == "opendtu":
        return lc.OpenDtuConfig(url=f.get("url", ""))
    if kind == "enphase":
        return lc.EnphaseConfig(url=f.get("url", ""), token=secret("ENVOY_TOKEN"), tls_fingerprint=pin)
    if kind == "sma_em":
        serial = f.get("serial")
        return lc.SmaEmConfig(interface=f.get("interface") or "0.0.0.0", serial=int(serial) if serial else None,
                              invert=state.inverts.get("grid", False))
    if kind == "powerwall":
        return lc.PowerwallConfig(url=f.get("url", ""), password=secret("POWERWALL_PASSWORD") or Secret(""),
                                  tls_fingerprint=pin)
    return lc.SonnenConfig(url=f.get("url", ""), token=secret("SONNEN_TOKEN"))


def _wanted(state: SetupState) -> list[str]:
    if state.energy_kind == "home_assistant":
        return [r for r, e in state.entities.items() if e]
    if state.energy_kind == "mqtt":
        return [r for r in FIELD_OF if state.fields.get(r)]
    from .state import MEASURES
    return list(MEASURES.get(state.energy_kind, ("pv", "grid")))


def _kw(w: float) -> str:
    return f"{abs(w) / 1000:.2f} kW"


def describe(reading: FlowReading) -> str:
    """One sentence in plain words: what the site is doing right now, by the console's signs."""
    if reading.failure:
        return f"Could not read the source: {reading.failure}"
    parts = []
    v = reading.values
    if v.get("pv") is not None:
        parts.append(f"PV {_kw(v['pv'])}")
    if v.get("house") is not None:
        parts.append(f"house {_kw(v['house'])}")
    g = v.get("grid")
    if g is not None:
        parts.append("grid 0 kW" if abs(g) < 5 else (f"importing {_kw(g)}" if g > 0 else f"exporting {_kw(g)}"))
    b = v.get("battery")
    if b is not None:
        parts.append("battery idle" if abs(b) < 5 else
                     (f"battery charging {_kw(b)}" if b > 0 else f"battery discharging {_kw(b)}"))
    soc = v.get("soc")
    if soc is not None:
        parts.append(f"SoC {soc:.0f} %")
    if not parts:
        return "No values yet: " + ("; ".join(f"{k}: {e}" for k, e in reading.errors.items()) or "nothing configured")
    return ", ".join(parts)


def balance_hint(reading: FlowReading, tolerance_w: float = 300.0) -> str:
    """Check PV + grid − battery ≈ house; when off, say which single flip would make it add up.

    The same check the engine runs live (energy/balance.py); no miners run during setup."""
    v = reading.values
    if any(v.get(r) is None for r in ("pv", "house", "grid")):
        return ""
    b = check_balance(v["pv"], v["house"], v["grid"], v.get("battery"), tolerance_w=tolerance_w)
    if b.balanced:
        return "Adds up: PV + grid − battery ≈ house."
    if b.flip is not None:
        return (f"Does not add up (off by {abs(b.gap_w) / 1000:.2f} kW); flipping {b.flip} would fix it "
                f"(press {b.flip[0]}). If your house sensor includes the miners, ignore this.")
    return (f"Does not add up (off by {abs(b.gap_w) / 1000:.2f} kW): a sensor may be missing, in the wrong "
            f"unit, or the house sensor may include other loads.")
