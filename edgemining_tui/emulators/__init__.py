"""Loopback emulators of real miner firmware (Braiins OS+, LuxOS, Avalon Q, Bitaxe/AxeOS).

They speak the vendors' own protocols so pyasic's real code paths run in the demo, the tests and
the benchmark. Start a fleet with ``emulators.fleet.start_emulators``. ``boser`` imports pyasic
(for its protobuf classes), so it is imported lazily by the launcher.
"""
