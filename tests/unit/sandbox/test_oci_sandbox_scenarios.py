"""Scenario validation, the command line, the separate-process server and boot hooks."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import oci
import pytest

from tests.sandbox.oci import OciSandboxProcess, ScenarioError, load, parse, shipped
from tests.sandbox.oci.faults import FaultPlan, matches
from tests.sandbox.oci.testing import launch_details, make_clients, wait_work_request

AD = "hxIl:ME-JEDDAH-1-AD-1"
CAP = {"fault_domain": "FAULT-DOMAIN-1", "shape": "VM.Standard.E4.Flex", "ocpus": 10, "memory_gbs": 100}


def test_shipped_scenarios_load():
    assert {"ample", "jeddah-tight", "recovering", "exhausted"} <= set(shipped())
    tight = load("jeddah-tight")
    assert [ad.name for ad in tight.availability_domains] == ["ME-JEDDAH-1-AD-1"]
    e4 = {p.fault_domain: p.ocpus for p in tight.capacity if p.shape == "VM.Standard.E4.Flex"}
    e5 = {p.fault_domain: p.ocpus for p in tight.capacity if p.shape == "VM.Standard.E5.Flex" and p.ocpus}
    assert e4["FAULT-DOMAIN-2"] == e4["FAULT-DOMAIN-3"] == 0 < e4["FAULT-DOMAIN-1"]
    assert set(e5) == {"FAULT-DOMAIN-3"} and tight.throttle.per_minute


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"capacity": [{"fault_domian": "FAULT-DOMAIN-1"}]}, "capacity[0].fault_domian: unknown field"),
        (
            {"capacity": [{"fault_domain": "FAULT-DOMAIN-9", "shape": "VM.Standard.E4.Flex", "ocpus": 1, "memory_gbs": 1}]},
            "capacity[0].fault_domain: 'FAULT-DOMAIN-9'",
        ),
        ({"capacity": [{"fault_domain": "FAULT-DOMAIN-1", "shape": "VM.Big", "ocpus": 1, "memory_gbs": 1}]}, "capacity[0].shape: unknown shape"),
        (
            {"capacity": [{"fault_domain": "FAULT-DOMAIN-1", "shape": "VM.Standard.E4.Flex", "ocpus": "lots", "memory_gbs": 1}]},
            "capacity[0].ocpus: must be a number",
        ),
        ({"capacity": [{"fault_domain": "FAULT-DOMAIN-1", "shape": "VM.Standard.E4.Flex", "memory_gbs": 1}]}, "capacity[0].ocpus: required field is missing"),
        ({"throttle": {"per_minute": 0}}, "throttle.per_minute: must be > 0"),
        ({"faults": [{"operations": ["LaunchInstance"]}]}, "faults[0]: choose the calls"),
        ({"faults": [{"operations": ["LaunchInstance"], "first": 1, "status": 200}]}, "faults[0].status"),
        ({"node_pools": {"failed_pool_state": "BROKEN"}}, "node_pools.failed_pool_state"),
        ({"clock": {"mode": "slow"}}, "clock.mode"),
        (
            {
                "capacity": [
                    {"fault_domain": "FAULT-DOMAIN-1", "shape": "VM.Standard.E4.Flex", "ocpus": 1, "memory_gbs": 1, "changes": [{"ocpus": 2, "memory_gbs": 2}]}
                ]
            },
            "capacity[0].changes[0]: set after_seconds or after_failures",
        ),
    ],
)
def test_bad_scenarios_name_the_field(data, message):
    with pytest.raises(ScenarioError) as err:
        parse(data, "broken")
    assert message in str(err.value) and str(err.value).startswith("scenario broken")


def test_cli_validate_and_unknown_scenario(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("---\nthrottle:\n  per_minut: 3\n")
    run = subprocess.run([sys.executable, "-m", "tests.sandbox.oci", "validate", "ample", str(bad)], capture_output=True, text=True, check=False)
    assert run.returncode == 1
    assert "ok   ample" in run.stdout and "throttle.per_minut: unknown field" in run.stdout
    with pytest.raises(ScenarioError, match=r"no such file.*shipped scenarios: ample"):
        load("no-such-scenario")


def test_serve_as_a_process(tmp_path):
    with OciSandboxProcess("jeddah-tight", tmp_path / "proc") as sandbox:
        assert sandbox.env()["OCI_SANDBOX_ENDPOINT"] == sandbox.url
        config = oci.config.from_file(sandbox.config_file)
        compute = oci.core.ComputeClient(config, service_endpoint=config["service_endpoint"], retry_strategy=oci.retry.NoneRetryStrategy())
        compute.launch_instance(launch_details(AD, config["tenancy"]))
        sandbox.advance(120)
        state = sandbox.state()
        assert state["live_counts"]["instances"] == 1 and state["clock"]["advanced_by_clients_seconds"] == 120
        cli = [sys.executable, "-m", "tests.sandbox.oci"]
        subprocess.run([*cli, "advance", "--state-dir", str(sandbox.state_dir), "30"], check=True, capture_output=True)
        summary = json.loads(subprocess.run([*cli, "state", "--state-dir", str(sandbox.state_dir), "--summary"], check=True, capture_output=True).stdout)
        assert summary["clock"]["advanced_by_clients_seconds"] == 150 and summary["calls"]["compute.LaunchInstance"] == {"200": 1}
    # SIGTERM writes the final state next to the config.
    final = json.loads((tmp_path / "proc" / "state.json").read_text())
    assert not (tmp_path / "proc" / "endpoint").exists()
    assert [i["lifecycleState"] for i in final["resources"]["instances"].values()] == ["RUNNING"]


def test_python_boot_hook_sets_the_private_ip(oci_sandbox_factory):
    booted = []

    def hook(event):
        booted.append(event["kind"])
        return {"private_ip": "10.77.0.5"}

    sandbox = oci_sandbox_factory("ample", boot_hook=hook)
    clients = make_clients(sandbox)
    response = clients.compute.launch_instance(launch_details(AD, clients.tenancy))
    wait_work_request(clients.work_requests, response.headers["opc-work-request-id"])
    (attachment,) = clients.compute.list_vnic_attachments(clients.tenancy, instance_id=response.data.id).data
    assert clients.network.get_vnic(attachment.vnic_id).data.private_ip == "10.77.0.5" and booted == ["instance"]


def test_terminate_hook_command(oci_sandbox_factory, tmp_path):
    record = tmp_path / "terminated.jsonl"
    script = tmp_path / "destroy.py"
    script.write_text(f"import sys\nopen({str(record)!r}, 'a').write(sys.stdin.read() + '\\n')\n")
    scenario = {
        "name": "teardown-hook",
        "capacity": [CAP],
        "boot_hook": {"command": [sys.executable, "-c", "print('10.66.0.9')"], "on_terminate_command": [sys.executable, str(script)]},
    }
    sandbox = oci_sandbox_factory(scenario)
    clients = make_clients(sandbox)
    response = clients.compute.launch_instance(launch_details(AD, clients.tenancy, display_name="lg-9"))
    assert finished(clients, response.headers["opc-work-request-id"]).status == "SUCCEEDED"
    clients.compute.terminate_instance(response.data.id)
    sandbox.advance(60)
    assert clients.compute.get_instance(response.data.id).data.lifecycle_state == "TERMINATED"
    deadline = time.monotonic() + 30
    while not record.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    event = json.loads(record.read_text().splitlines()[0])
    assert event["kind"] == "instance" and event["resource"]["displayName"] == "lg-9"


def finished(clients, wr_id, seconds=30):
    """Wait in real time: a command hook is a real process, however fast the sandbox clock runs."""
    deadline = time.monotonic() + seconds
    while True:
        wr = clients.work_requests.get_work_request(wr_id).data
        if wr.status in ("SUCCEEDED", "FAILED") or time.monotonic() > deadline:
            return wr
        time.sleep(0.05)


def test_command_boot_hook_failure_fails_the_launch(oci_sandbox_factory, tmp_path):
    script = tmp_path / "boot.py"
    script.write_text(
        textwrap.dedent(
            """
            import json, sys
            event = json.load(sys.stdin)
            if event["resource"]["displayName"] == "broken":
                sys.exit("no machine image")
            print("10.88.0." + event["default_ip"].rsplit(".", 1)[1])
            """
        )
    )
    sandbox = oci_sandbox_factory(
        {
            "name": "cmd-hook",
            "capacity": [{"fault_domain": "FAULT-DOMAIN-1", "shape": "VM.Standard.E4.Flex", "ocpus": 10, "memory_gbs": 100}],
            "boot_hook": {"command": [sys.executable, str(script)]},
        }
    )
    clients = make_clients(sandbox)
    good = clients.compute.launch_instance(launch_details(AD, clients.tenancy, display_name="good"))
    bad = clients.compute.launch_instance(launch_details(AD, clients.tenancy, display_name="broken"))
    assert finished(clients, good.headers["opc-work-request-id"]).status == "SUCCEEDED"
    wr = finished(clients, bad.headers["opc-work-request-id"])
    assert wr.status == "FAILED"
    errors = clients.work_requests.list_work_request_errors(wr.id).data
    assert "no machine image" in errors[0].message
    assert clients.compute.get_instance(bad.data.id).data.lifecycle_state == "TERMINATED"
    (attachment,) = clients.compute.list_vnic_attachments(clients.tenancy, instance_id=good.data.id).data
    assert clients.network.get_vnic(attachment.vnic_id).data.private_ip == "10.88.0.2"
    pool = sandbox.state()["capacity"][0]
    assert pool["free_ocpus"] == 8  # the failed launch gave its 2 OCPUs back


def test_fault_selection_is_reproducible():
    scenario = parse(
        {
            "faults": [
                {"operations": ["ce.*"], "probability": 0.5},
                {"operations": ["LaunchInstance"], "every": 2, "max_times": 2, "code": "TooManyRequests", "status": 429},
            ]
        },
        "dice",
    )

    def run(seed):
        plan = FaultPlan(scenario.faults, seed)
        return [plan.pick("ce.GetNodePool", n) is not None for n in range(1, 201)], [plan.pick("compute.LaunchInstance", n) for n in range(1, 9)]

    first, launches = run(7)
    assert first == run(7)[0] and first != run(8)[0]
    assert 70 < sum(first) < 130
    assert [n for n, fault in enumerate(launches, 1) if fault] == [2, 4]  # every 2nd call, at most twice
    assert not matches(["compute.*"], "ce.GetNodePool") and matches(["Get*"], "ce.GetNodePool")
