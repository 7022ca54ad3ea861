"""The availability chart behind /charts/availability-7d.png, drawn once per scope.

A draw takes 0.3–1 s of CPU. The URL is public (Slack shows the chart by its URL), so
caching by the raw `?scope=` string let anyone force a fresh draw per request with a new
spelling, and slowed every other reply of the process. The cache is keyed by what the
scope resolves to (the service ids, or everything), holds a bounded number of charts,
and draws one at a time: concurrent requests for one new scope share its single draw.
Each process keeps its own; a chart five minutes old on one replica is as good as
another's.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

#: the service ids a scope resolves to; None is every service
ScopeKey = tuple[str, ...] | None


@dataclass
class CacheStats:
    hits: int = 0
    draws: int = 0


class ChartCache:
    """An LRU of at most `size` charts, each fresh for `max_age` seconds. A chart may be
    None (nothing to draw: no monitored service in the scope); that is cached too."""

    def __init__(
        self,
        size: int = 64,
        max_age: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.size = size
        self.max_age = max_age
        self.clock = clock
        self.stats = CacheStats()
        self._charts: OrderedDict[ScopeKey, tuple[float, bytes | None]] = OrderedDict()
        self._drawing = asyncio.Lock()  # matplotlib draws are CPU-bound: one at a time

    def __len__(self) -> int:
        return len(self._charts)

    def _fresh(self, key: ScopeKey) -> tuple[bool, bytes | None]:
        entry = self._charts.get(key)
        if entry is None or self.clock() - entry[0] >= self.max_age:
            return False, None
        self._charts.move_to_end(key)
        return True, entry[1]

    async def get(self, key: ScopeKey, draw: Callable[[], bytes | None]) -> bytes | None:
        """The chart of `key`, drawn in a worker thread when missing or stale."""
        found, png = self._fresh(key)
        if found:
            self.stats.hits += 1
            return png
        async with self._drawing:
            found, png = self._fresh(key)  # drawn while this request waited
            if found:
                self.stats.hits += 1
                return png
            png = await asyncio.to_thread(draw)
            self.stats.draws += 1
            self._charts[key] = (self.clock(), png)
            self._charts.move_to_end(key)
            while len(self._charts) > self.size:
                self._charts.popitem(last=False)
            return png
