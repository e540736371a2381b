"""Render-mode variants; BAD_INPUT: the play stops with a clear message before anything is written (run by the bad-input table)."""

from __future__ import annotations

import os
import shutil

import yaml

from tests.helpers.ansible import VENV_BIN, assert_ok, run_playbook
from tests.rehearsal import inventory_path

from .test_render import PLAYBOOK, render, secret_files


def load(out):
    return [d for f in ("openedx.yaml", "datastores.yaml") for d in yaml.safe_load_all((out / f).read_text()) if d]


# Run as rows of the bad-input table (tests/integration/operate/test_bad_input_table.py), with the other stages;
# the first variable of a row is the field its message must name.
BAD_INPUT = [
    # Issue 30: accepted silently, or replaced by the sizing, before the spec check (roles/tutor/meta/constraints.yml).
    ({"tutor_settings": {"RUN_MONGODB": True}}, "tutor_settings: sets RUN_MONGODB"),
    ({"tutor_cms_host": "lms.sandbox.test", "openedx_scale_lms_host": "lms.sandbox.test"}, "is also tutor_lms_host's value"),
    ({"tutor_lms_uwsgi_workers": -2}, "tutor_lms_uwsgi_workers: -2 is out of range"),
    ({"openedx_scale_mysql_admin_password": "Weak$pass1", "openedx_scale_mysql": "heatwave", "openedx_scale_mysql_host": "10.0.10.3"},
     "(openedx_scale_mysql_admin_password) holds one of"),
    ({"openedx_scale_mysql_admin_password": "alllowercase1!", "openedx_scale_mysql": "heatwave", "openedx_scale_mysql_host": "10.0.10.3"},
     "OCI requires at least one upper-case letter"),
    ({"tutor_version": "21.0.8"}, "this role supports Tutor 22.x"),
    ({"tutor_version": "latest"}, "tutor_version=latest"),
    ({"openedx_scale_lms_host": "https://lms.example.org"}, "Not DNS names: https://lms.example.org"),
    ({"tutor_extra_hosts": ["Preview_Host.example.org"]}, "Not DNS names: Preview_Host.example.org"),
    ({"tutor_lms_replicas": 3}, "3 pod(s) one-per-node on 2 LMS node(s)"),
    ({"tutor_lms_memory_request_gib": 200}, "requests 54 CPU / 200 GiB"),
    ({"tutor_uwsgi_post_buffering": True}, "`true` turns post-buffering off"),
    ({"tutor_autoscaling": {"lms": {"min": 1, "max": 3, "cpu_utilization": 80, "cpu_request": "1", "memory_request": "1Gi"}}},
     "the LMS scales by node"),
    ({"tutor_redis_cache_maxmemory_policy": "noeviction"}, "value of tutor_redis_cache_maxmemory_policy must be one of"),
    ({"tutor_lms_pool_taint": "openedx-scale/pool=lms"}, "tutor_lms_pool_taint must be empty (off) or key=value:Effect"),
    ({"tutor_autoscaling": {"caddy": {"min": 1, "max": 3, "cpu_utilization": 80, "cpu_request": "1", "memory_request": "1Gi"}}},
     "'caddy' (every request passes through it) needs min >= 2"),
    # 200 x 1Gi of Caddy at max plus the datastores (49 GiB) on one 128 GiB services node.
    ({"tutor_autoscaling": {"caddy": {"min": 2, "max": 200, "cpu_utilization": 80, "cpu_request": "1", "memory_request": "1Gi"}}},
     "With every HPA of tutor_autoscaling at its max, the services pool needs 249.1 GiB of memory requests"),
    # 4 CMS uWSGI workers and their master at 0.75 GiB each in 2 Gi.
    ({"tutor_autoscaling": {"cms": {"min": 1, "max": 2, "cpu_utilization": 75, "cpu_request": "1", "memory_request": "2Gi"},
                            "caddy": {"min": 2, "max": 4, "cpu_utilization": 75, "cpu_request": "500m", "memory_request": "256Mi"}}},
     "cms has 2Gi for 4 + 1 processes (3.75 GiB)"),
    # 5,000 users on the sandbox's 2 LMS nodes: refused with the table unless the inventory accepts it.
    ({"tutor_sizing_accept_shortfall": False, "openedx_scale_target_users": 5000},
     "accept the shortfall explicitly: tutor_sizing_accept_shortfall: true"),
    ({"openedx_scale_edge_tuning": {"keepalive_requets": 10}}, "unknown edge tuning keys ['keepalive_requets']"),
    ({"openedx_scale_edge": "traefik"}, "openedx_scale_edge=traefik: use envoy-gateway"),
    ({"envoy_gateway_chart_digest": "sha256:abc", "openedx_scale_edge": "envoy-gateway"},
     "envoy_gateway_chart_digest be empty or sha256:<64 hex> of an oci:// chart"),
    ({"ingress_nginx_chart_version": "latest"}, "ingress_nginx_chart_version a pinned version"),
    ({"envoy_gateway_proxy_replicas": 0, "openedx_scale_edge": "envoy-gateway"}, "envoy_gateway_proxy_replicas >= 1"),
    # Credential policy: empty, short, one repeated character, characters that break a Redis URL, a bad keyfile.
    ({"tutor_settings": {"REDIS_PASSWORD": ""}}, "tutor_settings.REDIS_PASSWORD (0 characters) must have 16-1024 characters"),
    ({"tutor_settings": {"MONGODB_PASSWORD": "x"}}, "tutor_settings.MONGODB_PASSWORD (1 characters) must have 16-1024"),
    ({"tutor_settings": {"OPENEDX_SCALE_OKE_MONGODB_ROOT_PASSWORD": "p@ss/word:0123456789"}},
     "tutor_settings.OPENEDX_SCALE_OKE_MONGODB_ROOT_PASSWORD (20 characters) must have"),
    ({"tutor_settings": {"MYSQL_ROOT_PASSWORD": "a" * 20}},
     "tutor_settings.MYSQL_ROOT_PASSWORD (20 characters) must have 16-1024 characters (at least 8 different"),
    ({"tutor_settings": {"OPENEDX_MYSQL_PASSWORD": "Abcdefgh123"}, "tutor_credential_min_length": 12},
     "tutor_settings.OPENEDX_MYSQL_PASSWORD (11 characters) must have 12-1024"),
    ({"tutor_settings": {"OPENEDX_SCALE_OKE_MONGODB_KEYFILE": "k"}},
     "tutor_settings.OPENEDX_SCALE_OKE_MONGODB_KEYFILE (1 characters) must have 6-1024 base64 characters"),
    ({"tutor_settings": {"OPENEDX_SCALE_OKE_MONGODB_KEYFILE": "key file with spaces"}},
     "tutor_settings.OPENEDX_SCALE_OKE_MONGODB_KEYFILE (20 characters) must have 6-1024 base64"),
    ({"tutor_settings": {"OPENEDX_SCALE_OKE_MONGODB_KEYFILE": "A" * 1025}}, "KEYFILE (1025 characters) must have 6-1024"),
]


