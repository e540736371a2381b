"""Container Engine (OKE): clusters, kubeconfig, node pools and their work requests.

Node pool calls succeed at once (202 + opc-work-request-id); capacity is decided when the work
request starts, node by node, and failures surface as OKE shows them: the work request ends
FAILED with a GetWorkRequestGeneric error "N node(s) launch failure. ... Out of host capacity.",
the failed nodes carry nodeError {InternalError, "Out of host capacity."} and no instance id, and
the pool goes to `node_pools.failed_pool_state` (NEEDS_ATTENTION by default).
"""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from ..errors import ApiError, invalid, not_found
from ..router import Context, Reply, check_ocid, need, need_ocid, paginate, route
from ..shapes import SHAPES, resolve
from ..signing import USER
from ..state import Store, WorkRequest
from .compute import attach_vnic, boot_finished, check_fault_domain, etag, new_instance, place, release_instance

DEAD = ("DELETING", "DELETED")
OOHC_NODE_ERROR = "Error returned by Unknown operation operation in Unknown service service.(500, InternalError, false) Out of host capacity."


def _suffix(ocid: str) -> str:
    return ocid.rsplit(".", 1)[-1][-11:]


def _busy(store: Store, resource_id: str, what: str) -> None:
    # OKE runs one work request per resource at a time; others are refused with a conflict.
    wr_id = store.pending_wr.get(resource_id)
    if wr_id:
        raise ApiError(409, "Conflict", f"{what} {resource_id} has a work request in progress ({wr_id}); retry when it has finished.")


def _entity(kind: str, action: str, resource_id: str, cluster_id: str | None = None) -> list[dict]:
    # As recorded (oracle/oci-cli services/container_engine/tests/cassettes/test_oce_fixture_node_pool.yml): entityUri
    # without the API version, and a node pool's work request names its cluster as a RELATED resource.
    path = "clusters" if kind == "cluster" else "nodePools"
    entities = [{"actionType": action, "entityType": kind, "identifier": resource_id, "entityUri": f"/{path}/{resource_id}"}]
    if cluster_id:
        entities.append({"actionType": "RELATED", "entityType": "cluster", "identifier": cluster_id, "entityUri": f"/clusters/{cluster_id}"})
    return entities


# -- clusters -------------------------------------------------------------------------------------
def _endpoint(store: Store) -> str:
    url = store.settings().get("kube_api_url") or "https://127.0.0.1:6443"
    return url.split("://", 1)[-1].rstrip("/")


@route("POST", "/20180222/clusters", "ce.CreateCluster", retry_token=True)
def create_cluster(ctx: Context) -> Reply:
    body = ctx.json()
    store = ctx.store
    compartment = need_ocid(body, "compartmentId")
    name = need(body, "name")
    vcn = need_ocid(body, "vcnId")
    version = need(body, "kubernetesVersion")
    endpoint_config = body.get("endpointConfig") or {}
    if endpoint_config.get("subnetId"):
        check_ocid(endpoint_config["subnetId"], "endpointConfig.subnetId")
    cluster = store.add(
        "clusters",
        {
            "id": store.ocid("cluster"),
            "name": name,
            "compartmentId": compartment,
            "vcnId": vcn,
            "kubernetesVersion": version,
            "endpointConfig": endpoint_config,
            "options": body.get("options") or {},
            "freeformTags": body.get("freeformTags") or {},
            "definedTags": body.get("definedTags") or {},
            "systemTags": {},
            "type": body.get("type") or "BASIC_CLUSTER",
            "clusterPodNetworkOptions": body.get("clusterPodNetworkOptions") or [{"cniType": "FLANNEL_OVERLAY"}],
            "lifecycleState": "CREATING",
            "lifecycleDetails": "Creating the control plane",
            "endpoints": None,
            "metadata": {"timeCreated": store.clock.iso(), "createdByUserId": USER},
            "availableKubernetesUpgrades": [],
        },
    )

    def finish(wr: WorkRequest) -> None:
        endpoint = _endpoint(store)
        cluster.update(
            lifecycleState="ACTIVE",
            lifecycleDetails=None,
            endpoints={"kubernetes": endpoint, "publicEndpoint": endpoint if endpoint_config.get("isPublicIpEnabled") else None, "privateEndpoint": endpoint},
        )

    wr = store.submit(
        "ce",
        "CLUSTER_CREATE",
        compartment,
        _entity("cluster", "CREATED", cluster["id"]),
        ctx.sc.timings.cluster_create,
        on_finish=finish,
        lock_ids=(cluster["id"],),
    )
    return Reply(202, None, {"opc-work-request-id": wr.id})


