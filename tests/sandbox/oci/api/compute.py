"""Compute (iaas): capacity reports, capacity reservations, instances, VNICs, work requests.

Capacity is decided synchronously at LaunchInstance, as OCI does: no room in the chosen fault
domain (or in any, when none is given) answers 500 InternalError "Out of host capacity.".
"""

from __future__ import annotations

import hashlib
import json

from ..errors import ApiError, invalid, not_found, out_of_host_capacity
from ..router import Context, Reply, check_ocid, need, need_ocid, paginate, route
from ..shapes import SHAPES, limit_family, resolve
from ..state import Allocation, Store, WorkRequest

GONE = ("TERMINATED", "DELETED")


def etag(resource: dict) -> str:
    return hashlib.sha256(json.dumps(resource, sort_keys=True).encode()).hexdigest()[:32]


def resolve_ad(ctx: Context, name: str | None, field: str = "availabilityDomain") -> str:
    if not name:
        raise ApiError(400, "MissingParameter", f"Missing required parameter: {field}")
    short = ctx.store.short_ad(name)
    if short is None:
        raise invalid(field, f"{name!r} is not an availability domain of {ctx.sc.region} (names: {', '.join(ctx.store.ad_names())})")
    return short


def check_fault_domain(store: Store, short_ad: str, fault_domain: str, field: str = "faultDomain") -> None:
    if fault_domain not in store.fault_domains(short_ad):
        raise invalid(field, f"{fault_domain!r} is not a fault domain of {short_ad} ({', '.join(store.fault_domains(short_ad))})")


def check_limit(store: Store, shape: str, ocpus: float) -> None:
    limit = store.sc.limits.get(shape)
    if limit is not None and store.ocpus_in_use(shape) + ocpus > limit:
        raise ApiError(
            400,
            "LimitExceeded",
            f"The following service limits were exceeded: {limit_family(shape)}-core-count. "
            "Request a service limit increase from the service limits page in the console.",
        )


def take_from_reservation(
    store: Store, reservation_id: str, short_ad: str, fault_domain: str | None, shape: str, ocpus: float, memory: float
) -> tuple[Allocation, str]:
    reservation = store.resources["capacity_reservations"].get(reservation_id)
    if reservation is None or reservation["lifecycleState"] in ("DELETING", "DELETED"):
        raise not_found(f"Capacity reservation {reservation_id} not found")
    if store.short_ad(reservation["availabilityDomain"]) != short_ad:
        raise invalid("capacityReservationId", "the reservation is in another availability domain")
    for index, config in enumerate(reservation["instanceReservationConfigs"]):
        shape_config = config.get("instanceShapeConfig") or {}
        if config["instanceShape"] != shape or (shape_config and (shape_config.get("ocpus"), shape_config.get("memoryInGBs")) != (ocpus, memory)):
            continue
        if fault_domain and config.get("faultDomain") and config["faultDomain"] != fault_domain:
            continue
        if config["usedCount"] < config["reservedCount"]:
            config["usedCount"] += 1
            reservation["usedInstanceCount"] = sum(c["usedCount"] for c in reservation["instanceReservationConfigs"])
            return Allocation(shape, ocpus, memory, reservation=(reservation_id, index)), config.get("faultDomain") or fault_domain or store.fault_domains(
                short_ad
            )[0]
    raise out_of_host_capacity()


def place(
    store: Store, short_ad: str, fault_domains: list[str], shape: str, ocpus: float, memory: float, reservation_id: str | None = None
) -> tuple[Allocation, str]:
    """Capacity for one instance in the first of `fault_domains` with room; raises OOHC/LimitExceeded."""
    check_limit(store, shape, ocpus)
    if reservation_id:
        return take_from_reservation(store, reservation_id, short_ad, fault_domains[0] if len(fault_domains) == 1 else None, shape, ocpus, memory)
    for fault_domain in fault_domains:
        alloc = store.take(short_ad, fault_domain, shape, ocpus, memory)
        if alloc is not None:
            return alloc, fault_domain
    for fault_domain in fault_domains:
        if (short_ad, fault_domain, shape) not in store.pools:
            store.note_failure(short_ad, fault_domain, shape)
    raise out_of_host_capacity()


