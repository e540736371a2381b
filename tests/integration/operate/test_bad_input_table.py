"""Bad-input table: every inventory mistake of every stage is refused before the first API call, naming the field.

Stages: provision_cluster and provision_loadgen against one OCI sandbox (nothing may be live afterwards, and the only
calls it may have seen are the reads of READS: a shape's existence and limits, a subnet's free addresses and the
tenancy's compute limits are OCI's to say, so the "limits" rows are refused by the role's first OCI task from
ListShapes and the "room" rows from the subnet and the Limits API, before anything is created), deploy_openedx in render
mode (nothing written) and loadtest (nothing changed) - their rows are the cases kept next to those stages' own tests
(deploy/test_variants.py BAD_INPUT, loadtest CASES).

A playbook run costs several seconds, so rows run in parallel threads, and provision rows that land in one check that
reports every problem at once share a run when they set different variables: the role's argument spec ("argspec"),
its OCID loop ("ocids"), its collected input check ("inputs"), its shape-limit check ("limits") and its room check
("room"). Each row's field and message must be in the output.
"""

from __future__ import annotations

import dataclasses
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from tests.helpers.ansible import run_playbook
from tests.integration.deploy.test_render import render
from tests.integration.deploy.test_variants import BAD_INPUT as DEPLOY_CASES
from tests.integration.loadtest.test_loadtest_bad_input import CASES as LOADTEST_CASES
from tests.integration.loadtest.test_loadtest_bad_input import PLAYBOOK as LOADTEST_PLAYBOOK
from tests.integration.loadtest.test_loadtest_bad_input import write_inventory
from tests.integration.provision.conftest import Stage
from tests.sandbox import oci as oci_sandbox

THREADS = 3
# The read-only calls the "limits" rows may cause (the availability domain, when the inventory gives none, and the
# shapes), and the "room" rows: the fleet's live instances or node pools, its subnet's addresses and the compute limits.
SHAPE_READS = {"identity.ListAvailabilityDomains", "compute.ListShapes"}
ROOM_READS = {"compute.ListInstances", "ce.ListNodePools", "network.GetSubnet", "network.ListPrivateIps", "limits.ListLimitDefinitions",
              "limits.GetResourceAvailability"}
READS = SHAPE_READS | ROOM_READS
E4 = "VM.Standard.E4.Flex"
TRACEBACK_SIGNS = ("Traceback (most recent call last)", "MODULE FAILURE", "An exception occurred during task execution")


@dataclass
class Row:
    stage: str
    name: str
    extravars: dict | object  # a dict, or a callable(ctx) -> dict for rows that need files
    field: str  # the variable the error must name
    needle: str = ""  # and a piece of the message
    batch: str = ""  # rows of one stage and batch share a run when they set different variables: the check reports them all
    result: dict = dataclasses.field(default_factory=dict)


def used_twice(stage, what, first, second):
    """Two name variables set to one value: the second is named, as used twice."""
    value = "locust" if stage == "provision_loadgen" else "pool"
    return Row(stage, what, {first: value, second: value}, second, "used twice", "inputs")


def boot_volume_rows(stage, variable, below, above):
    """A boot volume under OCI's 50 GB floor and one over its 32 TB ceiling, in one run."""
    return [Row(stage, "boot volume below 50 GB", {variable: below}, variable, "50-32768", "inputs"),
            Row(stage, "boot volume above 32 TB", {variable: above}, variable, "50-32768", "inputs")]


def shape(name=E4, **values):
    return {"shape": name, **values}