@route("GET", "/20180222/clusters/{clusterId}", "ce.GetCluster")
def get_cluster(ctx: Context) -> Reply:
    ctx.store.wait_for(ctx.store.pending_wr.get(ctx.params["clusterId"]))
    cluster = ctx.store.get("clusters", ctx.params["clusterId"])
    return Reply(200, cluster, {"etag": etag(cluster)})


@route("GET", "/20180222/clusters", "ce.ListClusters")
def list_clusters(ctx: Context) -> Reply:
    compartment = ctx.q_required("compartmentId")
    check_ocid(compartment, "compartmentId")
    states = ctx.q_all("lifecycleState")
    items = [
        {k: v for k, v in c.items() if k != "openIdConnectDiscoveryKey"}
        for c in ctx.store.resources["clusters"].values()
        if c["compartmentId"] == compartment
        and (not ctx.q("name") or c["name"] == ctx.q("name"))
        and (not states or c["lifecycleState"] in states)
        and ctx.store.listed(c)
    ]
    return paginate(ctx, items, default_sort_key="name")


@route("DELETE", "/20180222/clusters/{clusterId}", "ce.DeleteCluster")
def delete_cluster(ctx: Context) -> Reply:
    store = ctx.store
    cluster = store.get("clusters", ctx.params["clusterId"])
    if cluster["lifecycleState"] in DEAD:
        raise not_found()
    _busy(store, cluster["id"], "Cluster")
    cluster["lifecycleState"] = "DELETING"

    def finish(wr: WorkRequest) -> None:
        # Deleting a cluster deletes its node pools and their nodes.
        for pool in store.resources["node_pools"].values():
            if pool["clusterId"] == cluster["id"] and pool["lifecycleState"] != "DELETED":
                _remove_nodes(store, pool, list(pool["nodes"]))
                store.bury(pool, "DELETED")
        store.bury(cluster, "DELETED")

    wr = store.submit(
        "ce",
        "CLUSTER_DELETE",
        cluster["compartmentId"],
        _entity("cluster", "DELETED", cluster["id"]),
        ctx.sc.timings.cluster_delete,
        on_finish=finish,
        lock_ids=(cluster["id"],),
    )
    return Reply(202, None, {"opc-work-request-id": wr.id})


@route("POST", "/20180222/clusters/{clusterId}/kubeconfig/content", "ce.CreateKubeconfig")
def create_kubeconfig(ctx: Context) -> Reply:
    store = ctx.store
    cluster = store.get("clusters", ctx.params["clusterId"])
    if cluster["lifecycleState"] in DEAD:
        raise not_found()
    if cluster["lifecycleState"] != "ACTIVE":
        raise ApiError(409, "IncorrectState", f"Cluster {cluster['id']} is {cluster['lifecycleState']}; a kubeconfig is available once it is ACTIVE.")
    body = ctx.json()
    endpoint_kind = body.get("endpoint") or "LEGACY_KUBERNETES"
    if endpoint_kind not in ("LEGACY_KUBERNETES", "PUBLIC_ENDPOINT", "PRIVATE_ENDPOINT", "VCN_HOSTNAME"):
        raise invalid("endpoint", "must be LEGACY_KUBERNETES, PUBLIC_ENDPOINT, PRIVATE_ENDPOINT or VCN_HOSTNAME")
    settings = store.settings()
    server = settings.get("kube_api_url") or "https://127.0.0.1:6443"
    if settings.get("kubeconfig_file"):
        # The rehearsal serves the test bed's own kubeconfig (with its credentials).
        config = yaml.safe_load(Path(settings["kubeconfig_file"]).read_text(encoding="utf-8"))
        for entry in config.get("clusters", []):
            entry.setdefault("cluster", {})["server"] = server
    else:
        name = f"cluster-{_suffix(cluster['id'])}"
        user = f"user-{_suffix(cluster['id'])}"
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": name, "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
            "contexts": [{"name": f"context-{_suffix(cluster['id'])}", "context": {"cluster": name, "user": user}}],
            "current-context": f"context-{_suffix(cluster['id'])}",
            "users": [
                {
                    "name": user,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "oci",
                            "args": ["ce", "cluster", "generate-token", "--cluster-id", cluster["id"], "--region", store.sc.region],
                            "env": [],
                        }
                    },
                }
            ],
        }
    return Reply(200, yaml.safe_dump(config, sort_keys=False), content_type="application/x-yaml")


