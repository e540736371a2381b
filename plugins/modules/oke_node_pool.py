#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
module: oke_node_pool
short_description: Ensure N ready, labelled OKE nodes for one role, surviving "Out of host capacity"
version_added: 0.1.0
description:
  - Ensures O(count) ACTIVE nodes labelled O(label_key)=O(role) in the node pools of one role of an OKE cluster.
  - Each round reads a compute capacity report, asks the planner for candidate placements (fault domains, then
    O(alternative_shapes), then partial fills in extra pools, then capacity reservations if allowed) and tries them
    in order. A pool with healthy nodes is only ever grown in its own placement; any other placement gets a
    sibling pool (C(<name>-2), ...) or re-uses an empty one, because changing a pool's placement recycles its nodes.
  - Nodes that fail (C(nodeError), for example out of capacity, or lifecycle state C(FAILING) or C(INACTIVE)) and nodes
    that stay C(CREATING)/C(UPDATING) without progress and without C(nodeError) for O(node_stuck_timeout) seconds are
    removed by shrinking their pool, and their placement is tried again or replaced like an out-of-capacity one.
  - OCI errors are handled by one table (from OCI's API errors reference and the SDK's retry rules). Throttling, 5xx
    and C(IncorrectState) are retried with back-off; C(InvalidatedRetryToken) sends a create once more with a new retry
    token; a C(409 Conflict) is only waited out when the pool's work requests show OKE busy, otherwise it fails at once
    with OCI's message and a fix. Each update or delete has one budget of calls and time that no inner loop resets.
  - Rounds are separated by exponential backoff with jitter; the module fails before O(wait_timeout) with a table of
    every attempt when the next round would not fit.
  - Lookups by name and ownership tags before every create and deterministic C(opc-retry-token)s mean a re-run after
    any failure never creates a duplicate pool.
  - OKE's own work requests on a pool (its C(NODEPOOL_RECONCILE) of failed nodes) are waited for, never raced; an
    update whose answer was lost is looked up in the pool's work requests, never sent twice.
  - The capacity report is advisory; a denied one (missing tenancy-level policy) degrades to probing with a warning
    naming the policy statement.
  - Before anything is created, O(kubernetes_version), O(image_id) and the image's architecture against every shape
    are checked against the cluster's node-pool options (GetNodePoolOptions).
  - O(state=absent) also releases every capacity reservation of the role that carries the ownership tags.
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
  name:
    description: Name of the role's first pool; sibling pools are named C(<name>-2), C(<name>-3), ...
    type: str
    required: true
  role:
    description: Role of the nodes (for example V(lms) or V(services)); the node label value and the C(openedx_scale_role) tag.
    type: str
    required: true
  label_key:
    description: Kubernetes label key set to O(role) on every node.
    type: str
    default: openedx-scale/pool
  node_labels:
    description: Extra Kubernetes labels for the nodes.
    type: dict
    default: {}
  count:
    description: Number of ready nodes wanted. V(0) keeps the pools but with no node. Required when O(state=present).
    type: int
  cluster_id:
    description:
      - OCID of the OKE cluster. Required when O(state=present).
      - With O(state=absent) and no cluster (already deleted) only the role's capacity reservations are swept.
    type: str
  compartment_id:
    description: OCID of the compartment of the node pools.
    type: str
    required: true
  subnet_id:
    description: OCID of the worker subnet. Required when O(state=present).
    type: str
  image_id:
    description: OCID of the node image. Required when O(state=present).
    type: str
  kubernetes_version:
    description: Kubernetes version of the nodes, for example V(v1.35.4). Required when O(state=present).
    type: str
  boot_volume_size_in_gbs:
    description: Boot volume size of each node.
    type: int
  ssh_public_key:
    description: SSH public key installed on the nodes.
    type: str
  freeform_tags:
    description: Extra freeform tags (keys without dots or spaces); the ownership tags are always added.
    type: dict
    default: {}
  node_stuck_timeout:
    description:
      - Seconds a node may stay C(CREATING) or C(UPDATING) with the same details and no C(nodeError) before it is
        counted as failed (shrunk away and replaced). The default is the cluster autoscaler's C(--max-node-provision-time)
        (15 minutes), after which its OCI provider gives such a node up.
    type: int
    default: 900
  state:
    description: V(absent) deletes every pool of this role that carries the ownership tags.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: openedx_scale.oke.oci_capacity_report_info
  - module: openedx_scale.oke.oke_cluster
