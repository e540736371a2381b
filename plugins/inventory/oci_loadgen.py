# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
name: oci_loadgen
short_description: The load-generator VMs of a deployment, found by their OCI ownership tags
version_added: 0.1.0
author:
  - openedx_scale maintainers (@openedx-scale)
description:
  - Lists the running instances in O(compartment_id) that carry this O(deployment)'s ownership tags (written by the
    C(openedx_scale.oke.oci_instance) module) with role C(locust_master) or C(locust_worker), and puts them in the
    groups C(locust_master) and C(locust_workers), as the C(loadgen_vms) role does in memory.
  - So the load-test stage (C(playbooks/loadtest.yml)) finds the VMs the provision stage launched, in a job of its own
    (an AWX job starts with an empty in-memory inventory), without calling a provisioning module. It only reads OCI.
  - Instances without an attached VNIC yet are left out.
requirements:
  - oci (Python SDK)
options:
  plugin:
    description: Marks the file as this plugin's configuration.
    type: str
    required: true
    choices: [openedx_scale.oke.oci_loadgen]
  deployment:
    description: Deployment name of the ownership tags (C(openedx_scale_deployment)).
    type: str
    required: true
  compartment_id:
    description: Compartment OCID the VMs were launched in.
    type: str
    required: true
  auth_type:
    description: C(api_key) (config file and profile, C(OCI_*) overrides) or C(instance_principal).
    type: str
    default: api_key
    choices: [api_key, instance_principal]
  config_file:
    description: OCI config file; the SDK's default (C(~/.oci/config), C(OCI_CONFIG_FILE)) when omitted.
    type: path
  profile:
    description: Profile of the config file.
    type: str
  region:
    description: Region, overriding the profile's.
    type: str
  service_endpoint:
    description: Base URL every OCI client talks to instead of the regional endpoints (a local stand-in in tests).
    type: str
  address:
    description: Which address becomes C(ansible_host).
    type: str
    default: private_ip
    choices: [private_ip, public_ip]
  wait_timeout:
    description: Seconds the listing may take, retries included.
    type: int
    default: 300
"""

EXAMPLES = r"""
# inventories/example-jeddah/oci_loadgen.yml (the file name must end in oci_loadgen.yml or oci_loadgen.yaml)
plugin: openedx_scale.oke.oci_loadgen
deployment: jeddah-50k
compartment_id: ocid1.compartment.oc1..aaaaaaaaexample
config_file: ~/.oci/config
profile: DEFAULT
"""

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin

from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_args import check_ocid
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_client import OciClients, list_all
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_errors import InputError, OciScaleError
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_instances import COMPONENT, instance_ips
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_ownership import TAG_ROLE, deployment_problem, is_owned
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_retry import RetryPolicy

# Ownership role of the instance -> inventory group (the names the locust role's plays target).
GROUPS = {"locust_master": "locust_master", "locust_worker": "locust_workers"}


class InventoryModule(BaseInventoryPlugin):

    NAME = "openedx_scale.oke.oci_loadgen"

    def verify_file(self, path):
        return super(InventoryModule, self).verify_file(path) and path.endswith(("oci_loadgen.yml", "oci_loadgen.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        self._read_config_data(path)
        params = {k: self.get_option(k) for k in ("deployment", "compartment_id", "auth_type", "config_file", "profile", "region",
                                                  "service_endpoint")}
        try:
            problem = deployment_problem(params["deployment"])
            if problem:
                raise InputError(problem + ".", field="deployment", fix="use the deployment name the provision stage used (openedx_scale_deployment).")
            check_ocid(params["compartment_id"], "compartment_id", ("compartment", "tenancy"))
            clients = OciClients(params)
            policy = RetryPolicy(self.get_option("wait_timeout"))
            hosts = self._hosts(clients, policy, params)
        except OciScaleError as exc:
            raise AnsibleParserError("%s: %s" % (path, exc)) from exc
        for group in GROUPS.values():
            self.inventory.add_group(group)
        for name, group, variables in hosts:
            self.inventory.add_host(name, group=group)
            for key, value in variables.items():
                self.inventory.set_variable(name, key, value)

    def _hosts(self, clients, policy, params):
        """(name, group, host vars) of every running owned load generator with an address."""
        items = list_all(policy, "ListInstances", clients.compute.list_instances, compartment_id=params["compartment_id"],
                         lifecycle_state="RUNNING")
        out = []
        for inst in sorted(items, key=lambda i: i.display_name or ""):
            role = (inst.freeform_tags or {}).get(TAG_ROLE)
            if role not in GROUPS or not is_owned(inst, params["deployment"], COMPONENT, role):
                continue
            private_ip, public_ip = instance_ips(clients, policy, params["compartment_id"], inst.id)
            address = public_ip if self.get_option("address") == "public_ip" else private_ip
            if address:
                out.append((inst.display_name, GROUPS[role], {"ansible_host": address, "loadgen_vms_instance_id": inst.id}))
        return out
