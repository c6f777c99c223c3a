"""Config errors carry the file, line and key so the user can fix them without a traceback."""
from __future__ import annotations


class ConfigError(Exception):
    """Bad input. The CLI prints ``str(err)`` and exits with code 2."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None,
                 key: str | None = None) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.key = key
        super().__init__(self.render())

    def render(self) -> str:
        where = self.file or "<config>"
        if self.line is not None:
            where += f":{self.line}"
        key = f" key '{self.key}':" if self.key else ""
        return f"{where}:{key} {self.message}"
