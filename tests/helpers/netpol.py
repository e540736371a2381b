"""NetworkPolicies checked object by object on a real API server: which pods and namespaces each selector selects
is asked of the API server itself (label selectors in list calls), not worked out by this test."""

from __future__ import annotations

NAME = "app.kubernetes.io/name"
DJANGO = {"lms", "cms", "lms-worker", "cms-worker"}
# policy -> (the pods it guards, the pods allowed in besides the Django ones; None: only from the edge namespace)
EXPECTED = {
    "openedx-scale-mysql": ({"mysql"}, set()),
    "openedx-scale-mongodb": ({"mongodb"}, {"mongodb", "mongodb-init"}),
    "openedx-scale-redis": ({"redis"}, set()),
    "openedx-scale-smtp": ({"smtp"}, set()),
    "openedx-scale-meilisearch": ({"meilisearch"}, set()),
    "openedx-scale-web": ({"lms", "cms", "mfe"}, {"caddy", "mfe"}),
    "openedx-scale-caddy": ({"caddy"}, None),
}


def selector(sel) -> str:
    """A LabelSelector (client object) as the label selector string of a list call."""
    parts = [f"{k}={v}" for k, v in sorted((sel.match_labels or {}).items())]
    for expr in sel.match_expressions or []:
        op = expr.operator
        if op in ("In", "NotIn"):
            parts.append(f"{expr.key} {op.lower()} ({','.join(expr.values)})")
        elif op == "Exists":
            parts.append(expr.key)
        elif op == "DoesNotExist":
            parts.append(f"!{expr.key}")
        else:
            raise AssertionError(f"unknown selector operator {op}")
    return ",".join(parts)


def _names(pods) -> set[str]:
    return {p.metadata.labels.get(NAME, "<tutor job>") for p in pods}


def check_network_policies(core, net, ns: str, edge_ns: str) -> list[str]:
    """Problems with the namespace's NetworkPolicies (empty: as intended): each guards exactly its pods, and lets in
    exactly the pods meant (the Django workloads and Tutor's job pods, plus its extras) or only the edge's namespace.
    The namespace must hold a pod named `intruder` (app.kubernetes.io/name), which no peer may select."""
    problems = []
    policies = {p.metadata.name: p for p in net.list_namespaced_network_policy(ns).items}
    if set(policies) != set(EXPECTED):
        problems.append(f"policies {sorted(policies)}, expected {sorted(EXPECTED)}")
    present = _names(core.list_namespaced_pod(ns).items)
    if not DJANGO | {"<tutor job>", "intruder"} <= present:
        problems.append(f"pods {sorted(present)}: the Django workloads, a Tutor job's pod and the intruder must be there to check")
    for name, (guarded, extra) in EXPECTED.items():
        policy = policies.get(name)
        if policy is None:
            continue
        spec = policy.spec
        if spec.policy_types != ["Ingress"] or len(spec.ingress or []) != 1:
            problems.append(f"{name}: policyTypes {spec.policy_types}, {len(spec.ingress or [])} ingress rules")
            continue
        selected = _names(core.list_namespaced_pod(ns, label_selector=selector(spec.pod_selector)).items)
        if selected != guarded:
            problems.append(f"{name}: guards pods {sorted(selected)}, expected {sorted(guarded)}")
        peers = spec.ingress[0]._from or []
        allowed, namespaces = set(), set()
        for peer in peers:
            if peer.namespace_selector is not None:
                namespaces |= {n.metadata.name for n in core.list_namespace(label_selector=selector(peer.namespace_selector)).items}
            if peer.pod_selector is not None and peer.namespace_selector is None:
                allowed |= _names(core.list_namespaced_pod(ns, label_selector=selector(peer.pod_selector)).items)
        if extra is None:
            if namespaces != {edge_ns} or allowed:
                problems.append(f"{name}: from namespaces {sorted(namespaces)} and pods {sorted(allowed)}, expected only namespace {edge_ns}")
        else:
            want = (DJANGO | {"<tutor job>"} | extra) & present
            if namespaces or allowed != want:
                problems.append(f"{name}: from pods {sorted(allowed)} / namespaces {sorted(namespaces)}, expected pods {sorted(want)}")
    return problems
