"""Load-generator health: per-process CPU/RSS samples, user count vs target, workers lost mid-run.

Workers sample their own CPU every SAMPLE_INTERVAL seconds (psutil; Locust's own monitor only samples every
10 s and its warning never changes the exit code) and piggy-back the samples on the stats report they already
send to the master every 3 s, so no extra message traffic. The master (or a local runner) records everything
and writes one JSON file the report tool turns into the generator-health part of the verdict.
"""

import logging
import os
import socket
import time

import gevent
import psutil
from locust.runners import STATE_MISSING, MasterRunner

logger = logging.getLogger("openedx_locust")

SAMPLE_INTERVAL = 2.0
HEALTH_KEY = "openedx_health"
# CPU gate uses a moving average over this many samples (~6 s): one 2-s spike is noise, 6 s at 90 % is saturation.
CPU_WINDOW = 3


def moving_max(values: list[float], window: int = CPU_WINDOW) -> float:
    """Highest mean of ``window`` consecutive samples (the whole list if shorter)."""
    if not values:
        return 0.0
    if len(values) <= window:
        return sum(values) / len(values)
    return max(sum(values[i : i + window]) / window for i in range(len(values) - window + 1))


class ProcessSampler:
    """Runs in every process that runs users; keeps the samples not yet sent to the master."""

    def __init__(self):
        self.proc = psutil.Process()
        self.proc.cpu_percent(None)  # prime: psutil's first reading is always 0.0
        self.pending: list[list[float]] = []
        self.all: list[list[float]] = []
        self.greenlet = gevent.spawn(self._loop)
        self.host = socket.gethostname()
        self.pid = os.getpid()

    def _loop(self):
        while True:
            gevent.sleep(SAMPLE_INTERVAL)
            sample = [round(time.time(), 3), self.proc.cpu_percent(None), round(self.proc.memory_info().rss / 1e6, 1)]
            self.pending.append(sample)
            self.all.append(sample)

    def drain(self) -> list[list[float]]:
        out, self.pending = self.pending, []
        return out

    def stop(self):
        self.greenlet.kill(block=False)


