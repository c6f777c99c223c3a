"""Notifications: the Notifier port, deduplication of engine events, Apprise and log channels."""
from .base import LogNotifier, MemoryNotifier, Notification, Notifier
from .config import NotifyConfig

__all__ = ["LogNotifier", "MemoryNotifier", "Notification", "Notifier", "NotifyConfig", "NotificationHub",
           "build_hub"]


def __getattr__(name: str):  # the hub imports the engine: load it only when asked for
    if name in ("NotificationHub", "build_hub"):
        from . import hub
        return getattr(hub, name)
    raise AttributeError(name)
