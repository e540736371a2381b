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


# A security list's default ingress when the scenario's subnet names none: every protocol from the VCN (10.0.0.0/16).
DEFAULT_INGRESS = [{"source": "10.0.0.0/16", "protocol": "all", "port_min": None, "port_max": None}]


def _subnet(ctx: Context, subnet_id: str) -> dict:
    check_ocid(subnet_id, "subnetId")
    for spec in ctx.sc.subnets:
        if spec.id == subnet_id:
            ingress = DEFAULT_INGRESS if spec.ingress is None else [vars(r) for r in spec.ingress]
            return {"cidr": spec.cidr_block, "others": spec.others_in_use, "ingress": ingress}
    if not subnet_id.startswith("ocid1.subnet."):
        raise not_found(f"Subnet {subnet_id} not found")
    return {"cidr": ctx.store.settings()["private_ip_range"], "others": 0, "ingress": DEFAULT_INGRESS}


def subnet_cidr(store, subnet_id: str) -> str:
    """The CIDR block of a subnet (the scenario's, or settings.private_ip_range)."""
    for spec in store.sc.subnets:
        if spec.id == subnet_id:
            return spec.cidr_block
    return store.settings()["private_ip_range"]


def _security_list_id(subnet_id: str) -> str:
    return subnet_id.replace("ocid1.subnet.", "ocid1.securitylist.", 1)


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
            "securityListIds": [_security_list_id(subnet_id)],
        },
    )


@route("GET", "/20160918/securityLists/{securityListId}", "network.GetSecurityList")
def get_security_list(ctx: Context) -> Reply:
    """The one security list of a subnet (oci SDK oci/core/models/security_list.py, ingress_security_rule.py)."""
    sl_id = ctx.params["securityListId"]
    check_ocid(sl_id, "securityListId")
    if not sl_id.startswith("ocid1.securitylist."):
        raise not_found(f"Security list {sl_id} not found")
    spec = _subnet(ctx, sl_id.replace("ocid1.securitylist.", "ocid1.subnet.", 1))
    rules = []
    for rule in spec["ingress"]:
        item = {"source": rule["source"], "sourceType": "CIDR_BLOCK", "protocol": rule["protocol"], "isStateless": False}
        if rule["port_min"] is not None:
            item["tcpOptions"] = {"destinationPortRange": {"min": rule["port_min"], "max": rule["port_max"] or rule["port_min"]}}
        rules.append(item)
    return Reply(200, {"id": sl_id, "compartmentId": "ocid1.compartment.oc1..sandbox", "vcnId": "ocid1.vcn.oc1.sandbox.vcn",
                       "displayName": "sandbox security list", "lifecycleState": "AVAILABLE", "ingressSecurityRules": rules,
                       "egressSecurityRules": [{"destination": "0.0.0.0/0", "protocol": "all", "isStateless": False}]})


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
