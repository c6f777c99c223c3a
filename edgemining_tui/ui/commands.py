"""Command palette: every console action, per miner and for the whole site, by name."""
from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider


class ConsoleCommands(Provider):
    def _commands(self) -> list[tuple[str, object, str]]:
        app = self.app
        out: list[tuple[str, object, str]] = []
        st = getattr(app, "state", None)
        names = list(st.samples) if st is not None else []
        for name in names:
            out += [
                (f"Run {name} (override on)", partial(app.miner_override, name, "on"), "force it on, asks first"),
                (f"Stop {name} (override off)", partial(app.miner_override, name, "off"), "force it off, asks first"),
                (f"Set power of {name}…", partial(app.miner_set_power, name), "type watts, asks first"),
                (f"Power up {name}", partial(app.miner_step, name, +1), "one step more power, asks first"),
                (f"Power down {name}", partial(app.miner_step, name, -1), "one step less power, asks first"),
                (f"Override {name} for a duration…", partial(app.miner_override_for, name),
                 "on / off / watts for 2h, until 18:00, until sunset"),
                (f"Release {name} (back to automatic)", partial(app.miner_release, name), "asks first"),
                (f"Details of {name}", partial(app.open_detail, name), "boards, pools, errors, commands"),
            ]
        out += [
            ("Pause automation", partial(app.site_pause, True), "nothing is commanded until resumed"),
            ("Resume automation", partial(app.site_pause, False), ""),
            ("Observe only: on", partial(app.site_observe, True), "decide and show, never command"),
            ("Observe only: off", partial(app.site_observe, False), ""),
            ("Release all overrides", partial(app.miner_release, "*"), "every miner back to automatic"),
            ("Force a cycle now", app.action_force_cycle, "read, decide and act now"),
            ("Reload config", app.action_reload_config, "re-read the config file"),
        ]
        from ..policy.config import MODES
        for mode in MODES:
            out.append((f"Switch policy: {mode}", partial(app.site_policy, mode), "asks first"))
        for theme in sorted(app.available_themes):
            if theme.startswith("edgemining"):
                out.append((f"Theme: {theme}", partial(setattr, app, "theme", theme), ""))
        for pid, title in app.PANELS:
            out.append((f"Show {title}", partial(app.action_show_panel, pid), ""))
        out.append(("Keys (help)", app.action_help, "every key and its binding id"))
        return out

    async def discover(self) -> Hits:
        for text, cb, help_text in self._commands():
            yield DiscoveryHit(text, cb, help=help_text or None)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, cb, help_text in self._commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), cb, help=help_text or None)
