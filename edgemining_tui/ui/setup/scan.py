"""Find miners on a subnet for the wizard, through ``miners.scan.scan`` (pyasic's identification).

A scanner is ``async (subnet: str) -> list[FoundMiner]``; the app takes one as a parameter, so tests
and other front ends can inject their own (the seam).
"""
from __future__ import annotations

import ipaddress
import logging
import re
import socket
from typing import Any, Awaitable, Callable

from .state import FoundMiner

log = logging.getLogger("edgemining_tui.setup.scan")

Scanner = Callable[[str], Awaitable[list[FoundMiner]]]
MAX_HOSTS = 1024          # a /22 at most: scanning a /16 from a Pi takes minutes and looks like an attack


def own_subnet() -> str:
    """The /24 of this machine's outbound address (no packet is sent), or 192.168.1.0/24."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("192.0.2.1", 9))          # TEST-NET-1: routing decides the source address
        ip = s.getsockname()[0]
    except OSError:
        return "192.168.1.0/24"
    finally:
        s.close()
    if ip.startswith("127.") or ip == "0.0.0.0":
        return "192.168.1.0/24"
    return str(ipaddress.ip_network(f"{ip}/24", strict=False))


def parse_subnet(text: str) -> ipaddress.IPv4Network:
    """A subnet ("192.168.1.0/24"), a range's start ("192.168.1.0") or a single host; ValueError if not."""
    text = text.strip()
    if not text:
        raise ValueError("type a subnet like 192.168.1.0/24")
    try:
        net = ipaddress.ip_network(text if "/" in text else f"{text}/32", strict=False)
    except ValueError:
        raise ValueError(f"not a subnet: {text!r} (expected e.g. 192.168.1.0/24)") from None
    if not isinstance(net, ipaddress.IPv4Network):
        raise ValueError("only IPv4 subnets can be scanned (pyasic talks IPv4)")
    if net.num_addresses > MAX_HOSTS:
        raise ValueError(f"{net} has {net.num_addresses} addresses; scan at most a /22 at a time")
    return net


def slug(text: str) -> str:
    s = re.sub(r"\(.*?\)", "", text or "").strip().lower()
    s = re.sub(r"[^a-z0-9]+", "-", s).strip("-")
    return s or "miner"


def control_text(caps: Any) -> tuple[str, float | None, float | None, bool]:
    """(one-line description, min W, max W, monitor only) from a Capabilities-like object."""
    if caps is None:
        return "unknown", None, None, False
    monitor = bool(getattr(caps, "monitor_only", False))
    lo = getattr(caps, "min_w", None) or None
    hi = getattr(caps, "max_w", None) or None
    levels = tuple(getattr(caps, "levels", ()) or ())
    if monitor:
        return "monitor only", lo, hi, True
    if getattr(caps, "power_target", False):
        step = getattr(caps, "step_w", 0) or 0
        return f"power target{f' step {step:.0f} W' if step else ''}", lo, hi, False
    if levels:
        lo = min(lv.watts for lv in levels)
        return "levels " + "/".join(lv.name for lv in levels), lo, hi, False
    if getattr(caps, "on_off", False):
        return "on/off", lo, hi, False
    return "monitor only", lo, hi, True


def _from_any(item: Any) -> FoundMiner:
    """Adapt whatever miners.scan returns (a dataclass or a dict) to FoundMiner."""
    get = (lambda k, d=None: item.get(k, d)) if isinstance(item, dict) else (lambda k, d=None: getattr(item, k, d))
    host = str(get("host") or get("ip") or "")
    caps = get("capabilities")
    control, lo, hi, monitor = control_text(caps) if caps is not None and not isinstance(caps, str) \
        else (str(caps or ""), None, None, False)
    lo = get("min_w", lo)
    hi = get("max_w", hi)
    family = str(get("family") or "auto")
    # a miner pyasic could not place is configured with family auto (identified again at start)
    return FoundMiner(host=host, family="auto" if family == "unknown" else family, model=str(get("model") or ""),
                      firmware=str(get("firmware") or ""), control=control or "unknown",
                      min_w=lo, max_w=hi, monitor_only=bool(get("monitor_only", monitor)))


async def default_scan(subnet: str) -> list[FoundMiner]:
    """The console's own scan (miners/scan.py), within the wizard's /22 limit."""
    parse_subnet(subnet)
    from ...miners.scan import scan
    return [_from_any(i) for i in await scan(subnet)]


def name_found(found: list[FoundMiner]) -> None:
    """Give each found miner a unique name (model + last address octet) and a priority in order."""
    taken: set[str] = set()
    for i, m in enumerate(sorted(found, key=lambda m: (m.monitor_only, ipaddress.ip_address(m.host)))):
        if not m.name:
            base = f"{slug(m.model)}-{m.host.rsplit('.', 1)[-1]}"
            name, n = base, 2
            while name in taken:
                name, n = f"{base}-{n}", n + 1
            m.name = name
        taken.add(m.name)
        if m.priority == 100:
            m.priority = i + 1
        if m.monitor_only:
            m.manage = False