CLUSTER = [
    # Each pool alone fits the /24 worker subnet (253 usable); together they do not, and neither pool nor the cluster is made.
    Row("provision_cluster", "both node pools beyond the subnet together", {"oke_cluster_lms_count": 150, "oke_cluster_services_count": 150},
        "oke_cluster_lms_count", "150 (oke_cluster_lms_count) + 150 (oke_cluster_services_count) need 300 addresses", "room"),
    used_twice("provision_cluster", "duplicate node-pool names", "oke_cluster_lms_pool_name", "oke_cluster_services_pool_name"),
    # Issue 30: an empty pool name failed at the create call after the cluster and the other pool existed, and an
    # unwritable kubeconfig path after both pools had their nodes.
    Row("provision_cluster", "empty node-pool name", {"oke_cluster_lms_pool_name": ""}, "oke_cluster_lms_pool_name", "not a usable name", "inputs"),
    Row("provision_cluster", "cluster name with a space", {"oke_cluster_name": "openedx jeddah"}, "oke_cluster_name", "not a usable name", "inputs"),
    Row("provision_cluster", "Kubernetes version as a YAML float", {"oke_cluster_kubernetes_version": 1.35}, "oke_cluster_kubernetes_version",
        "not a Kubernetes version", "inputs"),
    Row("provision_cluster", "retry base above its maximum", {"oke_cluster_retry_base_seconds": 400}, "oke_cluster_retry_base_seconds",
        "above the maximum wait", "inputs"),
    Row("provision_cluster", "kubeconfig under a file", {"oke_cluster_kubeconfig": "/etc/hostname/kubeconfig"}, "oke_cluster_kubeconfig",
        "not a directory", "inputs"),
    *boot_volume_rows("provision_cluster", "oke_cluster_boot_volume_size_in_gbs", 49, 40000),
    # openedx_scale_mysql=heatwave: the DB system's inputs are refused by the role's preflight, before the first OCI call.
    Row("provision_cluster", "weak MySQL administrator password", {"openedx_scale_mysql": "heatwave", "oke_cluster_mysql_admin_password": "weakpass1"},
        "oke_cluster_mysql_admin_password", "OCI requires at least one upper-case letter"),
    Row("provision_cluster", "compute shape as the MySQL shape", {"openedx_scale_mysql": "heatwave", "oke_cluster_mysql_shape": E4},
        "oke_cluster_mysql_shape", "not a MySQL shape name"),
    Row("provision_cluster", "no MySQL client CIDR", {"openedx_scale_mysql": "heatwave", "oke_cluster_mysql_client_cidrs": []},
        "oke_cluster_mysql_client_cidrs", "is empty"),
    Row("provision_cluster", "MySQL subnet not a subnet OCID", {"openedx_scale_mysql": "heatwave",
                                                                "oke_cluster_mysql_subnet_id": "ocid1.vcn.oc1.me-jeddah-1.aaaaaaaasandboxvcn"},
        "oke_cluster_mysql_subnet_id", "is a vcn OCID, expected a subnet OCID"),
    Row(
        "provision_cluster",
        "boot volume not whole GB",
        {"oke_cluster_boot_volume_size_in_gbs": "60.5"},
        "oke_cluster_boot_volume_size_in_gbs",
        "Validation of arguments failed",
        "argspec",
    ),
    Row(
        "provision_cluster",
        "unknown shape",
        {"oke_cluster_lms_shape": shape("VM.Standard.E9.Flex", ocpus=30, memory_in_gbs=128)},
        "oke_cluster_lms_shape.shape",
        "not offered",
        "limits",
    ),
    Row(
        "provision_cluster",
        "OCPUs above the flex shape",
        {"oke_cluster_lms_shape": shape(ocpus=100, memory_in_gbs=128)},
        "oke_cluster_lms_shape.ocpus",
        "range 1-64",
        "limits",
    ),
    Row(
        "provision_cluster",
        "memory above the flex shape",
        {"oke_cluster_services_shape": shape(ocpus=30, memory_in_gbs=2000)},
        "oke_cluster_services_shape.memory_in_gbs",
        "range 1-1024",
        "limits",
    ),
    Row(
        "provision_cluster",
        "memory per OCPU below range",
        {"oke_cluster_services_shape": shape(ocpus=16, memory_in_gbs=8)},
        "oke_cluster_services_shape.memory_in_gbs",
        "GB per OCPU",
        "limits",
    ),
    Row(
        "provision_cluster",
        "flex shape without ocpus",
        {"oke_cluster_lms_shape": shape(memory_in_gbs=128)},
        "oke_cluster_lms_shape.ocpus",
        "is missing",
        "inputs",
    ),
    Row(
        "provision_cluster",
        "alternative flex shape without memory",
        {"oke_cluster_services_alternative_shapes": [shape(ocpus=16)]},
        "oke_cluster_services_alternative_shapes[0].memory_in_gbs",
        "is missing",
        "inputs",
    ),
    Row(
        "provision_cluster",
        "alternative OCPUs not a number",
        {"oke_cluster_lms_alternative_shapes": [shape(ocpus="thirty", memory_in_gbs=128)]},
        "oke_cluster_lms_alternative_shapes[0].ocpus",
        "not a number",
        "inputs",
    ),
    Row(
        "provision_cluster",
        "services OCPUs 0",
        {"oke_cluster_services_shape": shape(ocpus=0, memory_in_gbs=8)},
        "oke_cluster_services_shape.ocpus",
        "more than 0",
        "inputs",
    ),
    Row("provision_cluster", "shape not a mapping", {"oke_cluster_lms_shape": E4}, "oke_cluster_lms_shape", "Validation of arguments failed", "argspec"),
    Row("provision_cluster", "bad label key", {"oke_cluster_pool_label_key": "pool key!"}, "oke_cluster_pool_label_key", "Kubernetes label key", "inputs"),
    Row(
        "provision_cluster",
        "label key name over 63 characters",
        {"oke_cluster_pool_label_key": "openedx-scale/" + "p" * 64},
        "oke_cluster_pool_label_key",
        "Kubernetes label key",
        "inputs",
    ),
    Row(
        "provision_cluster",
        "unknown alternative shape",
        {"oke_cluster_lms_alternative_shapes": [shape("VM.Nope.Flex", ocpus=30, memory_in_gbs=128)]},
        "oke_cluster_lms_alternative_shapes[0].shape",
        "not offered",
        "limits",
    ),
    Row(
        "provision_cluster",
        "alternative OCPUs above the shape",
        {"oke_cluster_services_alternative_shapes": [shape("VM.Standard3.Flex", ocpus=40, memory_in_gbs=128)]},
        "oke_cluster_services_alternative_shapes[0].ocpus",
        "range 1-32",
        "limits",
    ),
    Row(
        "provision_cluster",
        "alternatives not a list",
        {"oke_cluster_lms_alternative_shapes": "VM.Standard.E5.Flex"},
        "oke_cluster_lms_alternative_shapes",
        "Validation of arguments failed",
        "argspec",
    ),
    Row("provision_cluster", "negative LMS count", {"oke_cluster_lms_count": -1}, "oke_cluster_lms_count", "integer >= 0", "inputs"),
    Row(
        "provision_cluster",
        "services count not a number",
        {"oke_cluster_services_count": "many"},
        "oke_cluster_services_count",
        "Validation of arguments failed",
        "argspec",
    ),
    Row("provision_cluster", "no fault domain", {"oke_cluster_fault_domains": []}, "oke_cluster_fault_domains", "at least one", "inputs"),
    Row("provision_cluster", "unknown fault domain", {"oke_cluster_fault_domains": ["FD-1"]}, "oke_cluster_fault_domains", "not a fault domain", "inputs"),
    Row(
        "provision_cluster",
        "short availability domain",
        {"oke_cluster_availability_domain": "AD-1"},
        "oke_cluster_availability_domain",
        "not an availability domain",
        "inputs",
    ),
    Row(
        "provision_cluster",
        "Kubernetes version without v",
        {"oke_cluster_kubernetes_version": "1.35"},
        "oke_cluster_kubernetes_version",
        "not a Kubernetes version",
        "inputs",
    ),
    Row("provision_cluster", "compartment OCID malformed", {"oke_cluster_compartment_id": "my-compartment"}, "oke_cluster_compartment_id", "OCID", "ocids"),
    Row(
        "provision_cluster",
        "VCN OCID of a subnet",
        {"oke_cluster_vcn_id": "ocid1.subnet.oc1.me-jeddah-1.aaaaaaaasandboxapi"},
        "oke_cluster_vcn_id",
        "OCID",
        "ocids",
    ),
    Row(
        "provision_cluster",
        "worker subnet OCID of a VCN",
        {"oke_cluster_worker_subnet_id": "ocid1.vcn.oc1.me-jeddah-1.aaaaaaaasandboxvcn"},
        "oke_cluster_worker_subnet_id",
        "OCID",
        "ocids",
    ),
    Row("provision_cluster", "node image OCID empty", {"oke_cluster_node_image_id": ""}, "oke_cluster_node_image_id", "OCID", "ocids"),
    Row(
        "provision_cluster",
        "OCI config file missing",
        {"oke_cluster_oci_config_file": "/nonexistent/oci/config"},
        "oke_cluster_oci_config_file",
        "oci setup config",
    ),
    Row(
        "provision_cluster", "node SSH key garbage", {"oke_cluster_ssh_public_key": "my laptop key"}, "oke_cluster_ssh_public_key", "not an OpenSSH public key"
    ),
    Row(
        "provision_cluster",
        "node SSH key is a private key",
        lambda ctx: {"oke_cluster_ssh_public_key": ctx["private_text"]},
        "oke_cluster_ssh_public_key",
        "not the private key",
    ),
    # Issue 30: accepted silently before the spec check (meta/constraints.yml); one run reports both.
    Row("provision_cluster", "VCN OCID of another region", {"oke_cluster_vcn_id": "ocid1.vcn.oc1.us-ashburn-1.aaaaaaaaotherregion"},
        "oke_cluster_vcn_id", "belongs to region us-ashburn-1, not to me-jeddah-1", "spec"),
    Row("provision_cluster", "module deadline above a day", {"oke_cluster_wait_timeout": 100000}, "oke_cluster_wait_timeout",
        "out of range", "spec"),
]

