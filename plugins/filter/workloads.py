# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan a fit check probes, taken from rendered manifests. Documented in fit_workloads.yml next to this file."""

from __future__ import (absolute_import, division, print_function)

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.openedx_scale.oke.plugins.module_utils.k8s_fit import planned_workloads


def fit_workloads(objects, hpa_max=True):
    if not isinstance(objects, list):
        raise AnsibleFilterError("fit_workloads: expected a list of Kubernetes objects (e.g. manifests | from_yaml_all | list), got %s"
                                 % type(objects).__name__)
    try:
        return planned_workloads(objects, hpa_max=bool(hpa_max))
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError("fit_workloads: a Deployment, StatefulSet or HorizontalPodAutoscaler has a malformed replica count: %s" % exc) from exc


class FilterModule(object):
    """Fit-check filters."""

    def filters(self):
        return {"fit_workloads": fit_workloads}