# -- node pools -----------------------------------------------------------------------------------
def _placements(store: Store, details: dict) -> list[tuple[dict, str, str]]:
    """Validate placementConfigs; return the (placement, short AD, fault domain) slots nodes go to."""
    configs = details.get("placementConfigs")
    if not configs:
        raise ApiError(400, "MissingParameter", "Missing required parameter: nodeConfigDetails.placementConfigs")
    slots = []
    for i, placement in enumerate(configs):
        where = f"nodeConfigDetails.placementConfigs[{i}]."
        short = store.short_ad(need(placement, "availabilityDomain", where))
        if short is None:
            raise invalid(f"{where}availabilityDomain", f"{placement['availabilityDomain']!r} is not an availability domain of {store.sc.region}")
        need_ocid(placement, "subnetId", where)
        fds = placement.get("faultDomains") or store.fault_domains(short)
        if placement.get("faultDomains") is not None and not placement["faultDomains"]:
            raise invalid(f"{where}faultDomains", "must not be an empty list (omit it to use every fault domain)")
        for fd in fds:
            check_fault_domain(store, short, fd, f"{where}faultDomains")
        if placement.get("capacityReservationId"):
            check_ocid(placement["capacityReservationId"], f"{where}capacityReservationId")
        slots.extend((placement, short, fd) for fd in fds)
    # Round-robin over placements first, then over their fault domains, as OKE spreads nodes.
    by_placement: dict[int, list] = {}
    for slot in slots:
        by_placement.setdefault(id(slot[0]), []).append(slot)
    ordered, lists = [], list(by_placement.values())
    for index in range(max(len(v) for v in lists)):
        ordered.extend(v[index] for v in lists if index < len(v))
    return ordered


def _launch_nodes(store: Store, pool: dict, count: int, wr: WorkRequest) -> list[dict]:
    """Place `count` new nodes; each gets capacity (an instance) or a nodeError, as OKE does."""
    meta = pool["_meta"]
    shape, ocpus, memory = meta["shape"], meta["ocpus"], meta["memory"]
    slots = meta["slots"]
    created = []
    for _attempt in range(count):
        index = meta["next_node"]
        meta["next_node"] += 1
        placement, short, fd = slots[index % len(slots)]
        candidates = [fd]
        if store.sc.node_pools.fault_domain_fallback:
            candidates += [s[2] for s in slots if s[0] is placement and s[2] != fd]
        node = {
            "id": None,
            "name": f"oke-c{_suffix(pool['clusterId'])}-n{_suffix(pool['id'])}-{index}",
            "kubernetesVersion": pool["kubernetesVersion"],
            "availabilityDomain": placement["availabilityDomain"],
            "subnetId": placement["subnetId"],
            "nodePoolId": pool["id"],
            "faultDomain": fd,
            "privateIp": None,
            "publicIp": None,
            "nodeError": None,
            "freeformTags": (pool["nodeConfigDetails"] or {}).get("freeformTags") or {},
            "definedTags": {},
            "systemTags": {},
            "lifecycleState": "CREATING",
            "lifecycleDetails": "waiting for the node to join the cluster",
        }
        try:
            alloc, placed_fd = place(store, short, candidates, shape, ocpus, memory, placement.get("capacityReservationId"))
        except ApiError as exc:
            if store.sc.node_pools.failed_without_fault_domain:
                node["faultDomain"] = None
            node.update(
                lifecycleState="FAILING",
                lifecycleDetails=exc.message,
                nodeError={"code": exc.code, "message": exc.message, "status": str(exc.status), "opc-request-id": store.request_id()},
            )
            node["_error"] = exc
        else:
            instance = new_instance(
                store,
                compartment=pool["compartmentId"],
                ad_full=placement["availabilityDomain"],
                fault_domain=placed_fd,
                shape=shape,
                ocpus=ocpus,
                memory=memory,
                display_name=node["name"],
                extra={
                    "freeformTags": dict(node["freeformTags"]),
                    "capacityReservationId": placement.get("capacityReservationId"),
                    "extendedMetadata": {"oke-node-pool-id": pool["id"]},
                },
            )
            store.allocations[instance["id"]] = alloc
            boot = store.hooks.boot("node", dict(instance))
            vnic, attachment = attach_vnic(store, instance, placement["subnetId"], boot)
            node.update(id=instance["id"], faultDomain=placed_fd)
            node["_boot"] = (instance, vnic, attachment, boot)
        pool["nodes"].append(node)
        created.append(node)
    return created


