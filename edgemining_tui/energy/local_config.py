"""Config of the local energy APIs read over HTTP(S): HomeWizard P1, OpenDTU, Enphase IQ Gateway,
Tesla Powerwall 2 gateway and sonnenBatterie (docs/energy-sources.md has each one's sign table)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..config.types import Duration, Secret, bounded

Timeout = bounded(Duration, 0.1, 60)


def _check_url(url: str, key: str = "url") -> None:
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"{key}: expected an http:// or https:// address")
    from urllib.parse import urlsplit
    try:
        parts = urlsplit(url)
        parts.port
    except ValueError as e:
        raise ValueError(f"{key}: {e} in {url!r}") from None
    if not parts.hostname:
        raise ValueError(f"{key}: no host in {url!r}")


def _url(url: str) -> None:
    _check_url(url)


def _pin(url: str, fingerprint: str | None) -> None:
    if fingerprint is not None:
        from .tls_pin import normalise
        normalise(fingerprint)
        if not url.startswith("https://"):
            raise ValueError("tls_fingerprint: pins an HTTPS certificate; the url is not https://")


@dataclass(frozen=True)
class HomeWizardConfig:
    """HomeWizard P1 meter as the grid meter. ``api: v1`` (``/api/v1/data``, local API switched on
    in the app) or ``v2`` (``/api/measurement`` over HTTPS with the token the device hands out)."""

    url: str
    api: Literal["v1", "v2"] = "v1"
    token: Secret | None = None
    verify_tls: bool = False          # the P1's certificate is signed by HomeWizard's own CA
    tls_fingerprint: str | None = None   # SHA-256 of the device's certificate: trust only it
    timeout: Timeout = 3.0
    invert: bool = False

    def validate(self) -> None:
        _url(self.url)
        _pin(self.url, self.tls_fingerprint)
        if self.api == "v2" and self.token is None:
            raise ValueError("token: the v2 API needs the token the meter gave (POST /api/user after its button)")


@dataclass(frozen=True)
class OpenDtuConfig:
    """OpenDTU (Hoymiles microinverters): PV only, from ``/api/livedata/status``."""

    url: str
    timeout: Timeout = 3.0

    def validate(self) -> None:
        _url(self.url)


@dataclass(frozen=True)
class EnphaseConfig:
    """Enphase IQ Gateway (Envoy) ``/production.json`` and, where it has CT meters,
    ``/ivp/meters/readings``: PV, with consumption CTs the house and the grid, with a storage CT or
    IQ/AC Batteries the battery. Firmware 7 and later: HTTPS with a self-signed certificate and the
    owner's token."""

    url: str
    token: Secret | None = None
    verify_tls: bool = False
    tls_fingerprint: str | None = None   # SHA-256 of the gateway's certificate: trust only it
    timeout: Timeout = 5.0

    def validate(self) -> None:
        _url(self.url)
        _pin(self.url, self.tls_fingerprint)


@dataclass(frozen=True)
class PowerwallConfig:
    """Tesla Powerwall 2 / Backup Gateway 2: ``/api/meters/aggregates`` and
    ``/api/system_status/soe`` after a customer login (``/api/login/Basic``), HTTPS, self-signed."""

    url: str
    password: Secret
    email: str = "edgemining@localhost"
    verify_tls: bool = False
    tls_fingerprint: str | None = None   # SHA-256 of the gateway's certificate: trust only it
    timeout: Timeout = 5.0

    def validate(self) -> None:
        _url(self.url)
        _pin(self.url, self.tls_fingerprint)


@dataclass(frozen=True)
class SonnenConfig:
    """sonnenBatterie ``/api/v2/status`` (an API token from the dashboard's Software-Integration
    page for firmware that asks for one)."""

    url: str
    token: Secret | None = None
    timeout: Timeout = 3.0

    def validate(self) -> None:
        _url(self.url)


@dataclass(frozen=True)
class ModbusRegister:
    """One value at a plain Modbus address (``registers:``), for devices without SunSpec or for
    values SunSpec does not carry (SolarEdge's battery). ``scale`` multiplies the raw value (use
    -1 to flip a vendor's sign into ours); ``float32s`` is a float with its two words swapped."""

    field: Literal["pv", "house", "grid", "battery", "soc"]
    address: bounded(int, 0, 65535)
    type: Literal["int16", "uint16", "int32", "uint32", "float32", "float32s"] = "int16"
    scale: float = 1.0
    register: Literal["holding", "input"] = "holding"
    unit_id: bounded(int, 0, 255) | None = None


@dataclass(frozen=True)
class SunSpecConfig:
    """Modbus TCP with SunSpec (sunspec.py): the models on the device are discovered and decoded by
    the SunSpec Alliance's definitions. ``preset`` fills in what each vendor does differently."""

    host: str
    port: bounded(int, 1, 65535) = 502
    preset: Literal["generic", "solaredge", "fronius", "sma", "kostal"] = "generic"
    unit_id: bounded(int, 0, 255) | None = None        # the inverter's (preset default)
    meter_unit_id: bounded(int, 0, 255) | None = None  # a grid meter outside the inverter's map
    base_address: bounded(int, 0, 65535) | None = None  # where "SunS" is; default: 40000, then 0, 50000
    meter_invert: bool | None = None                  # the preset's default (SolarEdge: the meter counts + export)
    registers: tuple[ModbusRegister, ...] = ()
    sunspec: bool = True                              # false: only registers:
    timeout: Timeout = 3.0

    def validate(self) -> None:
        import importlib.util
        for mod, pkg in (("pymodbus", "pymodbus"), ("sunspec2", "pysunspec2")):
            if importlib.util.find_spec(mod) is None:
                raise ValueError(f"reading Modbus/SunSpec needs {pkg}: pip install 'edgemining-tui[modbus]'")
        if not self.host or "/" in self.host or " " in self.host:
            raise ValueError(f"host: expected a host name or address, got {self.host!r}")
        if not self.sunspec and not self.registers:
            raise ValueError("registers: needed when sunspec is false (nothing else to read)")


@dataclass(frozen=True)
class SmaEmConfig:
    """SMA Energy Meter / Sunny Home Manager 2.0 as the grid meter: it multicasts its readings
    (Speedwire, protocol 0x6069) to 239.12.255.254 udp/9522 every 200 ms to 1 s; we listen.

    ``interface``: the address of the network interface to listen on (default: any); ``serial``:
    the meter to use when several send on the same network (its serial number, as on its label)."""

    interface: str = "0.0.0.0"
    port: bounded(int, 0, 65535) = 9522
    group: str | None = "239.12.255.254"    # null: no multicast join (a meter set to unicast to us)
    serial: bounded(int, 0, 4294967295) | None = None
    invert: bool = False

    def validate(self) -> None:
        import ipaddress
        try:
            ipaddress.IPv4Address(self.interface)
        except ValueError:
            raise ValueError(f"interface: expected the IPv4 address of a local interface, got {self.interface!r}") from None
        if self.group is not None:
            try:
                ok = ipaddress.IPv4Address(self.group).is_multicast
            except ValueError:
                ok = False
            if not ok:
                raise ValueError(f"group: expected an IPv4 multicast address (SMA: 239.12.255.254), got {self.group!r}")
