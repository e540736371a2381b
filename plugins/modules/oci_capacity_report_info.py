#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
module: oci_capacity_report_info
short_description: Compute capacity per availability domain, fault domain and shape configuration
version_added: 0.1.0
description:
  - Runs one compute capacity report (C(CreateComputeCapacityReport)) for O(shape) and O(alternative_shapes) in
    every fault domain of O(fault_domains), and returns one row per combination.
  - With O(count), also returns the capacity planner's candidate placements for that many nodes, in the order
    M(openedx_scale.oke.oke_node_pool) and M(openedx_scale.oke.oci_instance) would try them.
  - The report is advisory (OCI may answer differently at launch time); it changes nothing. A denied report (no
    tenancy-level policy) returns no row and a warning naming the policy statement to add.
  - With O(check_policies), also probes (read-only) the other calls the provision stage needs and returns the exact
    IAM policy statements that are missing.
  - It only reads and reports. Shape configurations OCI's limits refuse and fleets that do not fit are returned in
    RV(problems), each naming its input and the fix; the caller decides (the provision roles refuse them in a task
    before anything is launched).
author:
  - openedx_scale maintainers (@openedx-scale)
extends_documentation_fragment:
  - openedx_scale.oke.oci
  - openedx_scale.oke.oci.shapes
  - openedx_scale.oke.oci.placement
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
  action_group:
    membership: [openedx_scale.oke.oci]
