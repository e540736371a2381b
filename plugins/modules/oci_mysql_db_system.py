#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
module: oci_mysql_db_system
short_description: Ensure one MySQL HeatWave DB system with capacity fallback, or its absence
version_added: 0.2.0
description:
  - Ensures a MySQL HeatWave DB system named O(name) exists and is C(ACTIVE), tagged as this deployment's, and returns
    its endpoint (the host and port MySQL clients use).
  - Every input is checked before the first API call, the administrator password against OCI's rule (8-32 characters,
    at least one upper-case and one lower-case letter, one digit and one special character). Before a create, read-only
    calls check that the MySQL service offers the shapes in the availability domain (its own C(ListShapes)), that
    O(subnet_id) exists and that its security lists let TCP O(port) in from every block of O(client_cidrs).
  - A shortage ("Out of host capacity", as a synchronous answer or as the create's work request C(FAILED)) moves the
    planner on - the next fault domain, then O(alternative_shapes), then, with O(standalone_fallback), the same without
    high availability - round after round with backoff until O(wait_timeout). A DB system whose create failed is deleted
    before the next try.
  - Every create carries a deterministic C(opc-retry-token); after any failed answer the module lists the DB systems by
    name and ownership tag before trying again, so a lost answer never makes a second DB system.
  - An existing DB system is never changed (it holds the data); a shape, high availability or storage that differs from
    the inventory is reported as a warning. O(state=absent) deletes the DB system carrying the ownership tags.
author:
  - openedx_scale maintainers (@openedx-scale)
extends_documentation_fragment:
  - openedx_scale.oke.oci
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
    description: Display name of the DB system.
    type: str
    required: true
  compartment_id:
    description: OCID of the compartment.
    type: str
    required: true
  subnet_id:
    description: OCID of the (private) subnet of the DB system's endpoint. Required when O(state=present).
    type: str
  client_cidrs:
    description:
      - CIDR blocks MySQL clients connect from (the worker node subnet, and the pod subnet with VCN-native pod networking).
        The subnet's security lists must let TCP O(port) in from each of them; checked before create.
    type: list
    elements: str
    default: []
  shape:
    description: MySQL shape, as the MySQL service lists it (for example V(MySQL.4)). Required when O(state=present).
    type: str
  alternative_shapes:
    description: MySQL shapes the planner may fall back to, in order, when O(shape) has no capacity.
    type: list
    elements: str
    default: []
  high_availability:
    description: Three MySQL instances across fault or availability domains, with automatic failover.
    type: bool
    default: true
  standalone_fallback:
    description: When no placement with high availability has capacity, create the DB system without it.
    type: bool
    default: false
  admin_username:
    description: The DB system's administrator user (Tutor's C(MYSQL_ROOT_USERNAME)). Required when O(state=present).
    type: str
  admin_password:
    description:
      - The administrator's password. Only ever sent in the create request's body; never logged or returned.
      - 8-32 characters with at least one upper-case letter, one lower-case letter, one digit and one special character.
    type: str
  data_storage_size_in_gbs:
    description: Initial size of the data volume in GB.
    type: int
    default: 50
  mysql_version:
    description: MySQL version; empty is the service's default.
    type: str
  hostname_label:
    description: Host name label of the endpoint in the subnet's DNS.
    type: str
  port:
    description: Port of the primary endpoint.
    type: int
    default: 3306
  final_backup:
    description: Whether deleting the DB system first takes a final backup (kept, and billed, after the delete).
    type: str
    choices: [skip, require]
    default: require
  description:
    description: Description of the DB system.
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
- name: Ensure the Open edX DB system
  openedx_scale.oke.oci_mysql_db_system:
    deployment: jeddah-50k
    name: openedx-jeddah-50k-mysql
    compartment_id: ocid1.compartment.oc1..aaaaexample
    subnet_id: ocid1.subnet.oc1.me-jeddah-1.aaaaexample
    client_cidrs: [10.0.10.0/24]
    shape: MySQL.8
    alternative_shapes: [MySQL.16]
    high_availability: true
    admin_username: openedx_admin
    admin_password: "{{ vault_mysql_admin_password }}"
    data_storage_size_in_gbs: 200
  register: mysql