"""

EXAMPLES = r"""
- name: Ensure 5 LMS nodes, falling back to other fault domains and to E5.Flex
  openedx_scale.oke.oke_node_pool:
    deployment: jeddah-50k
    name: openedx-lms
    role: lms
    count: 5
    cluster_id: "{{ cluster.cluster.id }}"
    compartment_id: ocid1.compartment.oc1..aaaaexample
    subnet_id: ocid1.subnet.oc1.me-jeddah-1.aaaaexample
    image_id: ocid1.image.oc1.me-jeddah-1.aaaaexample
    kubernetes_version: v1.35.4
    shape: {shape: VM.Standard.E4.Flex, ocpus: 30, memory_in_gbs: 128}
    alternative_shapes:
      - {shape: VM.Standard.E5.Flex, ocpus: 30, memory_in_gbs: 128}
    fault_domains: [FAULT-DOMAIN-1, FAULT-DOMAIN-2, FAULT-DOMAIN-3]
    progress_log: /tmp/openedx-lms.progress
  register: lms_pool

- name: Delete the LMS pools of this deployment
  openedx_scale.oke.oke_node_pool:
    deployment: jeddah-50k
    name: openedx-lms
    role: lms
    cluster_id: "{{ cluster.cluster.id }}"
    compartment_id: ocid1.compartment.oc1..aaaaexample
    state: absent
"""

RETURN = r"""
ready_nodes:
  description: ACTIVE nodes without error in the role's pools at the end.
  returned: always
  type: int
  sample: 5
pools:
  description: The role's pools with placement, size, node counts and nodes.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "openedx-lms", "size": 3, "healthy_nodes": 3, "placement": {"shape": "VM.Standard.E4.Flex", "fault_domains": ["FAULT-DOMAIN-1"]}}]
labels:
  description: Kubernetes labels every node of the role carries.
  returned: always
  type: dict
  sample: {"openedx-scale/pool": "lms"}
actions:
  description: Mutations made (or, in check mode, planned).
  returned: always
  type: list
  elements: dict
  sample: [{"action": "create", "name": "openedx-lms", "placement": "VM.Standard.E4.Flex 30/128 @ FD-1", "size": 3},
           {"action": "release_reservation", "id": "ocid1.capacityreservation.oc1.me-jeddah-1.aaaaexample"}]
attempts:
  description: One entry per placement tried or capacity round, with outcome, reason and the wait that followed.
  returned: always
  type: list
  elements: dict
  sample: [{"attempt": 1, "placement": "VM.Standard.E4.Flex 30/128 @ FD-1", "outcome": "ok", "reason": "+3 node(s) (extra_pool)"}]
progress:
  description: The progress lines (also appended to O(progress_log) while running).
  returned: always
  type: list
  elements: str
attempts_table:
  description: On failure, the attempts as a text table (one line per element).
  returned: failure
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

from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_args import (
    argument_spec,
    check_boot_volume,
    check_count,
    check_kubernetes_version,
    check_labels,
    check_name,
    check_node_stuck_timeout,
    check_ocid,
)
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_module import check_placement, placement_args, resolve_placement_scope, run_reconciler
from ansible_collections.openedx_scale.oke.plugins.module_utils.oke_node_pools import NodePoolReconciler
from ansible_collections.openedx_scale.oke.plugins.module_utils.oke_options import check_node_pool_options


def validate(params):
    if params["cluster_id"] is not None:
        check_ocid(params["cluster_id"], "cluster_id", ("cluster",))
    check_ocid(params["compartment_id"], "compartment_id", ("compartment", "tenancy"))
    if params["state"] == "absent":
        return params
    check_name(params["name"], "name")
    params = check_placement(params)
    params["count"] = check_count(params["count"], "count")
    check_boot_volume(params.get("boot_volume_size_in_gbs"), "boot_volume_size_in_gbs")
    check_ocid(params["subnet_id"], "subnet_id", ("subnet",))
    check_ocid(params["image_id"], "image_id", ("image",))
    check_kubernetes_version(params["kubernetes_version"], "kubernetes_version")
    check_labels(dict(params["node_labels"], **{params["label_key"]: params["role"]}), "node_labels")
    check_node_stuck_timeout(params["node_stuck_timeout"], "node_stuck_timeout")
    return params


def main():
    spec = argument_spec(
        name=dict(type="str", required=True),
        role=dict(type="str", required=True),
        label_key=dict(type="str", default="openedx-scale/pool", no_log=False),
        node_labels=dict(type="dict", default={}),
        count=dict(type="int"),
        cluster_id=dict(type="str"),
        compartment_id=dict(type="str", required=True),
        subnet_id=dict(type="str"),
        image_id=dict(type="str"),
        kubernetes_version=dict(type="str"),
        boot_volume_size_in_gbs=dict(type="int"),
        ssh_public_key=dict(type="str"),
        freeform_tags=dict(type="dict", default={}),
        node_stuck_timeout=dict(type="int", default=900),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        **placement_args()
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True,
                           required_if=[("state", "present", ["count", "cluster_id", "subnet_id", "image_id", "kubernetes_version", "shape"])])

    # version, image and architecture before any create
    run_reconciler(module, NodePoolReconciler, validate, resolve_placement_scope, check_node_pool_options)


if __name__ == "__main__":
    main()