LOADGEN = [
    Row("provision_loadgen", "non-ASCII VM name", {"loadgen_vms_worker_name": "locust-w\u00f6rker"}, "loadgen_vms_worker_name",
        "not a usable name", "inputs"),
    Row("provision_loadgen", "retry base above its maximum", {"loadgen_vms_retry_base_seconds": 301, "loadgen_vms_retry_max_wait_seconds": 300},
        "loadgen_vms_retry_base_seconds", "above the maximum wait", "inputs"),
    Row("provision_loadgen", "300-character VM name", {"loadgen_vms_master_name": "m" * 300}, "loadgen_vms_master_name", "not a usable name",
        "inputs"),
    used_twice("provision_loadgen", "master name equals worker name", "loadgen_vms_master_name", "loadgen_vms_worker_name"),
    *boot_volume_rows("provision_loadgen", "loadgen_vms_boot_volume_size_in_gbs", 20, 33000),
    Row(
        "provision_loadgen",
        "unknown worker shape",
        {"loadgen_vms_worker_shape": shape("VM.Standard2.1", ocpus=1, memory_in_gbs=4)},
        "loadgen_vms_worker_shape.shape",
        "not a flexible shape",
        "inputs",
    ),
    Row(
        "provision_loadgen",
        "worker OCPUs 0",
        {"loadgen_vms_worker_shape": shape(ocpus=0, memory_in_gbs=4)},
        "loadgen_vms_worker_shape.ocpus",
        "more than 0",
        "inputs",
    ),
    Row(
        "provision_loadgen",
        "master memory above the shape",
        {"loadgen_vms_master_shape": shape(ocpus=2, memory_in_gbs=2000)},
        "loadgen_vms_master_shape.memory_in_gbs",
        "range 1-1024",
        "limits",
    ),
    Row(
        "provision_loadgen",
        "master memory per OCPU above range",
        {"loadgen_vms_master_shape": shape(ocpus=1, memory_in_gbs=100)},
        "loadgen_vms_master_shape.memory_in_gbs",
        "GB per OCPU",
        "limits",
    ),
    Row(
        "provision_loadgen",
        "worker flex shape without ocpus",
        {"loadgen_vms_worker_shape": shape(memory_in_gbs=4)},
        "loadgen_vms_worker_shape.ocpus",
        "is missing",
        "inputs",
    ),
    Row(
        "provision_loadgen",
        "master A1 OCPUs above 80",
        {"loadgen_vms_master_shape": shape("VM.Standard.A1.Flex", ocpus=81, memory_in_gbs=128)},
        "loadgen_vms_master_shape.ocpus",
        "range 1-80",
        "limits",
    ),
    Row(
        "provision_loadgen",
        "master shape not a mapping",
        {"loadgen_vms_master_shape": "VM.Standard.E4.Flex"},
        "loadgen_vms_master_shape",
        "Validation of arguments failed",
        "argspec",
    ),
    Row(
        "provision_loadgen",
        "unknown alternative shape",
        {"loadgen_vms_alternative_shapes": [{"shape": "VM.Standard.E2.Flex"}]},
        "loadgen_vms_alternative_shapes[0].shape",
        "not offered",
        "limits",
    ),
    # The sandbox subnet is a /24 (253 usable addresses); the ample scenario's E4 core limit is 2000.
    Row("provision_loadgen", "worker fleet beyond the subnet", {"loadgen_vms_worker_count": 300}, "loadgen_vms_worker_count",
        "need 301 addresses in subnet", "room"),
    Row("provision_loadgen", "worker fleet beyond the compute limit",
        {"loadgen_vms_worker_count": 130, "loadgen_vms_worker_shape": shape(ocpus=16, memory_in_gbs=64), "loadgen_vms_alternative_shapes": []},
        "loadgen_vms_worker_count", "standard-e4-core-count", "room"),
    Row("provision_loadgen", "negative worker count", {"loadgen_vms_worker_count": -1}, "loadgen_vms_worker_count", "integer >= 0", "inputs"),
    Row(
        "provision_loadgen",
        "fractional master count",
        {"loadgen_vms_master_count": 1.5},
        "loadgen_vms_master_count",
        "Validation of arguments failed",
        "argspec",
    ),
    Row(
        "provision_loadgen",
        "unknown fault domain",
        {"loadgen_vms_fault_domains": ["FAULT-DOMAIN-4"]},
        "loadgen_vms_fault_domains",
        "not a fault domain",
        "inputs",
    ),
    Row(
        "provision_loadgen",
        "availability domain not a name",
        {"loadgen_vms_availability_domain": "jeddah"},
        "loadgen_vms_availability_domain",
        "not an availability domain",
        "inputs",
    ),
    Row(
        "provision_loadgen",
        "SSH private key file missing",
        {"loadgen_vms_ssh_private_key_file": "/nonexistent/id_ed25519"},
        "loadgen_vms_ssh_private_key_file",
        "does not exist",
    ),
    Row(
        "provision_loadgen",
        "SSH private key file is a directory",
        lambda ctx: {"loadgen_vms_ssh_private_key_file": ctx["dir"]},
        "loadgen_vms_ssh_private_key_file",
        "not a readable regular file",
    ),
    Row(
        "provision_loadgen",
        "authorized key garbage",
        {"loadgen_vms_ssh_authorized_keys": ["my key"]},
        "loadgen_vms_ssh_authorized_keys[0]",
        "not an OpenSSH public key",
    ),
    Row(
        "provision_loadgen",
        "authorized key truncated",
        lambda ctx: {"loadgen_vms_ssh_authorized_keys": [ctx["public_text"], "ssh-ed25519 AAAAC3NzaC1lZDI1"]},
        "loadgen_vms_ssh_authorized_keys[1]",
        "not an OpenSSH public key",
    ),
    Row(
        "provision_loadgen",
        "authorized key is a private key",
        lambda ctx: {"loadgen_vms_ssh_authorized_keys": [ctx["private_text"]]},
        "loadgen_vms_ssh_authorized_keys[0]",
        "never a private key",
    ),
    Row("provision_loadgen", "subnet OCID malformed", {"loadgen_vms_subnet_id": "subnet-1"}, "loadgen_vms_subnet_id", "OCID", "ocids"),
    Row(
        "provision_loadgen",
        "image OCID of an instance",
        {"loadgen_vms_image_id": "ocid1.instance.oc1.me-jeddah-1.aaaaaaaaxyz"},
        "loadgen_vms_image_id",
        "OCID",
        "ocids",
    ),
    Row(
        "provision_loadgen",
        "compartment OCID of a user",
        {"loadgen_vms_compartment_id": "ocid1.user.oc1..aaaaaaaaxyz"},
        "loadgen_vms_compartment_id",
        "OCID",
        "ocids",
    ),
    Row(
        "provision_loadgen",
        "OCI config file missing",
        {"loadgen_vms_oci_config_file": "/nonexistent/oci/config"},
        "loadgen_vms_oci_config_file",
        "oci setup config",
    ),
    Row("provision_loadgen", "two masters", {"loadgen_vms_master_count": 2}, "loadgen_vms_master_count", "at most 1", "spec"),
    Row("provision_loadgen", "negative target users", {"loadgen_vms_target_users": -5}, "loadgen_vms_target_users", "out of range", "spec"),
]

