"""The site-local calendar day of a replay timestamp (day number), cheap to ask every step."""
from __future__ import annotations

import math
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


class LocalDays:
    """Local calendar day number of a timestamp, cheap to call every tick."""

    __slots__ = ("tz", "next_ts", "day")

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self.next_ts = -math.inf
        self.day = 0

    def of(self, ts: float) -> int:
        if ts >= self.next_ts:
            d = datetime.fromtimestamp(ts, self.tz)
            self.day = d.toordinal()
            midnight = datetime(d.year, d.month, d.day, tzinfo=self.tz) + timedelta(days=1)
            self.next_ts = midnight.timestamp()
        return self.day
