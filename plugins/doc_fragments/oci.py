# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


class ModuleDocFragment(object):

    # Options of plugins/module_utils/oci_args.py COMMON_ARGS (keep both in step).
    DOCUMENTATION = r"""
options:
  auth_type:
    description:
      - How to authenticate. V(api_key) reads a config file profile (and C(OCI_*) environment overrides);
        V(instance_principal) uses the identity of the OCI instance running Ansible.
    type: str
    choices: [api_key, instance_principal]
    default: api_key
  config_file:
    description:
      - OCI config file. Defaults to E(OCI_CONFIG_FILE), then C(~/.oci/config).
      - Values of E(OCI_USER_ID), E(OCI_USER_FINGERPRINT), E(OCI_USER_KEY_FILE), E(OCI_TENANCY) and E(OCI_REGION)
        override the profile, and are enough on their own when no file exists.
    type: path
  profile:
    description: Profile (section) of O(config_file). Defaults to E(OCI_CONFIG_PROFILE), then C(DEFAULT).
    type: str
  region:
    description: Region to use instead of the profile's C(region).
    type: str
  service_endpoint:
    description:
      - Base URL that every OCI client talks to instead of the regional endpoints (a local stand-in in tests).
      - Defaults to E(OPENEDX_SCALE_OCI_SERVICE_ENDPOINT), then a C(service_endpoint) key in the config profile.
    type: str
  deployment:
    description:
      - Deployment name. Everything created carries the freeform tags C(openedx_scale_deployment=<deployment>) and
        C(openedx_scale_managed_by=openedx_scale.oke); only resources carrying both are ever updated or deleted.
    type: str
    required: true
  wait_timeout:
    description:
      - Overall deadline in seconds for the whole operation, waits included. The module fails before it,
        with the table of attempts, when the next wait would not fit.
    type: int
    default: 1800
  retry_base_seconds:
    description: First backoff wait; it doubles each round (with jitter) up to O(retry_max_wait_seconds).
    type: float
    default: 2.0
  retry_max_wait_seconds:
    description: Longest backoff wait between two capacity rounds or two retries of one call.
    type: float
    default: 120.0
  throttle_cooldown_seconds:
    description: Wait after an HTTP 429; doubles while the service keeps throttling.
    type: float
    default: 30.0
  progress_log:
    description:
      - File that receives one line per attempt and per retry while the module runs (C(tail -f) it).
        The same lines are returned as RV(ignore:progress).
    type: path
requirements:
  - oci >= 2.189.0
notes:
  - SDK-level retries are disabled on every client; the module's own policy decides (it never repeats an
    "Out of host capacity" launch in the same placement).
"""

    SHAPES = r"""
options:
  shape:
    description: Primary flexible shape, with its OCPUs and memory. Required unless the module deletes (C(state=absent)).
    type: dict
    suboptions:
      shape:
        description: Shape name, for example C(VM.Standard.E4.Flex).
        type: str
        required: true
      ocpus:
        description: OCPUs per node/VM, inside the limits OCI lists for the shape (C(ListShapes), checked before anything is created).
        type: float
        required: true
      memory_in_gbs:
        description: Memory per node/VM in GB, inside the shape's limits (and per-OCPU ratio).
        type: float
        required: true
  alternative_shapes:
    description: Shapes the planner may fall back to, in order, when the primary shape has no capacity.
    type: list
    elements: dict
    default: []
    suboptions:
      shape:
        description: Shape name.
        type: str
        required: true
      ocpus:
        description: OCPUs.
        type: float
        required: true
      memory_in_gbs:
        description: Memory in GB.
        type: float
        required: true
  capacity_reservation:
    description: Let the planner, as a last resort, reserve capacity in a placement and launch into the reservation.
    type: bool
    default: false
  capacity_probe_rounds:
    description:
      - Capacity reports are advisory and can be wrong both ways. Every Nth capacity round in which the report offers
        no placement, try one placement it calls full anyway (a different one each time). C(0) trusts the report.
      - A node-pool probe costs a create or resize work request plus the shrink of the failed nodes, so it is only
        made with at least 15 minutes left before O(wait_timeout).
    type: int
    default: 3
"""

    # Options of plugins/module_utils/oci_module.py placement_scope_args (every module that places something).
    PLACEMENT = r"""
options:
  fault_domains:
    description: Fault domains that may be used, in preference order (of the primary, for a DB system). Must not be empty.
    type: list
    elements: str
    default: [FAULT-DOMAIN-1, FAULT-DOMAIN-2, FAULT-DOMAIN-3]
  availability_domain:
    description: Availability domain (full name). Defaults to the first one of the tenancy.
    type: str
  tenancy_id:
    description: Tenancy (root compartment) OCID for the availability domain list and capacity reports. Defaults to the credentials' tenancy.
    type: str
"""
