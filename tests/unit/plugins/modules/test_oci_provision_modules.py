"""Unit tests of the five provision modules: bad input fails before any API call (no client is even built),
check mode never calls a mutating operation, changed comes from the diff, the kubeconfig is written atomically 0600.

The modules against the OCI sandbox through Ansible are tested in tests/integration/provision/.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import sys
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs

import pytest
import yaml

REPO = Path(__file__).resolve().parents[4]
if str(REPO / "build" / "collections") not in sys.path:
    sys.path.insert(0, str(REPO / "build" / "collections"))

from ansible.module_utils.testing import patch_module_args  # noqa: E402
from ansible_collections.openedx_scale.oke.plugins.module_utils import oci_module  # noqa: E402
from ansible_collections.openedx_scale.oke.plugins.modules import (  # noqa: E402
    oci_capacity_report_info,
    oci_instance,
    oke_cluster,
    oke_kubeconfig,
    oke_node_pool,
)
from oci.core.models import Shape, ShapeMemoryOptions, ShapeOcpuOptions, Subnet  # noqa: E402

COMP = "ocid1.compartment.oc1..aaaaaaaaunittest"
CLUSTER = "ocid1.cluster.oc1.me-jeddah-1.aaaaaaaaunittest"
SUBNET = "ocid1.subnet.oc1.me-jeddah-1.aaaaaaaaunittest"
IMAGE = "ocid1.image.oc1.me-jeddah-1.aaaaaaaaunittest"
E4 = {"shape": "VM.Standard.E4.Flex", "ocpus": 2, "memory_in_gbs": 8}


class Exit(Exception):
    pass


class Fail(Exception):
    pass


def run(module, args, capsys, check=False):
    """Run a module's main(); returns (failed, result)."""
    if check:
        args = dict(args, _ansible_check_mode=True)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    out = json.loads(capsys.readouterr().out)
    return bool(out.get("failed")), out


class Recorder:
    """Fake SDK client: answers read calls from `answers`, records every call, refuses writes unless allowed."""

    def __init__(self, answers, writes=()):
        self.answers, self.writes, self.calls = answers, set(writes), []

    def __getattr__(self, name):
        def call(*args, **kwargs):
            self.calls.append(name)
            if name in self.answers:
                value = self.answers[name]
                return value(*args, **kwargs) if callable(value) else SimpleNamespace(data=value, headers={}, next_page=None)
            raise AssertionError(f"unexpected API call {name}")
        return call


def flex(name, ocpus=64, memory=1024):
    return Shape(shape=name, is_flexible=True, ocpu_options=ShapeOcpuOptions(min=1, max=ocpus),
                 memory_options=ShapeMemoryOptions(min_in_g_bs=1, max_in_g_bs=memory, min_per_ocpu_in_gbs=1, max_per_ocpu_in_gbs=64))


# What ListShapes answers in the unit tests (the SDK's own models).
SHAPES = [flex("VM.Standard.E4.Flex"), flex("VM.Standard.E5.Flex", 94, 1049), flex("VM.Standard.A1.Flex", 80, 512)]


class FakeClients:
    def __init__(self, ce=None, compute=None, identity=None):
        self.ce = ce or Recorder({})
        self.compute = compute or Recorder({})
        self.compute.answers.setdefault("list_shapes", SHAPES)
        self.identity = identity or Recorder({"list_availability_domains": [SimpleNamespace(name="hxIl:ME-JEDDAH-1-AD-1")]})
        # Room for every fleet: a /24 with nothing in use, no compute limit defined.
        self.network = Recorder({"get_subnet": Subnet(id=SUBNET, cidr_block="10.0.10.0/24"), "list_private_ips": []})
        self.limits = Recorder({"list_limit_definitions": []})
        self.tenancy = "ocid1.tenancy.oc1..aaaaaaaaunittest"


@pytest.fixture
def no_clients(monkeypatch):
    def refuse(params):
        raise AssertionError("a client was built although the input is invalid")
    monkeypatch.setattr(oci_module, "OciClients", refuse)


