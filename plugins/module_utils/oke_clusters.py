# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ensure an OKE cluster (in an existing VCN and subnets) exists or is gone; kubeconfig content."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

try:
    from oci.container_engine.models import (
        ClusterCreateOptions,
        CreateClusterDetails,
        CreateClusterEndpointConfigDetails,
        CreateClusterKubeconfigContentDetails,
        KubernetesNetworkConfig,
    )
except ImportError:  # require_oci() reports it
    pass

from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_client import list_all
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_errors import InputError
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_ownership import TAG_DEPLOYMENT, is_owned, retry_token, token_epoch
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_reconciler import Reconciler
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_waiters import call_when_idle, wait_ce_work_request, wait_until, work_request_resource
from ansible_collections.openedx_scale.oke.plugins.module_utils.oke_options import check_cluster_options

COMPONENT = "cluster"
DEAD = ("DELETING", "DELETED")


def cluster_summary(cluster):
    endpoints = cluster.endpoints
    return {"id": cluster.id, "name": cluster.name, "lifecycle_state": cluster.lifecycle_state,
            "kubernetes_version": cluster.kubernetes_version, "vcn_id": cluster.vcn_id, "type": getattr(cluster, "type", None),
            "endpoints": {"kubernetes": getattr(endpoints, "kubernetes", None), "public_endpoint": getattr(endpoints, "public_endpoint", None),
                          "private_endpoint": getattr(endpoints, "private_endpoint", None)} if endpoints else {},
            "freeform_tags": dict(cluster.freeform_tags or {})}


class ClusterReconciler(Reconciler):

    COMPONENT = COMPONENT

    def find(self):
        """(live owned cluster or None, ids of dead same-named clusters). A same-named foreign cluster is an error."""
        items = list_all(self.policy, "ListClusters", self.clients.ce.list_clusters, compartment_id=self.p["compartment_id"], name=self.p["name"])
        dead = sorted(c.id for c in items if c.lifecycle_state in DEAD)
        live = [c for c in items if c.lifecycle_state not in DEAD and c.name == self.p["name"]]
        foreign = [c for c in live if not is_owned(c, self.p["deployment"], COMPONENT)]
        if foreign:
            raise InputError("cluster %r (%s) exists but does not carry %s=%s." % (self.p["name"], foreign[0].id, TAG_DEPLOYMENT, self.p["deployment"]),
                             field="name", fix="choose another cluster name; this collection never adopts resources it did not create.")
        return (live[0] if live else None), dead

    def _get(self, cluster_id):
        return self.policy.call("GetCluster", self.clients.ce.get_cluster, cluster_id).data

    def ensure_present(self):
        existing, dead = self.find()
        if existing is not None:
            if existing.lifecycle_state == "CREATING" and not self.check_mode:
                existing = wait_until(self.policy, "cluster %s" % existing.id, lambda: self._get(existing.id), lambda c: c.lifecycle_state != "CREATING")
            else:
                existing = self._get(existing.id)
            return self._result(existing)
        check_cluster_options(self.clients, self.policy, self.p["kubernetes_version"])  # before any create, check mode too
        self._act("create", name=self.p["name"])
        if self.check_mode:
            return self._result(None)
        options = ClusterCreateOptions(
            service_lb_subnet_ids=self.p.get("service_lb_subnet_ids") or None,
            kubernetes_network_config=KubernetesNetworkConfig(pods_cidr=self.p["pods_cidr"], services_cidr=self.p["services_cidr"]))
        details = CreateClusterDetails(
            name=self.p["name"], compartment_id=self.p["compartment_id"], vcn_id=self.p["vcn_id"],
            kubernetes_version=self.p["kubernetes_version"], type=self.p["cluster_type"],
            endpoint_config=CreateClusterEndpointConfigDetails(subnet_id=self.p["endpoint_subnet_id"], is_public_ip_enabled=self.p["public_endpoint"]),
            options=options, freeform_tags=self.owned_tags())
        token = retry_token(COMPONENT, self.p["deployment"], self.p["compartment_id"], self.p["name"], token_epoch(self.policy.wall()), *dead)
        response = self.policy.call_create("CreateCluster", self.clients.ce.create_cluster, details, token)
        wr = wait_ce_work_request(self.clients, self.policy, self.p["compartment_id"], response.headers.get("opc-work-request-id"))
        cluster_id = work_request_resource(wr, "cluster")
        if not cluster_id:
            cluster_id = self.find()[0].id
        cluster = wait_until(self.policy, "cluster %s" % cluster_id, lambda: self._get(cluster_id), lambda c: c.lifecycle_state != "CREATING")
        return self._result(cluster)

    def ensure_absent(self):
        existing, _dead = self.find()
        if existing is None:
            return self._result(None)
        self._act("delete", name=existing.name, id=existing.id)
        if not self.check_mode:
            response = call_when_idle(self.clients, self.policy, self.p["compartment_id"], existing.id, "DeleteCluster",
                                      self.clients.ce.delete_cluster, existing.id)
            wait_ce_work_request(self.clients, self.policy, self.p["compartment_id"], response.headers.get("opc-work-request-id"))
        return self._result(None)

    def _result(self, cluster):
        return {"changed": self.changed, "cluster": cluster_summary(cluster) if cluster is not None else {}, "actions": self.actions,
                "progress": self.progress.lines}


def kubeconfig_content(clients, policy, cluster_id, endpoint, token_version):
    details = CreateClusterKubeconfigContentDetails(token_version=token_version, endpoint=endpoint)
    response = policy.call("CreateKubeconfig", clients.ce.create_kubeconfig, cluster_id, create_cluster_kubeconfig_content_details=details)
    data = response.data
    content = getattr(data, "content", None)
    if content is None and hasattr(data, "text"):
        content = data.text
    if content is None and hasattr(data, "read"):
        content = data.read()
    if isinstance(content, bytes):
        content = content.decode("utf-8")
    return content or ""