"""

RETURN = r"""
db_system:
  description: The DB system (empty when absent or planned in check mode); never its credentials.
  returned: always
  type: dict
  sample: {"id": "ocid1.mysqldbsystem.oc1..aaaa", "shape_name": "MySQL.8", "ip_address": "10.0.30.5", "port": 3306,
           "is_highly_available": true, "lifecycle_state": "ACTIVE"}
actions:
  description: Creates and deletes made or, in check mode, planned.
  returned: always
  type: list
  elements: dict
attempts:
  description: One entry per placement tried.
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
  description: Time the module took, on the clock its waits use.
  returned: always
  type: float
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_args import (
    argument_spec,
    check_availability_domain,
    check_fault_domains,
    check_name,
    check_ocid,
    input_problems,
)
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_errors import InputError, raise_problems
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_module import placement_scope_args, resolve_availability_domain, run_reconciler
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_mysql import (
    DbSystemReconciler,
    check_admin,
    check_client_cidrs,
    check_mysql_shapes,
)


def _storage(value):
    if value is None or value < 1:
        raise InputError("must be a whole number of GB >= 1, got %r." % (value,), field="data_storage_size_in_gbs",
                         fix="give the data volume's size in GB, e.g. 200.")


def _port(value):
    if value is None or not 1 <= value <= 65535:
        raise InputError("%r is not a TCP port." % (value,), field="port", fix="use 3306, MySQL's port.")


def validate(params):
    """Every problem at once, before any API call (the password's value never appears in a message)."""
    problems = input_problems([(check_ocid, params["compartment_id"], "compartment_id", ("compartment", "tenancy")),
                               (check_name, params["name"], "name")])
    if params["state"] == "present":
        problems += input_problems([
            (check_ocid, params.get("subnet_id"), "subnet_id", ("subnet",)),
            (check_availability_domain, params.get("availability_domain"), "availability_domain"),
            (check_ocid, params.get("tenancy_id"), "tenancy_id", ("tenancy",), False),
            (_storage, params.get("data_storage_size_in_gbs")), (_port, params.get("port"))])
        problems += check_admin(params.get("admin_username"), params.get("admin_password"), "admin_username", "admin_password")
        for key, check in (("shapes", lambda: check_mysql_shapes(params.get("shape"), params.get("alternative_shapes"), "shape")),
                           ("fault_domains", lambda: check_fault_domains(params.get("fault_domains"), "fault_domains")),
                           ("client_cidrs", lambda: check_client_cidrs(params.get("client_cidrs"), "client_cidrs"))):
            try:
                params[key] = check()
            except InputError as exc:
                problems.append(exc)
    raise_problems(problems)
    return params


def main():
    spec = argument_spec(
        name=dict(type="str", required=True),
        compartment_id=dict(type="str", required=True),
        subnet_id=dict(type="str"),
        client_cidrs=dict(type="list", elements="str", default=[]),
        shape=dict(type="str"),
        alternative_shapes=dict(type="list", elements="str", default=[]),
        high_availability=dict(type="bool", default=True),
        standalone_fallback=dict(type="bool", default=False),
        admin_username=dict(type="str"),
        admin_password=dict(type="str", no_log=True),
        data_storage_size_in_gbs=dict(type="int", default=50),
        mysql_version=dict(type="str"),
        hostname_label=dict(type="str"),
        port=dict(type="int", default=3306),
        final_backup=dict(type="str", default="require", choices=["skip", "require"]),
        description=dict(type="str"),
        freeform_tags=dict(type="dict", default={}),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        **placement_scope_args()
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True,
                           required_if=[("state", "present", ["subnet_id", "shape", "admin_username", "admin_password"])])

    run_reconciler(module, DbSystemReconciler, validate, resolve_availability_domain)


if __name__ == "__main__":
    main()