def _finish_nodes(store: Store, pool: dict, nodes: list[dict], wr: WorkRequest) -> None:
    failed = []
    for node in nodes:
        if node.get("_boot"):
            instance, vnic, attachment, boot = node.pop("_boot")
            if boot_finished(store, instance, vnic, attachment, boot, None):
                quirks, settings = store.node_quirks, store.sc.node_pools
                if quirks["stuck"] < settings.stuck_nodes:
                    quirks["stuck"] += 1
                    node.update(lifecycleState="UPDATING", lifecycleDetails="waiting for the node to register", privateIp=vnic["privateIp"])
                elif quirks["failing"] < settings.failing_nodes:
                    quirks["failing"] += 1
                    node.update(lifecycleState="FAILING", lifecycleDetails="node is failing", privateIp=vnic["privateIp"])
                else:
                    node.update(lifecycleState="ACTIVE", lifecycleDetails=None, privateIp=vnic["privateIp"])
                continue
            node.update(
                id=None,
                lifecycleState="FAILING",
                nodeError={"code": "InternalError", "message": "Node failed to boot.", "status": "500", "opc-request-id": store.request_id()},
            )
        failed.append(node)
    if failed:
        first = failed[0].pop("_error", None)
        for node in failed:
            node.pop("_error", None)
        reason = OOHC_NODE_ERROR if first is None or first.code == "InternalError" else f"({first.status}, {first.code}, false) {first.message}"
        store.fail(
            wr,
            "GetWorkRequestGeneric",
            f"{len(failed)} node(s) launch failure. Reason for failure on one of the nodes : {reason} (opc-request-id: {store.request_id()})",
        )
        pool["lifecycleState"] = store.sc.node_pools.failed_pool_state
        pool["lifecycleDetails"] = f"{len(failed)} node(s) failed to launch"
        again = wr.operation_type == "NODEPOOL_RECONCILE"
        _schedule_reconcile(store, pool, pool["_meta"].get("reconcile_attempt", 0) + 1 if again else 0)
    else:
        unhealthy = [n for n in pool["nodes"] if n.get("nodeError")]
        pool["lifecycleState"] = store.sc.node_pools.failed_pool_state if unhealthy else "ACTIVE"
        pool["lifecycleDetails"] = f"{len(unhealthy)} node(s) failed to launch" if unhealthy else None


def _remove_nodes(store: Store, pool: dict, nodes: list[dict]) -> None:
    for node in nodes:
        pool["nodes"].remove(node)
        instance = store.resources["instances"].get(node.get("id") or "")
        if node.get("_boot"):
            instance = node.pop("_boot")[0]
        if instance is not None and instance["lifecycleState"] != "TERMINATED":
            release_instance(store, instance)


