"""Read a YAML file with limits and the line of every key path; every problem is a ConfigError
with file and line (config/loader.py fills dataclasses from what this reads).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError


class Located:
    """A loaded YAML document: plain Python values plus the line of every key path."""

    def __init__(self, data: Any, lines: dict[tuple, int], file: str) -> None:
        self.data = data
        self.lines = lines
        self.file = file

    def line_of(self, path: tuple) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)    # an empty document: its first line


# Limits on what a YAML file may expand to: an alias bomb ("billion laughs") is a few hundred
# bytes that expand to billions of nodes, a recursive alias never ends, and deep nesting exhausts
# the stack. Real configs have a few hundred nodes and nest less than 10 deep.
MAX_DEPTH = 64
MAX_NODES = 20_000

# libyaml (PyYAML's C extension) scans ~30x faster than the pure-Python loader; both are used the
# same way: a flat pass over the events checks depth and size before anything recursive runs.
_LOADER = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader


def _check_events(text: str, file: str) -> None:
    """Depth and node count from the event stream (iterative: 5,000 nested [ cost nothing)."""
    loader = _LOADER(text)
    depth = nodes = 0
    try:
        while loader.check_event():
            ev = loader.get_event()
            if isinstance(ev, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise ConfigError(f"nested more than {MAX_DEPTH} levels deep", file, ev.start_mark.line + 1)
            elif isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
            if isinstance(ev, yaml.NodeEvent):
                nodes += 1
                if nodes > MAX_NODES:
                    raise ConfigError(f"more than {MAX_NODES} values: far more than any config or rules file",
                                      file, ev.start_mark.line + 1)
    finally:
        loader.dispose()


_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


class _Expand:
    """Turns composed nodes into plain values, counting every node an alias expands to."""

    def __init__(self, file: str, lines: dict[tuple, int]) -> None:
        self.file = file
        self.lines = lines
        self.nodes = 0
        self.constructor = yaml.constructor.SafeConstructor()

    def node(self, node: yaml.Node, path: tuple) -> Any:
        line = node.start_mark.line + 1
        self.nodes += 1
        if self.nodes > MAX_NODES:
            # an aliased node carries its anchor's line: name the top-level key it sits under
            raise ConfigError(f"the document expands to more than {MAX_NODES} values "
                              "(aliases repeating aliases?)", self.file, self.lines.get(path[:1], line),
                              _dotted(path[:1]) or None)
        if len(path) > MAX_DEPTH:
            raise ConfigError(f"nested more than {MAX_DEPTH} levels deep (an alias that contains itself?)",
                              self.file, self.lines.get(path[:1], line), _dotted(path[:1]) or None)
        self.lines.setdefault(path, line)
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _PLAIN_TAGS:
            raise ConfigError(f"YAML tag {node.tag!r} is not supported (plain mappings and lists only)",
                              self.file, line, _dotted(path) or None)
        if isinstance(node, yaml.MappingNode):
            out: dict = {}
            for k_node, v_node in node.value:
                if not isinstance(k_node, yaml.ScalarNode):
                    raise ConfigError("a key must be a plain name", self.file, k_node.start_mark.line + 1,
                                      _dotted(path) or None)
                key = self.scalar(k_node, path)
                if key in out:
                    raise ConfigError(f"duplicate key '{key}'", self.file, k_node.start_mark.line + 1,
                                      _dotted(path + (key,)))
                self.lines[path + (key,)] = k_node.start_mark.line + 1
                out[key] = self.node(v_node, path + (key,))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.node(n, path + (i,)) for i, n in enumerate(node.value)]
        return self.scalar(node, path)

    def scalar(self, node: yaml.Node, path: tuple) -> Any:
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as e:
            mark = e.problem_mark or node.start_mark
            raise ConfigError(f"YAML error: {e.problem}", self.file, mark.line + 1, _dotted(path) or None) from None
        except (ValueError, TypeError, OverflowError) as e:
            # e.g. the date 2024-13-45, or an integer of 5000 digits
            raise ConfigError(f"cannot read {node.value[:40]!r}: {str(e).split(': ')[0]}", self.file, node.start_mark.line + 1,
                              _dotted(path) or None) from None


def _dotted(path: tuple) -> str:
    out = ""
    for p in path:
        if isinstance(p, bool):   # an unquoted on/yes key: show it as YAML read it
            p = str(p).lower()
        p = p if isinstance(p, int) else _short(str(p), 40, quote=False)   # a 100 KB key stays one line
        out += f"[{p}]" if isinstance(p, int) else (("." if out else "") + p)
    return out


def read_yaml(path: str | Path, text: str | None = None) -> Located:
    """Parse a YAML file (or ``text`` shown as ``path``) with limits; ConfigError with file:line."""
    from .safeio import MAX_YAML_BYTES, InputError, line_at, read_text
    file = str(path)
    if text is None:
        try:
            text = read_text(path, MAX_YAML_BYTES, "YAML file")
        except InputError as e:
            raise ConfigError(e.message, file, e.line) from None
    elif len(text) > MAX_YAML_BYTES:
        raise ConfigError(f"more than the {MAX_YAML_BYTES // 1024} KB a YAML file may be", file)
    if "\0" in text:        # libyaml stops at a NUL without saying where: say it
        line, col = line_at(text, text.index("\0"))
        raise ConfigError(f"a NUL byte at line {line}, column {col} is not allowed in YAML", file, line)
    try:
        _check_events(text, file)
        loader = _LOADER(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.reader.ReaderError as e:
        # a NUL or another control character: PyYAML gives only a character position
        line, col = line_at(text, e.position)
        code = ord(e.character) if isinstance(e.character, str) else int(e.character)
        what = "a NUL byte" if code == 0 else f"the control character #x{code:04x}"
        raise ConfigError(f"{what} at line {line}, column {col} is not allowed in YAML", file, line) from None
    except yaml.MarkedYAMLError as e:
        # at the end of the stream libyaml points one line past the last one: name the last line
        line = min(e.problem_mark.line + 1, text.count("\n") + 1) if e.problem_mark else None
        context = f" ({e.context})" if e.context else ""
        raise ConfigError(f"YAML syntax error: {e.problem or e}{context}", file, line) from None
    except yaml.YAMLError as e:
        raise ConfigError(f"YAML error: {e}", file) from None
    lines: dict[tuple, int] = {}
    if node is None:
        return Located({}, lines, file)
    data = _Expand(file, lines).node(node, ())
    return Located(data, lines, file)


def _short(v: Any, n: int = 60, quote: bool = True) -> str:
    text = repr(v) if quote else str(v)
    return text if len(text) <= n else text[:n - 3] + "..."
