"""oci_mysql_db_system through Ansible (ansible-runner, as AWX) and the real oci SDK against the OCI sandbox's MySQL routes.

Per scenario: converge with 0 duplicates, re-run with changed=0, teardown leaving no DB system; the capacity fallback
(fault domains, alternative shapes, high availability off, a later round); a lost create answer; a denied policy;
bad input and closed security rules refused before any create. Every verdict reads the sandbox's state dump, and the
administrator password must appear nowhere: not in the dump, the job output or the progress log.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.ansible import run_playbook

from .conftest import live

PLAYBOOK = Path(__file__).resolve().parent / "playbooks" / "mysql_db_system.yml"
PASSWORD = "Sb-Adm1n-Pass!"  # meets OCI's adminPassword rule
NAME = "openedx-itest-mysql"
COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaamysqlitest"
SUBNET = "ocid1.subnet.oc1.me-jeddah-1.aaaaaaaamysqlitest"
MUTATING = {"mysql.CreateDbSystem", "mysql.DeleteDbSystem"}


def common(stage, **extra):
    return {"deployment": "itest", "name": NAME, "compartment_id": COMPARTMENT, "subnet_id": SUBNET, "client_cidrs": ["10.0.20.0/24"],
            "shape": "MySQL.8", "admin_username": "openedx_admin", "admin_password": PASSWORD, "config_file": stage.sb.config_file,
            "wait_timeout": 7200, "retry_base_seconds": 15, "retry_max_wait_seconds": 300,
            "progress_log": str(stage.workdir / "mysql.progress"), **extra}


def play(stage, state="present", check=False, **args):
    run = run_playbook(PLAYBOOK, extravars={"mysql_common": common(stage, **args), "mysql_state": state}, envvars=stage.env, check=check)
    results = run.results("Ensure the DB system")
    return run, results[0] if results else {}


def db_systems(state) -> list[dict]:
    return live(state, "db_systems")


def no_secret_anywhere(stage, run):
    state = json.dumps(stage.state())
    assert PASSWORD not in state, "the admin password reached the sandbox's state"
    assert PASSWORD not in run.stdout and PASSWORD not in json.dumps(run.events, default=str), "the admin password is in the job output"
    log = stage.workdir / "mysql.progress"
    assert not log.exists() or PASSWORD not in log.read_text(), "the admin password is in the progress log"


def converge_rerun_teardown(stage, **args):
    run, result = play(stage, **args)
    assert run.rc == 0, result.get("msg")
    assert result["changed"] and result["db_system"]["lifecycle_state"] == "ACTIVE"
    state = stage.state()
    mine = db_systems(state)
    assert len(mine) == 1, f"duplicates: {[(d['id'], d['lifecycleState']) for d in mine]}"
    assert mine[0]["id"] == result["db_system"]["id"] and mine[0]["lifecycleState"] == "ACTIVE"
    again, second = play(stage, **args)
    assert again.rc == 0 and second["changed"] is False and again.changed == 0
    assert [d["id"] for d in db_systems(stage.state())] == [mine[0]["id"]]
    gone, third = play(stage, state="absent", **args)
    assert gone.rc == 0 and third["changed"]
    after = stage.state()
    assert db_systems(after) == [], "teardown left a DB system"
    assert all(d["lifecycleState"] == "DELETED" for d in after["resources"]["db_systems"].values())
    no_secret_anywhere(stage, run)
    return result, state


def test_ample_converges_reruns_and_tears_down(make_stage):
    stage = make_stage("ample")
    check, planned = play(stage, check=True)
    assert check.rc == 0 and planned["changed"] and planned["actions"][0]["action"] == "create"
    assert not MUTATING & set(stage.state()["counters"]["calls"]), "check mode made a mutating call"
    result, state = converge_rerun_teardown(stage)
    assert result["db_system"]["ip_address"] and result["db_system"]["port"] == 3306
    assert result["db_system"]["endpoints"][0]["modes"] == ["READ", "WRITE"]
    assert state["resources"]["db_systems"][result["db_system"]["id"]]["freeformTags"]["openedx_scale_component"] == "mysql_db_system"


def test_shortage_falls_back_to_the_alternative_shape(make_stage):
    stage = make_stage("mysql-shortage")
    result, state = converge_rerun_teardown(stage, alternative_shapes=["MySQL.16"])
    assert result["db_system"]["shape_name"] == "MySQL.16" and result["db_system"]["is_highly_available"]
    outcomes = [(a["placement"], a["outcome"]) for a in result["attempts"]]
    assert outcomes == [("MySQL.8 HA @ FD-1", "failed"), ("MySQL.8 HA @ FD-2", "failed"), ("MySQL.8 HA @ FD-3", "failed"),
                        ("MySQL.16 HA @ FD-1", "ok")], outcomes
    failed = [d for d in state["resources"]["db_systems"].values() if d["lifecycleDetails"]]
    assert len(failed) == 3 and all(d["lifecycleState"] == "DELETED" for d in failed), "a DB system whose create failed was left"


def test_shortage_falls_back_to_standalone_when_allowed(make_stage):
    stage = make_stage("mysql-shortage")
    result, _state = converge_rerun_teardown(stage, standalone_fallback=True)
    assert result["db_system"]["shape_name"] == "MySQL.8" and result["db_system"]["is_highly_available"] is False
    assert result["attempts"][-1]["placement"] == "MySQL.8 standalone @ FD-1"


def test_shortage_waits_for_a_later_round(make_stage):
    stage = make_stage("mysql-shortage")
    result, _state = converge_rerun_teardown(stage)
    rounds = sorted({a["round"] for a in result["attempts"]})
    assert rounds == [1, 2] and result["attempts"][-1]["outcome"] == "ok", result["attempts"]
    assert any("next capacity check" in line for line in result["progress"])


def test_lost_create_answer_makes_no_duplicate(make_stage):
    stage = make_stage("mysql-lost-answer")
    result, state = converge_rerun_teardown(stage)
    fired = [f for f in state["counters"]["faults_fired"] if f["operation"] == "mysql.CreateDbSystem"]
    assert len(fired) == 8 and all(f["applied"] for f in fired)
    tokens = [t for t in state["retry_tokens"] if t["operation"] == "mysql.CreateDbSystem"]
    assert len(tokens) == 1 and tokens[0]["replays"] == 7, tokens
    assert "created although the answer was" in result["attempts"][0]["reason"]


def test_denied_policy_names_the_statement(make_stage):
    stage = make_stage("mysql-denied")
    run, result = play(stage)
    assert run.rc != 0
    assert f"manage mysql-family in compartment id {COMPARTMENT}" in result["msg"], result["msg"]
    state = stage.state()
    assert "mysql.CreateDbSystem" not in state["counters"]["calls"] and state["resources"]["db_systems"] == {}


def test_closed_security_list_is_refused_before_create(make_stage):
    stage = make_stage({"name": "mysql-closed", "subnets": [{"id": SUBNET, "cidr_block": "10.0.30.0/24",
                                                             "ingress": [{"source": "10.0.0.0/16", "protocol": "6", "port_min": 22}]}]})
    run, result = play(stage)
    assert run.rc != 0 and result["field"] == "client_cidrs" and "TCP 3306" in result["msg"] and "10.0.20.0/24" in result["msg"]
    assert not MUTATING & set(stage.state()["counters"]["calls"])


BAD = [
    ({"admin_password": "short1!"}, "admin_password", "has 7 characters"),
    ({"admin_password": "alllowercase-and-long1"}, "admin_password", "no upper-case letter"),
    ({"admin_password": "NoSpecialChars123"}, "admin_password", "special"),
    ({"admin_username": "1admin"}, "admin_username", "not a MySQL user name"),
    ({"shape": "VM.Standard.E4.Flex"}, "shape", "not a MySQL shape name"),
    ({"alternative_shapes": ["MySQL.8", "mysql16"]}, "alternative_shapes[1]", "not a MySQL shape name"),
    ({"client_cidrs": ["10.0.20.0/33"]}, "client_cidrs", "not a CIDR block"),
    ({"client_cidrs": []}, "client_cidrs", "is empty"),
    ({"subnet_id": "ocid1.vcn.oc1..aaaaaaaaxyz"}, "subnet_id", "expected a subnet OCID"),
    ({"fault_domains": ["FAULT-DOMAIN-4"]}, "fault_domains", "not a fault domain"),
    ({"data_storage_size_in_gbs": 0}, "data_storage_size_in_gbs", "whole number of GB"),
]


@pytest.mark.parametrize("args,field,needle", BAD, ids=[b[1] + ":" + b[2][:16] for b in BAD])
def test_bad_input_refused_before_any_call(make_stage, args, field, needle):
    stage = make_stage("ample")
    before = stage.state()["counters"]["total_calls"]
    run, result = play(stage, **args)
    assert run.rc != 0 and field in result["msg"] and needle in result["msg"], result.get("msg")
    assert stage.state()["counters"]["total_calls"] == before, "an API call was made before the input was refused"
    assert PASSWORD not in json.dumps(result) and "short1!" not in json.dumps(result)


def test_mysql_shape_not_offered_is_refused_before_create(make_stage):
    stage = make_stage("ample")
    run, result = play(stage, shape="MySQL.512")
    assert run.rc != 0 and "not offered" in result["msg"] and "MySQL.8" in result["msg"]
    assert not MUTATING & set(stage.state()["counters"]["calls"])