class HealthRecorder:
    """On the master (or a local runner): the health timeline of the run."""

    def __init__(self, environment, shape=None, max_cpu: float = 90.0):
        self.env = environment
        self.runner = environment.runner
        self.shape = shape
        self.max_cpu = max_cpu
        self.test_start: float | None = None
        self.workers: dict[str, dict] = {}
        self.lost: list[dict] = []
        self.errors: list[dict] = []
        self.users: list[list] = []  # [t, users, target]
        self.master_cpu: list[list[float]] = []
        self.ramp: dict = {}
        self.local_sampler: ProcessSampler | None = None
        self.greenlet = None
        self._master_proc = psutil.Process()
        self._master_proc.cpu_percent(None)

    # ------------------------------------------------------------------ inputs
    def start(self):
        self.test_start = time.time()
        self.users.clear()
        self.lost.clear()
        self.ramp = {}
        if self.greenlet is None:
            self.greenlet = gevent.spawn(self._loop)

    def worker_report(self, client_id: str, data: dict):
        health = data.get(HEALTH_KEY)
        if not health:
            return
        info = self.workers.setdefault(client_id, {"samples": []})
        info.update({k: health[k] for k in ("index", "host", "pid", "accounts") if k in health})
        info["samples"].extend(health.get("samples", []))
        info["last_report"] = time.time()
        if health.get("error") and not any(e["client_id"] == client_id for e in self.errors):
            self.errors.append({"client_id": client_id, "index": health.get("index"), "host": health.get("host"), "error": health["error"]})
            logger.error("worker %s (index %s on %s): %s", client_id, health.get("index"), health.get("host"), health["error"])

    def current_target(self) -> int | None:
        return self.shape.current_target() if self.shape is not None else None

    # ------------------------------------------------------------------ the 1-s loop
    def _loop(self):
        known_states: dict[str, str] = {}
        while True:
            gevent.sleep(1.0)
            now = time.time()
            t = round(now - (self.test_start or now), 1)
            running = self.runner.state in ("spawning", "running")
            target = self.current_target()
            count = self.runner.user_count
            if running:
                self.users.append([t, count, target])
            self.master_cpu.append([round(now, 3), self._master_proc.cpu_percent(None)])
            if self.local_sampler is not None:
                info = self.workers.setdefault("local", {"index": 0, "host": self.local_sampler.host, "pid": self.local_sampler.pid, "samples": []})
                info["samples"].extend(self.local_sampler.drain())
            if isinstance(self.runner, MasterRunner):
                self._track_workers(known_states, now, t, running)
            self._check_ramp(t, count)

    def _track_workers(self, known: dict[str, str], now: float, t: float, running: bool):
        current = {c.id: c.state for c in self.runner.clients.values()}
        for cid, state in current.items():
            info = self.workers.setdefault(cid, {"samples": []})
            info.setdefault("index", self.runner.worker_indexes.get(cid))
            # Missing is never normal, and Locust may stop the test in the same instant ("last worker went missing").
            if state == STATE_MISSING and known.get(cid) != STATE_MISSING:
                self._lost(cid, now, t, "missed heartbeats")
            elif known.get(cid) == STATE_MISSING and state != STATE_MISSING:
                info["recovered_at"] = t
                for entry in reversed(self.lost):
                    if entry["client_id"] == cid and "recovered_t" not in entry:
                        entry["recovered_t"] = t
                        break
                logger.warning("worker %s (index %s) is back after missing heartbeats (state %s)", cid, info.get("index"), state)
        for cid in set(known) - set(current):
            # Workers leave the list at a normal stop too (client_stopped): only count it while the test runs.
            if running and known[cid] != STATE_MISSING:
                self._lost(cid, now, t, "disconnected")
        known.clear()
        known.update(current)

    def _lost(self, cid: str, now: float, t: float, reason: str):
        info = self.workers.get(cid, {})
        entry = {"client_id": cid, "index": info.get("index"), "host": info.get("host"), "at": round(now, 3), "t": t, "reason": reason}
        self.lost.append(entry)
        logger.error("worker %s (index %s on %s) lost at t=%.0fs: %s", cid, entry["index"], entry["host"], t, reason)

    def _check_ramp(self, t: float, count: int):
        if self.shape is None or self.ramp.get("checked"):
            return
        target, ramp_end, grace = self.shape.ramp_check_point()
        if not target:
            return
        self.ramp.setdefault("target", target)
        self.ramp["max_users"] = max(self.ramp.get("max_users", 0), count)
        if count >= target and "reached_at" not in self.ramp:
            self.ramp["reached_at"] = t
            logger.info("openedx_locust: reached %d/%d users at t=%.0fs", count, target, t)
        if t >= ramp_end + grace:
            self.ramp.update({"checked": True, "checked_at": t, "users_at_check": count, "ok": count == target and self.ramp["max_users"] <= target})
            log = logger.info if self.ramp["ok"] else logger.error
            log(
                "openedx_locust: end of ramp (t=%.0fs): %d users running, target %d, max seen %d -> %s",
                t,
                count,
                target,
                self.ramp["max_users"],
                "OK" if self.ramp["ok"] else "MISMATCH",
            )

    # ------------------------------------------------------------------ output
    def summary(self) -> dict:
        start = self.test_start or 0
        workers = {}
        worst = 0.0
        for cid, info in self.workers.items():
            samples = [s for s in info.get("samples", []) if s[0] >= start]
            cpus = [s[1] for s in samples]
            peak = moving_max(cpus)
            worst = max(worst, peak)
            workers[cid] = {
                "index": info.get("index"),
                "host": info.get("host"),
                "pid": info.get("pid"),
                "accounts": info.get("accounts"),
                "cpu_max": round(max(cpus), 1) if cpus else None,
                "cpu_peak_avg": round(peak, 1),
                "cpu_mean": round(sum(cpus) / len(cpus), 1) if cpus else None,
                "rss_mb_max": max((s[2] for s in samples), default=None),
                "samples": [[round(s[0] - start, 1), s[1], s[2]] for s in samples],
                "recovered_at": info.get("recovered_at"),
            }
        master = [c for ts, c in self.master_cpu if ts >= start]
        ramp = {k: v for k, v in self.ramp.items() if k != "checked"}
        if self.ramp and not self.ramp.get("checked"):
            ramp.update({"ok": False, "users_at_check": None, "note": "the run ended before the end of the ramp"})
        gates = {
            "users_reached_target": bool(ramp.get("ok")),
            "generator_cpu_ok": worst <= self.max_cpu,
            "no_worker_errors": not self.errors,
        }
        return {
            "test_start": start,
            "max_generator_cpu_allowed": self.max_cpu,
            "generator_cpu_peak": round(worst, 1),
            "workers": workers,
            "worker_count": len(workers),
            "lost_workers": self.lost,
            "worker_errors": self.errors,
            "ramp": ramp,
            "users": self.users,
            "master_cpu_max": round(max(master), 1) if master else None,
            "master_cpu_mean": round(sum(master) / len(master), 1) if master else None,
            "gates": gates,
            "ok": all(gates.values()),
        }
