#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
module: oci_mysql_db_system_info
short_description: Read the MySQL HeatWave DB systems of a deployment and the MySQL shapes offered
version_added: 0.2.0
description:
  - Lists the DB systems in O(compartment_id) that carry this deployment's ownership tags (optionally only O(name)),
    with their endpoints; DELETED ones are left out. Only reads.
  - With O(list_shapes), also the shapes the MySQL service offers for DB systems (C(ListShapes), C(isSupportedFor=DBSYSTEM)).
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
  compartment_id:
    description: OCID of the compartment.
    type: str
    required: true
  name:
    description: Only the DB system with this display name.
    type: str
  list_shapes:
    description: Also return the MySQL shapes offered in O(availability_domain) (all ADs when it is not set).
    type: bool
    default: false
  availability_domain:
    description: Availability domain (full name) for O(list_shapes).
    type: str
"""

EXAMPLES = r"""
- name: Read the deployment's DB system
  openedx_scale.oke.oci_mysql_db_system_info:
    deployment: jeddah-50k
    compartment_id: ocid1.compartment.oc1..aaaaexample
    name: openedx-jeddah-50k-mysql
  register: mysql_info
"""

RETURN = r"""
db_systems:
  description: The deployment's DB systems, by name; never their credentials.
  returned: always
  type: list
  elements: dict
  sample: [{"id": "ocid1.mysqldbsystem.oc1..aaaa", "display_name": "openedx-jeddah-50k-mysql", "ip_address": "10.0.30.5", "port": 3306}]
shapes:
  description: With O(list_shapes), the MySQL shapes offered (name, cpu_core_count, memory_size_in_gbs).
  returned: when O(list_shapes=true)
  type: list
  elements: dict
api_calls:
  description: Number of OCI API calls made.
  returned: always
  type: int
elapsed_seconds:
  description: Time the module took.
  returned: always
  type: float
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_args import argument_spec, check_availability_domain, check_ocid
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_client import list_all
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_module import run_module
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_mysql import db_system_summary, list_owned


def validate(params):
    check_ocid(params["compartment_id"], "compartment_id", ("compartment", "tenancy"))
    check_availability_domain(params.get("availability_domain"), "availability_domain")
    return params


def main():
    spec = argument_spec(
        compartment_id=dict(type="str", required=True),
        name=dict(type="str"),
        list_shapes=dict(type="bool", default=False),
        availability_domain=dict(type="str"),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)

    def work(clients, policy, params):
        found = list_owned(clients, policy, params["compartment_id"], params["deployment"], params.get("name"))
        result = {"changed": False, "db_systems": [db_system_summary(d) for d in sorted(found, key=lambda d: d.display_name)]}
        if params["list_shapes"]:
            kwargs = {"compartment_id": params["compartment_id"], "is_supported_for": ["DBSYSTEM"]}
            if params.get("availability_domain"):
                kwargs["availability_domain"] = params["availability_domain"]
            shapes = list_all(policy, "ListShapes", clients.mysqlaas.list_shapes, **kwargs)
            result["shapes"] = [{"name": s.name, "cpu_core_count": s.cpu_core_count, "memory_size_in_gbs": s.memory_size_in_gbs} for s in shapes]
        return result

    run_module(module, "mysql-info", validate, work)


if __name__ == "__main__":
    main()
