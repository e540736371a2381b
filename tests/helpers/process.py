"""Stopping a child process the tests started."""

from __future__ import annotations

import subprocess


def terminate(proc: subprocess.Popen | None, timeout: float = 10) -> None:
    """SIGTERM (the programs here shut down cleanly on it), then SIGKILL after `timeout` seconds; reaps the child."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
