# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the region's OKE offers (GetClusterOptions / GetNodePoolOptions), checked before any create: the Kubernetes
version, the node image for that version, and the image's architecture against every shape a pool may use (an
x86 image cannot boot an Ampere A1 node). A mismatch is an input error naming the field and the images that fit."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re

from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_errors import InputError

_AARCH64_SHAPE = re.compile(r"\.A\d+\.")  # VM.Standard.A1.Flex, BM.Standard.A1.160, VM.Standard.A2.Flex, ...


def shape_architecture(shape):
    return "AARCH64" if _AARCH64_SHAPE.search(shape + ".") else "X86_64"


def image_architecture(source_name):
    """OKE image names carry the architecture (Oracle-Linux-8.10-aarch64-...-OKE-1.35.4-...); x86 ones say nothing."""
    return "AARCH64" if "aarch64" in (source_name or "").lower() else "X86_64"


def _check_version(version, offered, field):
    if offered and version not in offered:
        raise InputError("%s is not offered by OKE in this region (offered: %s)." % (version, ", ".join(offered)), field=field,
                         fix="set it to one of the offered versions (GetClusterOptions / GetNodePoolOptions).")


def check_cluster_options(clients, policy, kubernetes_version):
    options = policy.call("GetClusterOptions", clients.ce.get_cluster_options, "all").data
    _check_version(kubernetes_version, list(options.kubernetes_versions or []), "kubernetes_version")


def check_node_pool_options(clients, policy, params):
    """Version, image and image architecture of a node pool against the cluster's node-pool options."""
    version = params["kubernetes_version"]
    options = policy.call("GetNodePoolOptions", clients.ce.get_node_pool_options, params["cluster_id"],
                          compartment_id=params["compartment_id"]).data
    _check_version(version, list(options.kubernetes_versions or []), "kubernetes_version")
    images = dict((s.image_id, s.source_name) for s in options.sources or [] if getattr(s, "image_id", None))
    fitting = [(name, iid) for iid, name in sorted(images.items(), key=lambda kv: kv[1]) if ("OKE-%s-" % version.lstrip("v")) in name]
    if params["image_id"] not in images:
        raise InputError("%s is not an OKE node image of this region." % params["image_id"], field="image_id",
                         fix="use one of the images for %s: %s." % (version, ", ".join("%s (%s)" % f for f in fitting) or "none listed"))
    name = images[params["image_id"]]
    if fitting and (name, params["image_id"]) not in fitting:
        raise InputError("%s (%s) is not built for Kubernetes %s." % (params["image_id"], name, version), field="image_id",
                         fix="use one of: %s." % ", ".join("%s (%s)" % f for f in fitting))
    arch = image_architecture(name)
    for index, cfg in enumerate(params["shapes"]):
        if shape_architecture(cfg["shape"]) != arch:
            field = "shape" if index == 0 else "alternative_shapes[%d]" % (index - 1)
            other = [f for f in fitting if image_architecture(f[0]) != arch]
            raise InputError("%s is %s but image_id %s (%s) is %s; one pool image cannot boot both." % (
                cfg["shape"], shape_architecture(cfg["shape"]), params["image_id"], name, arch), field=field,
                fix="use shapes of one architecture per pool (an image for %s: %s)." % (
                    shape_architecture(cfg["shape"]), ", ".join("%s (%s)" % f for f in other) or "none listed"))
