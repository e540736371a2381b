"""Render-mode variants and bad input: the play stops with a clear message before anything is written."""

from __future__ import annotations

import pytest
import yaml

from tests.helpers.ansible import assert_ok

from .test_render import render

BAD_INPUT = [
    ({"tutor_version": "21.0.8"}, "this role supports Tutor 22.x"),
    ({"tutor_version": "latest"}, "tutor_version=latest"),
    ({"openedx_scale_lms_host": "https://lms.example.org"}, "Not DNS names: https://lms.example.org"),
    ({"tutor_extra_hosts": ["Preview_Host.example.org"]}, "Not DNS names: Preview_Host.example.org"),
    ({"tutor_lms_replicas": 3}, "3 pod(s) one-per-node on 2 LMS node(s)"),
    ({"tutor_lms_memory_request_gib": 200}, "requests 54 CPU / 200 GiB"),
    ({"tutor_uwsgi_post_buffering": True}, "`true` turns post-buffering off"),
    ({"tutor_autoscaling": {"lms": {"min": 1, "max": 3, "cpu_utilization": 80, "cpu_request": "1", "memory_request": "1Gi"}}},
     "the LMS scales by node"),
    ({"tutor_redis_maxmemory_policy": "allkeys-lru"}, "value of tutor_redis_maxmemory_policy must be one of"),
    ({"openedx_scale_edge_tuning": {"keepalive_requets": 10}}, "unknown edge tuning keys ['keepalive_requets']"),
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


def case_id(extravars):
    key = next(iter(extravars))
    return next(iter(extravars[key])) if key == "tutor_settings" else key


@pytest.mark.parametrize(("extravars", "message"), BAD_INPUT, ids=[case_id(case[0]) for case in BAD_INPUT])
def test_bad_input_fails_before_anything_is_written(tmp_path, extravars, message):
    out = tmp_path / "render"
    run = render("sandbox", out, **extravars)
    assert run.rc != 0, run.stdout[-3000:]
    assert message in " ".join(run.stdout.split()), run.stdout[-5000:]
    assert not out.exists(), "nothing may be written after bad input"
    # A refused credential is named, never printed.
    for value in extravars.get("tutor_settings", {}).values():
        assert len(value) < 3 or value not in run.stdout


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
    objects = [d for f in ("openedx.yaml", "datastores.yaml") for d in yaml.safe_load_all((tmp_path / f).read_text()) if d]
    names = {(o["kind"], o["metadata"]["name"]) for o in objects}
    assert ("StatefulSet", "elasticsearch") in names and ("Service", "elasticsearch") in names
    assert ("Deployment", "meilisearch") not in names
    sts = next(o for o in objects if o["kind"] == "StatefulSet" and o["metadata"]["name"] == "elasticsearch")
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"] == "oci-bv"
    settings = next(o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("openedx-settings-lms"))
    text = "\n".join(settings["data"].values())
    assert 'SEARCH_ENGINE = "search.elastic.ElasticSearchEngine"' in text
    assert '"host": "elasticsearch", "port": 9200' in text
    hosts = {r["host"] for o in objects if o["kind"] == "Ingress" for r in o["spec"]["rules"]}
    assert "meilisearch.lms.sandbox.test" not in hosts


def test_render_from_cluster_needs_a_kubeconfig(tmp_path):
    run = render("sandbox", tmp_path / "render", tutor_render_from_cluster=True, openedx_scale_kubeconfig=str(tmp_path / "none"))
    assert run.rc != 0
    assert f"tutor_kubeconfig={tmp_path / 'none'} does not exist" in " ".join(run.stdout.split())
