# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
module: k8s_fit_check
short_description: Fail with the scheduler's own reasons when pods do not fit on the cluster's nodes
version_added: 0.1.0
description:
  - "Asks the real kube-scheduler whether pods fit on the nodes of a cluster and turns its verdict into a clear
    result, or a failure listing every pod that did not fit with the scheduler's reasons
    (C(0/7 nodes are available: 2 Insufficient cpu, 5 node(s\\) didn't match pod anti-affinity rules))."
  - Without O(workloads) it inspects the live cluster - pods that are Pending in O(namespaces) - and waits up to
    O(timeout) seconds for the scheduler to decide about each of them.
  - With O(workloads) it probes a plan - for example the planned node set before deploying, or the live
    cluster before scaling - by creating the planned pods in O(probe_namespace) with the scheduling-relevant
    parts of their templates (resources, node selectors, affinity, tolerations, topology spread, priority) and
    O(probe_image) as every container's image, reading the scheduler's verdict and deleting them again.
  - Volumes are not probed; a claim's zone constraint is not part of the plan.
author: openedx_scale maintainers (@openedx-scale)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The live inspection only reads. A probe creates transient pods, so check mode skips it (RV(probed=false)).
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  kubeconfig:
    description:
      - Path of the kubeconfig file. Defaults to E(K8S_AUTH_KUBECONFIG), then E(KUBECONFIG), then C(~/.kube/config).
    type: path
  context:
    description: Context of O(kubeconfig) to use instead of its current context.
    type: str
  namespaces:
    description: Namespaces whose Pending pods are inspected (live mode). Empty means all namespaces.
    type: list
    elements: str
    default: []
  label_selector:
    description: Only inspect pods matching this label selector (live mode).
    type: str
  workloads:
    description:
      - Planned pods to probe. Each item is one workload (a Deployment, StatefulSet or Job of the plan).
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the workload; probe pods are called C(<name>-fit-<n>).
        type: str
        required: true
      replicas:
        description: How many pods of this workload must fit.
        type: int
        default: 1
      template:
        description:
          - The pod template (C(metadata.labels) and C(spec)), as in a Deployment's C(spec.template).
          - Labels are kept, so (anti-)affinity between the probe pods of a workload works as it will for the real pods.
        type: dict
        required: true
  probe_namespace:
    description: Existing namespace where probe pods are created (and deleted). Used with O(workloads).
    type: str
    default: default
  probe_image:
    description:
      - Image of every probe container (a pause image), so a probe pod that gets a node runs nothing.
      - Required with O(workloads).
    type: str
  timeout:
    description: Seconds to wait for the scheduler to decide about every pod.
    type: int
    default: 60
  fail_on_unfit:
    description: Fail when a pod does not fit. With V(false) the verdict is only returned.
    type: bool
    default: true
requirements:
  - kubernetes >= 24.2.0 (Python client)
notes:
  - A pod counts as not fitting when its C(PodScheduled) condition is C(False) with reason C(Unschedulable); the
    message is the scheduler's, the same text as its C(FailedScheduling) event.
  - Pods the scheduler has not decided about after O(timeout) (for example waiting for a volume) are reported
    as C(undecided) and make the check fail too.
"""

EXAMPLES = r"""
- name: Check that the planned LMS pods fit on the LMS nodes, one per node
  openedx_scale.oke.k8s_fit_check:
    kubeconfig: "{{ tutor_kubeconfig }}"
    probe_image: "{{ tutor_pause_image }}"
    workloads:
      - name: lms
        replicas: 5
        template:
          metadata:
            labels: {app.kubernetes.io/name: lms}
          spec:
            nodeSelector: {openedx-scale/pool: lms}
            affinity:
              podAntiAffinity:
                requiredDuringSchedulingIgnoredDuringExecution:
                  - labelSelector: {matchLabels: {app.kubernetes.io/name: lms}}
                    topologyKey: kubernetes.io/hostname
            containers:
              - name: lms
                resources: {requests: {cpu: "40", memory: 64Gi}}

- name: Fail if anything deployed in openedx is left Pending by the scheduler
  openedx_scale.oke.k8s_fit_check:
    kubeconfig: "{{ tutor_kubeconfig }}"
    namespaces: [openedx]
    timeout: 120
"""

RETURN = r"""
fits:
  description: Whether every pod inspected or probed got a node. Null when a probe was skipped in check mode.
  returned: always
  type: bool
  sample: false
probed:
  description: Whether probe pods were created (false in live mode and in check mode).
  returned: always
  type: bool
pods:
  description: The scheduler's verdict for each pod.
  returned: always
  type: list
  elements: dict
  contains:
    namespace:
      description: Namespace of the pod.
      type: str
    name:
      description: Name of the pod.
      type: str
    workload:
      description: Owning workload (kind/name, or the probe workload's name).
      type: str
    verdict:
      description: V(scheduled), V(unschedulable), V(gated) (scheduling gates) or V(undecided) (no decision within the timeout).
      type: str
    node:
      description: Node the pod was bound to, if any.
      type: str
    message:
      description: The scheduler's message (the C(PodScheduled) condition).
      type: str
    reasons:
      description: The message's per-node reasons with how many nodes gave each.
      type: dict
      sample: {"Insufficient cpu": 2, "node(s) didn't match pod anti-affinity rules": 5}
  sample:
    - namespace: default
      name: lms-fit-5
      workload: lms
      verdict: unschedulable
      node: null
      message: "0/7 nodes are available: 2 node(s) didn't match Pod's node affinity/selector, 5 node(s) didn't match pod anti-affinity rules."
      reasons: {"node(s) didn't match Pod's node affinity/selector": 2, "node(s) didn't match pod anti-affinity rules": 5}
unfit:
  description: The entries of RV(pods) whose verdict is not V(scheduled).
  returned: always
  type: list
  elements: dict
nodes:
  description: Number of schedulable nodes the cluster has.
  returned: always
  type: int
"""

import os
import re
import time
import traceback
import uuid

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.openedx_scale.oke.plugins.module_utils.k8s_fit import scheduling_template

try:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.client.rest import ApiException
    from urllib3.exceptions import HTTPError
    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None
except ImportError:
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = traceback.format_exc()

PROBE_LABEL = "openedx-scale/fit-check"
PROBE_DELETE_TIMEOUT = 60


def parse_reasons(message):
    """Per-node reasons of a FailedScheduling message: {"Insufficient cpu": 2, ...}."""
    if not message:
        return {}
    # "0/3 nodes are available: 1 <reason>, 2 <reason>. <what preemption/DRA tried>": the filter verdict is
    # the first sentence.
    m = re.search(r"nodes are available: (.*?)(?:\.\s|\.?$)", message, re.S)
    if not m:
        return {}
    body = m.group(1).strip()
    reasons = {}
    for part in re.split(r", (?=\d+ )", body):
        n = re.match(r"(\d+) (.+)", part.strip())
        if n:
            reasons[n.group(2).strip()] = reasons.get(n.group(2).strip(), 0) + int(n.group(1))
    return reasons


def verdict_of(pod):
    """(verdict, message) of a pod object (a dict as the API returns it)."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    if spec.get("nodeName"):
        return "scheduled", ""
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
            if cond.get("reason") == "Unschedulable":
                return "unschedulable", cond.get("message") or ""
            if cond.get("reason") == "SchedulingGated":
                return "gated", cond.get("message") or "scheduling gates: %s" % ", ".join(g.get("name", "") for g in spec.get("schedulingGates") or [])
    return "undecided", ""


def workload_of(pod):
    meta = pod.get("metadata") or {}
    probe = (meta.get("labels") or {}).get(PROBE_LABEL + "-workload")
    if probe:
        return probe
    for ref in meta.get("ownerReferences") or []:
        if ref.get("controller"):
            return "%s/%s" % (ref.get("kind"), ref.get("name"))
    return "Pod/%s" % meta.get("name")


def probe_pod(workload, index, run_id, image):
    """The pod the scheduler sees for one planned replica: the template's scheduling-relevant fields only."""
    template = scheduling_template(workload["template"])
    labels = template["metadata"]["labels"]
    labels[PROBE_LABEL] = run_id
    labels[PROBE_LABEL + "-workload"] = workload["name"]
    body = template["spec"]
    for key in ("containers", "initContainers"):
        for c in body.get(key) or []:
            c["image"] = image
    if not body.get("containers"):
        body["containers"] = [{"name": "probe", "image": image}]
    body.update(terminationGracePeriodSeconds=0, automountServiceAccountToken=False, restartPolicy="Never", enableServiceLinks=False)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "%s-fit-%d" % (workload["name"], index), "labels": labels},
        "spec": body,
    }


def summarize(entries, nodes):
    unfit = [e for e in entries if e["verdict"] != "scheduled"]
    lines = ["%d of %d pod(s) do not fit on the %d schedulable node(s) (the scheduler's verdict):" % (len(unfit), len(entries), nodes)]
    for e in unfit:
        lines.append("- %s/%s (%s): %s: %s" % (e["namespace"], e["name"], e["workload"], e["verdict"],
                                               e["message"] or "no decision within the timeout"))
    return "\n".join(lines)


class FitCheck(object):
    def __init__(self, module):
        self.module = module
        p = module.params
        cfg = k8s_client.Configuration()
        path = p["kubeconfig"] or os.environ.get("K8S_AUTH_KUBECONFIG") or os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or None
        k8s_config.load_kube_config(config_file=path, context=p["context"], client_configuration=cfg)
        self.api = k8s_client.ApiClient(configuration=cfg)
        self.core = k8s_client.CoreV1Api(self.api)

    def _pods(self, namespace=None, label_selector=None):
        kw = {"label_selector": label_selector} if label_selector else {}
        if namespace:
            resp = self.core.list_namespaced_pod(namespace, **kw)
        else:
            resp = self.core.list_pod_for_all_namespaces(**kw)
        return [self.api.sanitize_for_serialization(p) for p in resp.items]

    def schedulable_nodes(self):
        return sum(1 for n in self.core.list_node().items if not n.spec.unschedulable)

    def wait(self, fetch, keys, timeout):
        """Poll until every pod in `keys` is decided (or gone), return their verdicts."""
        deadline = time.monotonic() + timeout
        while True:
            pods = dict(((p["metadata"]["namespace"], p["metadata"]["name"]), p) for p in fetch())
            decided = {}
            for key in keys:
                pod = pods.get(key)
                if pod is not None:
                    decided[key] = (pod, *verdict_of(pod))
            if all(v[1] != "undecided" for v in decided.values()) or time.monotonic() >= deadline:
                break
            time.sleep(1)
        out = []
        for key in keys:
            if key not in decided:
                continue  # deleted meanwhile (a finished or replaced pod)
            pod, verdict, message = decided[key]
            out.append({
                "namespace": key[0], "name": key[1], "workload": workload_of(pod), "verdict": verdict,
                "node": (pod.get("spec") or {}).get("nodeName"), "message": message, "reasons": parse_reasons(message),
            })
        return out

    def live(self):
        p = self.module.params
        namespaces = p["namespaces"] or [None]

        def fetch():
            pods = []
            for ns in namespaces:
                pods.extend(self._pods(ns, p["label_selector"]))
            return pods

        keys = [(x["metadata"]["namespace"], x["metadata"]["name"]) for x in fetch()
                if (x.get("status") or {}).get("phase") == "Pending" and not (x.get("spec") or {}).get("nodeName")]
        return self.wait(fetch, keys, p["timeout"])

    def probe(self):
        p = self.module.params
        ns, run_id = p["probe_namespace"], uuid.uuid4().hex[:10]
        selector = "%s=%s" % (PROBE_LABEL, run_id)
        created = []
        try:
            for w in p["workloads"]:
                for i in range(1, w["replicas"] + 1):
                    body = probe_pod(w, i, run_id, p["probe_image"])
                    self.core.create_namespaced_pod(ns, body)
                    created.append((ns, body["metadata"]["name"]))
            return self.wait(lambda: self._pods(ns, selector), created, p["timeout"])
        finally:
            if created:
                self.core.delete_collection_namespaced_pod(ns, label_selector=selector, grace_period_seconds=0)
                # Gone before returning: a deploy right after the probe must not find its nodes still held.
                deadline = time.monotonic() + PROBE_DELETE_TIMEOUT
                while self._pods(ns, selector) and time.monotonic() < deadline:
                    time.sleep(0.5)


def input_problem(params):
    """The first problem of the workloads or the timeout, as the message to fail with; None when there is none."""
    for i, w in enumerate(params["workloads"] or []):
        if w["replicas"] < 1:
            return "workloads[%d] (%s): replicas must be at least 1, got %d" % (i, w["name"], w["replicas"])
        if not isinstance((w["template"] or {}).get("spec", {}), dict):
            return "workloads[%d] (%s): template.spec must be a pod spec mapping" % (i, w["name"])
    if params["timeout"] < 0:
        return "timeout must be >= 0 seconds, got %d" % params["timeout"]
    return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            kubeconfig=dict(type="path"),
            context=dict(type="str"),
            namespaces=dict(type="list", elements="str", default=[]),
            label_selector=dict(type="str"),
            workloads=dict(type="list", elements="dict", options=dict(
                name=dict(type="str", required=True),
                replicas=dict(type="int", default=1),
                template=dict(type="dict", required=True),
            )),
            probe_namespace=dict(type="str", default="default"),
            probe_image=dict(type="str"),
            timeout=dict(type="int", default=60),
            fail_on_unfit=dict(type="bool", default=True),
        ),
        required_by={"workloads": "probe_image"},
        supports_check_mode=True,
    )
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    p = module.params
    problem = input_problem(p)
    if problem:
        module.fail_json(msg=problem)

    result = dict(changed=False, probed=False, fits=None, pods=[], unfit=[], nodes=0)
    try:
        check = FitCheck(module)
        result["nodes"] = check.schedulable_nodes()
        if p["workloads"] and module.check_mode:
            result["msg"] = "check mode: the probe creates pods, skipped"
            module.exit_json(**result)
        if p["workloads"]:
            entries = check.probe()
            result["probed"] = True
        else:
            entries = check.live()
    except ApiException as exc:
        module.fail_json(msg="Kubernetes API error %s %s: %s" % (exc.status, exc.reason, (exc.body or "")[:500]), **result)
    except (HTTPError, OSError, k8s_config.ConfigException) as exc:
        module.fail_json(msg="cannot reach the cluster: %s" % exc, **result)

    result["pods"] = entries
    result["unfit"] = [e for e in entries if e["verdict"] != "scheduled"]
    result["fits"] = not result["unfit"]
    if result["unfit"]:
        result["msg"] = summarize(entries, result["nodes"])
        if p["fail_on_unfit"]:
            module.fail_json(**result)
    else:
        result["msg"] = "%d pod(s) fit on %d schedulable node(s)" % (len(entries), result["nodes"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
