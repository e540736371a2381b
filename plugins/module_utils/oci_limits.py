# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Room for a fleet before any of it is launched: free addresses in its subnet and the tenancy's service limits.

Read-only calls (GetSubnet, ListPrivateIps, ListLimitDefinitions, GetResourceAvailability). A fleet that does not
fit is a problem with the numbers (the roles refuse it before any launch, so a launch loop never stops part-way on an
exhausted subnet or limit and leaves half a fleet running). A denied read only warns: then the launches find out.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import ipaddress
import re

from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_capacity import DENIED_STATUSES
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_client import list_all
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_errors import ApiError, InputError, raise_problems

# OCI Networking reserves the first two and the last address of every subnet's CIDR (VCN docs, "Subnets").
RESERVED_ADDRESSES = 3
# Compute limit names follow the shape family: VM.Standard.E4.Flex -> standard-e4-core-count /
# standard-e4-memory-count (some families with an "-ad" scope suffix, e.g. standard-e3-core-ad-count).
_LIMIT_NAME = "^%s-(core|memory)(-ad)?-count$"


def _denied(policy, exc, what):
    if exc.failure.status not in DENIED_STATUSES:
        raise exc
    policy.progress.warn("%s was denied (%s %s), so %s is left to the launches. To check it first, grant the group the "
                         "read permission the OCI policy reference lists for %s." % (exc.operation, exc.failure.status, exc.failure.code or "",
                                                                                     what, exc.operation))


def subnet_room(clients, policy, subnet_id):
    """{cidr_block, usable, in_use, free} of a subnet, or None when reading it is denied."""
    try:
        subnet = policy.call("GetSubnet", clients.network.get_subnet, subnet_id).data
        in_use = len(list_all(policy, "ListPrivateIps", clients.network.list_private_ips, subnet_id=subnet_id))
    except ApiError as exc:
        _denied(policy, exc, "the subnet's free addresses")
        return None
    usable = ipaddress.ip_network(subnet.cidr_block, strict=False).num_addresses - RESERVED_ADDRESSES
    return {"subnet_id": subnet_id, "cidr_block": subnet.cidr_block, "usable": usable, "in_use": in_use, "free": max(usable - in_use, 0)}


def limit_family(shape):
    """VM.Standard.E4.Flex -> standard-e4 (the prefix of its compute limit names)."""
    name = re.sub(r"^(VM|BM)\.", "", shape)
    name = re.sub(r"\.Flex$", "", name)
    return name.lower().replace(".", "-")


def shape_limit_room(clients, policy, tenancy_id, compartment_id, availability_domain, shape):
    """{"core"|"memory": {limit, available, used}} of the shape's compute limits where OCI gives a count; None when
    denied. A limit without a count (OCI answers null for some) is left out."""
    pattern = re.compile(_LIMIT_NAME % re.escape(limit_family(shape)))
    try:
        definitions = list_all(policy, "ListLimitDefinitions", clients.limits.list_limit_definitions, compartment_id=tenancy_id, service_name="compute")
        room = {}
        for definition in definitions:
            found = pattern.match(definition.name or "")
            if not found or definition.is_deprecated or definition.is_resource_availability_supported is False:
                continue
            kwargs = {"availability_domain": availability_domain} if definition.scope_type == "AD" else {}
            data = policy.call("GetResourceAvailability", clients.limits.get_resource_availability, service_name="compute",
                               limit_name=definition.name, compartment_id=compartment_id, **kwargs).data
            if data.available is None:
                policy.progress.line("limit %s: OCI gives no available count, not checked" % definition.name)
                continue
            room[found.group(1)] = {"limit": definition.name, "available": data.available, "used": data.used}
    except ApiError as exc:
        _denied(policy, exc, "the tenancy's service limits")
        return None
    return room


def _limits_line(family_room):
    return ", ".join("%s %g available (%s used)" % (r["limit"], r["available"], r["used"]) for r in family_room.values())


def fleet_room_problems(clients, policy, tenancy_id, compartment_id, availability_domain, demands):
    """One InputError, with the numbers, per subnet or compute limit that cannot hold the fleets.

    `demands`: [{field, count, subnet_id, configs}] (`field`: the input an error names) - what is still to be launched (existing instances already hold
    their addresses and count as used); `configs` are the shape configs ({shape, ocpus, memory_in_gbs}) the launches
    may use, preferred first, so a fleet whose first shape's limit is short still fits when an alternative shape of
    another family has room. Demands share the limits in their order."""
    demands = [d for d in demands if d["count"] > 0]
    problems = []
    for subnet_id in sorted(set(d["subnet_id"] for d in demands if d.get("subnet_id"))):
        users = [d for d in demands if d.get("subnet_id") == subnet_id]
        need = sum(d["count"] for d in users)
        room = subnet_room(clients, policy, subnet_id)
        if room is not None and need > room["free"]:
            problems.append(InputError(
                "%s need %d addresses in subnet %s, which has %d free (%s: %d usable, %d in use)."
                % (" + ".join("%d (%s)" % (d["count"], d["field"]) for d in users), need, subnet_id, room["free"], room["cidr_block"],
                   room["usable"], room["in_use"]),
                field=users[0]["field"], fix="use a larger subnet, or fewer instances (nothing was launched)."))
    rooms, lefts = {}, {}  # per limit family: what OCI reports, and what is left after the demands before
    for d in demands:
        remaining, consulted = d["count"], []
        for cfg in d["configs"]:
            family = limit_family(cfg["shape"])
            if family not in rooms:
                rooms[family] = shape_limit_room(clients, policy, tenancy_id, compartment_id, availability_domain, cfg["shape"]) or {}
            room = rooms[family]
            left = lefts.setdefault(family, dict((resource, r["available"]) for resource, r in room.items()))
            consulted.append((cfg["shape"], room))
            per = {"core": float(cfg["ocpus"]), "memory": float(cfg["memory_in_gbs"])}
            fits = remaining
            for resource in left:
                if per[resource] > 0:
                    fits = min(fits, int(left[resource] // per[resource]))
            for resource in left:
                left[resource] -= fits * per[resource]
            remaining -= fits
            if not remaining:
                break
        if remaining:
            first = d["configs"][0]
            problems.append(InputError(
                "%d instances of %g OCPUs / %g GB (%s) do not fit the compute limits in %s: room for %d. %s."
                % (d["count"], float(first["ocpus"]), float(first["memory_in_gbs"]), " or ".join(shape for shape, _r in consulted),
                   availability_domain, d["count"] - remaining, "; ".join("%s: %s" % (shape, _limits_line(r)) for shape, r in consulted if r)),
                field=d["field"],
                fix="request a service limit increase (Governance > Limits), or fewer or smaller instances (nothing was launched)."))
    return problems


def check_fleet_room(clients, policy, tenancy_id, compartment_id, availability_domain, demands):
    """Refuse, before a launch, the fleets fleet_room_problems finds do not fit (every problem at once)."""
    raise_problems(fleet_room_problems(clients, policy, tenancy_id, compartment_id, availability_domain, demands))
