# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every module of the collection does the same way: validate, build clients + policy, run, report."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy

from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_args import (
    FAULT_DOMAINS,
    check_availability_domain,
    check_common,
    check_count,
    check_fault_domains,
    check_ocid,
    check_shapes,
    shape_config_spec,
)
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_client import OciClients, require_oci
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_errors import InputError, fail_module
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_retry import ProgressLog, RealClock, RetryPolicy
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_shapes import check_shape_limits, module_shape_configs


def placement_scope_args():
    """Options of the PLACEMENT doc fragment: where in the region (fault domains, AD, the tenancy listing the ADs)."""
    return dict(
        fault_domains=dict(type="list", elements="str", default=list(FAULT_DOMAINS)),
        availability_domain=dict(type="str"),
        tenancy_id=dict(type="str"),
    )


def placement_args():
    """Options of the SHAPES and PLACEMENT doc fragments."""
    return dict(
        shape=dict(type="dict", options=shape_config_spec()),
        alternative_shapes=dict(type="list", elements="dict", default=[], options=shape_config_spec()),
        capacity_reservation=dict(type="bool", default=False),
        capacity_probe_rounds=dict(type="int", default=3),
        **placement_scope_args()
    )


def check_placement(params):
    """Validate shapes/FDs/AD/tenancy; returns params with `shapes` (primary first) added."""
    params = copy.deepcopy(params)
    params["shapes"] = check_shapes(params["shape"], params.get("alternative_shapes"), "shape")
    params["fault_domains"] = check_fault_domains(params.get("fault_domains"), "fault_domains")
    check_availability_domain(params.get("availability_domain"), "availability_domain")
    check_ocid(params.get("tenancy_id"), "tenancy_id", ("tenancy",), required=False)
    params["capacity_probe_rounds"] = check_count(params.get("capacity_probe_rounds") or 0, "capacity_probe_rounds",
                                                  fix="use 0 to trust the capacity report, or N >= 1 to try one placement it calls full "
                                                      "every Nth empty round.")
    return params


def make_policy(params, label, clock=None):
    progress = ProgressLog(params.get("progress_log"), label)
    return RetryPolicy(params["wait_timeout"], clock=clock or RealClock(), base=params["retry_base_seconds"],
                       max_wait=params["retry_max_wait_seconds"], throttle_cooldown=params["throttle_cooldown_seconds"], progress=progress)


def resolve_availability_domain(clients, policy, params):
    """Fill tenancy_id (the credentials' tenancy) and availability_domain (the tenancy's first AD) when not given."""
    params["tenancy_id"] = params.get("tenancy_id") or clients.tenancy
    if not params.get("availability_domain"):
        ads = policy.call("ListAvailabilityDomains", clients.identity.list_availability_domains, compartment_id=params["tenancy_id"]).data
        if not ads:
            raise InputError("the tenancy lists no availability domain.", field="availability_domain", fix="set it explicitly.")
        params["availability_domain"] = sorted(ad.name for ad in ads)[0]
    return params


def resolve_placement_scope(clients, policy, params, shape_configs=None):
    """Fill tenancy_id and availability_domain (first AD of the tenancy) when they were not given, then check the
    shapes against the limits OCI lists for that AD (read-only calls, before anything is created). `shape_configs`
    ([(field, config)]) replaces the module's own shape options, for callers that name them differently."""
    resolve_availability_domain(clients, policy, params)
    check_shape_limits(clients, policy, params.get("compartment_id") or params["tenancy_id"], params["availability_domain"],
                       shape_configs if shape_configs is not None else module_shape_configs(params))
    return params


def run_reconciler(module, reconciler_cls, validate, resolve, *checks):
    """run_module for a reconciler with ensure_present/ensure_absent: with state=present, resolve(clients, policy,
    params) and each of `checks` (read-only, same arguments) run first."""
    def work(clients, policy, params):
        reconciler = reconciler_cls(clients, policy, params, check_mode=module.check_mode)
        if params["state"] == "absent":
            return reconciler.ensure_absent()
        for step in (resolve, *checks):
            step(clients, policy, params)
        return reconciler.ensure_present()

    run_module(module, module.params["name"], validate, work)


def run_module(module, label, validate, work, clients_factory=None):
    """validate(params) -> params (raises InputError before any API call); work(clients, policy, params) -> result."""
    require_oci(module)
    policy = None
    try:
        check_common(module.params)
        params = validate(dict(module.params))
        policy = make_policy(params, label)
        clients = (clients_factory or OciClients)(params)
        result = work(clients, policy, params)
    except Exception as exc:  # converted to fail_json in exactly one place
        extra = {}
        if policy is not None:
            extra = {"attempts": policy.progress.attempts, "progress": policy.progress.lines, "api_calls": policy.calls,
                     "elapsed_seconds": round(policy.elapsed(), 1)}
            for text in policy.progress.warnings:
                module.warn(text)
        fail_module(module, exc, **extra)
    for text in policy.progress.warnings:
        module.warn(text)
    result["api_calls"] = policy.calls
    result["elapsed_seconds"] = round(policy.elapsed(), 1)
    module.exit_json(**result)
