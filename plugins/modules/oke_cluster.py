#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
module: oke_cluster
short_description: Ensure an OKE cluster in an existing VCN and subnets
version_added: 0.1.0
description:
  - Ensures a Container Engine for Kubernetes cluster named O(name) exists (or not) in an existing VCN.
  - The cluster is looked up by name and ownership tags before any create, and the create carries a deterministic
    C(opc-retry-token), so a re-run never creates a second cluster. A same-named cluster without this deployment's
    tags is never touched.
author:
  - openedx_scale maintainers (@openedx-scale)
extends_documentation_fragment:
  - openedx_scale.oke.oci
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
    description: Cluster name.
    type: str
    required: true
  compartment_id:
    description: OCID of the compartment.
    type: str
    required: true
  vcn_id:
    description: OCID of the existing VCN. Required when O(state=present).
    type: str
  endpoint_subnet_id:
    description: OCID of the subnet of the Kubernetes API endpoint. Required when O(state=present).
    type: str
  service_lb_subnet_ids:
    description: OCIDs of the subnets for Kubernetes load balancers.
    type: list
    elements: str
    default: []
  public_endpoint:
    description: Give the API endpoint a public IP.
    type: bool
    default: true
  kubernetes_version:
    description: Kubernetes version, for example V(v1.35.4). Required when O(state=present).
    type: str
  cluster_type:
    description: OKE cluster type.
    type: str
    choices: [BASIC_CLUSTER, ENHANCED_CLUSTER]
    default: ENHANCED_CLUSTER
  pods_cidr:
    description: CIDR of the pod network.
    type: str
    default: 10.244.0.0/16
  services_cidr:
    description: CIDR of Kubernetes services.
    type: str
    default: 10.96.0.0/16
  freeform_tags:
    description: Extra freeform tags; the ownership tags are always added.
    type: dict
    default: {}
  state:
    description: V(absent) deletes the cluster if, and only if, it carries this deployment's ownership tags.
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: Ensure the OKE cluster
  openedx_scale.oke.oke_cluster:
    deployment: jeddah-50k
    name: openedx-jeddah
    compartment_id: ocid1.compartment.oc1..aaaaexample
    vcn_id: ocid1.vcn.oc1.me-jeddah-1.aaaaexample
    endpoint_subnet_id: ocid1.subnet.oc1.me-jeddah-1.aaaaapi
    service_lb_subnet_ids: [ocid1.subnet.oc1.me-jeddah-1.aaaalb]
    kubernetes_version: v1.35.4
  register: cluster
"""

RETURN = r"""
cluster:
  description: The cluster (empty when absent, or when check mode would create it).
  returned: always
  type: dict
  sample: {"id": "ocid1.cluster.oc1.me-jeddah-1.aaaa", "name": "openedx-jeddah", "lifecycle_state": "ACTIVE", "kubernetes_version": "v1.35.4"}
actions:
  description: Mutations made or, in check mode, planned.
  returned: always
  type: list
  elements: dict
progress:
  description: Retry lines, if any call had to be retried.
  returned: always
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

from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_args import argument_spec, check_kubernetes_version, check_name, check_ocid
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_errors import InputError
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_module import run_module
from ansible_collections.openedx_scale.oke.plugins.module_utils.oke_clusters import ClusterReconciler


def validate(params):
    check_ocid(params["compartment_id"], "compartment_id", ("compartment", "tenancy"))
    if params["state"] == "absent":
        return params
    check_name(params["name"], "name")
    check_ocid(params["vcn_id"], "vcn_id", ("vcn",))
    check_ocid(params["endpoint_subnet_id"], "endpoint_subnet_id", ("subnet",))
    for idx, subnet in enumerate(params["service_lb_subnet_ids"]):
        check_ocid(subnet, "service_lb_subnet_ids[%d]" % idx, ("subnet",))
    check_kubernetes_version(params["kubernetes_version"], "kubernetes_version")
    if params["pods_cidr"] == params["services_cidr"]:
        raise InputError("equals pods_cidr.", field="services_cidr", fix="use two non-overlapping ranges, e.g. 10.244.0.0/16 and 10.96.0.0/16.")
    return params


def main():
    spec = argument_spec(
        name=dict(type="str", required=True),
        compartment_id=dict(type="str", required=True),
        vcn_id=dict(type="str"),
        endpoint_subnet_id=dict(type="str"),
        service_lb_subnet_ids=dict(type="list", elements="str", default=[]),
        public_endpoint=dict(type="bool", default=True),
        kubernetes_version=dict(type="str"),
        cluster_type=dict(type="str", default="ENHANCED_CLUSTER", choices=["BASIC_CLUSTER", "ENHANCED_CLUSTER"]),
        pods_cidr=dict(type="str", default="10.244.0.0/16"),
        services_cidr=dict(type="str", default="10.96.0.0/16"),
        freeform_tags=dict(type="dict", default={}),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True,
                           required_if=[("state", "present", ["vcn_id", "endpoint_subnet_id", "kubernetes_version"])])

    def work(clients, policy, params):
        reconciler = ClusterReconciler(clients, policy, params, check_mode=module.check_mode)
        return reconciler.ensure_absent() if params["state"] == "absent" else reconciler.ensure_present()

    run_module(module, module.params["name"], validate, work)


if __name__ == "__main__":
    main()