@pytest.fixture
def fake(monkeypatch):
    holder = {}
    monkeypatch.setattr(oci_module, "OciClients", lambda params: holder["clients"])
    return holder


BASE = {"deployment": "unit"}
POOL = dict(BASE, name="lms", role="lms", count=2, cluster_id=CLUSTER, compartment_id=COMP, subnet_id=SUBNET, image_id=IMAGE,
            kubernetes_version="v1.35.4", shape={"shape": "VM.Standard.E4.Flex", "ocpus": 30, "memory_in_gbs": 128})
VMS = dict(BASE, name="locust-worker", role="locust_worker", count=2, compartment_id=COMP, subnet_id=SUBNET, image_id=IMAGE, shape=E4)


@pytest.mark.parametrize(("module", "args", "field"), [
    (oke_node_pool, dict(POOL, cluster_id="ocid1.vcn.oc1..aaaaaaaawrong"), "cluster_id"),
    (oke_node_pool, dict(POOL, count=-1), "count"),
    (oke_node_pool, dict(POOL, fault_domains=[]), "fault_domains"),
    (oke_node_pool, dict(POOL, shape={"shape": "VM.Standard.E4.Flex", "ocpus": 0, "memory_in_gbs": 128}), "shape.ocpus"),
    (oke_node_pool, dict(POOL, alternative_shapes=[{"shape": "VM.Nope", "ocpus": 1, "memory_in_gbs": 8}]), "shape.alternative_shapes[0].shape"),
    (oke_node_pool, dict(POOL, kubernetes_version="1.35"), "kubernetes_version"),
    (oke_node_pool, dict(POOL, capacity_probe_rounds=-1), "capacity_probe_rounds"),
    (oke_node_pool, dict(POOL, boot_volume_size_in_gbs=49), "boot_volume_size_in_gbs"),
    (oke_node_pool, dict(POOL, node_stuck_timeout=30), "node_stuck_timeout"),
    (oci_instance, dict(VMS, boot_volume_size_in_gbs=40000), "boot_volume_size_in_gbs"),
    (oci_instance, dict(VMS, subnet_id="subnet-1"), "subnet_id"),
    (oci_instance, dict(VMS, shape={"shape": "VM.Standard.E4.Flex", "ocpus": 2, "memory_in_gbs": -8}), "shape.memory_in_gbs"),
    (oke_cluster, dict(BASE, name="c", compartment_id=COMP, vcn_id="ocid1.subnet.oc1..aaaaaaaawrong", endpoint_subnet_id=SUBNET,
                       kubernetes_version="v1.35.4"), "vcn_id"),
    (oke_kubeconfig, dict(BASE, cluster_id="nope", path="/tmp/x"), "cluster_id"),
    (oci_capacity_report_info, dict(BASE, shape={"shape": "VM.Standard.E4.Flex", "ocpus": 0, "memory_in_gbs": 8}), "shape.ocpus"),
    (oci_capacity_report_info, dict(BASE, deployment="Not Valid", shape=E4), "deployment"),
])
def test_bad_input_fails_before_any_api_call(module, args, field, capsys, no_clients):
    failed, out = run(module, args, capsys)
    assert failed and out["field"] == field and "Fix:" in out["msg"], out


A1_81 = {"field": "loadgen_vms_worker_shape", "shape": "VM.Standard.A1.Flex", "ocpus": 81, "memory_in_gbs": 128}


@pytest.mark.parametrize(("module", "args", "field", "text"), [
    (oke_node_pool, dict(POOL, shape={"shape": "VM.Standard.E4.Flex", "ocpus": 100, "memory_in_gbs": 128}), "shape.ocpus", "range 1-64"),
    (oke_node_pool, dict(POOL, alternative_shapes=[{"shape": "VM.Standard.E9.Flex", "ocpus": 30, "memory_in_gbs": 128}]),
     "alternative_shapes[0].shape", "not offered here"),
    (oci_instance, dict(VMS, shape={"shape": "VM.Standard.E4.Flex", "ocpus": 2, "memory_in_gbs": 512}), "shape.memory_in_gbs", "GB per OCPU"),
])
def test_shape_limits_from_list_shapes_fail_before_anything_else(module, args, field, text, capsys, fake):
    ce, compute = Recorder({}), Recorder({})
    fake["clients"] = FakeClients(ce=ce, compute=compute)
    failed, out = run(module, args, capsys)
    assert failed and out["field"] == field and text in out["msg"] and "Fix:" in out["msg"], out
    assert compute.calls == ["list_shapes"] and ce.calls == []


