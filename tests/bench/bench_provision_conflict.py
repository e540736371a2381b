"""Provision benchmark: a persistent validation 409 on UpdateNodePool (scenario `conflict-validation`).

OKE refuses a resize with 409 Conflict while no work request runs on the pool (terraform-oci-oke#879); OCI's API
errors reference calls that state "not transient". A converged services pool (2 nodes) is asked for 4; every client
must end with OCI's message. Measured from the first call of that run: API calls and sandbox-clock seconds.
  ours   - the oke_node_pool engine of this checkout (error table + work-request check + per-operation budget);
  today  - the same engine at BASELINE (before issue 27), extracted with `git archive` into ~/.cache and run in a
           subprocess against the same sandbox;
  naive  - GetNodePool + UpdateNodePool, retried with exponential back-off (2 s .. 120 s) until the deadline.
Goal (issue 27): ours fails with OCI's message in <= 5 calls and < 60 sandbox seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "build" / "collections"))

import oci  # noqa: E402
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_errors import OciScaleError  # noqa: E402
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_retry import ProgressLog, RetryPolicy  # noqa: E402
from ansible_collections.openedx_scale.oke.plugins.module_utils.oke_node_pools import NodePoolReconciler  # noqa: E402

from tests.bench import baseline  # noqa: E402
from tests.bench.bench_provision import COMPARTMENT, FDS, IMAGE, POOLS, SUBNET, Meter, run, setup  # noqa: E402

BASELINE = "ee50d975bcc9cdeb72f8a12c2e72ac8caaf533ad"  # the collection before issue 27 ("today's behaviour")
DEADLINE = 1800  # the modules' default wait_timeout
SCENARIO = "conflict-validation"
ROLE, COUNT, SHAPE, ALTS = POOLS[1]
GROWN = COUNT + 2


def params(clients, cluster_id, ad, count):
    return {"deployment": "bench", "name": "bench-" + ROLE, "role": ROLE, "label_key": "openedx-scale/pool", "node_labels": {},
            "count": count, "cluster_id": cluster_id, "compartment_id": COMPARTMENT, "subnet_id": SUBNET, "image_id": IMAGE,
            "kubernetes_version": "v1.35.4", "shapes": [SHAPE, *ALTS], "fault_domains": FDS, "availability_domain": ad,
            "tenancy_id": clients.tenancy, "wait_timeout": DEADLINE, "freeform_tags": {}, "capacity_probe_rounds": 3}


def converged(sb):
    """The sandbox's cluster with the services pool converged (creates only, so no 409 yet)."""
    clients, clock, cluster_id, ad = setup(sb)
    policy = RetryPolicy(DEADLINE, clock=clock, base=15, max_wait=300, throttle_cooldown=60, progress=ProgressLog(label=ROLE))
    NodePoolReconciler(clients, policy, params(clients, cluster_id, ad, COUNT)).ensure_present()
    return clients, clock, cluster_id, ad


OPERATION_CALLS = ("ce.UpdateNodePool", "ce.GetNodePool", "ce.ListWorkRequests")  # the ones issue 27 counted


def result(meter, error):
    """Calls and seconds of the whole run, its UpdateNodePool/GetNodePool/ListWorkRequests calls, and the calls and
    seconds from its first UpdateNodePool (the first 409) to the end."""
    calls, secs = meter.read()
    log = meter.sb.state()["request_log"][meter.log0:]
    first = next((i for i, entry in enumerate(log) if entry["operation"] == "ce.UpdateNodePool"), len(log))
    after = log[first:]
    return {"calls": calls, "seconds": secs, "error": error, "op_calls": sum(e["operation"] in OPERATION_CALLS for e in log),
            "after_409": len(after), "after_409_seconds": (log[-1]["t"] - after[0]["t"]) if after else 0.0}


class LogMeter(Meter):
    def __init__(self, sb):
        super().__init__(sb)
        self.log0 = len(sb.state()["request_log"])


def ours(sb):
    clients, clock, cluster_id, ad = converged(sb)
    meter = LogMeter(sb)
    policy = RetryPolicy(DEADLINE, clock=clock, base=15, max_wait=300, throttle_cooldown=60, progress=ProgressLog(label=ROLE))
    try:
        NodePoolReconciler(clients, policy, params(clients, cluster_id, ad, GROWN)).ensure_present()
    except OciScaleError as exc:
        return result(meter, exc.msg)
    return result(meter, None)


