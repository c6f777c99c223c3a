"""The user actions the engine accepts, from the app directly or from observers through the store.

``Engine.request(action, args)`` (owner) or ``Store.send_request(action, args, ts)`` (observer).
"""
PAUSE = "pause"                # automation paused: nothing is commanded, decisions still shown
RESUME = "resume"
OBSERVE_ONLY = "observe_only"  # args: {"on": bool}
CYCLE = "cycle"                # run a cycle now
OVERRIDE = "override"          # args: {"miner": name, "mode": "on" | "off" | "power", "watts": float?,
                               #        "for_s": float? | "until": "18:00" | "sunset"}
RELEASE = "release"            # args: {"miner": name}  (or "*" for all)
SET_POLICY = "set_policy"      # args: {"mode": "surplus" | "rules" | "manual"}
RELOAD = "reload"              # re-read the config file

ALL = (PAUSE, RESUME, OBSERVE_ONLY, CYCLE, OVERRIDE, RELEASE, SET_POLICY, RELOAD)