def _resize(store: Store, pool: dict, wr: WorkRequest, *, replace_all: bool = False) -> list[dict]:
    """Bring the pool to its size: failed nodes are replaced, extra nodes removed (newest first)."""
    size = pool["nodeConfigDetails"]["size"]
    if replace_all:
        _remove_nodes(store, pool, list(pool["nodes"]))
    _remove_nodes(store, pool, [n for n in pool["nodes"] if n.get("nodeError") or n["lifecycleState"] == "FAILING"])
    healthy = list(pool["nodes"])
    if len(healthy) > size:
        # A smaller size drops nodes that are not ACTIVE first (the autoscaler shrinks a pool's size to get rid of
        # failed nodes, kubernetes/autoscaler#9703), then the newest.
        order = sorted(healthy[::-1], key=lambda n: n["lifecycleState"] == "ACTIVE")
        _remove_nodes(store, pool, order[: len(healthy) - size])
    return _launch_nodes(store, pool, max(0, size - len(healthy)), wr)


def _schedule_reconcile(store: Store, pool: dict, attempt: int = 0) -> None:
    """OKE keeps reconciling a pool with failed nodes: a NODEPOOL_RECONCILE work request of its own retries them,
    backing off (delay, 2x, 4x, ...) while they keep failing; a pool busy with another work request is looked at later."""
    delay = store.sc.node_pools.reconcile_after_seconds
    if delay is None:
        return
    pool["_meta"]["reconcile_attempt"] = attempt

    def reconcile() -> None:
        if pool["lifecycleState"] in DEAD or not any(n.get("nodeError") for n in pool["nodes"]):
            return
        if pool["id"] in store.pending_wr:
            _schedule_reconcile(store, pool, attempt)
            return
        _submit_resize(store, pool, "NODEPOOL_RECONCILE", store.sc.timings.node_pool_update)

    store.schedule(store.now() + delay * (2 ** min(attempt, 6)), reconcile)


def _submit_resize(store: Store, pool: dict, operation: str, duration: float, replace_all: bool = False) -> WorkRequest:
    state: dict = {}

    def start(wr: WorkRequest) -> None:
        if pool["lifecycleState"] in DEAD:  # its cluster was deleted meanwhile
            store.fail(wr, "GetWorkRequestGeneric", f"Node pool {pool['id']} was deleted.")
            return
        state["nodes"] = _resize(store, pool, wr, replace_all=replace_all)

    def finish(wr: WorkRequest) -> None:
        if pool["lifecycleState"] in DEAD:
            if not wr.errors:
                store.fail(wr, "GetWorkRequestGeneric", f"Node pool {pool['id']} was deleted.")
            return
        _finish_nodes(store, pool, state.get("nodes", []), wr)

    action = "CREATED" if operation == "NODEPOOL_CREATE" else "UPDATED"
    if operation != "NODEPOOL_CREATE":
        pool["lifecycleState"] = "UPDATING"
    return store.submit(
        "ce",
        operation,
        pool["compartmentId"],
        _entity("nodepool", action, pool["id"], pool["clusterId"]),
        duration,
        on_start=start,
        on_finish=finish,
        lock_ids=(pool["id"],),
    )


def _shape_of(store: Store, pool: dict) -> None:
    shape, ocpus, memory = resolve(pool["nodeShape"], pool.get("nodeShapeConfig"), "nodeShape")
    pool["_meta"].update(shape=shape.name, ocpus=ocpus, memory=memory)
    if shape.flex:
        pool["nodeShapeConfig"] = {"ocpus": ocpus, "memoryInGBs": memory}


def _view(pool: dict, with_nodes: bool = True) -> dict:
    # Nodes hold private entries (a boot in flight, the launch error) that must not be copied, let alone shown.
    view = {k: copy.deepcopy(v) for k, v in pool.items() if not k.startswith("_") and k != "nodes"}
    if with_nodes:
        view["nodes"] = [copy.deepcopy({k: v for k, v in node.items() if not k.startswith("_")}) for node in pool["nodes"]]
    return view


