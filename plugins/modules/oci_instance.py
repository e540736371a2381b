#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
module: oci_instance
short_description: Ensure N compute instances (load generators) with capacity fallback, and return their IPs
version_added: 0.1.0
description:
  - Ensures instances named C(<name>-01) ... C(<name>-NN) (O(count) of them) are RUNNING, tagged for O(role).
  - Before the first launch, the missing instances must fit (read-only checks) - free addresses in O(subnet_id) and
    the compute limits of O(shape) and O(alternative_shapes) in the availability domain. A fleet that does not fit
    fails with the numbers and nothing launched, instead of stopping part-way with half a fleet running.
  - Uses the same capacity planner as M(openedx_scale.oke.oke_node_pool) - fault domains, then O(alternative_shapes),
    then partial fills, then (opt-in) capacity reservations - with one capacity report per round.
  - An "Out of host capacity" launch is never repeated in the same placement; a C(LimitExceeded) answer is checked by
    re-listing the instances (it is often false); every launch carries a deterministic C(opc-retry-token).
  - Extra instances (index above O(count)) are terminated. O(state=absent) terminates every instance of the role that
    carries the ownership tags, and releases the role's unused capacity reservations.
  - Private IPs are read back through the VNIC attachments of each instance.
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
    description: Display name prefix; instances are C(<name>-01), C(<name>-02), ...
    type: str
    required: true
  role:
    description: Role tag (C(openedx_scale_role)), for example V(locust_master) or V(locust_worker).
    type: str
    required: true
  count:
    description: Number of instances wanted. Required when O(state=present).
    type: int
  compartment_id:
    description: OCID of the compartment.
    type: str
    required: true
  subnet_id:
    description: OCID of the subnet of the primary VNIC. Required when O(state=present).
    type: str
  image_id:
    description: OCID of the image. Required when O(state=present).
    type: str
  boot_volume_size_in_gbs:
    description: Boot volume size.
    type: int
  assign_public_ip:
    description: Give the primary VNIC a public IP.
    type: bool
    default: false
  ssh_authorized_keys:
    description: SSH public keys for the default user.
    type: list
    elements: str
    default: []
  user_data:
    description: Base64 cloud-init user data.
    type: str
  freeform_tags:
    description: Extra freeform tags; the ownership tags are always added.
    type: dict
    default: {}
  state:
    description: V(present) or V(absent).
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: Ensure 50 Locust workers
  openedx_scale.oke.oci_instance:
    deployment: jeddah-50k
    name: locust-worker
    role: locust_worker
    count: 50
    compartment_id: ocid1.compartment.oc1..aaaaexample
    subnet_id: ocid1.subnet.oc1.me-jeddah-1.aaaaexample
    image_id: ocid1.image.oc1.me-jeddah-1.aaaaexample
    shape: {shape: VM.Standard.E4.Flex, ocpus: 2, memory_in_gbs: 8}
    alternative_shapes:
      - {shape: VM.Standard.E5.Flex, ocpus: 2, memory_in_gbs: 8}
    ssh_authorized_keys: ["{{ lookup('ansible.builtin.file', '~/.ssh/id_ed25519.pub') }}"]
  register: workers
"""

RETURN = r"""
instances:
  description: The instances, sorted by name, with placement and IPs (IPs are not read in check mode or when absent).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "locust-worker-01", "id": "ocid1.instance.oc1..aaaa", "private_ip": "10.0.1.10", "fault_domain": "FAULT-DOMAIN-1"}]
private_ips:
  description: Private IPs of the instances, in name order.
  returned: always
  type: list
  elements: str
  sample: ["10.0.1.10", "10.0.1.11"]
actions:
  description: Launches/terminations made or, in check mode, planned.
  returned: always
  type: list
  elements: dict
attempts:
  description: One entry per placement tried or capacity round.
  returned: always
  type: list
  elements: dict
progress:
  description: Progress lines (also appended to O(progress_log) while running).
  returned: always
  type: list
  elements: str
attempts_table:
  description: On failure, the attempts as a text table.
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

from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_args import argument_spec, check_boot_volume, check_count, check_ocid
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_instances import InstanceReconciler
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_module import check_placement, placement_args, resolve_placement_scope, run_reconciler


def validate(params):
    check_ocid(params["compartment_id"], "compartment_id", ("compartment", "tenancy"))
    if params["state"] == "absent":
        return params
    params = check_placement(params)
    params["count"] = check_count(params["count"], "count")
    check_boot_volume(params.get("boot_volume_size_in_gbs"), "boot_volume_size_in_gbs")
    check_ocid(params["subnet_id"], "subnet_id", ("subnet",))
    check_ocid(params["image_id"], "image_id", ("image",))
    return params


def main():
    spec = argument_spec(
        name=dict(type="str", required=True),
        role=dict(type="str", required=True),
        count=dict(type="int"),
        compartment_id=dict(type="str", required=True),
        subnet_id=dict(type="str"),
        image_id=dict(type="str"),
        boot_volume_size_in_gbs=dict(type="int"),
        assign_public_ip=dict(type="bool", default=False),
        ssh_authorized_keys=dict(type="list", elements="str", default=[], no_log=False),
        user_data=dict(type="str"),
        freeform_tags=dict(type="dict", default={}),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        **placement_args()
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True,
                           required_if=[("state", "present", ["count", "subnet_id", "image_id", "shape"])])

    run_reconciler(module, InstanceReconciler, validate, resolve_placement_scope)


if __name__ == "__main__":
    main()
