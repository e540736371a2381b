"""Stopping a child process the tests started."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess


def terminate(proc: subprocess.Popen | None, timeout: float = 10, group: bool = False) -> None:
    """SIGTERM (the programs here shut down cleanly on it), then SIGKILL after `timeout` seconds; reaps the child.
    `group`: signal the child's whole process group (a child started with start_new_session and its own children)."""
    if proc is None or proc.poll() is not None:
        return

    def send(sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            if group:
                os.killpg(proc.pid, sig)
            else:
                proc.send_signal(sig)

    send(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        proc.wait()
