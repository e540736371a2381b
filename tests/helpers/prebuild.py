"""The slowest builds of `make test`, started first in the background so they overlap the light tiers.

`pytest --prebuild` (make test) starts `python -m tests.helpers.prebuild` at session start: it runs each build below,
slowest first, one after the other (each already compiles on every core). Every build takes its own cache lock, so a
test that needs a binary before it is ready waits for it, then finds it cached; nothing is built twice. Results (source,
seconds) go to build/prebuild.json, which the tier summary at the end of `make test` prints.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "build" / "prebuild.json"


def _kube() -> dict:
    from tests.sandbox.kube.build import build

    return build()


def _egctl() -> dict:
    from tests.helpers import envoy_gateway

    return envoy_gateway.build()


def _ingress_nginx() -> dict:
    from tests.helpers import ingress_nginx

    return ingress_nginx.build()


def _helm() -> dict:
    from tests.helpers import helm

    return helm.build()


def _rootfs() -> dict:
    from tests.sandbox.machines.core import Machines

    machines = Machines()
    source = "cache" if machines.rootfs.is_dir() else "debootstrap"
    machines.ensure_rootfs()
    return {"source": source}


def _awx() -> dict:
    from tests.helpers import awx

    got = awx.build()
    return {"source": got["source"], "cold": got["cold"]}


# The compiles, one after the other: helm first (short, and every deploy test renders the edge charts with it), then
# the slowest (cold, 2 cores), the test bed's Kubernetes binaries, then egctl and the ingress-nginx checker.
BUILDS = {"helm": _helm, "kube test bed": _kube, "egctl": _egctl, "ingress-nginx checker": _ingress_nginx}
# Beside them, in a thread of its own, what is mostly downloads and single-threaded: the VMs' root fs (debootstrap,
# which the molecule and load-test tiers need), then the real AWX (tests/helpers/awx: pip installs and one long
# `awx-manage migrate`), so they overlap the compiles instead of queueing behind them.
BESIDE = {"machines root fs": _rootfs, "real AWX": _awx}


def _run(builds: dict, results: dict, lock: threading.Lock) -> int:
    rc = 0
    for name, build in builds.items():
        t0 = time.monotonic()
        try:
            got = build()
            result = {"source": got.get("source"), "seconds": round(time.monotonic() - t0, 1)}
        except Exception as exc:  # the test that needs it builds again and fails with the full message
            result = {"error": f"{type(exc).__name__}: {str(exc)[:300]}", "seconds": round(time.monotonic() - t0, 1)}
            traceback.print_exc()
            rc = 1
        with lock:
            results[name] = result
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            RESULTS.write_text(json.dumps(results, indent=2) + "\n")
        print(f"[prebuild] {name}: {result}", flush=True)
    return rc


def main() -> int:
    results: dict[str, dict] = {}
    lock = threading.Lock()
    beside_rc: list[int] = []
    thread = threading.Thread(target=lambda: beside_rc.append(_run(BESIDE, results, lock)), daemon=True)
    thread.start()
    rc = _run(BUILDS, results, lock)
    thread.join()
    return rc or (beside_rc[0] if beside_rc else 1)


if __name__ == "__main__":
    sys.exit(main())
