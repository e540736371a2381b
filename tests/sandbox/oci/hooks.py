"""Boot hooks: what gives a launched instance (or OKE node) its private IP.

The default allocates addresses from a range. The rehearsal plugs in a hook that boots a real
machine stand-in (systemd-nspawn) and returns its address:

* ``boot_hook.python: "package.module:function"`` -- called as ``function(event)`` where
  ``event = {"kind": "instance"|"node", "resource": <instance/node JSON>, "default_ip": "10.0.10.7"}``;
  returns the private IP (str) or ``{"private_ip": ..., "public_ip": ...}``.
* ``boot_hook.command: [argv...]`` -- run with the same event as JSON on stdin; the first line of
  stdout is the private IP. A non-zero exit fails the launch (the work request FAILS).

Hooks run in worker threads, so a slow boot never blocks the API; the instance stays
PROVISIONING until its hook returns. ``on_terminate_*`` get ``{"kind", "resource"}`` on termination.
"""

from __future__ import annotations

import importlib
import ipaddress
import json
import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

from .scenario import BootHook


class HookError(RuntimeError):
    pass


def load_callable(spec: str) -> Callable:
    module, _sep, attr = spec.partition(":")
    if not attr:
        raise HookError(f"boot hook {spec!r}: expected 'package.module:function'")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise HookError(f"boot hook {spec!r}: {exc}") from exc


class IpAllocator:
    def __init__(self, cidr: str):
        self.network = ipaddress.ip_network(cidr)
        hosts = self.network.hosts()
        next(hosts, None)  # the first host is the subnet gateway in OCI
        self._hosts = hosts
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            address = next(self._hosts, None)
        if address is None:
            raise HookError(f"IP range {self.network} exhausted")
        return str(address)


class Hooks:
    def __init__(self, spec: BootHook, instance_range: str, node_range: str, python_callable: Callable | None = None):
        self.spec = spec
        self.allocators = {"instance": IpAllocator(instance_range), "node": IpAllocator(node_range)}
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="oci-sandbox-hook")
        self._boot = python_callable or (load_callable(spec.python) if spec.python else None)
        self._terminate = load_callable(spec.on_terminate_python) if spec.on_terminate_python else None
        self._inflight: set[Future] = set()

    def _hooked(self, kind: str) -> bool:
        return kind in self.spec.kinds and (self._boot is not None or bool(self.spec.command))

    def boot(self, kind: str, resource: dict) -> Future:
        """Start booting; the future resolves to {"private_ip", "public_ip"}."""
        default_ip = self.allocators[kind].next()
        if not self._hooked(kind):
            done: Future = Future()
            done.set_result({"private_ip": default_ip, "public_ip": None})
            return done
        event = {"kind": kind, "resource": resource, "default_ip": default_ip}
        future = self.pool.submit(self._run_boot, event)
        self._inflight.add(future)
        future.add_done_callback(self._inflight.discard)
        return future

    def wait_idle(self, timeout: float) -> None:
        """Wait (real seconds, bounded) for boots in flight: the fast clock must not outrun a real machine's boot."""
        pending = list(self._inflight)
        if pending and timeout > 0:
            wait(pending, timeout=timeout)

    def _run_boot(self, event: dict) -> dict:
        if self._boot is not None:
            result = self._boot(event)
        else:
            proc = subprocess.run(self.spec.command, input=json.dumps(event), capture_output=True, text=True, check=False, timeout=900)
            if proc.returncode != 0:
                raise HookError(f"boot hook {self.spec.command[0]} exited {proc.returncode}: {proc.stderr.strip()[-500:]}")
            result = (proc.stdout.strip().splitlines() or [""])[0]
        if isinstance(result, str):
            result = {"private_ip": result}
        if not isinstance(result, dict) or not result.get("private_ip"):
            raise HookError(f"boot hook returned no private IP: {result!r}")
        ipaddress.ip_address(result["private_ip"])  # a hook returning garbage fails the launch
        return {"private_ip": result["private_ip"], "public_ip": result.get("public_ip")}

    def terminate(self, kind: str, resource: dict) -> None:
        if not self._hooked(kind):
            return  # only what a boot hook brought up has something to tear down
        event = {"kind": kind, "resource": resource}
        if self._terminate is not None:
            self.pool.submit(self._terminate, event)
        elif self.spec.on_terminate_command:
            self.pool.submit(subprocess.run, self.spec.on_terminate_command, input=json.dumps(event), text=True, capture_output=True, check=False)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
