"""The logging layer's in-memory sink (SharedLogic/MiddlewarePolicy.swift)."""

import threading
import time
from typing import NamedTuple


class LogRecord(NamedTuple):
    """One request as the logging layer records it."""
    method: str
    path: str
    status: int
    micros: int


class LogSink:
    """A count and the latest records, bounded."""

    def __init__(self, capacity: int = 1024):
        self._ring: list[LogRecord | None] = [None] * capacity
        self._next = 0
        self._count = 0
        self._lock = threading.Lock()

    def append(self, record: LogRecord) -> None:
        with self._lock:
            self._ring[self._next] = record
            self._next = (self._next + 1) % len(self._ring)
            self._count += 1

    @property
    def total(self) -> int:
        """Records appended since start-up (GET /mw/stats answers {"logged": total})."""
        return self._count


def micros_since(start: float) -> int:
    """Whole microseconds since `start`, a time.perf_counter() value."""
    return int((time.perf_counter() - start) * 1_000_000)