@route("POST", "/20180222/nodePools", "ce.CreateNodePool", retry_token=True)
def create_node_pool(ctx: Context) -> Reply:
    store = ctx.store
    body = ctx.json()
    compartment = need_ocid(body, "compartmentId")
    cluster_id = need_ocid(body, "clusterId")
    cluster = store.resources["clusters"].get(cluster_id)
    if cluster is None or cluster["lifecycleState"] in DEAD:
        raise not_found(f"Cluster {cluster_id} not found")
    if cluster["lifecycleState"] != "ACTIVE":
        raise ApiError(409, "IncorrectState", f"Cluster {cluster_id} is {cluster['lifecycleState']}; node pools can be added once it is ACTIVE.")
    name = need(body, "name")
    need(body, "nodeShape")
    details = body.get("nodeConfigDetails")
    if not details:
        raise ApiError(400, "MissingParameter", "Missing required parameter: nodeConfigDetails (subnetIds/quantityPerSubnet are not supported by this sandbox)")
    size = details.get("size")
    if not isinstance(size, int) or size < 0:
        raise invalid("nodeConfigDetails.size", f"must be an integer >= 0, got {size!r}")
    pool = {
        "id": store.ocid("nodepool"),
        "compartmentId": compartment,
        "clusterId": cluster_id,
        "name": name,
        "kubernetesVersion": body.get("kubernetesVersion") or cluster["kubernetesVersion"],
        "nodeShape": body["nodeShape"],
        "nodeShapeConfig": body.get("nodeShapeConfig"),
        "nodeSourceDetails": body.get("nodeSourceDetails"),
        "nodeSource": body.get("nodeSourceDetails"),
        "nodeImageId": (body.get("nodeSourceDetails") or {}).get("imageId"),
        "nodeMetadata": body.get("nodeMetadata") or {},
        "initialNodeLabels": body.get("initialNodeLabels") or [],
        "sshPublicKey": body.get("sshPublicKey"),
        "nodeConfigDetails": details,
        "nodeEvictionNodePoolSettings": body.get("nodeEvictionNodePoolSettings"),
        "nodePoolCyclingDetails": body.get("nodePoolCyclingDetails"),
        "freeformTags": body.get("freeformTags") or {},
        "definedTags": body.get("definedTags") or {},
        "systemTags": {},
        "lifecycleState": "CREATING",
        "lifecycleDetails": None,
        "nodes": [],
        "timeCreated": store.clock.iso(),
        "_meta": {"next_node": 0},
    }
    _shape_of(store, pool)
    pool["_meta"]["slots"] = _placements(store, details)
    store.add("node_pools", pool)
    wr = _submit_resize(store, pool, "NODEPOOL_CREATE", ctx.sc.timings.node_pool_create)
    return Reply(202, None, {"opc-work-request-id": wr.id})


@route("GET", "/20180222/nodePools/{nodePoolId}", "ce.GetNodePool")
def get_node_pool(ctx: Context) -> Reply:
    ctx.store.wait_for(ctx.store.pending_wr.get(ctx.params["nodePoolId"]))
    view = _view(ctx.store.get("node_pools", ctx.params["nodePoolId"]))
    return Reply(200, view, {"etag": etag(view)})


@route("GET", "/20180222/nodePools", "ce.ListNodePools")
def list_node_pools(ctx: Context) -> Reply:
    compartment = ctx.q_required("compartmentId")
    check_ocid(compartment, "compartmentId")
    states = ctx.q_all("lifecycleState")
    items = [
        _view(p, with_nodes=False)
        for p in ctx.store.resources["node_pools"].values()
        if p["compartmentId"] == compartment
        and (not ctx.q("clusterId") or p["clusterId"] == ctx.q("clusterId"))
        and (not ctx.q("name") or p["name"] == ctx.q("name"))
        and (not states or p["lifecycleState"] in states)
        and ctx.store.listed(p)
    ]
    return paginate(ctx, items, default_sort_key="name")


