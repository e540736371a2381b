# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shape limits as OCI lists them (ListShapes), checked before anything is created.

No table of shapes is kept here: OCI adds shapes and raises limits per region, and a fixed list would refuse a shape
the tenancy can launch. The offline checks (oci_args.check_shape_config) only see the form of a shape config.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_capacity import DENIED_STATUSES
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_client import list_all
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_errors import ApiError, InputError, raise_problems


def list_shapes(clients, policy, compartment_id, availability_domain=None):
    """{shape name: oci.core.models.Shape} the compartment (and AD) offers, or None when listing is denied."""
    kwargs = {"compartment_id": compartment_id}
    if availability_domain:
        kwargs["availability_domain"] = availability_domain
    try:
        shapes = list_all(policy, "ListShapes", clients.compute.list_shapes, **kwargs)
    except ApiError as exc:
        if exc.failure.status not in DENIED_STATUSES:
            raise
        policy.progress.warn("ListShapes was denied (%s %s) in %s, so shape limits are left to the create calls. To check them first, "
                             "grant the group the permission the OCI policy reference lists for ListShapes in the compartment."
                             % (exc.failure.status, exc.failure.code or "", compartment_id))
        return None
    return dict((s.shape, s) for s in shapes)


def _limit_problem(offered, cfg, field):
    """InputError for one {shape, ocpus, memory_in_gbs} named by `field`, or None when OCI's limits allow it."""
    name, ocpus, memory = cfg["shape"], float(cfg["ocpus"]), float(cfg["memory_in_gbs"])
    shape = offered.get(name)
    if shape is None:
        flexible = sorted(n for n, s in offered.items() if s.is_flexible)
        return InputError("shape %r is not offered here (ListShapes)." % name, field="%s.shape" % field,
                          fix="use a flexible shape the compartment and availability domain offer: %s." % (", ".join(flexible) or "none listed"))
    if not shape.is_flexible:
        return InputError("%s is a fixed shape; pools and VMs here are sized by ocpus and memory_in_gbs, which only flexible shapes take."
                          % name, field="%s.shape" % field, fix="use a flexible shape (its name ends in .Flex).")
    return _ocpu_problem(shape, name, ocpus, field) or _memory_problem(shape.memory_options, name, ocpus, memory, field)


def _ocpu_problem(shape, name, ocpus, field):
    """InputError when `ocpus` is outside the flexible shape's OCPU range, else None."""
    cpu = shape.ocpu_options
    if cpu is not None and cpu.min is not None and cpu.max is not None and not cpu.min <= ocpus <= cpu.max:
        return InputError("%s ocpus=%g is outside %s's range %g-%g (ListShapes)." % (name, ocpus, name, cpu.min, cpu.max), field="%s.ocpus" % field,
                          fix="pick between %g and %g OCPUs or another shape." % (cpu.min, cpu.max))
    return None


def _memory_problem(mem, name, ocpus, memory, field):
    """InputError when `memory` is outside the shape's memory range (`mem`: its memory_options), in total or per OCPU, else None."""
    if mem is None:
        return None
    if mem.min_in_g_bs is not None and mem.max_in_g_bs is not None and not mem.min_in_g_bs <= memory <= mem.max_in_g_bs:
        return InputError("%s memory_in_gbs=%g is outside %s's range %g-%g GB (ListShapes)." % (name, memory, name, mem.min_in_g_bs, mem.max_in_g_bs),
                          field="%s.memory_in_gbs" % field, fix="pick between %g and %g GB." % (mem.min_in_g_bs, mem.max_in_g_bs))
    low, high = mem.min_per_ocpu_in_gbs, mem.max_per_ocpu_in_gbs
    if low is not None and high is not None and not low * ocpus <= memory <= high * ocpus:
        top = min(high * ocpus, mem.max_in_g_bs) if mem.max_in_g_bs is not None else high * ocpus
        return InputError("%s allows %g-%g GB per OCPU; %g GB / %g OCPU is %.1f (ListShapes)." % (name, low, high, memory, ocpus, memory / ocpus),
                          field="%s.memory_in_gbs" % field, fix="set memory_in_gbs between %g and %g for %g OCPUs." % (low * ocpus, top, ocpus))
    return None


def shape_limit_problems(clients, policy, compartment_id, availability_domain, named_configs):
    """One InputError per config of `named_configs` ([(field, {shape, ocpus, memory_in_gbs})]) that OCI's limits
    refuse; none when ListShapes is denied (then the create calls refuse bad configs)."""
    if not named_configs:
        return []
    offered = list_shapes(clients, policy, compartment_id, availability_domain)
    if offered is None:
        return []
    problems = [_limit_problem(offered, cfg, field) for field, cfg in named_configs]
    return [p for p in problems if p is not None]


def check_shape_limits(clients, policy, compartment_id, availability_domain, named_configs):
    """Raise one InputError naming every config that OCI's limits refuse (see shape_limit_problems)."""
    raise_problems(shape_limit_problems(clients, policy, compartment_id, availability_domain, named_configs))


def module_shape_configs(params):
    """The module's shape options as [(field, config)], in the names the module's errors use."""
    out = [("shape", params["shape"])]
    for idx, cfg in enumerate(params.get("alternative_shapes") or []):
        out.append(("alternative_shapes[%d]" % idx, cfg))
    return out