def test_missing_credentials_name_the_field_and_fix(capsys, tmp_path, monkeypatch):
    for var in ("OCI_USER_ID", "OCI_TENANCY", "OCI_USER_FINGERPRINT", "OCI_USER_KEY_FILE", "OCI_REGION"):
        monkeypatch.delenv(var, raising=False)
    failed, out = run(oke_cluster, dict(BASE, name="c", compartment_id=COMP, state="absent", config_file=str(tmp_path / "missing")), capsys)
    assert failed and out["field"] == "config_file" and "oci setup config" in out["msg"]


def test_unreadable_key_file_is_reported(capsys, tmp_path):
    cfg = tmp_path / "config"
    cfg.write_text("[DEFAULT]\nuser=ocid1.user.oc1..aaaaaaaaunit\ntenancy=ocid1.tenancy.oc1..aaaaaaaaunit\n"
                   "fingerprint=11:22:33:44:55:66:77:88:99:00:aa:bb:cc:dd:ee:ff\nregion=me-jeddah-1\nkey_file=%s\n" % (tmp_path / "nokey.pem"))
    failed, out = run(oke_cluster, dict(BASE, name="c", compartment_id=COMP, state="absent", config_file=str(cfg)), capsys)
    assert failed and out["field"] == "key_file" and "unreadable" in out["msg"]


CLUSTER_OPTIONS = SimpleNamespace(kubernetes_versions=["v1.34.2", "v1.35.4"])
NODE_POOL_OPTIONS = SimpleNamespace(kubernetes_versions=["v1.34.2", "v1.35.4"], sources=[
    SimpleNamespace(image_id=IMAGE, source_name="Oracle-Linux-8.10-2026.10.30-0-OKE-1.35.4-1000"),
    SimpleNamespace(image_id=IMAGE + "arm", source_name="Oracle-Linux-8.10-aarch64-2026.10.30-0-OKE-1.35.4-1000"),
    SimpleNamespace(image_id=IMAGE + "old", source_name="Oracle-Linux-8.10-2026.08.14-0-OKE-1.34.2-900"),
])
CLUSTER_ARGS = dict(BASE, name="c", compartment_id=COMP, vcn_id="ocid1.vcn.oc1..aaaaaaaaunit", endpoint_subnet_id=SUBNET, kubernetes_version="v1.35.4")


def test_cluster_check_mode_reports_create_without_calling_create(capsys, fake):
    ce = Recorder({"list_clusters": [], "get_cluster_options": CLUSTER_OPTIONS})
    fake["clients"] = FakeClients(ce=ce)
    failed, out = run(oke_cluster, CLUSTER_ARGS, capsys, check=True)
    assert not failed and out["changed"] and out["actions"] == [{"action": "create", "name": "c"}]
    assert ce.calls == ["list_clusters", "get_cluster_options"]


def test_cluster_kubernetes_version_the_region_does_not_offer_fails_before_create(capsys, fake):
    ce = Recorder({"list_clusters": [], "get_cluster_options": CLUSTER_OPTIONS})
    fake["clients"] = FakeClients(ce=ce)
    failed, out = run(oke_cluster, dict(CLUSTER_ARGS, kubernetes_version="v1.31.1"), capsys)
    assert failed and out["field"] == "kubernetes_version" and "offered: v1.34.2, v1.35.4" in out["msg"], out
    assert "create_cluster" not in ce.calls


