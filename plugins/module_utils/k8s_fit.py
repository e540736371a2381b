# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the scheduler sees of a planned workload: shared by the k8s_fit_check module (probe pods) and the
fit_workloads filter (the plan taken from rendered manifests), so both keep the same fields."""

from __future__ import (absolute_import, division, print_function)

__metaclass__ = type

# Parts of a pod spec the scheduler looks at; everything else (env, volumes, commands, secrets) is left out.
SCHEDULING_FIELDS = ("nodeSelector", "affinity", "tolerations", "topologySpreadConstraints", "priorityClassName",
                     "runtimeClassName", "overhead", "hostNetwork", "schedulerName", "resources")
CONTAINER_FIELDS = ("name", "resources", "ports", "restartPolicy")
# Controllers whose pods stay: their replicas must fit at once (a Job's pods come and go).
PLANNED_KINDS = ("Deployment", "StatefulSet")


def scheduling_template(template):
    """The scheduling-relevant part of a pod template: its labels (for (anti-)affinity between replicas), the
    spec's SCHEDULING_FIELDS and each container's CONTAINER_FIELDS."""
    template = template or {}
    spec = template.get("spec") or {}
    body = dict((k, spec[k]) for k in SCHEDULING_FIELDS if k in spec)
    for key in ("containers", "initContainers"):
        if spec.get(key):
            body[key] = [dict((k, c[k]) for k in CONTAINER_FIELDS if k in c) for c in spec[key]]
    labels = dict((template.get("metadata") or {}).get("labels") or {})
    return {"metadata": {"labels": labels}, "spec": body}


def planned_workloads(objects, hpa_max=True):
    """Workloads (name, replicas, template) of the Deployments and StatefulSets among Kubernetes objects.

    With `hpa_max`, a workload an autoscaler targets is planned at the autoscaler's maxReplicas: that is how many
    pods it has at peak load. Workloads planned at 0 replicas are left out.
    """
    objects = [o for o in objects or [] if isinstance(o, dict)]
    peak = {}
    if hpa_max:
        for o in objects:
            if o.get("kind") == "HorizontalPodAutoscaler":
                spec = o.get("spec") or {}
                ref = spec.get("scaleTargetRef") or {}
                peak[(ref.get("kind"), ref.get("name"))] = int(spec.get("maxReplicas") or 0)
    out = []
    for o in objects:
        if o.get("kind") not in PLANNED_KINDS:
            continue
        name = (o.get("metadata") or {}).get("name")
        spec = o.get("spec") or {}
        replicas = spec.get("replicas")
        replicas = 1 if replicas is None else int(replicas)
        replicas = max(replicas, peak.get((o["kind"], name), 0))
        if replicas > 0:
            out.append({"name": name, "replicas": replicas, "template": scheduling_template(spec.get("template"))})
    return out