options:
  count:
    description: When set, also return the planner's candidates for this many nodes/VMs.
    type: int
  check_policies:
    description: Also probe the IAM policies the provision stage needs (see RV(policies)).
    type: bool
    default: false
  compartment_id:
    description:
      - Compartment of the cluster, node pools or VMs, for O(check_policies) and the shape limits (C(ListShapes)).
        Defaults to the tenancy.
    type: str
  named_shapes:
    description:
      - More shape configurations to check against the limits OCI lists (C(ListShapes)) for the availability domain,
        besides O(shape) and O(alternative_shapes); each problem is returned under the entry's O(named_shapes[].field),
        so a role can name its own variables.
    type: list
    elements: dict
    default: []
    suboptions:
      field:
        description: The name errors about this entry use (a role variable, say).
        type: str
        required: true
      shape:
        description: Flexible shape name.
        type: str
        required: true
      ocpus:
        description: OCPUs per node or VM.
        type: float
        required: true
      memory_in_gbs:
        description: Memory per node or VM in GB.
        type: float
        required: true
  fleets:
    description:
      - Instances or node-pool nodes a role is about to launch. Each fleet's room is read (read-only),
        free addresses in its subnet (C(GetSubnet), C(ListPrivateIps); OCI reserves 3 per subnet) and the compute
        limits of its shapes in the availability domain (C(ListLimitDefinitions), C(GetResourceAvailability)),
        fleets sharing a subnet or a limit together. A fleet that does not fit is returned in RV(problems) with the
        numbers, under O(fleets[].field).
      - Instances of a fleet that already run (this deployment's, named C(<name>-NN)) and the size of its node pools
        hold their addresses and are not counted again, so a re-run checks only what is missing. A denied read warns and leaves it to the launches.
    type: list
    elements: dict
    default: []
    suboptions:
      field:
        description: The name errors about this fleet use (the role's count variable, say).
        type: str
        required: true
      kind:
        description:
          - V(instances) for VMs of M(openedx_scale.oke.oci_instance), V(node_pool) for the nodes of
            M(openedx_scale.oke.oke_node_pool) pools (what exists is this deployment's pools of the role, in any
            cluster of the compartment, so it works before the cluster exists).
        type: str
        choices: [instances, node_pool]
        default: instances
      name:
        description:
          - Name prefix of the fleet's instances, as M(openedx_scale.oke.oci_instance)
            O(openedx_scale.oke.oci_instance#module:name), or the first pool's name (pools are found by their role tag).
        type: str
        required: true
      role:
        description:
          - The fleet's role tag, as M(openedx_scale.oke.oci_instance) O(openedx_scale.oke.oci_instance#module:role)
            or M(openedx_scale.oke.oke_node_pool) O(openedx_scale.oke.oke_node_pool#module:role).
        type: str
        required: true
      count:
        description: Instances the fleet must have.
        type: int
        required: true
      subnet_id:
        description: Subnet of the fleet's VNICs.
        type: str
        required: true
      shapes:
        description: The shape configurations its launches may use, preferred first.
        type: list
        elements: dict
        required: true
"""

EXAMPLES = r"""
- name: Where can 5 x E4.Flex 30/128 go in Jeddah?
  openedx_scale.oke.oci_capacity_report_info:
    deployment: jeddah-50k
    shape: {shape: VM.Standard.E4.Flex, ocpus: 30, memory_in_gbs: 128}
    alternative_shapes:
      - {shape: VM.Standard.E5.Flex, ocpus: 30, memory_in_gbs: 128}
    count: 5
  register: capacity

- name: Report every pool's shape against the region's limits
  openedx_scale.oke.oci_capacity_report_info:
    deployment: jeddah-50k
    shape: "{{ lms_shape }}"
    named_shapes:
      - {field: lms_shape, shape: "{{ lms_shape.shape }}", ocpus: "{{ lms_shape.ocpus }}", memory_in_gbs: "{{ lms_shape.memory_in_gbs }}"}
      - {field: services_shape, shape: VM.Standard.E5.Flex, ocpus: 16, memory_in_gbs: 64}
  register: report

- name: Check that the shapes are offered and the fleets fit, before anything is created
  ansible.builtin.assert:
    that: report.problems | length == 0
    fail_msg: "{{ report.problems | map(attribute='message') | join(' | ') }}"
"""

RETURN = r"""
problems:
  description:
    - Shape configurations OCI's limits refuse (C(ListShapes)) and fleets their subnet or compute limits cannot hold,
      each with the input it concerns and a message naming that input, the numbers and the fix. Empty when all fit.
    - Refused shapes are returned without reading the fleets' room; with any problem, the capacity report and the
      policy probes are not run (they would be about a placement that cannot be made).
  returned: always
  type: list
  elements: dict
  sample: [{"field": "loadgen_vms_worker_count", "message": "loadgen_vms_worker_count: 60 (loadgen_vms_worker_count) need 60
            addresses in subnet ocid1.subnet.oc1..example, which has 20 free (10.0.2.0/27: 29 usable, 9 in use). Fix: use a
            larger subnet, or fewer instances (nothing was launched)."}]
fleets:
  description: Per entry of O(fleets), how many of its instances are still to be launched (what its room was checked for).
  returned: always (empty when a shape configuration is refused)
  type: list
  elements: dict
  sample: [{"field": "loadgen_vms_worker_count", "count": 4, "missing": 4}]
availability_domain:
  description: The availability domain the report covers.
  returned: always
  type: str
  sample: hxIl:ME-JEDDAH-1-AD-1
availability:
  description: One row per (fault domain, shape configuration).
  returned: always
  type: list
  elements: dict
  sample: [{"fault_domain": "FAULT-DOMAIN-1", "shape": "VM.Standard.E4.Flex", "ocpus": 30.0, "memory_in_gbs": 128.0,
            "status": "AVAILABLE", "available_count": 3}]
candidates:
  description: Planner candidates for O(count), in trial order (empty without O(count)).
  returned: always
  type: list
  elements: dict
  sample: [{"shape": "VM.Standard.E4.Flex", "fault_domains": ["FAULT-DOMAIN-1"], "count": 3, "tier": "extra_pool"}]
policies:
  description: With O(check_policies), one entry per need, V(allowed=null) when it cannot be probed by the caller.
  returned: when O(check_policies=true) and RV(problems) is empty
  type: list
  elements: dict
  sample:
    - need: OKE work requests
      allowed: false
      required: true
      statement: Allow group <your-group> to read cluster-work-requests in compartment id ocid1.compartment.oc1..aaaaexample
missing_policy_statements:
  description: With O(check_policies), the statements to add (required needs whose probe was denied).
  returned: when O(check_policies=true) and RV(problems) is empty
  type: list
  elements: str
unverified_policy_statements:
  description: With O(check_policies), statements the caller cannot probe (service policies) but the stage needs.
  returned: when O(check_policies=true) and RV(problems) is empty
  type: list
  elements: str
api_calls:
  description: Number of OCI API calls made.
  returned: always
  type: int
elapsed_seconds:
  description: Time the module took, on the clock its waits use (a virtual clock in tests).
  returned: always
  type: float
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_args import argument_spec, check_count, check_ocid, check_shape_config
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_capacity import Planner, fetch_report
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_errors import InputError
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_iam import check_policies, missing_statements
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_instances import missing_names
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_limits import fleet_room_problems
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_module import check_placement, placement_args, resolve_placement_scope, run_module
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_shapes import module_shape_configs, shape_limit_problems
from ansible_collections.openedx_scale.oke.plugins.module_utils.oke_node_pools import missing_nodes

FLEET_ARGS = dict(field=dict(type="str", required=True), name=dict(type="str", required=True), role=dict(type="str", required=True),
                  kind=dict(type="str", default="instances", choices=["instances", "node_pool"]),
                  count=dict(type="int", required=True), subnet_id=dict(type="str", required=True),
                  shapes=dict(type="list", elements="dict", required=True))
NAMED_SHAPE_ARGS = dict(field=dict(type="str", required=True), shape=dict(type="str", required=True),
                        ocpus=dict(type="float", required=True), memory_in_gbs=dict(type="float", required=True))


def missing_count(clients, policy, fleet):
    """How many of a fleet's instances or nodes do not exist yet (only those need room)."""
    if fleet["kind"] == "node_pool":
        return missing_nodes(clients, policy, fleet)
    return len(missing_names(clients, policy, fleet))


def named_configs(params):
    """[(field, config)] to check against ListShapes: the named entries, then the module's own shapes that no named
    entry already covers (a role passes its variables by name, and its first one again as O(shape))."""
    named = [(n["field"], {"shape": n["shape"], "ocpus": n["ocpus"], "memory_in_gbs": n["memory_in_gbs"]}) for n in params["named_shapes"]]
    covered = [cfg for _field, cfg in named]
    own = [(field, cfg) for field, cfg in module_shape_configs(params)
           if {"shape": cfg["shape"], "ocpus": cfg["ocpus"], "memory_in_gbs": cfg["memory_in_gbs"]} not in covered]
    return named + own


def validate(params):
    if not params.get("shape"):
        raise InputError("is required.", field="shape", fix="give {shape, ocpus, memory_in_gbs} of the shape to report on.")
    params = check_placement(params)
    for entry in params.get("named_shapes") or []:
        check_shape_config(entry["shape"], entry["ocpus"], entry["memory_in_gbs"], entry["field"])
    for entry in params.get("fleets") or []:
        entry["count"] = check_count(entry["count"], entry["field"])
        check_ocid(entry["subnet_id"], "%s subnet_id" % entry["field"], ("subnet",))
        for idx, cfg in enumerate(entry["shapes"]):
            if not isinstance(cfg, dict) or not all(k in cfg for k in ("shape", "ocpus", "memory_in_gbs")):
                raise InputError("shapes[%d] must be {shape, ocpus, memory_in_gbs}." % idx, field=entry["field"],
                                 fix="pass each shape configuration the fleet's launches may use.")
            check_shape_config(cfg["shape"], cfg["ocpus"], cfg["memory_in_gbs"], "%s shapes[%d]" % (entry["field"], idx))
    if params.get("count") is not None:
        params["count"] = check_count(params["count"], "count")
    if params.get("compartment_id"):
        check_ocid(params["compartment_id"], "compartment_id", ("compartment", "tenancy"))
    return params


def main():
    spec = argument_spec(count=dict(type="int"), check_policies=dict(type="bool", default=False), compartment_id=dict(type="str"),
                         named_shapes=dict(type="list", elements="dict", default=[], options=NAMED_SHAPE_ARGS),
                         fleets=dict(type="list", elements="dict", default=[], options=FLEET_ARGS), **placement_args())
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)

    def work(clients, policy, params):
        # Only reads: what does not fit is returned as problems, for the caller to decide on.
        resolve_placement_scope(clients, policy, params, shape_configs=[])
        compartment = params.get("compartment_id") or params["tenancy_id"]
        problems, fleets = shape_limit_problems(clients, policy, compartment, params["availability_domain"], named_configs(params)), []
        if not problems:  # a fleet's room is read for shapes OCI offers
            fleets = [dict(entry, missing=missing_count(clients, policy, dict(entry, compartment_id=compartment, deployment=params["deployment"])))
                      for entry in params["fleets"]]
            problems = fleet_room_problems(clients, policy, params["tenancy_id"], compartment, params["availability_domain"],
                                           [{"field": f["field"], "count": f["missing"], "subnet_id": f["subnet_id"], "configs": f["shapes"]}
                                            for f in fleets])
        result = {"changed": False, "availability_domain": params["availability_domain"],
                  "problems": [{"field": p.field, "message": p.msg} for p in problems],
                  "fleets": [{"field": f["field"], "count": f["count"], "missing": f["missing"]} for f in fleets],
                  "availability": [], "candidates": []}
        if problems:  # the report and the probes would be about a placement that cannot be made
            return result
        report = fetch_report(clients, policy, params["tenancy_id"], params["availability_domain"], params["shapes"], params["fault_domains"])
        result["availability"] = [row.as_dict() for row in report.rows]
        if params.get("count"):
            planner = Planner(params["availability_domain"], params["shapes"], params["fault_domains"],
                              allow_reservation=params["capacity_reservation"])
            result["candidates"] = [c.as_dict() for c in planner.plan(params["count"], report)]
        if params["check_policies"]:
            needs = check_policies(clients, policy, compartment, report, reservations=params["capacity_reservation"])
            result.update(policies=needs, missing_policy_statements=missing_statements(needs, required=True),
                          unverified_policy_statements=[n["statement"] for n in needs if n["allowed"] is None])
        return result

    run_module(module, "capacity", validate, work)


if __name__ == "__main__":
    main()