def test_node_pool_check_mode_plans_without_mutating(capsys, fake):
    ce = Recorder({"list_node_pools": [], "get_node_pool_options": NODE_POOL_OPTIONS})
    fake["clients"] = FakeClients(ce=ce)
    failed, out = run(oke_node_pool, POOL, capsys, check=True)
    assert not failed and out["changed"] and out["actions"][0]["action"] == "plan" and out["ready_nodes"] == 0
    assert ce.calls == ["get_node_pool_options", "list_node_pools"]


@pytest.mark.parametrize(("args", "field", "text"), [
    ({"kubernetes_version": "v1.31.1"}, "kubernetes_version", "offered: v1.34.2, v1.35.4"),
    ({"image_id": IMAGE + "gone"}, "image_id", f"Oracle-Linux-8.10-2026.10.30-0-OKE-1.35.4-1000 ({IMAGE})"),
    ({"image_id": IMAGE + "old"}, "image_id", "not built for Kubernetes v1.35.4"),
    ({"alternative_shapes": [{"shape": "VM.Standard.A1.Flex", "ocpus": 30, "memory_in_gbs": 128}]}, "alternative_shapes[0]",
     "VM.Standard.A1.Flex is AARCH64 but image_id"),
    ({"image_id": IMAGE + "arm"}, "shape", "an image for X86_64: Oracle-Linux-8.10-2026.10.30-0-OKE-1.35.4-1000"),
])
def test_node_pool_version_image_and_architecture_checked_before_any_call_that_changes(capsys, fake, args, field, text):
    ce = Recorder({"list_node_pools": [], "get_node_pool_options": NODE_POOL_OPTIONS})
    fake["clients"] = FakeClients(ce=ce)
    failed, out = run(oke_node_pool, dict(POOL, **args), capsys)
    assert failed and out["field"] == field and text in out["msg"], out
    assert ce.calls == ["get_node_pool_options"]


def test_instance_check_mode_lists_launches(capsys, fake):
    compute = Recorder({"list_instances": []})
    fake["clients"] = FakeClients(compute=compute)
    failed, out = run(oci_instance, VMS, capsys, check=True)
    assert not failed and out["changed"]
    assert [a["name"] for a in out["actions"]] == ["locust-worker-01", "locust-worker-02"]
    assert compute.calls == ["list_shapes", "list_instances"]


def test_capacity_report_info_rows_and_candidates(capsys, fake):
    def report(details):
        rows = [SimpleNamespace(fault_domain=a.fault_domain, instance_shape=a.instance_shape, instance_shape_config=a.instance_shape_config,
                                availability_status="AVAILABLE" if a.fault_domain == "FAULT-DOMAIN-3" else "OUT_OF_HOST_CAPACITY",
                                available_count=4 if a.fault_domain == "FAULT-DOMAIN-3" else 0) for a in details.shape_availabilities]
        return SimpleNamespace(data=SimpleNamespace(shape_availabilities=rows), headers={}, next_page=None)
    fake["clients"] = FakeClients(compute=Recorder({"create_compute_capacity_report": report}))
    failed, out = run(oci_capacity_report_info, dict(BASE, shape=E4, count=3), capsys)
    assert not failed and not out["changed"]
    assert len(out["availability"]) == 3
    assert out["candidates"][0]["fault_domains"] == ["FAULT-DOMAIN-3"] and out["candidates"][0]["count"] == 3


def test_capacity_report_info_returns_refused_shapes_without_failing(capsys, fake):
    """An _info module only reads: a shape configuration OCI's limits refuse is a returned problem, not a failure; the
    capacity report of a placement that cannot be made is not asked for (no create_compute_capacity_report answer)."""
    ce, compute = Recorder({}), Recorder({})
    fake["clients"] = FakeClients(ce=ce, compute=compute)
    failed, out = run(oci_capacity_report_info, dict(BASE, shape=E4, named_shapes=[A1_81]), capsys)
    assert not failed and not out["changed"], out
    assert [p["field"] for p in out["problems"]] == ["loadgen_vms_worker_shape.ocpus"], out["problems"]
    assert "range 1-80" in out["problems"][0]["message"] and "Fix:" in out["problems"][0]["message"]
    assert compute.calls == ["list_shapes"] and ce.calls == [] and out["availability"] == [] and out["candidates"] == []


