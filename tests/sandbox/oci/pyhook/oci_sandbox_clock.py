"""The OCI sandbox's virtual clock, put under the collection's OCI modules from outside the product.

The modules wait on `oci_retry.RealClock` (monotonic time, real sleeps). When OPENEDX_SCALE_OCI_SANDBOX_CLOCK
names a sandbox URL on loopback (or OPENEDX_SCALE_OCI_SANDBOX_CLOCK_FILE names the file holding it, such as
build/sandbox/oci/endpoint, read when the modules load), install_from_env() adds an import hook that replaces
RealClock in that module, as it is imported, with SandboxClock: a wait tells the sandbox "I slept N seconds" (it
advances its clock) and returns at once, and now() is the sandbox's elapsed virtual time, so deadlines follow the
same clock. Node pools that take minutes on OCI then take seconds, and the figures the modules print stay in OCI time.

Standard library only: this runs at start-up in every Python process that has the hook directory on its path.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request

URL_ENV = "OPENEDX_SCALE_OCI_SANDBOX_CLOCK"
FILE_ENV = "OPENEDX_SCALE_OCI_SANDBOX_CLOCK_FILE"
TARGET = "ansible_collections.openedx_scale.oke.plugins.module_utils.oci_retry"
# The clock only ever talks to a sandbox on this machine.
LOOPBACK = ("//127.", "//localhost", "//[::1]")
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class SandboxClock:
    """now() / sleep(seconds) on the sandbox's clock (GET /_sandbox/clock, POST /_sandbox/clock/advance)."""

    def __init__(self, url: str, opener=None):
        self.url = url.rstrip("/")
        self._open = (opener or _NO_PROXY).open

    def now(self) -> float:
        with self._open(f"{self.url}/_sandbox/clock", timeout=10) as resp:
            return float(json.loads(resp.read())["elapsed_seconds"])

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        req = urllib.request.Request(f"{self.url}/_sandbox/clock/advance?seconds={round(seconds, 3)}", data=b"", method="POST")
        with self._open(req, timeout=10) as resp:
            resp.read()


def url_from_env(environ=None) -> str | None:
    """The sandbox URL the environment names, if it is on loopback; None otherwise (the wall clock stays)."""
    env = os.environ if environ is None else environ
    url = env.get(URL_ENV, "").strip()
    if not url and env.get(FILE_ENV):
        try:
            with open(env[FILE_ENV], encoding="utf-8") as handle:
                url = handle.read().strip()
        except OSError:
            url = ""  # the sandbox is not running (yet): real time
    return url if url and any(marker in url for marker in LOOPBACK) else None


class _PatchingLoader:
    """Runs the real loader, then swaps RealClock for a SandboxClock bound to the URL (read at import time)."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        url = url_from_env()
        if url:
            module.RealClock = type("RealClock", (SandboxClock,), {"__init__": lambda self: SandboxClock.__init__(self, url)})

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _Finder:
    """Finds TARGET with the other finders (zip import in AnsiballZ, the collection loader on the controller)."""

    def find_spec(self, name, path=None, target=None):
        if name != TARGET:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _PatchingLoader(spec.loader)
                return spec
        return None


def install_from_env(environ=None) -> bool:
    """Install the import hook when the environment asks for the virtual clock; True when installed."""
    env = os.environ if environ is None else environ
    if not (env.get(URL_ENV) or env.get(FILE_ENV)):
        return False
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
    return True
