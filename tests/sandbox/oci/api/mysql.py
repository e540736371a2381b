"""MySQL HeatWave (API version 20190415): the DB system calls oci_mysql_db_system makes, the MySQL shape list and the
service's work requests.

Routes, fields, states and enums from the oci SDK (oci/mysql/db_system_client.py, mysqlaas_client.py,
work_requests_client.py; models db_system.py, db_system_summary.py, create_db_system_details.py, shape_summary.py,
db_system_endpoint.py, work_request.py) and OCI's API reference for MySQL (CreateDbSystem answers 200 with the
DbSystem CREATING and an opc-work-request-id; DeleteDbSystem answers 204 with one). A DB system that finds no host
fails as compute does: its work request FAILED with "Out of host capacity." and the DB system FAILED with it as
lifecycleDetails. The administrator password is checked against OCI's rule (CreateDbSystemDetails.adminPassword)
and never stored.
"""

from __future__ import annotations

import ipaddress
import re

from ..errors import ApiError, invalid, not_found
from ..router import Context, Reply, check_ocid, need, need_ocid, paginate, route
from .network import subnet_cidr

BASE = "/20190415"
LIVE = ("CREATING", "ACTIVE", "INACTIVE", "UPDATING")
PASSWORD = re.compile(r"^(?=.*[0-9])(?=.*[a-z])(?=.*[A-Z])(?=.*[^A-Za-z0-9]).{8,32}$")
SUMMARY_KEYS = ("id", "displayName", "description", "compartmentId", "isHighlyAvailable", "currentPlacement", "isHeatWaveClusterAttached",
                "availabilityDomain", "faultDomain", "endpoints", "lifecycleState", "mysqlVersion", "timeCreated", "timeUpdated",
                "deletionPolicy", "freeformTags", "definedTags", "shapeName")


def _shape(ctx: Context, name: str):
    for shape in ctx.sc.mysql.shapes:
        if shape.name == name:
            return shape
    return None


@route("GET", f"{BASE}/shapes", "mysql.ListShapes")
def list_shapes(ctx: Context) -> Reply:
    compartment = ctx.q_required("compartmentId")
    check_ocid(compartment, "compartmentId")
    ad = ctx.q("availabilityDomain")
    if ad and ctx.store.short_ad(ad) is None:
        raise invalid("availabilityDomain", f"{ad!r} is not an availability domain of {ctx.sc.region}")
    wanted = set(ctx.q_all("isSupportedFor"))
    items = [{"name": s.name, "cpuCoreCount": s.cpu_core_count, "memorySizeInGBs": s.memory_gbs, "isSupportedFor": list(s.is_supported_for)}
             for s in ctx.sc.mysql.shapes if (not wanted or wanted & set(s.is_supported_for)) and (not ctx.q("name") or s.name == ctx.q("name"))]
    # ListShapes is not paginated (the SDK's list_shapes takes no page/limit).
    return Reply(200, items)


def _placements(store, short_ad: str, fault_domain: str, ha: bool) -> list[str]:
    """The fault domains the DB system's instances take: the preferred one, and with HA every other one of the AD."""
    fds = store.fault_domains(short_ad)
    return [fault_domain] + [fd for fd in fds if fd != fault_domain] if ha else [fault_domain]


def _take(store, db: dict, shape) -> bool:
    """Capacity for every instance of the DB system, all or nothing (a pool per (AD, FD, MySQL shape); none = room)."""
    short = db["_shortAd"]
    taken = []
    for fd in _placements(store, short, db["faultDomain"], db["isHighlyAvailable"]):
        if (short, fd, shape.name) not in store.pools:
            continue
        alloc = store.take(short, fd, shape.name, shape.cpu_core_count, shape.memory_gbs)
        if alloc is None:
            for done in taken:
                store.give_back(done)
            return False
        taken.append(alloc)
    db["_allocations"] = taken
    return True


def _endpoint(db: dict) -> dict:
    return {"hostname": db.get("hostnameLabel"), "ipAddress": db["ipAddress"], "ipAddressVersion": "IPV4", "port": db["port"],
            "portX": db["portX"], "modes": ["READ", "WRITE"], "status": "ACTIVE", "resourceType": "DBSYSTEM", "resourceId": db["id"]}


def _address(store, subnet_id: str) -> str:
    net = ipaddress.ip_network(subnet_cidr(store, subnet_id))
    used = {d.get("ipAddress") for d in store.resources["db_systems"].values() if d["lifecycleState"] in LIVE}
    for host in list(net.hosts())[2:]:
        if str(host) not in used:
            return str(host)
    raise ApiError(400, "InvalidParameter", f"Subnet {subnet_id} has no free IP address.")


