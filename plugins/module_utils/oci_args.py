# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared argument spec (mirrors doc_fragments/oci.py) and input validation run before any API call."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy
import os
import re

from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_errors import InputError
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_ownership import deployment_problem, tag_key_problem

COMMON_ARGS = dict(
    auth_type=dict(type="str", default="api_key", choices=["api_key", "instance_principal"]),
    config_file=dict(type="path"),
    profile=dict(type="str"),
    region=dict(type="str"),
    service_endpoint=dict(type="str"),
    deployment=dict(type="str", required=True),
    wait_timeout=dict(type="int", default=1800),
    retry_base_seconds=dict(type="float", default=2.0),
    retry_max_wait_seconds=dict(type="float", default=120.0),
    throttle_cooldown_seconds=dict(type="float", default=30.0),
    progress_log=dict(type="path"),
)

SHAPE_CONFIG_ARGS = dict(
    shape=dict(type="str", required=True),
    ocpus=dict(type="float", required=True),
    memory_in_gbs=dict(type="float", required=True),
)

# The form of a flexible shape's name (VM.Standard.E5.Flex, VM.Standard.A1.Flex, ...); which shapes exist and their
# limits are OCI's to say (ListShapes, module_utils/oci_shapes.py), so no table of them is kept here.
_FLEX_SHAPE = re.compile(r"^(VM|BM)(\.[A-Za-z0-9]+)+\.Flex$")

FAULT_DOMAINS = ("FAULT-DOMAIN-1", "FAULT-DOMAIN-2", "FAULT-DOMAIN-3")

_OCID = re.compile(r"^ocid1\.(?P<type>[a-z0-9]+)\.(?P<realm>[a-z0-9]+)\.(?P<region>[a-z0-9-]*)(\.[a-z0-9-]*)?\.(?P<unique>[a-z0-9]{6,})$")
_AD = re.compile(r"^([A-Za-z0-9]{2,8}:)?[A-Z0-9]+(-[A-Z0-9]+)*-AD-[1-3]$")
_K8S_VERSION = re.compile(r"^v\d+\.\d+\.\d+$")
# Cluster, node pool and VM names: also node-name prefixes and hostnames, so DNS-label characters and length.
_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$")
# OCI boot volume limits in GB (OCI "Block Volume" docs: custom boot volume size 50 GB - 32 TB).
BOOT_VOLUME_GBS = (50, 32768)


def argument_spec(**specific):
    """Common OCI options plus the module's own."""
    spec = copy.deepcopy(COMMON_ARGS)
    spec.update(specific)
    return spec


def shape_config_spec(required=True):
    spec = copy.deepcopy(SHAPE_CONFIG_ARGS)
    if not required:
        for opt in spec.values():
            opt["required"] = False
    return spec


def region_names(region):
    """A region's identifier and its short key (OCIDs of older regions carry the key, e.g. iad)."""
    names = {region}
    try:
        from oci.regions import REGIONS_SHORT_NAMES
    except ImportError:
        return names
    names.update(key for key, name in REGIONS_SHORT_NAMES.items() if name == region)
    return names


def check_ocid(value, field, kinds, required=True, region=None, shown=None):
    """`value` must be an OCID of one of `kinds` (e.g. ("compartment", "tenancy")) and, when `region` is given, of that
    region (or of none: tenancy-wide resources carry an empty region). `shown` replaces the value in messages."""
    if value in (None, ""):
        if required:
            raise InputError("is required.", field=field, fix="set it to the %s OCID (ocid1.%s.oc1..<id>)." % (kinds[0], kinds[0]))
        return
    shown = shown or repr(value)
    match = _OCID.match(value) if isinstance(value, str) else None
    if not match:
        raise InputError("%s is not an OCID." % shown, field=field,
                         fix="use the %s OCID as shown in the OCI console, e.g. ocid1.%s.oc1..aaaa..." % (kinds[0], kinds[0]))
    if match.group("type") not in kinds:
        raise InputError("%s is a %s OCID, expected a %s OCID." % (shown, match.group("type"), " or ".join(kinds)), field=field,
                         fix="copy the OCID of the %s, not of another resource." % kinds[0])
    if region and match.group("region") and match.group("region") not in region_names(region):
        raise InputError("%s belongs to region %s, not to %s." % (shown, match.group("region"), region), field=field,
                         fix="use the %s's OCID in %s, or set openedx_scale_region to the region it is in." % (kinds[0], region))