def test_edge_without_a_helm_client_stops_in_preflight(tmp_path):
    # A PATH without helm (the system's own directories, the venv's tutor and kubectl).
    path = os.pathsep.join([str(VENV_BIN), "/usr/bin", "/bin"])
    assert shutil.which("helm", path=path) is None
    variables = {"openedx_scale_render_dir": str(tmp_path / "render"), "tutor_executable": str(VENV_BIN / "tutor"), "tutor_kubectl": str(VENV_BIN / "kubectl")}
    run = run_playbook(PLAYBOOK, inventory_path("sandbox"), extravars=variables, envvars={"PATH": path})
    assert run.rc != 0
    assert "The ingress-nginx chart is installed with helm, which is not on this controller's PATH" in " ".join(run.stdout.split())
    assert not (tmp_path / "render").exists()


def test_chart_digest_needs_a_helm_that_checks_it(tmp_path):
    """The default pins gateway-helm by digest; a helm older than 3.18 cannot resolve <chart>@<digest> with --version."""
    old_helm = tmp_path / "bin" / "helm"
    old_helm.parent.mkdir()
    old_helm.write_text("#!/bin/sh\necho v3.17.3+ge4da497\n")
    old_helm.chmod(0o755)
    path = os.pathsep.join([str(old_helm.parent), str(VENV_BIN), "/usr/bin", "/bin"])
    variables = {"openedx_scale_render_dir": str(tmp_path / "render"), "openedx_scale_edge": "envoy-gateway",
                 "envoy_gateway_chart_ref": "oci://docker.io/envoyproxy/gateway-helm", "envoy_gateway_chart_version": "v1.9.1",
                 "envoy_gateway_chart_digest": "sha256:" + "0" * 64}
    run = run_playbook(PLAYBOOK, inventory_path("sandbox"), extravars=variables, envvars={"PATH": path})
    assert run.rc != 0
    message = "envoy_gateway_chart_digest pins the chart by digest, which helm checks from 3.18 on; this controller has helm 3.17.3"
    assert message in " ".join(run.stdout.split())
    assert not (tmp_path / "render").exists()


