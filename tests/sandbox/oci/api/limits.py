"""Limits: the compute service limits a fleet's room check reads (ListLimitDefinitions, GetResourceAvailability).

Names follow OCI's compute limits: `<family>-core-count` per availability domain (VM.Standard.E4.Flex ->
standard-e4-core-count, the name LaunchInstance's LimitExceeded quotes). A family with a scenario limit reports
limit - OCPUs in use; one without answers `available: null`, as OCI does for limits it gives no count for.
"""

from __future__ import annotations

from ..errors import invalid, not_found
from ..router import Context, Reply, check_ocid, paginate, route
from ..shapes import SHAPES, limit_family


def _families() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, shape in SHAPES.items():
        if shape.flex:
            out.setdefault(limit_family(name), []).append(name)
    return out


@route("GET", "/20190729/limitDefinitions", "limits.ListLimitDefinitions")
def list_limit_definitions(ctx: Context) -> Reply:
    check_ocid(ctx.q_required("compartmentId"), "compartmentId")
    service = ctx.q("serviceName")
    items = []
    if service in (None, "compute"):
        for fam in sorted(_families()):
            items.append(
                {
                    "name": f"{fam}-core-count",
                    "serviceName": "compute",
                    "description": f"Cores for {fam} based VM and BM instances",
                    "scopeType": "AD",
                    "areQuotasSupported": True,
                    "isResourceAvailabilitySupported": True,
                    "isDeprecated": False,
                    "isEligibleForLimitIncrease": True,
                    "isDynamic": False,
                }
            )
    return paginate(ctx, items, default_sort_key="name")


@route("GET", "/20190729/services/{serviceName}/limits/{limitName}/resourceAvailability", "limits.GetResourceAvailability")
def get_resource_availability(ctx: Context) -> Reply:
    check_ocid(ctx.q_required("compartmentId"), "compartmentId")
    if ctx.params["serviceName"] != "compute":
        raise not_found(f"Service {ctx.params['serviceName']} not found")
    name = ctx.params["limitName"]
    if not name.endswith("-core-count") or name[: -len("-core-count")] not in _families():
        raise not_found(f"Limit {name} not found")
    if not ctx.q("availabilityDomain"):
        raise invalid("availabilityDomain", f"{name} is scoped to an availability domain: give availabilityDomain")
    shapes = _families()[name[: -len("-core-count")]]
    used = sum(ctx.store.ocpus_in_use(shape) for shape in shapes)
    limits = [ctx.sc.limits[shape] for shape in shapes if shape in ctx.sc.limits]
    if not limits:
        return Reply(200, {"used": int(used), "available": None, "fractionalUsage": used, "fractionalAvailability": None, "effectiveQuotaValue": None})
    available = max(sum(limits) - used, 0)
    return Reply(
        200, {"used": int(used), "available": int(available), "fractionalUsage": used, "fractionalAvailability": available, "effectiveQuotaValue": None}
    )
