"""SunSpec models from the SunSpec Alliance's own definitions (the ``pysunspec2`` package's model
JSON): point offsets, types and scale factors, so a register block decodes by the published map,
and the encoder the loopback device uses writes the same map. No I/O here."""
from __future__ import annotations

import functools
import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MARKER = (0x5375, 0x6E53)          # "SunS" at the base address
END = 0xFFFF                       # model id that ends the map
# values the spec reserves for "not implemented"
# (as pysunspec2 has them: a count's is 0xFFFF like any uint16, an accumulator's is 0)
_NI = {"int16": 0x8000, "sunssf": 0x8000, "uint16": 0xFFFF, "enum16": 0xFFFF, "bitfield16": 0xFFFF,
       "acc16": 0x0000, "count": 0xFFFF, "int32": 0x80000000, "uint32": 0xFFFFFFFF, "enum32": 0xFFFFFFFF,
       "bitfield32": 0xFFFFFFFF, "acc32": 0x00000000, "int64": 1 << 63, "uint64": (1 << 64) - 1, "acc64": 0}


@dataclass(frozen=True, slots=True)
class Point:
    name: str
    type: str
    offset: int          # registers from the model's ID register
    size: int
    sf: str | int | None


@dataclass(frozen=True, slots=True)
class ModelDef:
    id: int
    label: str
    points: dict[str, Point]
    fixed_len: int                       # registers after ID and L in the fixed block
    repeat: tuple[str, dict[str, Point], int] | None = None   # (group name, points, size)


def _models_dir() -> Path:
    import sunspec2
    return Path(sunspec2.__file__).parent / "models" / "json"


@functools.lru_cache(maxsize=None)
def model_def(model_id: int) -> ModelDef | None:
    f = _models_dir() / f"model_{model_id}.json"
    if not f.exists():
        return None
    g = json.loads(f.read_text())["group"]
    points: dict[str, Point] = {}
    off = 0
    for p in g["points"]:
        size = int(p.get("size", 1))
        points[p["name"]] = Point(p["name"], p["type"], off, size, p.get("sf"))
        off += size
    repeat = None
    for sub in g.get("groups", ()):
        if sub.get("count") is not None:
            sp: dict[str, Point] = {}
            so = 0
            for p in sub["points"]:
                size = int(p.get("size", 1))
                sp[p["name"]] = Point(p["name"], p["type"], so, size, p.get("sf"))
                so += size
            repeat = (sub["name"], sp, so)
            break
    return ModelDef(model_id, g.get("label", str(model_id)), points, off - 2, repeat)


def _raw(regs: list[int], p: Point, base: int = 0) -> Any:
    r = regs[base + p.offset: base + p.offset + p.size]
    if len(r) < p.size:
        return None
    t = p.type
    if t in ("uint16", "enum16", "bitfield16", "acc16", "count", "sunssf", "int16"):
        v = r[0]
        if v == _NI.get(t):
            return None
        return v - 0x10000 if t in ("int16", "sunssf") and v >= 0x8000 else v
    if t in ("uint32", "enum32", "bitfield32", "acc32", "int32"):
        v = (r[0] << 16) | r[1]
        if v == _NI.get(t):
            return None
        return v - 0x100000000 if t == "int32" and v >= 0x80000000 else v
    if t in ("uint64", "acc64", "int64"):
        v = (r[0] << 48) | (r[1] << 32) | (r[2] << 16) | r[3]
        if v == _NI.get(t):
            return None
        return v - (1 << 64) if t == "int64" and v >= 1 << 63 else v
    if t == "float32":
        v = struct.unpack(">f", struct.pack(">HH", r[0], r[1]))[0]
        return None if math.isnan(v) else v
    if t == "string":
        b = b"".join(struct.pack(">H", x) for x in r)
        return b.split(b"\x00", 1)[0].decode("ascii", "replace").strip() or None
    return None


def decode(regs: list[int], md: ModelDef) -> dict[str, Any]:
    """Every point of the fixed block, scale factors applied ({name: value or None}); ``regs``
    starts at the model's ID register. Repeating groups come back as a list under their name."""
    def scaled(points: dict[str, Point], base: int, fixed: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, p in points.items():
            v = _raw(regs, p, base)
            if p.sf is not None and v is not None and p.type not in ("string", "float32"):
                sf = p.sf if isinstance(p.sf, int) else fixed.get(p.sf, out.get(p.sf))
                if sf is None:
                    sf = _raw(regs, points[p.sf], base) if isinstance(p.sf, str) and p.sf in points else None
                # the spec bounds scale factors to -10..10; anything else is a broken register, not 10^-32768
                v = None if sf is None or not -10 <= sf <= 10 else v * (10.0 ** sf)
            out[name] = v
        return out
    raw_sfs = {n: _raw(regs, p) for n, p in md.points.items() if p.type == "sunssf"}
    out = scaled(md.points, 0, raw_sfs)
    if md.repeat is not None:
        name, gpoints, gsize = md.repeat
        total = regs[1] if len(regs) > 1 else 0
        n = max(0, (total - md.fixed_len) // gsize) if gsize else 0
        start = md.fixed_len + 2
        out[name] = [scaled(gpoints, start + i * gsize, raw_sfs) for i in range(n)]
    return out


def encode(md: ModelDef, values: dict[str, Any], repeats: list[dict[str, Any]] | None = None) -> list[int]:
    """The model's registers (ID and L first) holding raw ``values`` (already integers in the
    point's unit × 10^-sf, or floats for float32); unset points are 'not implemented'."""
    def put(points: dict[str, Point], size: int, vals: dict[str, Any]) -> list[int]:
        regs = [0] * size
        for name, p in points.items():
            v = vals.get(name)
            if p.type == "string":
                b = (str(v) if v is not None else "").encode()[: p.size * 2].ljust(p.size * 2, b"\x00")
                regs[p.offset:p.offset + p.size] = list(struct.unpack(f">{p.size}H", b))
            elif p.type == "float32":
                f = float("nan") if v is None else float(v)
                regs[p.offset:p.offset + 2] = list(struct.unpack(">HH", struct.pack(">f", f)))
            elif p.size == 2:
                x = _NI.get(p.type, 0) if v is None else int(v) & 0xFFFFFFFF
                regs[p.offset:p.offset + 2] = [(x >> 16) & 0xFFFF, x & 0xFFFF]
            elif p.size == 1:
                regs[p.offset] = _NI.get(p.type, 0) if v is None else int(v) & 0xFFFF
        return regs
    fixed = put(md.points, md.fixed_len + 2, values)
    body = fixed
    if md.repeat is not None and repeats:
        _, gpoints, gsize = md.repeat
        for r in repeats:
            body += put(gpoints, gsize, r)
    body[0] = md.id
    body[1] = len(body) - 2
    return body
