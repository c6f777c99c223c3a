"""pyasic miner objects: built for a known family and model without asking the network, with the
miner's own ports and credentials, and named by their model key (for config and scan output).
pyasic itself is imported on the first call (quiet_pyasic.load).
"""
from __future__ import annotations

from typing import Any

from .config import MinerConfig
from .quiet_pyasic import load


# family -> (pyasic MinerTypes name, default model key in MINER_CLASSES)
_DIRECT = {
    "braiins": ("BRAIINS_OS", "ANTMINER S19 PRO"),
    "luxos": ("LUX_OS", "ANTMINER S19 PRO"),
    "avalon": ("AVALONMINER", "AVALON Q"),
    "bitaxe": ("BITAXE", "BM1370"),
    "antminer": ("ANTMINER", "ANTMINER S19 PRO"),
    "whatsminer": ("WHATSMINER", None),
    "vnish": ("VNISH", None),
    "epic": ("EPIC", None),
    "auradine": ("AURADINE", None),
}


def build_pyasic_miner(cfg: MinerConfig) -> Any:
    """Construct the pyasic class for a known family/model directly (no network), with custom ports."""
    load()
    from pyasic.miners.factory import MINER_CLASSES, MinerTypes

    type_name, default_model = _DIRECT[cfg.family]
    classes = MINER_CLASSES[MinerTypes[type_name]]
    key = (cfg.model or default_model or "").upper()
    cls = classes.get(key)
    if cls is None and cfg.family in ("braiins", "luxos", "antminer", "vnish"):
        cls = classes.get("ANTMINER " + key)  # let users write just "S19 Pro"
    cls = cls or classes.get(None)
    miner = cls(cfg.host)
    _apply_ports_and_credentials(miner, cfg)
    return miner


def model_key(miner: Any) -> str | None:
    """The MINER_CLASSES key of an identified miner ("ANTMINER S19 PRO", "AVALON Q"), for config."""
    load()
    from pyasic.miners.factory import MINER_CLASSES
    for classes in MINER_CLASSES.values():
        for key, cls in classes.items():
            if key is not None and type(miner) is cls:
                return key
    return None


def _apply_ports_and_credentials(miner: Any, cfg: MinerConfig) -> None:
    p = cfg.ports
    if p is not None:
        if p.rpc is not None and getattr(miner, "rpc", None) is not None:
            miner.rpc.port = p.rpc
        web = getattr(miner, "web", None)
        if web is not None:
            # BOSer's "web" client is its gRPC channel (research §2)
            grpc_like = type(web).__name__.startswith("BOSer")
            port = p.grpc if grpc_like else p.web
            if port is not None:
                web.port = port
    # set per miner: pyasic's BOSer default reads a settings key that does not exist (research §1.4)
    for client in (getattr(miner, "web", None), getattr(miner, "rpc", None)):
        if client is None:
            continue
        if cfg.username and hasattr(client, "username"):
            client.username = str(cfg.username)
        if cfg.password and hasattr(client, "pwd"):
            client.pwd = str(cfg.password)
