"""A site for scripts/tmux_setup_check.sh: a Home Assistant-shaped server and emulated miners on loopback.

Prints one JSON line {"url", "token", "subnet"} on stdout once everything listens, then serves until
it is terminated. The battery entity reports kW with + meaning discharge (like many inverters), so
the setup's sign check has something to flip.
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import sys

from edgemining_tui.clock import RealClock
from edgemining_tui.sim.ha_server import HomeAssistantServer
from edgemining_tui.sim.state import SiteState

TOKEN = "tmux-check-token-0123456789"
SITE = SiteState(ts=0.0, pv_w=3200.0, house_w=900.0, miners_w=0.0, battery_charge_w=1200.0,
                 battery_soc_pct=56.0, grid_import_w=-1100.0)


async def main() -> int:
    srv = await HomeAssistantServer(lambda: SITE, token=TOKEN).start()
    handle, subnet = None, ""
    try:
        from edgemining_tui.emulators.fleet import demo_specs, start_emulators
    except ImportError:
        start_emulators = None
    if start_emulators is not None:
        for i in range(8):
            base = f"127.78.{(os.getpid() + 37 * i) % 250 + 1}"
            try:
                handle = await start_emulators(demo_specs(f"{base}.0", standard_ports=True), RealClock())
                subnet = f"{base}.0/29"
                break
            except OSError:
                continue
    print(json.dumps({"url": srv.url, "token": TOKEN, "subnet": subnet}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    if handle is not None:
        await handle.stop()
    await srv.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