# UpdateNodePool takes no opc-retry-token (the SDK sends none): a repeated update is a second update.
@route("PUT", "/20180222/nodePools/{nodePoolId}", "ce.UpdateNodePool")
def update_node_pool(ctx: Context) -> Reply:
    store = ctx.store
    pool = store.get("node_pools", ctx.params["nodePoolId"])
    if pool["lifecycleState"] in DEAD:
        raise not_found()
    _busy(store, pool["id"], "Node pool")
    body = ctx.json()
    # Validate everything first: a 400 leaves the pool untouched.
    shape_meta = dict(pool["_meta"])
    candidate = {"nodeShape": body.get("nodeShape") or pool["nodeShape"], "nodeShapeConfig": body.get("nodeShapeConfig") or pool["nodeShapeConfig"]}
    if body.get("nodeShape") is not None or body.get("nodeShapeConfig") is not None:
        candidate["_meta"] = shape_meta
        _shape_of(store, candidate)
    details = body.get("nodeConfigDetails")
    merged, slots, replace_all = pool["nodeConfigDetails"], None, False
    if details is not None:
        merged = {**pool["nodeConfigDetails"], **{k: v for k, v in details.items() if v is not None}}
        if not isinstance(merged.get("size"), int) or merged["size"] < 0:
            raise invalid("nodeConfigDetails.size", f"must be an integer >= 0, got {merged.get('size')!r}")
        if details.get("placementConfigs") is not None:
            slots = _placements(store, merged)
            # Changing placement replaces every node, as OKE does (existing nodes are terminated).
            replace_all = _placement_key(details["placementConfigs"]) != _placement_key(pool["nodeConfigDetails"]["placementConfigs"])
    for key in (
        "name",
        "kubernetesVersion",
        "initialNodeLabels",
        "nodeMetadata",
        "sshPublicKey",
        "freeformTags",
        "definedTags",
        "nodeEvictionNodePoolSettings",
        "nodePoolCyclingDetails",
    ):
        if body.get(key) is not None:
            pool[key] = body[key]
    if body.get("nodeSourceDetails") is not None:
        pool["nodeSourceDetails"] = pool["nodeSource"] = body["nodeSourceDetails"]
    # A new shape applies to nodes created from now on; running nodes keep theirs.
    pool["nodeShape"], pool["nodeShapeConfig"] = candidate["nodeShape"], candidate["nodeShapeConfig"]
    pool["_meta"].update({k: shape_meta[k] for k in ("shape", "ocpus", "memory")})
    if slots is not None:
        pool["_meta"]["slots"] = slots
    pool["nodeConfigDetails"] = merged
    wr = _submit_resize(store, pool, "NODEPOOL_UPDATE", ctx.sc.timings.node_pool_update, replace_all=replace_all)
    return Reply(202, None, {"opc-work-request-id": wr.id})


def _placement_key(configs: list[dict]) -> list:
    return [(c.get("availabilityDomain"), c.get("subnetId"), sorted(c.get("faultDomains") or []), c.get("capacityReservationId")) for c in configs]


@route("DELETE", "/20180222/nodePools/{nodePoolId}", "ce.DeleteNodePool")
def delete_node_pool(ctx: Context) -> Reply:
    store = ctx.store
    pool = store.get("node_pools", ctx.params["nodePoolId"])
    if pool["lifecycleState"] in DEAD:
        raise not_found()
    _busy(store, pool["id"], "Node pool")
    pool["lifecycleState"] = "DELETING"

    def finish(wr: WorkRequest) -> None:
        _remove_nodes(store, pool, list(pool["nodes"]))
        store.bury(pool, "DELETED")

    wr = store.submit(
        "ce",
        "NODEPOOL_DELETE",
        pool["compartmentId"],
        _entity("nodepool", "DELETED", pool["id"], pool["clusterId"]),
        ctx.sc.timings.node_pool_delete,
        on_finish=finish,
        lock_ids=(pool["id"],),
    )
    return Reply(202, None, {"opc-work-request-id": wr.id})


