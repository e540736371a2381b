# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Role preflights run the modules' own input checks (module_utils/oci_args.py) on the controller, all at once."""

from __future__ import (absolute_import, division, print_function)

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_args import (
    check_availability_domain,
    check_boot_volume,
    check_node_stuck_timeout,
    check_count,
    check_ocid,
    check_distinct,
    check_fault_domains,
    check_kubernetes_version,
    check_labels,
    check_name,
    check_retry_bounds,
    check_shape_config,
    check_writable_file,
    input_problems as run_checks,
)
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_errors import InputError
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_mysql import admin_password_problem, check_mysql_shapes
from ansible_collections.openedx_scale.oke.plugins.module_utils.spec_constraints import inventory_number as _number

DOCUMENTATION = r"""
name: input_problems
short_description: Every input problem of a provision role, each naming the variable and the fix
description:
  - Runs the same checks as the modules' validate functions (shapes and their OCPU/memory limits, counts, boot volume size,
    Kubernetes labels, fault and availability domains, distinct names) before any module is called, so a role's preflight
    rejects bad input before the first API call and reports every problem, not only the first.
options:
  _input:
    description:
      - List of checks, each C({check, field, value}). C(check) is one of C(shape), C(alternative_shapes), C(count),
        C(boot_volume), C(distinct), C(labels), C(fault_domains), C(availability_domain), C(kubernetes_version),
        C(name) (a cluster, node pool or VM name), C(writable_file) (a controller path that can be created or replaced),
        C(retry_bounds) (V([base, max]) seconds of the retry policy), C(node_stuck_timeout), C(ocid) (an OCID of one of
        the resource types in C(kinds), e.g. V([compartment, tenancy]); the one OCID pattern the modules use),
        C(mysql_admin_password) (OCI's rule for a MySQL DB system's administrator password; the value is never part of
        a message), C(mysql_shapes) (V([primary, alternatives...]) MySQL shape names).
        C(field) is the variable named in the message. C(alternative_shapes) takes an optional C(size_from) shape whose
        C(ocpus) and C(memory_in_gbs) the alternatives inherit.
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Check the node pool inputs
  ansible.builtin.assert:
    that: __problems | length == 0
    fail_msg: "{{ __problems | join(' | ') }}"
  vars:
    __problems: "{{ [{'check': 'shape', 'field': 'oke_cluster_lms_shape', 'value': oke_cluster_lms_shape}] | openedx_scale.oke.input_problems }}"
"""

RETURN = r"""
_value:
  description: "One message per problem, C(<field>: <problem> Fix: <fix>); empty when the input is valid."
  type: list
  elements: str
"""


def _shape(value, field):
    if not isinstance(value, dict):
        raise InputError("must be a mapping with shape, ocpus and memory_in_gbs, got %r." % (value,), field=field,
                         fix="write e.g. {shape: VM.Standard.E4.Flex, ocpus: 2, memory_in_gbs: 16}.")
    check_shape_config(value.get("shape"), _number(value.get("ocpus")), _number(value.get("memory_in_gbs")), field)


def _alternative_shapes(value, field, size_from=None):
    """`size_from`: the shape whose OCPUs and memory the alternatives take (the load-generator role's fallbacks)."""
    if not isinstance(value, list):
        raise InputError("must be a list of shape mappings.", field=field, fix="write e.g. [{shape: VM.Standard.E5.Flex, ocpus: 2, memory_in_gbs: 16}].")
    for idx, item in enumerate(value):
        sized = item
        if isinstance(item, dict) and isinstance(size_from, dict):
            sized = dict(item, **{k: size_from[k] for k in ("ocpus", "memory_in_gbs") if k in size_from})
        _shape(sized, "%s[%d]" % (field, idx))


def _count(value, field):
    value = _number(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError("must be an integer >= 0, got %r." % (value,), field=field, fix="set a node/VM count of 0 or more.")
    check_count(value, field)


def _boot_volume(value, field):
    check_boot_volume(_number(value), field)


def _fault_domains(value, field):
    check_fault_domains(list(value or []), field)


def _mysql_admin_password(value, field):
    why = admin_password_problem(value)
    if why:
        raise InputError("the MySQL administrator password %s (its value is not shown)." % why, field=field,
                         fix="set it from a vault variable: 8-32 characters with an upper-case and a lower-case letter, a digit and a special character.")


def _mysql_shapes(value, field):
    """V([primary, alternatives...]); the alternatives are named after `field` (oke_cluster_mysql_shape ->
    oke_cluster_mysql_alternative_shapes[i])."""
    names = list(value or [])
    check_mysql_shapes(names[0] if names else None, names[1:], field, field.replace("_shape", "_alternative_shapes"))


CHECKS = {
    "shape": _shape,
    "alternative_shapes": _alternative_shapes,
    "count": _count,
    "boot_volume": _boot_volume,
    "distinct": lambda value, field: check_distinct(list(value), field),
    "labels": check_labels,
    "fault_domains": _fault_domains,
    "availability_domain": check_availability_domain,
    "kubernetes_version": check_kubernetes_version,
    "name": check_name,
    "retry_bounds": lambda value, field: check_retry_bounds([_number(v) for v in value], field),
    "writable_file": check_writable_file,
    "node_stuck_timeout": lambda value, field: check_node_stuck_timeout(_number(value), field),
    "mysql_admin_password": _mysql_admin_password,
    "mysql_shapes": _mysql_shapes,
    "ocid": lambda value, field, kinds: check_ocid(value if value is None or isinstance(value, str) else repr(value), field, tuple(kinds)),
}
# Further keys some checks take, passed after value and field.
EXTRA = {"alternative_shapes": ("size_from",), "ocid": ("kinds",)}


def input_problems(checks):
    calls = []
    for item in checks or []:
        if not isinstance(item, dict) or item.get("check") not in CHECKS or not item.get("field"):
            raise AnsibleFilterError("input_problems: each check needs check (one of %s), field and value; got %r" % (", ".join(sorted(CHECKS)), item))
        extra = tuple(item[key] for key in EXTRA.get(item["check"], ()) if item.get(key) is not None)
        calls.append((CHECKS[item["check"]], item.get("value"), item["field"], *extra))
    messages = []
    for problem in run_checks(calls):
        if problem.msg not in messages:  # an alternative checked against two sizes fails the same way twice
            messages.append(problem.msg)
    return messages


class FilterModule(object):
    def filters(self):
        return {"input_problems": input_problems}