# The deploy and load-test stages' cases: their first variable is the field; the message piece is the one their own tests used.
DEPLOY = [Row("deploy_openedx", f"render: {next(iter(extravars))}", extravars, next(iter(extravars)), message) for extravars, message in DEPLOY_CASES]
LOADTEST = [Row("loadtest", name, overrides, next(iter(overrides)), needles[-1]) for name, (overrides, needles) in LOADTEST_CASES.items()]

ROWS = CLUSTER + LOADGEN + DEPLOY + LOADTEST


def plan_runs(rows):
    """Group "inputs" rows of one stage into runs that set disjoint variables; every other row runs alone."""
    runs = []
    for row in rows:
        if row.batch:
            for run in runs:
                if run[0].batch == row.batch and run[0].stage == row.stage and not set(run_vars(run)) & set(row.extravars):
                    run.append(row)
                    break
            else:
                runs.append([row])
        else:
            runs.append([row])
    return runs


def run_vars(run):
    return [key for row in run for key in row.extravars]


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    base = tmp_path_factory.mktemp("bad-input")
    key = base / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    sandbox = oci_sandbox.OciSandbox("ample", base / "sandbox").start()
    yield {
        "base": base,
        "dir": str(base),
        "private_text": key.read_text(),
        "public_text": key.with_suffix(".pub").read_text().strip(),
        "stage": Stage(sandbox, base),
        "sandbox": sandbox,
    }
    sandbox.stop()


