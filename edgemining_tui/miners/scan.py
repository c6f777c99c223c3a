"""``edgemining-tui scan 192.168.1.0/24``: find miners with pyasic's own identification, print config YAML.

The scan uses ``MinerNetwork.from_subnet(...).scan()`` (TCP ping on 80, then 4028/4029/8889,
then ``get_miner``), the same path pyasic users rely on. Each miner found is then asked for its
firmware version and, for LuxOS, its profile list, so the printed capabilities are real.
"""
from __future__ import annotations

import asyncio
import ipaddress
import re
import sys
from dataclasses import dataclass

from ..clock import RealClock
from .config import MinerConfig
from .model import Capabilities

MAX_HOSTS = 4096  # a /20; larger scans take minutes and are almost always a typo


@dataclass(frozen=True)
class ScanResult:
    host: str
    family: str
    model: str | None      # for display, e.g. "S19 Pro (BOS+)"
    model_key: str | None  # for config, e.g. "ANTMINER S19 PRO"
    make: str | None
    firmware: str | None
    capabilities: Capabilities


def parse_subnet(subnet: str) -> ipaddress.IPv4Network:
    try:
        net = ipaddress.ip_network(subnet.strip(), strict=False)
    except ValueError:
        raise ValueError(f"not a subnet: {subnet!r} (expected something like 192.168.1.0/24)") from None
    if not isinstance(net, ipaddress.IPv4Network):
        raise ValueError("only IPv4 subnets can be scanned (miners do not speak IPv6)")
    if net.num_addresses > MAX_HOSTS:
        raise ValueError(f"{subnet} has {net.num_addresses} addresses; scan at most a /20 at a time")
    return net


async def scan(subnet: str, timeout: float = 60.0) -> list[ScanResult]:
    """Identify every miner on the subnet. Raises ValueError for a bad subnet; otherwise never raises."""
    net = parse_subnet(subnet)
    from .pyasic_driver import PyasicDriver, model_key
    from .quiet_pyasic import load
    load()
    from pyasic.network import MinerNetwork

    hosts = [str(h) for h in (net.hosts() if net.num_addresses > 2 else net)]
    try:
        miners = await asyncio.wait_for(MinerNetwork.from_list(hosts).scan(), timeout)
    except Exception:  # noqa: BLE001  (timeout or network trouble: report what we have, i.e. nothing)
        miners = []

    async def describe(m) -> ScanResult:
        d = PyasicDriver(MinerConfig(name=str(m.ip), host=str(m.ip)), RealClock())
        try:
            await asyncio.wait_for(d.adopt(m), 10)
        except Exception:  # noqa: BLE001
            pass
        return ScanResult(str(m.ip), d.family or "unknown", getattr(m, "model", None), model_key(m),
                          getattr(m, "make", None), d.firmware, d.capabilities)

    results = await asyncio.gather(*(describe(m) for m in miners))
    return sorted(results, key=lambda r: tuple(int(x) for x in r.host.split(".")))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def format_scan(results: list[ScanResult]) -> str:
    """YAML ready to paste under ``miners:`` in the config (capabilities as detected; edit to taste)."""
    if not results:
        return "# no miners found\nminers: []\n"
    lines = ["miners:"]
    for r in results:
        name = _slug(f"{r.model or r.family}-{r.host.split('.')[-1]}")
        c = r.capabilities
        lines.append(f"  - name: {name}")
        lines.append(f"    host: {r.host}")
        lines.append(f"    family: {r.family if r.family != 'unknown' else 'auto'}")
        if r.model_key:
            lines.append(f"    model: \"{r.model_key}\"")
        what = " ".join(x for x in (r.make, r.model) if x) or r.family
        lines.append(f"    # {what}, firmware {r.firmware or 'unknown'}")
        if c.monitor_only or not c.controllable:
            lines.append("    # pyasic can read this miner but not control it")
            lines.append("    capabilities: {monitor_only: true}")
        else:
            parts = [f"on_off: {'true' if c.on_off else 'false'}"]
            if c.power_target:
                parts += [f"min_w: {c.min_w:.0f}W", f"max_w: {c.max_w:.0f}W", f"step_w: {c.step_w:.0f}W"]
                lines.append("    # check min_w/max_w against your model's allowed power-target range")
            lines.append("    capabilities:")
            for p in parts:
                lines.append(f"      {p}")
            if c.levels:
                lines.append("      levels:")
                for lv in c.levels:
                    lines.append(f"        - {{name: \"{lv.name}\", watts: {lv.watts:.0f}W}}")
        if r.family == "braiins":
            lines.append("    password: ${MINER_PASSWORD:-root}   # Braiins OS+ web/gRPC password")
        lines.append("    priority: 100")
    return "\n".join(lines) + "\n"


def run_scan_cli(subnet: str, timeout: float = 120.0) -> int:
    """Entry point for ``edgemining-tui scan SUBNET``: 0 on success, 2 for a bad subnet."""
    try:
        parse_subnet(subnet)
    except ValueError as e:
        print(f"edgemining-tui scan: {e}", file=sys.stderr)
        return 2
    print(f"# scanning {subnet} ...", file=sys.stderr)
    try:
        results = asyncio.run(scan(subnet, timeout))
    except KeyboardInterrupt:
        print("edgemining-tui scan: interrupted", file=sys.stderr)
        return 130
    sys.stdout.write(format_scan(results))
    print(f"# {len(results)} miner(s) found", file=sys.stderr)
    return 0
