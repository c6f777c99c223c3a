"""Trace CSV → columns, with the file and line of every problem.

Format (see docs/backtest.md)::

    timestamp,pv_w,load_w[,temp_out_c][,price_import][,price_export][,pv_forecast_w]
    2024-05-13T00:00:00+02:00,0,412.5,9.1,0.31,0.08

- ``timestamp``: ISO 8601 with a UTC offset (``+02:00`` or ``Z``); a naive time is refused,
  because "which hour was that?" is the whole point of a replay.
- ``pv_w`` (≥ 0) and ``load_w`` (≥ 0, the house *without* the miners), watts; required in every row.
- ``temp_out_c``, ``price_import``, ``price_export``: optional columns; an empty cell is "unknown".
- ``pv_forecast_w``: optional, what a PV forecast predicted for that step (W), e.g. recorded from
  Forecast.Solar or Solcast; the forecast battery reserve replays it (backtest/forecast.py).
- Rows in time order at one fixed step between 10 s and 15 min; a gap, a changed step or a
  step back in time is an error naming the line. Other columns are ignored.

Each row's values hold from its timestamp for one step (the row covers ``[ts, ts + step)``).
"""
from __future__ import annotations

import csv
import io
import math
from array import array
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Iterable, Sequence

REQUIRED = ("timestamp", "pv_w", "load_w")
OPTIONAL = ("temp_out_c", "price_import", "price_export", "pv_forecast_w")
MIN_STEP_S = 10.0
MAX_STEP_S = 900.0
_STEP_TOL_S = 0.001


class TraceError(Exception):
    """A bad trace. The CLI prints ``str(err)`` (``file:line: message``) and exits 2."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None) -> None:
        self.message = message
        self.file = file
        self.line = line
        where = file or "<trace>"
        if line is not None:
            where += f":{line}"
        super().__init__(f"{where}: {message}")


@dataclass
class Trace:
    """A site trace as columns (``array('d')``; optional columns may hold NaN for unknown)."""

    ts0: float                      # epoch seconds of the first row
    step_s: float
    pv_w: Sequence[float]
    load_w: Sequence[float]
    temp_out_c: Sequence[float] | None = None
    price_import: Sequence[float] | None = None
    price_export: Sequence[float] | None = None
    pv_forecast_w: Sequence[float] | None = None
    utc_offset_s: float = 0.0       # the first row's offset, for display
    source: str = "<memory>"
    ignored_columns: tuple[str, ...] = field(default=())

    def __len__(self) -> int:
        return len(self.pv_w)

    @property
    def duration_s(self) -> float:
        return len(self) * self.step_s

    @property
    def end_ts(self) -> float:
        return self.ts0 + self.duration_s

    def slice(self, start: int, stop: int) -> "Trace":
        def cut(col):
            return None if col is None else col[start:stop]
        return Trace(self.ts0 + start * self.step_s, self.step_s, self.pv_w[start:stop],
                     self.load_w[start:stop], cut(self.temp_out_c), cut(self.price_import),
                     cut(self.price_export), cut(self.pv_forecast_w), self.utc_offset_s, self.source,
                     self.ignored_columns)


def _num(text: str, col: str, file: str, line: int, required: bool) -> float:
    s = text.strip()
    if not s:
        if required:
            raise TraceError(f"column {col}: a value is required", file, line)
        return math.nan
    try:
        v = float(s)
    except ValueError:
        raise TraceError(f"column {col}: not a number: {text!r}", file, line) from None
    if not math.isfinite(v):
        raise TraceError(f"column {col}: not a finite number: {text!r}", file, line)
    return v


def _ts(text: str, file: str, line: int) -> tuple[float, float]:
    try:
        dt = datetime.fromisoformat(text.strip())
    except ValueError:
        raise TraceError(f"column timestamp: not an ISO 8601 time: {text!r} "
                         "(expected e.g. 2024-05-13T12:00:00+02:00)", file, line) from None
    off = dt.utcoffset()
    if off is None:
        raise TraceError(f"column timestamp: {text!r} has no UTC offset "
                         "(write it as 2024-05-13T12:00:00+02:00 or ...Z)", file, line)
    return dt.timestamp(), off.total_seconds()


def parse_trace(path: str | Path, text: str | None = None) -> Trace:
    """Read and check a trace; raises TraceError with file and line. Nothing is half-read."""
    from ..config.safeio import MAX_TRACE_BYTES, InputError, open_bounded
    file = str(path)
    if text is None:
        try:
            with open_bounded(path, MAX_TRACE_BYTES, "CSV trace") as raw:
                fh = io.TextIOWrapper(io.BufferedReader(raw), encoding="utf-8-sig", newline="")
                return _parse(fh, file)
        except InputError as e:
            raise TraceError(e.message, file, e.line) from None
        except UnicodeDecodeError as e:
            raise TraceError(*_where_undecodable(path, e)) from None
        except OSError as e:
            raise TraceError(f"cannot read file: {e.strerror or e}", file) from None
    return _parse(io.StringIO(text, newline=""), file)


def _where_undecodable(path: str | Path, err: UnicodeDecodeError) -> tuple[str, str, int | None]:
    """The decoder reads ahead in chunks: read the bytes again to name the line of the bad byte."""
    from ..config.safeio import MAX_TRACE_BYTES, InputError, decode_text, open_bounded
    try:
        with open_bounded(path, MAX_TRACE_BYTES, "CSV trace") as raw:
            decode_text(raw.read().replace(b"\0", b" "), "CSV trace")
    except InputError as e:
        return e.message, str(path), e.line
    return f"not UTF-8 text: {err.reason}", str(path), None


MAX_LINE = 4096      # a row of every column is under 200 characters; a 20 MB line of commas is not a row


def _lines(fh, file: str) -> Iterable[str]:
    """The file's lines, each read with a bound (csv would split a line of 20 million commas)."""
    n = 0
    while True:
        line = fh.readline(MAX_LINE + 1)
        if not line:
            return
        n += 1
        if len(line) > MAX_LINE and not line.endswith("\n"):
            raise TraceError(f"line longer than {MAX_LINE} characters: not a trace row", file, n)
        yield line