def new_instance(
    store: Store, *, compartment: str, ad_full: str, fault_domain: str, shape: str, ocpus: float, memory: float, display_name: str, extra: dict
) -> dict:
    now = store.clock.iso()
    instance = {
        "id": store.ocid("instance"),
        "compartmentId": compartment,
        "availabilityDomain": ad_full,
        "faultDomain": fault_domain,
        "displayName": display_name,
        "shape": shape,
        "shapeConfig": {"ocpus": ocpus, "memoryInGBs": memory, "vcpus": int(ocpus * 2)},
        "region": store.sc.region,
        "lifecycleState": "PROVISIONING",
        "timeCreated": now,
        "freeformTags": {},
        "definedTags": {},
        "systemTags": {},
        "metadata": {},
        "extendedMetadata": {},
        **extra,
    }
    return store.add("instances", instance)


def attach_vnic(store: Store, instance: dict, subnet_id: str, boot) -> tuple[dict, dict]:
    """The primary VNIC + attachment; the private IP appears once the boot hook returns."""
    now = store.clock.iso()
    vnic = store.add(
        "vnics",
        {
            "id": store.ocid("vnic"),
            "availabilityDomain": instance["availabilityDomain"],
            "compartmentId": instance["compartmentId"],
            "displayName": instance["displayName"],
            "hostnameLabel": instance["displayName"].lower().replace("_", "-")[:63],
            "isPrimary": True,
            "lifecycleState": "PROVISIONING",
            "macAddress": "02:00:17:" + ":".join(instance["id"][-6:][i : i + 2] for i in range(0, 6, 2)),
            "privateIp": None,
            "publicIp": None,
            "subnetId": subnet_id,
            "skipSourceDestCheck": False,
            "nsgIds": [],
            "freeformTags": {},
            "definedTags": {},
            "timeCreated": now,
        },
    )
    attachment = store.add(
        "vnic_attachments",
        {
            "id": store.ocid("vnicattachment"),
            "availabilityDomain": instance["availabilityDomain"],
            "compartmentId": instance["compartmentId"],
            "displayName": None,
            "instanceId": instance["id"],
            "lifecycleState": "ATTACHING",
            "nicIndex": 0,
            "subnetId": subnet_id,
            "vnicId": vnic["id"],
            "timeCreated": now,
        },
    )
    return vnic, attachment


def boot_finished(store: Store, instance: dict, vnic: dict, attachment: dict, boot, wr: WorkRequest | None) -> bool:
    """Apply the boot hook's result; False (and the instance terminated) if it failed."""
    if instance["lifecycleState"] in ("TERMINATING", "TERMINATED"):
        return False  # terminated while it was still provisioning: nothing comes up
    try:
        result = boot.result()
    except Exception as exc:
        if wr is not None:
            store.fail(wr, "InternalError", f"Instance failed to boot: {exc}")
        store.boot_failures.append({"instance": instance["id"], "display_name": instance.get("displayName"), "error": f"{type(exc).__name__}: {exc}"})
        release_instance(store, instance)
        return False
    vnic.update(lifecycleState="AVAILABLE", privateIp=result["private_ip"], publicIp=result.get("public_ip"))
    attachment["lifecycleState"] = "ATTACHED"
    instance["lifecycleState"] = "RUNNING"
    return True


def release_instance(store: Store, instance: dict) -> None:
    """TERMINATED: capacity back to its pool/reservation, VNIC detached, terminate hook called."""
    store.bury(instance, "TERMINATED")
    alloc = store.allocations.pop(instance["id"], None)
    if alloc is not None:
        store.give_back(alloc)
    for attachment in store.resources["vnic_attachments"].values():
        if attachment["instanceId"] == instance["id"]:
            attachment["lifecycleState"] = "DETACHED"
            vnic = store.resources["vnics"].get(attachment["vnicId"])
            if vnic is not None:
                store.bury(vnic, "TERMINATED")
    kind = "node" if (instance.get("extendedMetadata") or {}).get("oke-node-pool-id") else "instance"
    store.hooks.terminate(kind, instance)