def check_shape_config(shape, ocpus, memory, field):
    """The form of a flexible shape config: a .Flex shape name, a positive number of OCPUs and GB. Its limits are
    checked against ListShapes before anything is created (oci_shapes.check_shape_limits)."""
    if not isinstance(shape, str) or not _FLEX_SHAPE.match(shape):
        raise InputError("%r is not a flexible shape name." % (shape,), field="%s.shape" % field,
                         fix="use a flexible shape as OCI names it, e.g. VM.Standard.E5.Flex: pools and VMs here are sized by ocpus and "
                             "memory_in_gbs, which only flexible shapes take.")
    for name, value in (("ocpus", ocpus), ("memory_in_gbs", memory)):
        if value is None:
            raise InputError("is missing: %s is a flexible shape, it needs ocpus and memory_in_gbs." % shape, field="%s.%s" % (field, name),
                             fix="set %s, e.g. {shape: %s, ocpus: 2, memory_in_gbs: 16}." % (name, shape))
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError("%r is not a number." % (value,), field="%s.%s" % (field, name), fix="write %s as a number, e.g. 2." % name)
        if value <= 0:
            raise InputError("%s=%s: must be more than 0." % (name, value), field="%s.%s" % (field, name),
                             fix="give %s a positive %s." % (shape, "number of OCPUs" if name == "ocpus" else "memory size in GB"))


def check_shapes(primary, alternatives, field):
    """Primary {shape, ocpus, memory_in_gbs} and the allowed alternatives; returns the list, primary first, no duplicates."""
    out = []
    for idx, item in enumerate([primary, *list(alternatives or [])]):
        where = field if idx == 0 else "%s.alternative_shapes[%d]" % (field, idx - 1)
        if not isinstance(item, dict):
            raise InputError("must be a mapping with shape, ocpus and memory_in_gbs.", field=where,
                             fix="write e.g. {shape: VM.Standard.E5.Flex, ocpus: 30, memory_in_gbs: 128}.")
        check_shape_config(item.get("shape"), item.get("ocpus"), item.get("memory_in_gbs"), where)
        cfg = {"shape": item["shape"], "ocpus": float(item["ocpus"]), "memory_in_gbs": float(item["memory_in_gbs"])}
        if cfg not in out:
            out.append(cfg)
    return out


def check_fault_domains(fds, field):
    if not fds:
        raise InputError("is empty: at least one fault domain is needed.", field=field,
                         fix="list the fault domains nodes may use, e.g. [FAULT-DOMAIN-1, FAULT-DOMAIN-2, FAULT-DOMAIN-3].")
    for fd in fds:
        if fd not in FAULT_DOMAINS:
            raise InputError("%r is not a fault domain name." % (fd,), field=field, fix="use %s." % ", ".join(FAULT_DOMAINS))
    if len(set(fds)) != len(fds):
        raise InputError("lists a fault domain twice.", field=field, fix="list each fault domain once.")
    return list(fds)


def check_count(value, field, fix="set a node/VM count of 0 or more."):
    if value is None or int(value) != value or value < 0:
        raise InputError("must be an integer >= 0, got %r." % (value,), field=field, fix=fix)
    return int(value)


def check_availability_domain(value, field):
    if value and not (isinstance(value, str) and _AD.match(value)):
        raise InputError("%r is not an availability domain name." % (value,), field=field,
                         fix="use the full name, e.g. 'hxIl:ME-JEDDAH-1-AD-1', or leave it empty to use the first AD.")


def check_kubernetes_version(value, field):
    # A YAML 1.35 arrives as a float: refused by name, not with a TypeError.
    if not (isinstance(value, str) and _K8S_VERSION.match(value)):
        raise InputError("%r is not a Kubernetes version." % (value,), field=field, fix="write it as v<major>.<minor>.<patch>, e.g. v1.35.4.")


def check_labels(labels, field):
    if not isinstance(labels or {}, dict):
        raise InputError("must be a mapping of label keys to values, got %r." % (labels,), field=field, fix="write e.g. {openedx-scale/pool: lms}.")
    for key, value in (labels or {}).items():
        if not re.match(r"^([a-z0-9.-]+/)?[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$", key or ""):
            raise InputError("%r is not a valid Kubernetes label key." % (key,), field=field, fix="use e.g. openedx-scale/pool.")
        if not re.match(r"^([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$", str(value)):
            raise InputError("%r is not a valid Kubernetes label value." % (value,), field=field, fix="use up to 63 alphanumerics, '-', '_' or '.'.")


NODE_STUCK_TIMEOUT_MIN = 60


