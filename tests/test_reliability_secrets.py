"""Secrets: only from the environment or a secrets file; never in logs, screens, exports or errors;
a warning when a file holding them is readable by group or others."""
from __future__ import annotations

import logging

import pytest

from edgemining_tui import secrets
from edgemining_tui.config import load_config

HA = ("energy:\n  source: home_assistant\n  home_assistant:\n    url: http://10.0.0.2:8123\n"
      "    token: ${HA_TOKEN}\n    grid: sensor.grid\n")


def test_secrets_file_format():
    text = ("# my secrets\n\nexport HA_TOKEN=abc.def-123\nBOS_PASSWORD='pa ss#word'\n"
            'NTFY="ntfys://ntfy.sh/topic"\nPLAIN=value # trailing comment\n')
    assert secrets.parse_secrets(text) == {"HA_TOKEN": "abc.def-123", "BOS_PASSWORD": "pa ss#word",
                                           "NTFY": "ntfys://ntfy.sh/topic", "PLAIN": "value"}


def test_token_from_secrets_file_key_and_env_wins(tmp_path):
    f = tmp_path / "secrets.env"
    f.write_text("HA_TOKEN=from-file-token-1\n")
    f.chmod(0o600)
    cfg = load_config(tmp_path / "c.yaml", text=f"secrets_file: {f}\n" + HA, env={})
    assert cfg.energy.home_assistant.token == "from-file-token-1"
    assert "from-file-token-1" not in repr(cfg.energy.home_assistant)
    cfg = load_config(tmp_path / "c.yaml", text=f"secrets_file: {f}\n" + HA, env={"HA_TOKEN": "from-env-token-2"})
    assert cfg.energy.home_assistant.token == "from-env-token-2"
    # a relative secrets_file is relative to the config file
    c = tmp_path / "conf.yaml"
    c.write_text("secrets_file: secrets.env\n" + HA)
    c.chmod(0o600)
    assert load_config(c, env={}).energy.home_assistant.token == "from-file-token-1"