# -- capacity report ----------------------------------------------------------------------------
@route("POST", "/20160918/computeCapacityReports", "compute.CreateComputeCapacityReport", retry_token=True)
def create_capacity_report(ctx: Context) -> Reply:
    body = ctx.json()
    compartment = need_ocid(body, "compartmentId")
    ad_name = need(body, "availabilityDomain")
    short = resolve_ad(ctx, ad_name)
    wanted = need(body, "shapeAvailabilities")
    if not isinstance(wanted, list):
        raise invalid("shapeAvailabilities", "must be a list")
    out = []
    for i, item in enumerate(wanted):
        where = f"shapeAvailabilities[{i}]."
        shape_name = need(item, "instanceShape", where)
        fault_domain = item.get("faultDomain")
        if fault_domain:
            check_fault_domain(ctx.store, short, fault_domain, f"{where}faultDomain")
        entry = {"faultDomain": fault_domain, "instanceShape": shape_name, "instanceShapeConfig": item.get("instanceShapeConfig")}
        try:
            shape, ocpus, memory = resolve(shape_name, item.get("instanceShapeConfig"), f"{where}instanceShape")
        except ApiError as exc:
            if exc.status != 404:
                raise
            out.append({**entry, "availableCount": 0, "availabilityStatus": "HARDWARE_NOT_SUPPORTED"})
            continue
        if not ctx.store.shape_offered(short, shape.name):
            out.append({**entry, "availableCount": 0, "availabilityStatus": "HARDWARE_NOT_SUPPORTED"})
            continue
        fds = [fault_domain] if fault_domain else ctx.store.fault_domains(short)
        count = sum(ctx.store.reported(short, fd, shape.name, ocpus, memory) for fd in fds)
        entry["instanceShapeConfig"] = {"ocpus": ocpus, "memoryInGBs": memory}
        status = "AVAILABLE" if count else "OUT_OF_HOST_CAPACITY"
        if any(ctx.store.count_hidden(short, fd, shape.name) for fd in fds):
            count = None
        out.append({**entry, "availableCount": count, "availabilityStatus": status})
    return Reply(200, {"compartmentId": compartment, "availabilityDomain": ad_name, "timeCreated": ctx.store.clock.iso(), "shapeAvailabilities": out})


# -- capacity reservations ------------------------------------------------------------------------
def _reserve(ctx: Context, short: str, config: dict, wanted: int, where: str) -> None:
    """Partial allocation, as OCI: reserve what fits now (possibly 0) and record it."""
    shape, ocpus, memory = resolve(need(config, "instanceShape", where), config.get("instanceShapeConfig"), f"{where}instanceShape")
    fault_domain = config.get("faultDomain")
    if fault_domain:
        check_fault_domain(ctx.store, short, fault_domain, f"{where}faultDomain")
    fds = [fault_domain] if fault_domain else ctx.store.fault_domains(short)
    holds = config.setdefault("_holds", [])
    while len(holds) < wanted:
        alloc = next((a for a in (ctx.store.take(short, fd, shape.name, ocpus, memory) for fd in fds) if a is not None), None)
        if alloc is None:
            break
        holds.append(alloc)
    while len(holds) > max(wanted, config.get("usedCount", 0)):
        ctx.store.give_back(holds.pop())
    config["reservedCount"] = len(holds)
    config.setdefault("usedCount", 0)
    if shape.flex:
        config["instanceShapeConfig"] = {"ocpus": ocpus, "memoryInGBs": memory}


def _reservation_view(reservation: dict) -> dict:
    view = {k: v for k, v in reservation.items() if not k.startswith("_")}
    view["instanceReservationConfigs"] = [{k: v for k, v in c.items() if not k.startswith("_")} for c in reservation["instanceReservationConfigs"]]
    return view


def _reservations_enabled(ctx: Context) -> None:
    if not ctx.sc.capacity_reservations.enabled:
        raise not_found("Capacity reservations are not available in this tenancy.")