@route("POST", f"{BASE}/dbSystems", "mysql.CreateDbSystem", retry_token=True)
def create_db_system(ctx: Context) -> Reply:
    body = ctx.json()
    store = ctx.store
    compartment = need_ocid(body, "compartmentId")
    subnet_id = need_ocid(body, "subnetId")
    shape = _shape(ctx, need(body, "shapeName"))
    if shape is None or "DBSYSTEM" not in shape.is_supported_for:
        raise not_found(f"Shape {body['shapeName']} not found.")
    ad = need(body, "availabilityDomain")
    short = store.short_ad(ad)
    if short is None:
        raise invalid("availabilityDomain", f"{ad!r} is not an availability domain of {ctx.sc.region}")
    fault_domain = body.get("faultDomain") or store.fault_domains(short)[0]
    if fault_domain not in store.fault_domains(short):
        raise invalid("faultDomain", f"{fault_domain!r} is not a fault domain of {ad}")
    if not PASSWORD.match(need(body, "adminPassword")):
        raise invalid("adminPassword", "The password must be between 8 and 32 characters long, and must contain at least 1 numeric character, "
                                       "1 lowercase character, 1 uppercase character, and 1 special (nonalphanumeric) character.")
    need(body, "adminUsername")
    now = store.clock.iso()
    port = int(body.get("port") or 3306)
    db = {
        "id": store.ocid("mysqldbsystem"),
        "displayName": body.get("displayName") or f"mysqldbsystem{now[:19].replace(':', '')}",
        "description": body.get("description"),
        "compartmentId": compartment,
        "subnetId": subnet_id,
        "isHighlyAvailable": bool(body.get("isHighlyAvailable")),
        "availabilityDomain": ad,
        "faultDomain": fault_domain,
        "currentPlacement": {"availabilityDomain": ad, "faultDomain": fault_domain},
        "isHeatWaveClusterAttached": False,
        "shapeName": shape.name,
        "mysqlVersion": body.get("mysqlVersion") or "9.1.2",
        "dataStorageSizeInGBs": int(body.get("dataStorageSizeInGBs") or 50),
        "hostnameLabel": body.get("hostnameLabel"),
        "ipAddress": _address(store, subnet_id),
        "port": port,
        "portX": int(body.get("portX") or 33060),
        "endpoints": [],
        "lifecycleState": "CREATING",
        "lifecycleDetails": None,
        "deletionPolicy": body.get("deletionPolicy") or {},
        "timeCreated": now,
        "timeUpdated": now,
        "freeformTags": body.get("freeformTags") or {},
        "definedTags": body.get("definedTags") or {},
        "_shortAd": short,
    }
    store.add("db_systems", db)

    def start(wr):
        if not _take(store, db, shape):
            store.fail(wr, "InternalError", "Out of host capacity.")

    def finish(wr):
        db["timeUpdated"] = store.clock.iso()
        if wr.errors:
            db["lifecycleState"], db["lifecycleDetails"] = "FAILED", wr.errors[0]["message"]
        else:
            db["lifecycleState"], db["endpoints"] = "ACTIVE", [_endpoint(db)]

    wr = store.submit("mysql", "CREATE_DBSYSTEM", compartment, [_wr_resource(db, "CREATED")], ctx.sc.mysql.create_seconds,
                      on_start=start, on_finish=finish, lock_ids=(db["id"],))
    return Reply(200, _view(db), {"opc-work-request-id": wr.id, "etag": db["timeUpdated"]})


def _wr_resource(db: dict, action: str) -> dict:
    return {"entityType": "dbsystem", "actionType": action, "identifier": db["id"], "entityUri": f"{BASE}/dbSystems/{db['id']}"}


def _view(db: dict) -> dict:
    return {k: v for k, v in db.items() if not k.startswith("_")}


@route("GET", f"{BASE}/dbSystems/{{dbSystemId}}", "mysql.GetDbSystem")
def get_db_system(ctx: Context) -> Reply:
    ctx.store.wait_for(ctx.store.pending_wr.get(ctx.params["dbSystemId"]))
    db = ctx.store.get("db_systems", ctx.params["dbSystemId"])
    return Reply(200, _view(db), {"etag": db["timeUpdated"]})


@route("GET", f"{BASE}/dbSystems", "mysql.ListDbSystems")
def list_db_systems(ctx: Context) -> Reply:
    compartment = ctx.q_required("compartmentId")
    check_ocid(compartment, "compartmentId")
    filters = {k: ctx.q(k) for k in ("displayName", "lifecycleState") if ctx.q(k)}
    if ctx.q("dbSystemId"):
        filters["id"] = ctx.q("dbSystemId")
    items = [
        {k: d.get(k) for k in SUMMARY_KEYS}
        for d in ctx.store.resources["db_systems"].values()
        if d["compartmentId"] == compartment and all(d.get(k) == v for k, v in filters.items()) and ctx.store.listed(d)
    ]
    return paginate(ctx, items)


@route("DELETE", f"{BASE}/dbSystems/{{dbSystemId}}", "mysql.DeleteDbSystem")
def delete_db_system(ctx: Context) -> Reply:
    store = ctx.store
    db = store.get("db_systems", ctx.params["dbSystemId"])
    if db["lifecycleState"] in ("DELETING", "DELETED"):
        return Reply(204)
    if db["lifecycleState"] in ("CREATING", "UPDATING"):
        raise ApiError(409, "IncorrectState", f"DB System {db['id']} is in {db['lifecycleState']} state.")
    db["lifecycleState"] = "DELETING"

    def finish(wr):
        for alloc in db.pop("_allocations", []):
            store.give_back(alloc)
        db["endpoints"] = []
        store.bury(db, "DELETED")

    wr = store.submit("mysql", "DELETE_DBSYSTEM", db["compartmentId"], [_wr_resource(db, "DELETED")], ctx.sc.mysql.delete_seconds,
                      on_finish=finish, lock_ids=(db["id"],))
    return Reply(204, None, {"opc-work-request-id": wr.id})


def _mysql_wr(ctx: Context):
    wr = ctx.store.work_requests.get(ctx.params["workRequestId"])
    if wr is None or wr.service != "mysql":
        raise not_found()
    return wr


@route("GET", f"{BASE}/workRequests/{{workRequestId}}", "mysql.GetWorkRequest")
def get_work_request(ctx: Context) -> Reply:
    ctx.store.wait_for(ctx.params["workRequestId"])
    return Reply(200, _mysql_wr(ctx).api())


@route("GET", f"{BASE}/workRequests/{{workRequestId}}/errors", "mysql.ListWorkRequestErrors")
def list_work_request_errors(ctx: Context) -> Reply:
    return paginate(ctx, list(_mysql_wr(ctx).errors), default_sort_key="timestamp")