def _parse(fh, file: str) -> Trace:
    reader = csv.reader(_lines(fh, file))
    try:
        header = next(reader)
    except StopIteration:
        raise TraceError("empty file (expected a header: timestamp,pv_w,load_w,...)", file, 1) from None
    except csv.Error as e:
        raise TraceError(f"CSV error: {e}", file, 1) from None
    names = [h.strip() for h in header]
    seen: set[str] = set()
    for i, n in enumerate(names):
        if n in seen and n in REQUIRED + OPTIONAL:
            raise TraceError(f"header: column {n!r} appears twice", file, 1)
        seen.add(n)
    missing_cols = [c for c in REQUIRED if c not in names]
    if missing_cols:
        raise TraceError(f"header: missing column{'s' if len(missing_cols) > 1 else ''} "
                         f"{', '.join(missing_cols)} (found: {', '.join(n for n in names if n) or 'nothing'}; "
                         f"required: {', '.join(REQUIRED)})", file, 1)
    i_ts, i_pv, i_load = (names.index(c) for c in REQUIRED)
    opt = {c: names.index(c) for c in OPTIONAL if c in names}
    ignored = tuple(n for n in names if n and n not in REQUIRED and n not in OPTIONAL)
    width = len(names)
    pv = array("d")
    load = array("d")
    cols = {c: array("d") for c in opt}
    ts0 = prev = None
    step = None
    offset0 = 0.0
    line = 1
    try:
        for row in reader:
            line = reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue   # blank line
            if len(row) != width:
                raise TraceError(f"expected {width} values (as in the header), got {len(row)}", file, line)
            t, off = _ts(row[i_ts], file, line)
            p = _num(row[i_pv], "pv_w", file, line, True)
            lo = _num(row[i_load], "load_w", file, line, True)
            if p < 0:
                raise TraceError(f"column pv_w: {p:g} W is negative (PV power is ≥ 0)", file, line)
            if lo < 0:
                raise TraceError(f"column load_w: {lo:g} W is negative (house load is ≥ 0)", file, line)
            if prev is None:
                ts0, offset0 = t, off
            else:
                d = t - prev
                if d <= 0:
                    raise TraceError(f"time goes {'backwards' if d < 0 else 'nowhere'}: {row[i_ts].strip()} "
                                     f"is {'before' if d < 0 else 'the same as'} the previous row", file, line)
                if step is None:
                    if not MIN_STEP_S - _STEP_TOL_S <= d <= MAX_STEP_S + _STEP_TOL_S:
                        raise TraceError(f"step of {d:g} s between the first rows is outside "
                                         f"{MIN_STEP_S:g} s .. {MAX_STEP_S:g} s", file, line)
                    step = d
                elif abs(d - step) > _STEP_TOL_S:
                    k = d / step
                    if d > step and abs(k - round(k)) * step <= _STEP_TOL_S:
                        raise TraceError(f"gap: {d:g} s since the previous row, {int(round(k)) - 1} row(s) "
                                         f"missing (the step is {step:g} s)", file, line)
                    raise TraceError(f"mixed step: {d:g} s since the previous row, but the trace's step "
                                     f"is {step:g} s", file, line)
            prev = t
            pv.append(p)
            load.append(lo)
            for c, i in opt.items():
                cols[c].append(_num(row[i], c, file, line, False))
    except csv.Error as e:
        raise TraceError(f"CSV error: {e}", file, reader.line_num or line) from None
    if len(pv) < 2:
        raise TraceError(f"a trace needs at least two rows to know its step (found {len(pv)})", file, line)
    return Trace(ts0=ts0, step_s=step, pv_w=pv, load_w=load, temp_out_c=cols.get("temp_out_c"),
                 price_import=cols.get("price_import"), price_export=cols.get("price_export"),
                 pv_forecast_w=cols.get("pv_forecast_w"), utc_offset_s=offset0, source=file, ignored_columns=ignored)


def write_trace(path: str | Path, trace: Trace, tz=None) -> None:
    """Write a trace as CSV (used to make the sample week; ``tz`` a tzinfo for the timestamps)."""
    from datetime import timedelta, timezone
    tz = tz or timezone(timedelta(seconds=trace.utc_offset_s))
    extra = [(c, getattr(trace, c)) for c in OPTIONAL if getattr(trace, c) is not None]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(list(REQUIRED) + [c for c, _ in extra])
        for i in range(len(trace)):
            ts = datetime.fromtimestamp(trace.ts0 + i * trace.step_s, tz).isoformat(timespec="seconds")
            row = [ts, f"{trace.pv_w[i]:.1f}", f"{trace.load_w[i]:.1f}"]
            for _, col in extra:
                v = col[i]
                row.append("" if math.isnan(v) else f"{v:.4g}")
            w.writerow(row)