@route("POST", "/20160918/computeCapacityReservations", "compute.CreateComputeCapacityReservation", retry_token=True)
def create_reservation(ctx: Context) -> Reply:
    _reservations_enabled(ctx)
    body = ctx.json()
    compartment = need_ocid(body, "compartmentId")
    ad_name = need(body, "availabilityDomain")
    short = resolve_ad(ctx, ad_name)
    configs = body.get("instanceReservationConfigs") or []
    if not isinstance(configs, list):
        raise invalid("instanceReservationConfigs", "must be a list")
    for i, config in enumerate(configs):
        # Validate every config before reserving anything, so a 400 holds no capacity.
        where = f"instanceReservationConfigs[{i}]."
        requested = need(config, "reservedCount", where)
        if not isinstance(requested, int) or requested < 0:
            raise invalid(f"{where}reservedCount", "must be an integer >= 0")
        resolve(need(config, "instanceShape", where), config.get("instanceShapeConfig"), f"{where}instanceShape")
        if config.get("faultDomain"):
            check_fault_domain(ctx.store, short, config["faultDomain"], f"{where}faultDomain")
    store = ctx.store
    reservation = {
        "id": store.ocid("capacityreservation"),
        "compartmentId": compartment,
        "availabilityDomain": ad_name,
        "displayName": body.get("displayName") or "capacity-reservation",
        "isDefaultReservation": bool(body.get("isDefaultReservation")),
        "freeformTags": body.get("freeformTags") or {},
        "definedTags": body.get("definedTags") or {},
        "lifecycleState": "CREATING",
        "timeCreated": store.clock.iso(),
        "timeUpdated": store.clock.iso(),
        "instanceReservationConfigs": [],
        "reservedInstanceCount": 0,
        "usedInstanceCount": 0,
    }
    for i, config in enumerate(configs):
        entry = {
            "instanceShape": config.get("instanceShape"),
            "faultDomain": config.get("faultDomain"),
            "instanceShapeConfig": config.get("instanceShapeConfig"),
            "usedCount": 0,
        }
        _reserve(ctx, short, entry, config["reservedCount"], f"instanceReservationConfigs[{i}].")
        entry["_requested"] = config["reservedCount"]
        reservation["instanceReservationConfigs"].append(entry)
    reservation["reservedInstanceCount"] = sum(c["reservedCount"] for c in reservation["instanceReservationConfigs"])
    store.add("capacity_reservations", reservation)
    wr = store.submit(
        "iaas",
        "CreateComputeCapacityReservation",
        compartment,
        [
            {
                "entityType": "computeCapacityReservation",
                "actionType": "CREATED",
                "identifier": reservation["id"],
                "entityUri": f"/20160918/computeCapacityReservations/{reservation['id']}",
            }
        ],
        ctx.sc.timings.capacity_reservation,
        on_finish=lambda wr: reservation.update(lifecycleState="ACTIVE"),
        lock_ids=(reservation["id"],),
    )
    view = _reservation_view(reservation)
    return Reply(200, view, {"opc-work-request-id": wr.id, "etag": etag(view)})


@route("GET", "/20160918/computeCapacityReservations/{reservationId}", "compute.GetComputeCapacityReservation")
def get_reservation(ctx: Context) -> Reply:
    _reservations_enabled(ctx)
    ctx.store.wait_for(ctx.store.pending_wr.get(ctx.params["reservationId"]))
    view = _reservation_view(ctx.store.get("capacity_reservations", ctx.params["reservationId"]))
    return Reply(200, view, {"etag": etag(view)})


@route("GET", "/20160918/computeCapacityReservations", "compute.ListComputeCapacityReservations")
def list_reservations(ctx: Context) -> Reply:
    _reservations_enabled(ctx)
    compartment = ctx.q_required("compartmentId")
    check_ocid(compartment, "compartmentId")
    states = ctx.q_all("lifecycleState")
    items = [
        {k: v for k, v in _reservation_view(r).items() if k not in ("instanceReservationConfigs", "timeUpdated")}
        for r in ctx.store.resources["capacity_reservations"].values()
        if r["compartmentId"] == compartment
        and (not ctx.q("availabilityDomain") or r["availabilityDomain"] == ctx.q("availabilityDomain"))
        and (not ctx.q("displayName") or r["displayName"] == ctx.q("displayName"))
        and (not states or r["lifecycleState"] in states)
        and ctx.store.listed(r)
    ]
    return paginate(ctx, items)