def execute(run, ctx, idx):
    extravars = {}
    for row in run:
        row.extravars = row.extravars(ctx) if callable(row.extravars) else row.extravars
        extravars.update(row.extravars)
    stage = run[0].stage
    workdir = ctx["base"] / f"run-{idx}"
    workdir.mkdir()
    if stage.startswith("provision_"):
        result = ctx["stage"].play(stage, **extravars)
        written = False
    elif stage == "deploy_openedx":
        out = workdir / "render"
        result = render("sandbox", out, **extravars)
        written = out.exists()
    else:
        result = run_playbook(LOADTEST_PLAYBOOK, inventory=write_inventory(workdir, **extravars))
        written = result.changed > 0 or "Install Locust into a venv" in result.stdout
    return run, result, written


def test_every_bad_input_is_refused_before_anything_is_created(ctx, capsys):
    runs = plan_runs(ROWS)
    started = time.monotonic()
    # Rows that need files are resolved in execute(); the batch planner only needs their variable names.
    for row in ROWS:
        if callable(row.extravars):
            row.extravars = row.extravars(ctx)
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        outcomes = list(pool.map(lambda item: execute(item[1], ctx, item[0]), enumerate(runs)))
    duration = time.monotonic() - started

    failures = []
    for run, result, written in outcomes:
        text = " ".join(result.stdout.split())
        for row in run:
            problems = []
            if result.rc == 0:
                problems.append("accepted (rc 0)")
            if row.field not in text:
                problems.append(f"field {row.field!r} not named")
            if row.needle and row.needle not in text:
                problems.append(f"{row.needle!r} not in the message")
            # Ansible's own argument-spec message names the variable and its type but has no "Fix:".
            if "Fix" not in text and row.stage.startswith("provision_") and row.batch != "argspec":
                problems.append("no Fix: in the message")
            signs = [sign for sign in TRACEBACK_SIGNS if sign in result.stdout]
            if signs:
                problems.append(f"traceback: {signs}")
            if written:
                problems.append("something was written/changed")
            if problems:
                failures.append(f"[{row.stage}] {row.name}: {'; '.join(problems)}\n    {text[-600:]}")

    state = ctx["sandbox"].state()
    calls = state["counters"]["calls"]
    live = {kind: n for kind, n in state["live_counts"].items() if n}
    stages = sorted({row.stage for row in ROWS})
    with capsys.disabled():
        print(
            f"\nbad-input table: {len(ROWS)} rows ({', '.join(f'{s} {sum(r.stage == s for r in ROWS)}' for s in stages)}) in {len(runs)} playbook runs, "
            f"{THREADS} threads, {duration:.0f} s; OCI sandbox API calls: {sum(calls.values())}, live afterwards: {live or 'nothing'}"
        )
    assert len(ROWS) >= 60
    assert not failures, "\n".join(failures)
    assert set(calls) <= READS, f"bad input reached the OCI API beyond the reads: {calls}"
    limit_runs = sum(1 for run in runs if run[0].batch == "limits")
    assert calls.get("compute.ListShapes", 0) >= limit_runs > 0, f"the limits rows were not refused from ListShapes: {calls}"
    room_runs = sum(1 for run in runs if run[0].batch == "room")
    assert min(calls.get(op, 0) for op in ("network.GetSubnet", "limits.GetResourceAvailability")) >= room_runs > 0, f"the room rows were not read: {calls}"
    assert not live, f"resources live after bad input: {live}"
