"""No secret in a rendered ConfigMap or a literal env value (issue 30 item 5), judged on what Tutor really renders.

Every secret setting gets a canary (tests.helpers.secrets), Tutor renders with the role, and each ConfigMap's data
and each container's literal env values are searched for every canary and for key material Tutor generates itself
(the JWT signing key, PEM blocks). The canaries must be found in Secrets (the test would otherwise pass on a render
that lost them), and every Secret or ConfigMap a pod mounts or refers to exists with the keys it needs.
"""

from __future__ import annotations

import base64
import re

import pytest
import yaml

from tests.helpers.ansible import assert_ok
from tests.helpers.secrets import canaries

from .test_render import render

# Tutor-generated key material: a PEM block, a private JWK's private exponent / primes.
GENERATED = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----|\"(d|p|q|dp|dq|qi)\": \"[A-Za-z0-9_-]{20,}")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|_KEY$|TOKEN", re.IGNORECASE)
WORKLOADS = ("Deployment", "StatefulSet", "Job", "CronJob", "DaemonSet")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("render-secrets")
    secrets = canaries("Cm")
    run = render("sandbox", out, tutor_settings=secrets)
    assert_ok(run)
    objects = [o for name in ("openedx.yaml", "datastores.yaml") for o in yaml.safe_load_all((out / name).read_text()) if o]
    return secrets, objects


def pod_specs(objects):
    for o in objects:
        if o["kind"] in WORKLOADS:
            spec = o["spec"]["jobTemplate"]["spec"] if o["kind"] == "CronJob" else o["spec"]
            yield o, spec["template"]["spec"]


def secret_data(objects):
    out = {}
    for o in objects:
        if o["kind"] == "Secret":
            data = {k: base64.b64decode(v).decode() for k, v in (o.get("data") or {}).items()}
            data.update(o.get("stringData") or {})
            out[o["metadata"]["name"]] = data
    return out


def test_no_secret_in_any_configmap(rendered):
    secrets, objects = rendered
    found = []
    for o in objects:
        if o["kind"] != "ConfigMap":
            continue
        for key, text in (o.get("data") or {}).items():
            found += [f"ConfigMap {o['metadata']['name']}/{key}: {name}" for name, value in secrets.items() if value in text]
            found += [f"ConfigMap {o['metadata']['name']}/{key}: key material {m.group(0)[:12]}..." for m in GENERATED.finditer(text)]
    assert found == []
    # ...and the canaries did reach the manifests, in Secrets.
    in_secrets = "\n".join(v for data in secret_data(objects).values() for v in data.values())
    missing = [name for name, value in secrets.items() if value not in in_secrets and name != "SMTP_PASSWORD"]
    assert missing == [], f"canaries not rendered into any Secret: {missing}"
    assert GENERATED.search(in_secrets), "the JWT signing key should be in the settings Secret"


def test_no_secret_in_a_literal_env_value(rendered):
    secrets, objects = rendered
    found = []
    for o, spec in pod_specs(objects):
        for container in spec.get("containers", []) + spec.get("initContainers", []):
            for env in container.get("env", []):
                value = env.get("value")
                if value is None:
                    continue
                where = f"{o['kind']} {o['metadata']['name']}/{container['name']} env {env['name']}"
                if any(secret in value for secret in secrets.values()) or GENERATED.search(value):
                    found.append(where)
                elif SECRET_NAME.search(env["name"]) and value:
                    found.append(f"{where} (a literal value under a secret's name)")
    assert found == []


def test_every_mount_and_reference_resolves(rendered):
    """What the kubelet resolves: every Secret and ConfigMap a pod mounts or reads a key of is rendered, with that key."""
    objects = rendered[1]
    secrets = secret_data(objects)
    configmaps = {o["metadata"]["name"]: o.get("data") or {} for o in objects if o["kind"] == "ConfigMap"}
    problems, mounted = [], set()
    for o, spec in pod_specs(objects):
        name = f"{o['kind']} {o['metadata']['name']}"
        for volume in spec.get("volumes", []):
            if "secret" in volume:
                mounted.add(volume["secret"]["secretName"])
                if volume["secret"]["secretName"] not in secrets:
                    problems.append(f"{name}: volume {volume['name']} mounts missing Secret {volume['secret']['secretName']}")
            if "configMap" in volume and volume["configMap"]["name"] not in configmaps:
                problems.append(f"{name}: volume {volume['name']} mounts missing ConfigMap {volume['configMap']['name']}")
        for container in spec.get("containers", []) + spec.get("initContainers", []):
            for env in container.get("env", []):
                ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                if ref and ref["key"] not in secrets.get(ref["name"], {}):
                    problems.append(f"{name}: env {env['name']} refers to missing {ref['name']}/{ref['key']}")
    assert problems == []
    # Tutor's settings and config reach the Open edX pods as Secrets, every file that the ConfigMaps had.
    for prefix, files in (("openedx-settings-lms", {"production.py"}), ("openedx-config", {"lms.env.yml", "cms.env.yml"})):
        names = [m for m in mounted if m.startswith(prefix + "-")]
        assert len(names) == 1 and files <= set(secrets[names[0]]), (prefix, names)