def _busy(ctx: Context, resource_id: str) -> None:
    if resource_id in ctx.store.pending_wr:
        raise ApiError(409, "Conflict", f"Resource {resource_id} has a work request in progress ({ctx.store.pending_wr[resource_id]}); retry when it finishes.")


@route("PUT", "/20160918/computeCapacityReservations/{reservationId}", "compute.UpdateComputeCapacityReservation", retry_token=True)
def update_reservation(ctx: Context) -> Reply:
    _reservations_enabled(ctx)
    reservation = ctx.store.get("capacity_reservations", ctx.params["reservationId"])
    if reservation["lifecycleState"] in ("DELETING", "DELETED"):
        raise not_found()
    _busy(ctx, reservation["id"])
    body = ctx.json()
    short = ctx.store.short_ad(reservation["availabilityDomain"])
    for key in ("displayName", "freeformTags", "definedTags", "isDefaultReservation"):
        if key in body and body[key] is not None:
            reservation[key] = body[key]
    if body.get("instanceReservationConfigs") is not None:
        current = {(c["instanceShape"], c.get("faultDomain")): c for c in reservation["instanceReservationConfigs"]}
        updated = []
        for i, config in enumerate(body["instanceReservationConfigs"]):
            where = f"instanceReservationConfigs[{i}]."
            requested = need(config, "reservedCount", where)
            entry = current.pop((config.get("instanceShape"), config.get("faultDomain")), None) or {
                "instanceShape": config.get("instanceShape"),
                "faultDomain": config.get("faultDomain"),
                "instanceShapeConfig": config.get("instanceShapeConfig"),
                "usedCount": 0,
            }
            _reserve(ctx, short, entry, requested, where)
            entry["_requested"] = requested
            updated.append(entry)
        for dropped in current.values():
            if dropped["usedCount"]:
                raise ApiError(409, "IncorrectState", f"Cannot remove the {dropped['instanceShape']} configuration: {dropped['usedCount']} instance(s) use it")
            for alloc in dropped.get("_holds", []):
                ctx.store.give_back(alloc)
        reservation["instanceReservationConfigs"] = updated
        reservation["reservedInstanceCount"] = sum(c["reservedCount"] for c in updated)
    reservation["timeUpdated"] = ctx.store.clock.iso()
    reservation["lifecycleState"] = "UPDATING"
    wr = ctx.store.submit(
        "iaas",
        "UpdateComputeCapacityReservation",
        reservation["compartmentId"],
        [
            {
                "entityType": "computeCapacityReservation",
                "actionType": "UPDATED",
                "identifier": reservation["id"],
                "entityUri": f"/20160918/computeCapacityReservations/{reservation['id']}",
            }
        ],
        ctx.sc.timings.capacity_reservation,
        on_finish=lambda wr: reservation.update(lifecycleState="ACTIVE"),
        lock_ids=(reservation["id"],),
    )
    return Reply(202, None, {"opc-work-request-id": wr.id})


@route("DELETE", "/20160918/computeCapacityReservations/{reservationId}", "compute.DeleteComputeCapacityReservation")
def delete_reservation(ctx: Context) -> Reply:
    _reservations_enabled(ctx)
    reservation = ctx.store.get("capacity_reservations", ctx.params["reservationId"])
    if reservation["lifecycleState"] in ("DELETING", "DELETED"):
        raise not_found()
    _busy(ctx, reservation["id"])
    reservation["lifecycleState"] = "DELETING"

    def finish(wr):
        for config in reservation["instanceReservationConfigs"]:
            # Unused reserved slots go back to the pool; used ones stay with their instances.
            for alloc in config.get("_holds", [])[config["usedCount"] :]:
                ctx.store.give_back(alloc)
            config["_holds"] = config.get("_holds", [])[: config["usedCount"]]
        ctx.store.bury(reservation, "DELETED")

    wr = ctx.store.submit(
        "iaas",
        "DeleteComputeCapacityReservation",
        reservation["compartmentId"],
        [
            {
                "entityType": "computeCapacityReservation",
                "actionType": "DELETED",
                "identifier": reservation["id"],
                "entityUri": f"/20160918/computeCapacityReservations/{reservation['id']}",
            }
        ],
        ctx.sc.timings.capacity_reservation,
        on_finish=finish,
        lock_ids=(reservation["id"],),
    )
    return Reply(202, None, {"opc-work-request-id": wr.id})