def baseline_tree():
    """The collection at BASELINE under the cache (extracted once), or None when the clone lacks that commit."""
    root = baseline.tree(BASELINE, "plugins", "collections/ansible_collections/openedx_scale/oke")
    return root / "collections" if root else None


_TODAY = """
import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_client import OciClients
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_errors import OciScaleError
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_retry import ProgressLog, RetryPolicy
from ansible_collections.openedx_scale.oke.plugins.module_utils.oke_node_pools import NodePoolReconciler
from tests.sandbox.oci.pyhook.oci_sandbox_clock import SandboxClock
job = json.loads(sys.argv[3])
clients = OciClients(job["auth"])
policy = RetryPolicy(job["params"]["wait_timeout"], clock=SandboxClock(job["auth"]["service_endpoint"]), base=15, max_wait=300,
                     throttle_cooldown=60, progress=ProgressLog(label="today"))
try:
    NodePoolReconciler(clients, policy, job["params"]).ensure_present()
    print(json.dumps({"error": None}))
except OciScaleError as exc:
    print(json.dumps({"error": exc.msg}))
"""


def today(sb):
    root = baseline_tree()
    clients, _clock, cluster_id, ad = converged(sb)
    meter = LogMeter(sb)
    if root is None:
        return dict(result(meter, f"baseline commit {BASELINE[:12]} not in this clone"), missing=True)
    job = {"auth": {"config_file": sb.config_file, "profile": "DEFAULT", "service_endpoint": sb.url},
           "params": params(clients, cluster_id, ad, GROWN)}
    out = subprocess.run([sys.executable, "-c", _TODAY, str(root), str(REPO), json.dumps(job)], capture_output=True, text=True, timeout=3600, check=False)
    lines = out.stdout.strip().splitlines()
    error = json.loads(lines[-1])["error"] if out.returncode == 0 and lines else "crashed: " + out.stderr.strip()[-300:]
    return result(meter, error)


def naive(sb):
    clients, clock, cluster_id, _ad = converged(sb)
    meter = LogMeter(sb)
    ce = clients.ce
    m = oci.container_engine.models
    pool_id = ce.list_node_pools(compartment_id=COMPARTMENT, cluster_id=cluster_id).data[0].id
    wait = 2.0
    while True:
        ce.get_node_pool(pool_id)
        try:
            ce.update_node_pool(pool_id, m.UpdateNodePoolDetails(node_config_details=m.UpdateNodePoolNodeConfigDetails(size=GROWN)))
            return result(meter, None)
        except oci.exceptions.ServiceError as exc:
            if meter.read()[1] + wait > DEADLINE:
                return result(meter, f"{exc.status} {exc.code} {exc.message}")
        clock.sleep(wait)
        wait = min(120.0, wait * 2)


def main() -> int:
    print(f"Persistent validation 409 on UpdateNodePool ({SCENARIO}): grow {ROLE} {COUNT} -> {GROWN}; calls and sandbox seconds until "
          f"the run fails (deadline {DEADLINE} s)")
    results = {name: run(SCENARIO, fn) for name, fn in (("ours", ours), ("today", today), ("naive", naive))}
    print(f"  {'':<6} {'run':>17} {'Update/Get/ListWR':>18} {'from the first 409':>24}")
    for name, res in results.items():
        print(f"  {name:<6} {res['calls']:6d} calls {res['seconds']:5.0f} s {res['op_calls']:12d} calls {res['after_409']:9d} calls "
              f"{res['after_409_seconds']:6.0f} s  {(res['error'] or 'no error')[:90]}")
    o = results["ours"]
    for other in ("today", "naive"):
        r = results[other]
        if not r.get("missing"):
            print(f"  ours vs {other:<5}: {r['calls'] / max(1, o['calls']):6.1f}x fewer calls, {r['seconds'] / max(1.0, o['seconds']):6.1f}x less time")
    message = "Cannot perform nodepool cycling and nodepool Placement Configuration change simultaneously"
    ok = bool(o["error"]) and message in o["error"] and o["after_409"] <= 5 and o["op_calls"] <= 5 and o["seconds"] < 60
    verdict = "MET" if ok else "NOT MET"
    print(f"  goal (ours fails with OCI's message in <= 5 Update/Get/ListWR calls, <= 5 calls from the first 409, < 60 s): {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