def test_kubeconfig_written_0600_atomically_and_changed_only_on_diff(capsys, fake, tmp_path):
    content = {"text": "apiVersion: v1\nkind: Config\n"}
    ce = Recorder({"create_kubeconfig": lambda *a, **k: SimpleNamespace(data=SimpleNamespace(text=content["text"]), headers={})})
    fake["clients"] = FakeClients(ce=ce)
    path = tmp_path / "kube" / "config"
    args = dict(BASE, cluster_id=CLUSTER, path=str(path))
    failed, out = run(oke_kubeconfig, args, capsys, check=True)
    assert out["changed"] and not path.exists()  # check mode writes nothing
    failed, out = run(oke_kubeconfig, args, capsys)
    assert not failed and out["changed"] and path.read_text() == content["text"]
    assert os.stat(path).st_mode & 0o777 == 0o600
    failed, out = run(oke_kubeconfig, args, capsys)
    assert not out["changed"]
    os.chmod(path, 0o644)
    failed, out = run(oke_kubeconfig, args, capsys)
    assert out["changed"] and os.stat(path).st_mode & 0o777 == 0o600
    content["text"] += "# rotated\n"
    failed, out = run(oke_kubeconfig, args, capsys)
    assert out["changed"] and path.read_text().endswith("# rotated\n")
    assert [p.name for p in path.parent.iterdir()] == ["config"]  # no temporary file left behind


OCI_KUBECONFIG = f"""apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "https://10.0.0.1:6443"}}}}]
users:
- name: u
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: oci
      args: [ce, cluster, generate-token, --cluster-id, {CLUSTER}, --region, me-jeddah-1]
      env: []
"""


def test_kubeconfig_token_helper_replaces_the_oci_cli(capsys, fake, tmp_path):
    helper = tmp_path / "oke_token.py"
    helper.write_text("")
    ce = Recorder({"create_kubeconfig": lambda *a, **k: SimpleNamespace(data=SimpleNamespace(text=OCI_KUBECONFIG), headers={})})
    fake["clients"] = FakeClients(ce=ce)
    cfg = tmp_path / "oci-config"
    cfg.write_text("[P]\n")
    fake["clients"].region, fake["clients"].config_file, fake["clients"].profile = "me-jeddah-1", str(cfg), "P"
    fake["clients"].config = {"tenancy": "ocid1.tenancy.oc1..t", "user": "ocid1.user.oc1..u", "fingerprint": "aa:bb", "key_file": "~/k.pem"}
    fake["clients"].service_endpoint = None
    path = tmp_path / "config"
    failed, out = run(oke_kubeconfig, dict(BASE, cluster_id=CLUSTER, path=str(path), token_helper=str(helper)), capsys)
    assert not failed, out
    spec = yaml.safe_load(path.read_text())["users"][0]["user"]["exec"]
    assert spec["command"] == sys.executable
    identity = ["--tenancy", "ocid1.tenancy.oc1..t", "--user", "ocid1.user.oc1..u", "--fingerprint", "aa:bb", "--key-file", "~/k.pem"]
    assert spec["args"] == [str(helper), "--cluster-id", CLUSTER, "--region", "me-jeddah-1", *identity, "--config-file", str(cfg), "--profile", "P"]
    failed, out = run(oke_kubeconfig, dict(BASE, cluster_id=CLUSTER, path=str(path), token_helper=str(helper)), capsys)
    assert not out["changed"]  # the same helper, interpreter and credentials: the same file
    failed, out = run(oke_kubeconfig, dict(BASE, cluster_id=CLUSTER, path=str(path), token_helper=str(tmp_path / "missing.py")), capsys)
    assert failed and out["field"] == "token_helper"

    # Credentials from OCI_* variables only: kubectl gets the same identity, and no config file that is not there.
    fake["clients"].config_file = str(tmp_path / "absent")
    failed, out = run(oke_kubeconfig, dict(BASE, cluster_id=CLUSTER, path=str(path), token_helper=str(helper)), capsys)
    assert not failed and out["changed"], out
    assert yaml.safe_load(path.read_text())["users"][0]["user"]["exec"]["args"][5:] == identity

    # A key given inline cannot be handed to kubectl: say so, write nothing.
    fake["clients"].config = dict(fake["clients"].config, key_file=None, key_content="-----BEGIN")
    before = path.read_text()
    failed, out = run(oke_kubeconfig, dict(BASE, cluster_id=CLUSTER, path=str(path), token_helper=str(helper)), capsys)
    assert failed and out["field"] == "token_helper" and "key_content" in out["msg"]
    assert path.read_text() == before