def test_every_weak_credential_is_named_in_one_message(tmp_path):
    weak = {"REDIS_PASSWORD": "tooShort7", "MONGODB_PASSWORD": "", "OPENEDX_SCALE_OKE_MONGODB_KEYFILE": "no spaces!"}
    run = render("sandbox", tmp_path / "render", verbosity=3, tutor_settings=weak)
    assert run.rc != 0
    out = " ".join(run.stdout.split())
    assert all(f"tutor_settings.{key} (" in out for key in weak), run.stdout[-5000:]
    assert "tooShort7" not in run.stdout and "no spaces!" not in run.stdout
    assert not (tmp_path / "render").exists()


def test_elasticsearch_search_backend(tmp_path):
    run = render("sandbox", tmp_path, tutor_search_backend="elasticsearch")
    assert_ok(run)
    objects = load(tmp_path)
    names = {(o["kind"], o["metadata"]["name"]) for o in objects}
    assert ("StatefulSet", "elasticsearch") in names and ("Service", "elasticsearch") in names
    assert ("Deployment", "meilisearch") not in names
    sts = next(o for o in objects if o["kind"] == "StatefulSet" and o["metadata"]["name"] == "elasticsearch")
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"] == "oci-bv"
    text = "\n".join(secret_files(objects, "openedx-settings-lms").values())
    assert 'SEARCH_ENGINE = "search.elastic.ElasticSearchEngine"' in text
    assert '"host": "elasticsearch", "port": 9200' in text
    hosts = {r["host"] for o in objects if o["kind"] == "Ingress" for r in o["spec"]["rules"]}
    assert "meilisearch.lms.sandbox.test" not in hosts


def test_render_from_cluster_needs_a_kubeconfig(tmp_path):
    run = render("sandbox", tmp_path / "render", tutor_render_from_cluster=True, openedx_scale_kubeconfig=str(tmp_path / "none"))
    assert run.rc != 0
    assert f"tutor_kubeconfig={tmp_path / 'none'} does not exist" in " ".join(run.stdout.split())


def test_lms_pool_taint_gives_the_lms_its_toleration(tmp_path):
    run = render("sandbox", tmp_path, tutor_lms_pool_taint="openedx-scale/pool=lms:NoSchedule",
                 tutor_lms_tolerations=[{"key": "example", "operator": "Exists", "effect": "NoExecute"}])
    assert_ok(run)
    objects = load(tmp_path)
    lms = next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "lms")
    assert lms["spec"]["template"]["spec"]["tolerations"] == [
        {"key": "example", "operator": "Exists", "effect": "NoExecute"},
        {"key": "openedx-scale/pool", "operator": "Equal", "value": "lms", "effect": "NoSchedule"},
    ]
    # Nothing else tolerates it: the taint keeps every other pod off the LMS pool.
    others = [o for o in objects if o["kind"] in ("Deployment", "StatefulSet", "Job") and o["metadata"]["name"] != "lms"]
    assert others and not [o["metadata"]["name"] for o in others if o["spec"]["template"]["spec"].get("tolerations")]
