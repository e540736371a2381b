"""The sandbox clock: the time work requests, capacity changes and throttling follow.

Two modes:

* ``real``: virtual time runs with the wall clock (plus any explicit advance).
* ``fast``: virtual time stands still except when something moves it: every API request costs
  ``request_seconds``; a client that would sleep N seconds says so (``POST /_sandbox/clock/advance``
  or the ``opc-sandbox-slept-seconds`` header) and the clock jumps N seconds; polling a resource
  whose work request is pending jumps the clock to that work request's next transition, i.e. the
  poll costs exactly the waiting a real client would have done.

Benchmarks compare clients in this virtual time, so a 60-s sleep costs 60 s without waiting 60 s.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

MODES = ("real", "fast")


class VirtualClock:
    def __init__(self, mode: str = "fast", request_seconds: float = 0.5, start: float | None = None):
        if mode not in MODES:
            raise ValueError(f"clock mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        self.request_seconds = float(request_seconds)
        # Virtual epoch seconds at start; real mode adds the wall-clock time elapsed since.
        self._start = float(start if start is not None else time.time())
        self._real_start = time.monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()
        self.advanced_by_clients = 0.0

    def now(self) -> float:
        """Virtual time as epoch seconds."""
        with self._lock:
            real = time.monotonic() - self._real_start if self.mode == "real" else 0.0
            return self._start + self._offset + real

    def elapsed(self) -> float:
        """Virtual seconds since the sandbox started."""
        return self.now() - self._start

    def advance(self, seconds: float, *, by_client: bool = False) -> float:
        if seconds < 0:
            raise ValueError("the clock cannot go backwards")
        with self._lock:
            self._offset += seconds
            if by_client:
                self.advanced_by_clients += seconds
        return self.now()

    def advance_to(self, when: float) -> float:
        """Jump forward to `when` (never backwards)."""
        delta = when - self.now()
        if delta > 0:
            self.advance(delta)
        return self.now()

    def on_request(self) -> None:
        if self.mode == "fast" and self.request_seconds:
            self.advance(self.request_seconds)

    @property
    def fast(self) -> bool:
        return self.mode == "fast"

    def iso(self, when: float | None = None) -> str:
        return iso(self.now() if when is None else when)

    def dump(self) -> dict:
        return {
            "mode": self.mode,
            "now": self.now(),
            "now_iso": self.iso(),
            "elapsed_seconds": round(self.elapsed(), 3),
            "advanced_by_clients_seconds": self.advanced_by_clients,
            "request_seconds": self.request_seconds,
        }


def iso(epoch: float) -> str:
    """RFC 3339 with milliseconds, as OCI writes timestamps."""
    stamp = dt.datetime.fromtimestamp(epoch, tz=dt.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"