def _oke_token():
    sys.path.insert(0, str(REPO / "roles" / "oke_cluster" / "files"))
    try:
        import oke_token
    finally:
        sys.path.pop(0)
    return oke_token


def test_oke_token_signs_with_the_identity_the_kubeconfig_names(tmp_path, monkeypatch, capsys):
    """oke_kubeconfig writes the identity explicitly (it may have come from OCI_* variables kubectl does not see)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    oke_token = _oke_token()
    key = tmp_path / "key.pem"
    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"from-file"))
    key.write_bytes(pem)
    cfg = tmp_path / "config"
    cfg.write_text("[P]\npass_phrase = from-file\n")  # only the pass phrase is read from the file
    identity = ["--tenancy", "ocid1.tenancy.oc1..t", "--user", "ocid1.user.oc1..u", "--fingerprint", "aa:bb", "--key-file", str(key)]
    monkeypatch.delenv("OCI_USER_KEY_PASS_PHRASE", raising=False)
    args = ["--cluster-id", CLUSTER, "--endpoint", "http://127.0.0.1:9", *identity, "--config-file", str(cfg), "--profile", "P"]
    assert oke_token.main(args) == 0
    token = json.loads(capsys.readouterr().out)["status"]["token"]
    authorization = parse_qs(base64.urlsafe_b64decode(token).decode().split("?")[1])["authorization"][0]
    assert 'keyId="ocid1.tenancy.oc1..t/ocid1.user.oc1..u/aa:bb"' in authorization
    # No config file at all: the pass phrase from the environment, as the module's OCI_* variables had it.
    monkeypatch.setenv("OCI_USER_KEY_PASS_PHRASE", "from-file")
    assert oke_token.main(args[:-4]) == 0
    capsys.readouterr()
    assert oke_token.main(args[:-6]) == 1  # --key-file missing: the four go together
    assert "--key-file" in capsys.readouterr().err


def test_oke_token_signs_the_cluster_request_like_the_oci_cli():
    oke_token = _oke_token()
    seen = {}

    class Signer:
        def do_request_sign(self, request):
            seen["url"] = request.url
            request.headers["authorization"] = 'Signature version="1",headers="date (request-target) host",signature="c2ln"'
            request.headers["date"] = "Thu, 26 Nov 2026 13:00:00 GMT"
            return request

    token = oke_token.cluster_token(Signer(), "ocid1.cluster.oc1.me-jeddah-1.aaaaaaaaunit", region="me-jeddah-1")
    url = base64.urlsafe_b64decode(token).decode()
    assert seen["url"] == "https://containerengine.me-jeddah-1.oraclecloud.com/cluster_request/ocid1.cluster.oc1.me-jeddah-1.aaaaaaaaunit"
    base, query = url.split("?")
    assert base == seen["url"]
    assert parse_qs(query) == {"authorization": ['Signature version="1",headers="date (request-target) host",signature="c2ln"'],
                               "date": ["Thu, 26 Nov 2026 13:00:00 GMT"]}
    cred = oke_token.exec_credential(token, now=datetime.datetime(2026, 11, 26, 13, 0, tzinfo=datetime.UTC))
    assert cred["status"] == {"token": token, "expirationTimestamp": "2026-11-26T13:04:00Z"}
