"""Per-page statistics: what a learner waits for a page, beside Locust's per-request statistics.

A page view (``PageVisit``) spans the page's requests, the concurrent ones overlapping as in the browser, so its
time is the learner's wait. Page views go to their own ``RequestStats`` (not Locust's), so the request SLOs (failure
ratio, p95 per request) keep counting requests only. Workers send their page statistics to the master with each
report; the master (or a local run) writes ``<csv prefix>_pages.csv``: page, views, failed views, requests and bytes
per view, median/p95/p99 wait.
"""

import csv
import time
from pathlib import Path

from gevent import GreenletExit
from locust.exception import StopUser
from locust.stats import RequestStats, StatsEntry, StatsError

REPORT_KEY = "openedx_pages"
METHOD = "PAGE"


class PageTotals:
    """Page waits (a RequestStats) plus requests and bytes per page, for one process."""

    def __init__(self) -> None:
        self.stats = RequestStats(use_response_times_cache=False)
        self.requests: dict[str, int] = {}

    def record(self, name: str, wait_ms: float, requests: int, size: int, error: str | None) -> None:
        self.stats.log_request(METHOD, name, wait_ms, size)
        if error:
            self.stats.log_error(METHOD, name, error)
        self.requests[name] = self.requests.get(name, 0) + requests

    # -- distributed: a worker's delta since its last report, merged on the master
    def drain(self) -> dict:
        entries = [e.get_stripped_report() for e in self.stats.entries.values()]
        errors = {k: e.serialize() for k, e in self.stats.errors.items()}
        self.stats.errors.clear()
        requests, self.requests = self.requests, {}
        return {"entries": [e for e in entries if e["num_requests"]], "errors": errors, "requests": requests}

    def merge(self, data: dict) -> None:
        for raw in data.get("entries", []):
            entry = StatsEntry.unserialize(raw, self.stats)
            self.stats.get(entry.name, entry.method).extend(entry)
        for key, raw in data.get("errors", {}).items():
            error = StatsError.unserialize(raw)
            if key in self.stats.errors:
                self.stats.errors[key].occurrences += error.occurrences
            else:
                self.stats.errors[key] = error
        for name, count in data.get("requests", {}).items():
            self.requests[name] = self.requests.get(name, 0) + count

    def rows(self) -> list[dict]:
        rows = []
        for entry in sorted(self.stats.entries.values(), key=lambda e: e.name):
            views = entry.num_requests
            if not views:
                continue
            rows.append(
                {
                    "Page": entry.name,
                    "Views": views,
                    "Failed views": entry.num_failures,
                    "Requests per view": round(self.requests.get(entry.name, 0) / views, 2),
                    "Bytes per view": round(entry.total_content_length / views),
                    "Median wait ms": entry.get_response_time_percentile(0.5),
                    "95% wait ms": entry.get_response_time_percentile(0.95),
                    "99% wait ms": entry.get_response_time_percentile(0.99),
                    "Average wait ms": round(entry.avg_response_time, 1),
                }
            )
        return rows

    def write_csv(self, path: Path) -> None:
        rows = self.rows()
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(FIELDS))
            writer.writeheader()
            writer.writerows(rows)

    def reset(self) -> None:
        self.stats.reset_all()
        self.stats.errors.clear()
        self.requests = {}


FIELDS = (
    "Page",
    "Views",
    "Failed views",
    "Requests per view",
    "Bytes per view",
    "Median wait ms",
    "95% wait ms",
    "99% wait ms",
    "Average wait ms",
)
TOTALS = PageTotals()


class PageVisit:
    """One page view of one virtual user: counts its requests and bytes, notes its first failure, times it."""

    def __init__(self, name: str, owner=None) -> None:
        self.name = name
        self.owner = owner
        self.boot = None
        self.requests = 0
        self.size = 0
        self.error: str | None = None
        self._previous = None
        self._start = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None

    def add(self, size: int) -> None:
        self.requests += 1
        self.size += size

    def failed(self, message: str) -> None:
        if self.error is None:
            self.error = message

    def __enter__(self) -> "PageVisit":
        self._start = time.perf_counter()
        if self.owner is not None:
            self._previous = getattr(self.owner, "_page", None)
            self.owner._page = self
        if self.boot is not None:
            self.boot()
        return self

    def __exit__(self, exc_type, *_exc) -> bool:
        wait_ms = (time.perf_counter() - self._start) * 1000.0
        if self.owner is not None:
            self.owner._page = self._previous
        # A view cut short by the end of the run (the user's greenlet killed or stopped) is no view a learner waited
        # for: counting it would add a short wait and too few requests.
        if exc_type is None or not issubclass(exc_type, (GreenletExit, StopUser)):
            TOTALS.record(self.name, wait_ms, self.requests, self.size, self.error)
        return False