def test_default_secrets_file(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("HA_TOKEN", raising=False)
    d = tmp_path / "edgemining-tui"
    d.mkdir()
    (d / "secrets.env").write_text("HA_TOKEN=default-file-token-3\n")
    (d / "secrets.env").chmod(0o600)
    cfg = load_config(tmp_path / "c.yaml", text=HA)
    assert cfg.energy.home_assistant.token == "default-file-token-3"
    assert secrets.redact("token default-file-token-3 here") == "token *** here"


def test_permission_warnings(tmp_path, caplog):
    f = tmp_path / "secrets.env"
    f.write_text("HA_TOKEN=perm-token-4\n")
    f.chmod(0o644)
    c = tmp_path / "config.yaml"
    c.write_text(f"secrets_file: {f}\n" + HA)
    c.chmod(0o644)
    with caplog.at_level(logging.WARNING, "edgemining_tui.config"):
        load_config(c, env={})
    msgs = [r.getMessage() for r in caplog.records]
    assert any("secrets.env holds secrets and is readable by group/others (mode 0644)" in m and "chmod 600" in m
               for m in msgs), msgs
    assert not any("in clear" in m for m in msgs), "a config with only ${NAME} references is fine"
    caplog.clear()
    f.chmod(0o600)
    c.write_text(HA.replace("${HA_TOKEN}", "literal-token-in-config-5"))
    with caplog.at_level(logging.WARNING, "edgemining_tui.config"):
        load_config(c, env={})
    msgs = [r.getMessage() for r in caplog.records]
    assert any("a secret in clear (energy.home_assistant.token), and " in m and "config.yaml is readable" in m
               for m in msgs), msgs
    assert not any("literal-token-in-config-5" in m for m in msgs)
    caplog.clear()
    c.chmod(0o600)
    with caplog.at_level(logging.WARNING, "edgemining_tui.config"):
        load_config(c, env={})
    assert not caplog.records


def test_config_secrets_are_redacted_everywhere(tmp_path, caplog):
    cfg = load_config(tmp_path / "c.yaml", text=HA, env={"HA_TOKEN": "cfg-secret-token-6"})
    assert str(cfg.energy.home_assistant.token) == "cfg-secret-token-6"
    secrets.install_redaction()
    log = logging.getLogger("edgemining_tui.test")
    with caplog.at_level(logging.INFO):
        log.info("calling HA with %s", cfg.energy.home_assistant.token)
        try:
            raise RuntimeError("401 for token cfg-secret-token-6")
        except RuntimeError:
            log.exception("read failed")
    text = caplog.text
    assert "cfg-secret-token-6" not in text and text.count("***") >= 2
    assert "RuntimeError" in text, "the traceback is kept, redacted"


@pytest.mark.parametrize("raw,clean", [
    ("http://admin:hunter2@10.0.0.5/api", "http://admin:***@10.0.0.5/api"),
    ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abc", "Authorization: Bearer ***"),
    ("GET /x?token=abcdef&x=1", "GET /x?token=***&x=1"),
    ('{"password": "swordfish"}', '{"password": "***"}'),
    ("nothing secret here: 1500 W", "nothing secret here: 1500 W"),
])
def test_credential_patterns_are_masked_even_unregistered(raw, clean):
    assert secrets.redact(raw) == clean


def test_env_secrets_by_name(monkeypatch):
    monkeypatch.setenv("MY_POOL_PASSWORD", "env-pool-pass-7")
    secrets.register_env_secrets()
    assert secrets.redact("pw env-pool-pass-7") == "pw ***"


def test_short_values_are_not_registered():
    secrets.register("ab")      # masking "ab" everywhere would garble every message
    assert secrets.redact("about") == "about"


def test_engine_event_messages_are_redacted(tmp_path):
    import asyncio
    from edgemining_tui.clock import VirtualClock
    from edgemining_tui.engine.engine import Engine
    from edgemining_tui.engine.events import Event
    from edgemining_tui.policy.simple import SimpleDecider

    secrets.register("event-secret-8")
    seen = []
    eng = Engine(clock=VirtualClock(), source=None, fleet=None, decider=SimpleDecider(), miners=[])
    eng.subscribe(seen.append)
    eng.event("fault", "miner said event-secret-8")
    assert isinstance(seen[0], Event) and seen[0].message == "miner said ***"
    asyncio.run(asyncio.sleep(0))



def test_miner_and_sensor_error_text_is_redacted_before_the_ui_sees_it():
    """A driver's error quotes what the miner or a library said; the fleet masks secrets in it before
    it reaches the fleet panel, the decision reasons and the history."""
    import asyncio
    from edgemining_tui.clock import VirtualClock
    from edgemining_tui.energy.snapshot import missing
    from edgemining_tui.miners.fleet import Fleet
    from edgemining_tui.miners.model import Capabilities, MinerSample, MinerState

    secrets.register("miner-pass-77")

    class Talkative:
        name = "m"
        capabilities = Capabilities(on_off=True, max_w=1000)

        def __init__(self, boom: bool) -> None:
            self.boom = boom

        async def read(self):
            if self.boom:
                raise RuntimeError("POST http://root:miner-pass-77@10.0.0.5/api failed")
            return MinerSample("m", 0.0, MinerState.FAULT, error="login miner-pass-77 refused")

        async def close(self):
            pass

    for boom, shown in ((False, "login *** refused"), (True, "driver error")):
        fleet = Fleet([Talkative(boom)], VirtualClock())
        s = asyncio.run(fleet.read("m"))
        assert "miner-pass-77" not in s.error and shown in s.error
    assert "miner-pass-77" not in missing(0.0, "ha", "401 for token miner-pass-77").error


def test_permission_warnings_name_file_line_and_key(tmp_path):
    """`check` prints warnings as it prints errors: file:line: warning: key '...': never "<config>:"."""
    f = tmp_path / "secrets.env"
    f.write_text("HA_TOKEN=perm-token-7\n")
    f.chmod(0o644)
    c = tmp_path / "config.yaml"
    c.write_text(f"secrets_file: {f}\n" + HA.replace("${HA_TOKEN}", "literal-token-in-config-8"))
    c.chmod(0o644)
    found: list = []
    load_config(c, env={}, warnings=found)
    texts = [str(w) for w in found]
    assert not any(t.startswith("<config>") for t in texts), texts
    assert any(t.startswith(f"{c}:1: warning: key 'secrets_file': {f} holds secrets") for t in texts), texts
    # the token is on line 6 (secrets_file, energy, source, home_assistant, url, token)
    assert any(t.startswith(f"{c}:6: warning: key 'energy.home_assistant.token': a secret in clear "
                            f"(energy.home_assistant.token), and {c} is readable") for t in texts), texts
    # as the log shows it (its redaction masks what follows "token': "): the path stays readable
    secrets.install_redaction()
    shown = [secrets.redact(t) for t in texts]
    assert any(f"and {c} is readable" in t for t in shown), shown