# -- options (https://docs.oracle.com/en-us/iaas/api/#/en/containerengine/20180222/NodePoolOptions/GetNodePoolOptions) --
@route("GET", "/20180222/clusterOptions/{clusterOptionId}", "ce.GetClusterOptions")
def get_cluster_options(ctx: Context) -> Reply:
    options = ctx.sc.oke_options
    networks = [{"cniType": "FLANNEL_OVERLAY"}, {"cniType": "OCI_VCN_IP_NATIVE"}]
    return Reply(200, {"kubernetesVersions": list(options.kubernetes_versions), "clusterPodNetworkOptions": networks})


@route("GET", "/20180222/nodePoolOptions/{nodePoolOptionId}", "ce.GetNodePoolOptions")
def get_node_pool_options(ctx: Context) -> Reply:
    """`all` or a cluster OCID; images filtered by nodePoolK8sVersion and nodePoolOsArch, as OKE filters them."""
    option_id = ctx.params["nodePoolOptionId"]
    if option_id != "all":
        cluster = ctx.store.resources["clusters"].get(option_id)
        if cluster is None or cluster["lifecycleState"] in DEAD:
            raise not_found()
    options = ctx.sc.oke_options
    version, arch = ctx.q("nodePoolK8sVersion"), ctx.q("nodePoolOsArch")
    images = [i for i in options.images if (not version or i.kubernetes_version == version) and (not arch or i.architecture == arch)]
    sources = [{"sourceType": "IMAGE", "sourceName": i.name, "imageId": i.id} for i in images]
    return Reply(200, {"kubernetesVersions": list(options.kubernetes_versions), "shapes": sorted(SHAPES), "images": [], "sources": sources})


# -- work requests --------------------------------------------------------------------------------
def _ce_wr(ctx: Context) -> WorkRequest:
    wr = ctx.store.work_requests.get(ctx.params["workRequestId"])
    if wr is None or wr.service != "ce":
        raise not_found()
    return wr


@route("GET", "/20180222/workRequests/{workRequestId}", "ce.GetWorkRequest")
def get_work_request(ctx: Context) -> Reply:
    ctx.store.wait_for(ctx.params["workRequestId"])
    return Reply(200, _ce_wr(ctx).api())


@route("GET", "/20180222/workRequests", "ce.ListWorkRequests")
def list_work_requests(ctx: Context) -> Reply:
    compartment = ctx.q_required("compartmentId")
    check_ocid(compartment, "compartmentId")
    statuses = ctx.q_all("status")
    resource_type = (ctx.q("resourceType") or "").lower()
    items = []
    for wr in ctx.store.work_requests.values():
        ids = {r["identifier"] for r in wr.resources}
        kinds = {r["entityType"] for r in wr.resources}
        if wr.service != "ce" or wr.compartment_id != compartment:
            continue
        if ctx.q("resourceId") and ctx.q("resourceId") not in ids:
            continue
        if resource_type and resource_type not in kinds:
            continue
        if ctx.q("clusterId") and not (
            ctx.q("clusterId") in ids or any(ctx.store.resources["node_pools"].get(i, {}).get("clusterId") == ctx.q("clusterId") for i in ids)
        ):
            continue
        if statuses and wr.status not in statuses:
            continue
        items.append(wr.api())
    return paginate(ctx, items, default_sort_key="timeAccepted")


@route("GET", "/20180222/workRequests/{workRequestId}/errors", "ce.ListWorkRequestErrors")
def list_work_request_errors(ctx: Context) -> Reply:
    ctx.q_required("compartmentId")
    return Reply(200, list(_ce_wr(ctx).errors))


@route("GET", "/20180222/workRequests/{workRequestId}/logs", "ce.ListWorkRequestLogs")
def list_work_request_logs(ctx: Context) -> Reply:
    ctx.q_required("compartmentId")
    wr = _ce_wr(ctx)
    logs = [{"message": f"{wr.operation_type} accepted", "timestamp": wr.api()["timeAccepted"]}]
    if wr.time_finished:
        logs.append({"message": f"{wr.operation_type} {wr.status.lower()}", "timestamp": wr.api()["timeFinished"]})
    return Reply(200, logs)
