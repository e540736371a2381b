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


def _awx() -> dict:
    from tests.helpers import awx

    got = awx.build()
    return {"source": got["source"], "cold": got["cold"]}


# Slowest first (cold, 2 cores): the test bed's Kubernetes binaries, egctl, the ingress-nginx checker.
BUILDS = {"kube test bed": _kube, "egctl": _egctl, "ingress-nginx checker": _ingress_nginx}
# Beside them, in a thread of its own: the real AWX (tests/helpers/awx) is mostly downloads, pip installs and one
# long single-threaded `awx-manage migrate`, so it overlaps the compiles above instead of queueing behind them.
BESIDE = {"real AWX": _awx}


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
