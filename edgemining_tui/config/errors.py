"""Config errors carry the file, line and key so the user can fix them without a traceback.

One bad input may have many problems: the loaders collect them and raise one ``ConfigErrors``
(a ConfigError whose ``problems`` lists each), so ``check`` shows them all in one run.
Warnings are a plain list the caller passes in; anything with a ``str()`` of ``file:line: warning: ...``
may go in it (``ConfigWarning`` here, the rules loader's ``LoadWarning``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable


def _where(file: str | None, line: int | None) -> str:
    where = file or "<config>"
    if line is not None:
        where += f":{line}"
    return where


class ConfigError(Exception):
    """Bad input. The CLI prints each of ``problems`` and exits with code 2."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None,
                 key: str | None = None) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.key = key
        super().__init__(self.render())

    def render(self) -> str:
        key = f" key '{self.key}':" if self.key else ""
        return f"{_where(self.file, self.line)}:{key} {self.message}"

    @property
    def problems(self) -> list["ConfigError"]:
        return [self]


class ConfigErrors(ConfigError):
    """Several problems found in one pass; ``str()`` is one line per problem, the first one's fields."""

    def __init__(self, problems: Iterable[ConfigError]) -> None:
        flat: list[ConfigError] = []
        seen: set[str] = set()
        for p in problems:
            for q in p.problems:
                text = q.render()
                if text not in seen:       # one mistake reached by two paths is one problem
                    seen.add(text)
                    flat.append(q)
        if not flat:
            raise ValueError("ConfigErrors needs at least one problem")
        self._problems = flat
        first = flat[0]
        super().__init__(first.message, first.file, first.line, first.key)

    def render(self) -> str:
        return "\n".join(p.render() for p in self._problems)

    @property
    def problems(self) -> list[ConfigError]:
        return list(self._problems)


def raise_all(problems: list[ConfigError]) -> None:
    """Raise the problems found, if any: one ConfigError as itself, several as ConfigErrors."""
    if len(problems) == 1 and not isinstance(problems[0], ConfigErrors):
        raise problems[0]
    if problems:
        raise ConfigErrors(problems)


@dataclass(frozen=True)
class ConfigWarning:
    """Something that works but is probably not what was meant (``check --strict`` refuses it)."""

    message: str
    file: str | None = None
    line: int | None = None
    key: str | None = None

    def __str__(self) -> str:
        key = f" key '{self.key}':" if self.key else ""
        return f"{_where(self.file, self.line)}: warning:{key} {self.message}"
