"""Networking (VirtualNetwork): the reads a fleet's room check makes - a subnet and the private IPs it holds.

OCI reserves the first two and the last address of a subnet (VCN docs, "Subnets"), and a VNIC holds its private IP
from launch until its instance is terminated. Addresses of things the sandbox does not model come from the
scenario's `subnets[].others_in_use`.
"""

from __future__ import annotations

import ipaddress

from ..errors import not_found
from ..router import Context, Reply, check_ocid, paginate, route

HELD = ("PROVISIONING", "AVAILABLE")


def _subnet(ctx: Context, subnet_id: str) -> dict:
    check_ocid(subnet_id, "subnetId")
    for spec in ctx.sc.subnets:
        if spec.id == subnet_id:
            return {"cidr": spec.cidr_block, "others": spec.others_in_use}
    if not subnet_id.startswith("ocid1.subnet."):
        raise not_found(f"Subnet {subnet_id} not found")
    return {"cidr": ctx.store.settings()["private_ip_range"], "others": 0}


@route("GET", "/20160918/subnets/{subnetId}", "network.GetSubnet")
def get_subnet(ctx: Context) -> Reply:
    subnet_id = ctx.params["subnetId"]
    spec = _subnet(ctx, subnet_id)
    net = ipaddress.ip_network(spec["cidr"])
    return Reply(
        200,
        {
            "id": subnet_id,
            "cidrBlock": str(net),
            "compartmentId": "ocid1.compartment.oc1..sandbox",
            "vcnId": "ocid1.vcn.oc1.sandbox.vcn",
            "displayName": "sandbox subnet",
            "lifecycleState": "AVAILABLE",
            "virtualRouterIp": str(net.network_address + 1),
            "prohibitPublicIpOnVnic": True,
        },
    )


@route("GET", "/20160918/privateIps", "network.ListPrivateIps")
def list_private_ips(ctx: Context) -> Reply:
    subnet_id = ctx.q_required("subnetId")
    spec = _subnet(ctx, subnet_id)
    hosts = list(ipaddress.ip_network(spec["cidr"]).hosts())
    items = []
    for vnic in ctx.store.resources["vnics"].values():
        if vnic["subnetId"] == subnet_id and vnic["lifecycleState"] in HELD:
            items.append(
                {
                    "id": vnic["id"].replace("vnic", "privateip", 1),
                    "subnetId": subnet_id,
                    "vnicId": vnic["id"],
                    "isPrimary": True,
                    "ipAddress": vnic.get("privateIp"),
                    "timeCreated": vnic["timeCreated"],
                }
            )
    for i in range(spec["others"]):
        address = str(hosts[-1 - i]) if i < len(hosts) else None
        items.append(
            {
                "id": f"ocid1.privateip.oc1.sandbox.other{i}",
                "subnetId": subnet_id,
                "isPrimary": True,
                "ipAddress": address,
                "timeCreated": "2026-01-01T00:00:00.000Z",
            }
        )
    return paginate(ctx, items)