# -- instances ------------------------------------------------------------------------------------
@route("POST", "/20160918/instances", "compute.LaunchInstance", retry_token=True)
def launch_instance(ctx: Context) -> Reply:
    body = ctx.json()
    store = ctx.store
    compartment = need_ocid(body, "compartmentId")
    ad_name = need(body, "availabilityDomain")
    short = resolve_ad(ctx, ad_name)
    vnic_details = body.get("createVnicDetails") or {}
    subnet_id = vnic_details.get("subnetId") or body.get("subnetId")
    if not subnet_id:
        raise ApiError(400, "MissingParameter", "Missing required parameter: createVnicDetails.subnetId")
    check_ocid(subnet_id, "createVnicDetails.subnetId")
    shape, ocpus, memory = resolve(need(body, "shape"), body.get("shapeConfig"), "shape")
    fault_domain = body.get("faultDomain")
    if fault_domain:
        check_fault_domain(store, short, fault_domain)
    if not store.shape_offered(short, shape.name):
        raise not_found(f"Shape {shape.name} not found in {ad_name}.")
    reservation_id = body.get("capacityReservationId") or None
    alloc, placed_fd = place(store, short, [fault_domain] if fault_domain else store.fault_domains(short), shape.name, ocpus, memory, reservation_id)
    instance = new_instance(
        store,
        compartment=compartment,
        ad_full=ad_name,
        fault_domain=placed_fd,
        shape=shape.name,
        ocpus=ocpus,
        memory=memory,
        display_name=body.get("displayName") or f"instance-{store.clock.iso()[:19].replace(':', '')}",
        extra={
            "freeformTags": body.get("freeformTags") or {},
            "definedTags": body.get("definedTags") or {},
            "metadata": body.get("metadata") or {},
            "capacityReservationId": reservation_id,
            "sourceDetails": body.get("sourceDetails"),
            "imageId": (body.get("sourceDetails") or {}).get("imageId") or body.get("imageId"),
        },
    )
    store.allocations[instance["id"]] = alloc
    boot = store.hooks.boot("instance", dict(instance))
    vnic, attachment = attach_vnic(store, instance, subnet_id, boot)
    wr = store.submit(
        "iaas",
        "LaunchInstance",
        compartment,
        [{"entityType": "instance", "actionType": "CREATED", "identifier": instance["id"], "entityUri": f"/20160918/instances/{instance['id']}"}],
        ctx.sc.timings.instance_launch,
        on_finish=lambda wr: boot_finished(store, instance, vnic, attachment, boot, wr),
        lock_ids=(instance["id"],),
    )
    wr.waiting_on = boot
    return Reply(200, dict(instance), {"opc-work-request-id": wr.id, "etag": etag(instance)})


@route("GET", "/20160918/instances/{instanceId}", "compute.GetInstance")
def get_instance(ctx: Context) -> Reply:
    ctx.store.wait_for(ctx.store.pending_wr.get(ctx.params["instanceId"]))
    instance = ctx.store.get("instances", ctx.params["instanceId"])
    return Reply(200, instance, {"etag": etag(instance)})


@route("GET", "/20160918/instances", "compute.ListInstances")
def list_instances(ctx: Context) -> Reply:
    compartment = ctx.q_required("compartmentId")
    check_ocid(compartment, "compartmentId")
    filters = {k: ctx.q(k) for k in ("availabilityDomain", "displayName", "lifecycleState", "capacityReservationId") if ctx.q(k)}
    items = [
        i
        for i in ctx.store.resources["instances"].values()
        if i["compartmentId"] == compartment and all(i.get(k) == v for k, v in filters.items()) and ctx.store.listed(i)
    ]
    return paginate(ctx, items)