def check_node_stuck_timeout(value, field):
    """Seconds a node may stay CREATING/UPDATING without progress: a whole number, long enough for a node to boot."""
    if isinstance(value, bool) or not isinstance(value, int) or value < NODE_STUCK_TIMEOUT_MIN:
        raise InputError("must be a whole number of seconds >= %d, got %r." % (NODE_STUCK_TIMEOUT_MIN, value), field=field,
                         fix="give a node time to boot and join, e.g. 900 (the cluster autoscaler's max-node-provision-time).")


def check_boot_volume(value, field):
    """Boot volume size inside OCI's limits; None/0 = the image's default size."""
    if value in (None, 0):
        return
    lo, hi = BOOT_VOLUME_GBS
    if isinstance(value, bool) or int(value) != value or not lo <= value <= hi:
        raise InputError("%r GB is outside OCI's boot volume range %s-%s GB." % (value, lo, hi), field=field,
                         fix="set a whole number of GB between %s and %s (32 TB)." % (lo, hi))


def check_distinct(names, field):
    """`names` (a list of display/pool names) has no repeats: two fleets with one name would adopt each other's resources."""
    seen = set()
    for name in names:
        if name in seen:
            raise InputError("%r is used twice." % (name,), field=field, fix="give each node pool / VM group its own name.")
        seen.add(name)


def check_name(value, field):
    """A display name OCI would otherwise take as given: an empty one fails only at the create call, after others exist."""
    if not isinstance(value, str) or not _NAME.match(value):
        raise InputError("%r is not a usable name." % (value,), field=field,
                         fix="use 1-63 ASCII letters, digits, '-', '_' or '.', starting and ending with a letter or digit.")


def check_writable_file(path, field):
    """`path` is a file the controller can create or replace: not a directory, and its nearest existing parent is a
    writable directory (missing parents are created). Checked before the first create, not after the cluster exists."""
    if not isinstance(path, str) or not path.strip() or path != path.strip():
        raise InputError("%r is not a file path." % (path,), field=field, fix="give an absolute path such as ~/.kube/config-openedx.")
    path = os.path.abspath(os.path.expanduser(path))
    if os.path.isdir(path):
        raise InputError("%s is a directory." % path, field=field, fix="give the file's path, e.g. ~/.kube/config-openedx.")
    parent = os.path.dirname(path)
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise InputError("%s is under %s, which is not a directory." % (path, parent), field=field, fix="choose a path under a directory.")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError("%s cannot be written: %s is not writable by this user." % (path, parent), field=field,
                         fix="choose a path under a directory this user can write (e.g. under ~), or fix its permissions.")
    if os.path.exists(path) and not os.access(path, os.W_OK) and not os.access(os.path.dirname(path), os.W_OK):
        raise InputError("%s exists and cannot be replaced." % path, field=field, fix="make it writable, or choose another path.")


def check_retry_bounds(bounds, field):
    """[base, max]: a base above the maximum wait would be cut to the maximum on every retry, silently."""
    try:
        base, most = [None if v is None else float(v) for v in bounds]
    except (TypeError, ValueError):
        return  # not numbers: the argument spec (type float) names each one
    if base is not None and most is not None and base > most:
        raise InputError("%s s is above the maximum wait of %s s." % (base, most), field=field,
                         fix="set the retry base at or below the maximum wait (e.g. 15 and 300).")


def input_problems(checks):
    """Run every check of `checks` ((callable, args...) tuples) and return all their errors, not only the first."""
    problems = []
    for check in checks:
        try:
            check[0](*check[1:])
        except InputError as exc:
            problems.append(exc)
    return problems


def check_common(params):
    """Options shared by every module (credentials are checked when the client is built)."""
    problem = deployment_problem(params.get("deployment"))
    if problem:
        raise InputError(problem + ".", field="deployment", fix="set openedx_scale_deployment to a short DNS-style name.")
    if params.get("wait_timeout") is not None and params["wait_timeout"] <= 0:
        raise InputError("must be > 0 seconds.", field="wait_timeout", fix="give the whole operation a deadline, e.g. 1800.")
    for opt in ("retry_base_seconds", "retry_max_wait_seconds", "throttle_cooldown_seconds"):
        if params.get(opt) is not None and params[opt] < 0:
            raise InputError("must be >= 0.", field=opt, fix="use a non-negative number of seconds.")
    check_retry_bounds([params.get("retry_base_seconds"), params.get("retry_max_wait_seconds")], "retry_base_seconds")
    for key in (params.get("freeform_tags") or {}):
        problem = tag_key_problem(key)
        if problem:
            raise InputError(problem + ".", field="freeform_tags", fix="rename the tag key with '_' instead of dots or spaces.")
