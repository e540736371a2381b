"""Stand-in for the two OCI controllers an OKE cluster runs that the test bed has no cloud for.

- Block volumes (the job of the OCI CSI driver's provisioner): a PVC of a StorageClass whose provisioner
  is blockvolume.csi.oraclecloud.com gets a PersistentVolume once the scheduler picked its node
  (WaitForFirstConsumer) -- size rounded up to OCI's 50 GB minimum, pinned to the node's zone -- and the
  PV controller of kube-controller-manager binds them. Released volumes with reclaimPolicy Delete are
  deleted. No data is stored anywhere: kwok's pods do not run.
- Load balancers (the job of the OCI cloud-controller-manager): a Service of type LoadBalancer gets an
  address from 192.0.2.0/24 (TEST-NET-1, documentation only: nothing answers there).

Runs as a loop (`python -m tests.sandbox.kube.cloud --kubeconfig ...`), started and stopped by testbed.py.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
import time

from kubernetes import client, config
from kubernetes.client.rest import ApiException
from kubernetes.utils import parse_quantity

DRIVER = "blockvolume.csi.oraclecloud.com"
SELECTED_NODE = "volume.kubernetes.io/selected-node"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
MIN_VOLUME = 50 * 1024**3
LB_POOL = ipaddress.ip_network("192.0.2.0/24")


def log(msg: str) -> None:
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def _gib(n_bytes: int) -> str:
    return f"{-(-n_bytes // 1024**3)}Gi"


class Cloud:
    def __init__(self, api: client.ApiClient, region: str = "me-jeddah-1") -> None:
        self.core = client.CoreV1Api(api)
        self.storage = client.StorageV1Api(api)
        self.region = region

    def volume_for(self, pvc, sc, node) -> dict:
        requested = int(parse_quantity(pvc.spec.resources.requests.get("storage", "0")))
        zone = (node.metadata.labels or {}).get("topology.kubernetes.io/zone") if node else None
        spec = {
            "capacity": {"storage": _gib(max(requested, MIN_VOLUME))},
            "accessModes": pvc.spec.access_modes,
            "volumeMode": pvc.spec.volume_mode or "Filesystem",
            "persistentVolumeReclaimPolicy": sc.reclaim_policy or "Delete",
            "storageClassName": sc.metadata.name,
            "claimRef": {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "namespace": pvc.metadata.namespace,
                "name": pvc.metadata.name,
                "uid": pvc.metadata.uid,
            },
            "csi": {
                "driver": DRIVER,
                "fsType": (sc.parameters or {}).get("csi.storage.k8s.io/fstype", "ext4"),
                "volumeHandle": f"ocid1.volume.oc1.{self.region}.testbed{pvc.metadata.uid.replace('-', '')}",
            },
        }
        if zone:
            spec["nodeAffinity"] = {
                "required": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "topology.kubernetes.io/zone", "operator": "In", "values": [zone]}]}]}
            }
        return {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": f"pvc-{pvc.metadata.uid}", "annotations": {PROVISIONED_BY: DRIVER}},
            "spec": spec,
        }

    def provision(self) -> None:
        classes = {sc.metadata.name: sc for sc in self.storage.list_storage_class().items if sc.provisioner == DRIVER}
        if not classes:
            return
        pvs = {pv.metadata.name: pv for pv in self.core.list_persistent_volume().items}
        for pvc in self.core.list_persistent_volume_claim_for_all_namespaces().items:
            sc = classes.get(pvc.spec.storage_class_name or "")
            if sc is None or pvc.spec.volume_name or (pvc.status and pvc.status.phase != "Pending") or pvc.metadata.deletion_timestamp:
                continue
            node_name = (pvc.metadata.annotations or {}).get(SELECTED_NODE)
            if sc.volume_binding_mode == "WaitForFirstConsumer" and not node_name:
                continue  # no consumer scheduled yet: a real provisioner waits too
            if f"pvc-{pvc.metadata.uid}" in pvs:
                continue
            node = None
            if node_name:
                try:
                    node = self.core.read_node(node_name)
                except ApiException as exc:
                    if exc.status != 404:
                        raise
            body = self.volume_for(pvc, sc, node)
            try:
                self.core.create_persistent_volume(body)
                log(f"provisioned {body['metadata']['name']} ({body['spec']['capacity']['storage']}) for {pvc.metadata.namespace}/{pvc.metadata.name}")
            except ApiException as exc:
                if exc.status != 409:
                    raise
        for pv in pvs.values():
            ours = (pv.metadata.annotations or {}).get(PROVISIONED_BY) == DRIVER
            if ours and pv.status and pv.status.phase == "Released" and pv.spec.persistent_volume_reclaim_policy == "Delete":
                try:
                    self.core.delete_persistent_volume(pv.metadata.name)
                    log(f"deleted released {pv.metadata.name}")
                except ApiException as exc:
                    if exc.status != 404:
                        raise

    def load_balancers(self) -> None:
        services = self.core.list_service_for_all_namespaces().items
        used = set()
        for svc in services:
            for ing in (svc.status.load_balancer.ingress or []) if svc.status and svc.status.load_balancer else []:
                used.add(ing.ip)
        free = (str(ip) for ip in LB_POOL.hosts() if str(ip) not in used)
        for svc in services:
            if svc.spec.type != "LoadBalancer" or (svc.status.load_balancer and svc.status.load_balancer.ingress):
                continue
            ip = next(free)
            self.core.patch_namespaced_service_status(
                svc.metadata.name, svc.metadata.namespace, {"status": {"loadBalancer": {"ingress": [{"ip": ip, "ipMode": "VIP"}]}}}
            )
            log(f"load balancer {ip} for {svc.metadata.namespace}/{svc.metadata.name}")

    def loop(self, interval: float) -> None:
        while True:
            try:
                self.provision()
                self.load_balancers()
            except (ApiException, OSError) as exc:
                log(f"error (retrying): {exc}")
            time.sleep(interval)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--region", default="me-jeddah-1")
    args = parser.parse_args(argv)
    cfg = client.Configuration()
    config.load_kube_config(config_file=args.kubeconfig, client_configuration=cfg)
    log("OCI stand-in running: block volumes for StorageClasses of " + DRIVER + ", load-balancer addresses")
    Cloud(client.ApiClient(configuration=cfg), args.region).loop(args.interval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