@route("DELETE", "/20160918/instances/{instanceId}", "compute.TerminateInstance")
def terminate_instance(ctx: Context) -> Reply:
    store = ctx.store
    instance = store.get("instances", ctx.params["instanceId"])
    if instance["lifecycleState"] in ("TERMINATING", "TERMINATED"):
        return Reply(204)
    instance["lifecycleState"] = "TERMINATING"
    store.pending_wr.pop(instance["id"], None)
    wr = store.submit(
        "iaas",
        "TerminateInstance",
        instance["compartmentId"],
        [{"entityType": "instance", "actionType": "DELETED", "identifier": instance["id"], "entityUri": f"/20160918/instances/{instance['id']}"}],
        ctx.sc.timings.instance_terminate,
        on_finish=lambda wr: release_instance(store, instance),
        lock_ids=(instance["id"],),
    )
    return Reply(204, None, {"opc-work-request-id": wr.id})


# -- shapes ----------------------------------------------------------------------------------------
@route("GET", "/20160918/shapes", "compute.ListShapes")
def list_shapes(ctx: Context) -> Reply:
    """Every shape the sandbox knows, with OCI's field names for the flexible shapes' limits."""
    compartment = ctx.q_required("compartmentId")
    check_ocid(compartment, "compartmentId")
    if ctx.q("availabilityDomain"):
        resolve_ad(ctx, ctx.q("availabilityDomain"))
    items = []
    for shape in SHAPES.values():
        item = {"shape": shape.name, "isFlexible": shape.flex, "processorDescription": "sandbox"}
        if shape.flex:
            item["ocpuOptions"] = {"min": shape.min_ocpus, "max": shape.max_ocpus}
            item["memoryOptions"] = {
                "minInGBs": shape.min_memory_per_ocpu,
                "maxInGBs": shape.max_memory,
                "minPerOcpuInGBs": shape.min_memory_per_ocpu,
                "maxPerOcpuInGBs": shape.max_memory_per_ocpu,
            }
        else:
            item.update(ocpus=shape.ocpus, memoryInGBs=shape.memory_gbs)
        items.append(item)
    return paginate(ctx, items, default_sort_key="shape")


# -- VNICs ----------------------------------------------------------------------------------------
@route("GET", "/20160918/vnicAttachments", "compute.ListVnicAttachments")
def list_vnic_attachments(ctx: Context) -> Reply:
    compartment = ctx.q_required("compartmentId")
    check_ocid(compartment, "compartmentId")
    filters = {k: ctx.q(k) for k in ("availabilityDomain", "instanceId", "vnicId") if ctx.q(k)}
    if "instanceId" in filters:
        ctx.store.wait_for(ctx.store.pending_wr.get(filters["instanceId"]))
    items = [
        a for a in ctx.store.resources["vnic_attachments"].values() if a["compartmentId"] == compartment and all(a.get(k) == v for k, v in filters.items())
    ]
    return paginate(ctx, items)


@route("GET", "/20160918/vnics/{vnicId}", "network.GetVnic")
def get_vnic(ctx: Context) -> Reply:
    vnic = ctx.store.get("vnics", ctx.params["vnicId"])
    return Reply(200, vnic, {"etag": etag(vnic)})


# -- iaas work requests ---------------------------------------------------------------------------
def _iaas_wr(ctx: Context) -> WorkRequest:
    wr = ctx.store.work_requests.get(ctx.params["workRequestId"])
    if wr is None or wr.service != "iaas":
        raise not_found()
    return wr


@route("GET", "/20160918/workRequests/{workRequestId}", "workrequests.GetWorkRequest")
def get_work_request(ctx: Context) -> Reply:
    ctx.store.wait_for(ctx.params["workRequestId"])
    return Reply(200, _iaas_wr(ctx).api())


@route("GET", "/20160918/workRequests/{workRequestId}/errors", "workrequests.ListWorkRequestErrors")
def list_work_request_errors(ctx: Context) -> Reply:
    return paginate(ctx, list(_iaas_wr(ctx).errors), default_sort_key="timestamp")
