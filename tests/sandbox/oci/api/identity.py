"""Identity: availability domains and fault domains (the only Identity calls we make)."""

from __future__ import annotations

from ..errors import invalid
from ..router import Context, Reply, check_ocid, route


@route("GET", "/20160918/availabilityDomains", "identity.ListAvailabilityDomains")
def list_availability_domains(ctx: Context) -> Reply:
    compartment = ctx.q_required("compartmentId")
    check_ocid(compartment, "compartmentId")
    return Reply(
        200,
        [
            {"name": ctx.sc.ad_full_name(ad.name), "id": f"ocid1.availabilitydomain.oc1..{ad.name.lower()}", "compartmentId": compartment}
            for ad in ctx.sc.availability_domains
        ],
    )


@route("GET", "/20160918/faultDomains", "identity.ListFaultDomains")
def list_fault_domains(ctx: Context) -> Reply:
    compartment = ctx.q_required("compartmentId")
    check_ocid(compartment, "compartmentId")
    ad_name = ctx.q_required("availabilityDomain")
    short = ctx.store.short_ad(ad_name)
    if short is None:
        raise invalid("availabilityDomain", f"{ad_name!r} is not an availability domain of {ctx.sc.region}")
    return Reply(
        200,
        [
            {"name": fd, "id": f"ocid1.faultdomain.oc1..{short.lower()}-{fd.lower()}", "compartmentId": compartment, "availabilityDomain": ad_name}
            for fd in ctx.store.fault_domains(short)
        ],
    )
