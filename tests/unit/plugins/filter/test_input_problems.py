"""Unit tests of the input_problems filter: the modules' checks, every problem at once, field and fix in each."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[4]
if str(REPO / "build" / "collections") not in sys.path:
    sys.path.insert(0, str(REPO / "build" / "collections"))

from ansible.errors import AnsibleFilterError  # noqa: E402
from ansible_collections.openedx_scale.oke.plugins.filter.input_problems import input_problems  # noqa: E402

E4 = {"shape": "VM.Standard.E4.Flex", "ocpus": 2, "memory_in_gbs": 16}
VALID = [
    {"check": "shape", "field": "s", "value": E4},
    {"check": "alternative_shapes", "field": "alts", "value": [{"shape": "VM.Standard.E5.Flex"}], "size_from": E4},
    {"check": "count", "field": "n", "value": "3"},
    {"check": "boot_volume", "field": "bv", "value": 50},
    {"check": "distinct", "field": "names", "value": ["a", "b"]},
    {"check": "labels", "field": "key", "value": {"openedx-scale/pool": "lms"}},
    {"check": "fault_domains", "field": "fds", "value": ["FAULT-DOMAIN-1"]},
    {"check": "availability_domain", "field": "ad", "value": "hxIl:ME-JEDDAH-1-AD-1"},
    {"check": "kubernetes_version", "field": "k8s", "value": "v1.35.4"},
    {"check": "node_stuck_timeout", "field": "stuck", "value": "900"},
    {"check": "ocid", "field": "cid", "value": "ocid1.compartment.oc1..aaaaaaaaexample", "kinds": ["compartment", "tenancy"]},
]


def test_valid_input_has_no_problem():
    assert input_problems(VALID) == []


def test_every_problem_is_reported_with_field_and_fix():
    problems = input_problems([
        {"check": "shape", "field": "s", "value": {"shape": "VM.Standard.E4.Flex", "memory_in_gbs": 16}},
        {"check": "boot_volume", "field": "bv", "value": 32769},
        {"check": "distinct", "field": "names", "value": ["a", "a"]},
        {"check": "count", "field": "n", "value": "many"},
        {"check": "node_stuck_timeout", "field": "stuck", "value": 30},
    ])
    assert [p.split(":")[0] for p in problems] == ["s.ocpus", "bv", "names", "n", "stuck"]
    assert all("Fix:" in p for p in problems), problems


def test_alternatives_take_the_size_of_each_fleet_and_report_once():
    alts = [{"shape": "VM.Standard3.Flex"}]
    checks = [{"check": "alternative_shapes", "field": "alts", "value": alts, "size_from": {"ocpus": 0, "memory_in_gbs": 64}},
              {"check": "alternative_shapes", "field": "alts", "value": alts, "size_from": {"ocpus": 0, "memory_in_gbs": 64}}]
    problems = input_problems(checks)
    assert len(problems) == 1 and problems[0].startswith("alts[0].ocpus: ocpus=0: must be more than 0"), problems


def test_an_unknown_check_is_a_filter_error():
    with pytest.raises(AnsibleFilterError, match="each check needs check"):
        input_problems([{"check": "colour", "field": "x", "value": 1}])


@pytest.mark.parametrize("name", ["openedx-jeddah", "pool.lms_1", "a" * 63])
def test_usable_names_pass(name):
    assert input_problems([{"check": "name", "field": "n", "value": name}]) == []


@pytest.mark.parametrize("name", ["", " ", "openedx jeddah", "w\u00f6rker", "a" * 64, "-lead", "trail-", 42, None, ["a"]])
def test_names_oci_would_take_or_refuse_late_are_refused(name):
    (problem,) = input_problems([{"check": "name", "field": "oke_cluster_lms_pool_name", "value": name}])
    assert problem.startswith("oke_cluster_lms_pool_name: ") and "Fix:" in problem


def test_writable_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)

    def problems(path):
        return input_problems([{"check": "writable_file", "field": "kc", "value": path}])

    assert problems(str(tmp_path / "new" / "deeper" / "kubeconfig")) == []  # missing parents are created later
    assert problems(str(blocker)) == []  # replaced
    assert "is a directory" in problems(str(tmp_path))[0]
    assert "not a directory" in problems(str(blocker / "kubeconfig"))[0]
    assert "not a file path" in problems("")[0] and "not a file path" in problems(" /x ")[0]
    if __import__("os").geteuid() != 0:  # root writes anywhere
        assert "not writable" in problems(str(locked / "kubeconfig"))[0]


@pytest.mark.parametrize("check,value,words", [
    ("kubernetes_version", 1.35, "not a Kubernetes version"),  # YAML's 1.35 is a float: named, not a TypeError
    ("availability_domain", ["AD-1"], "not an availability domain"),
    ("labels", "openedx-scale/pool", "must be a mapping"),
    ("retry_bounds", ["400", 300], "above the maximum wait"),
])
def test_wrong_types_and_cross_field_rules_are_named(check, value, words):
    (problem,) = input_problems([{"check": check, "field": "the_variable", "value": value}])
    assert problem.startswith("the_variable: ") and words in problem and "Fix:" in problem, problem


def test_retry_bounds_in_order_pass():
    assert input_problems([{"check": "retry_bounds", "field": "b", "value": [15, "300"]}]) == []


def test_mysql_checks_name_the_field_and_never_the_password():
    problems = input_problems([{"check": "mysql_admin_password", "field": "oke_cluster_mysql_admin_password", "value": "nouppercase1!"},
                               {"check": "mysql_shapes", "field": "oke_cluster_mysql_shape", "value": ["MySQL.8", "VM.Standard.E4.Flex"]}])
    assert len(problems) == 2
    assert problems[0].startswith("oke_cluster_mysql_admin_password: ") and "upper-case" in problems[0] and "nouppercase1!" not in problems[0]
    assert problems[1].startswith("oke_cluster_mysql_alternative_shapes[0]: ") and "not a MySQL shape name" in problems[1]
    assert input_problems([{"check": "mysql_admin_password", "field": "f", "value": "Sb-Adm1n-Pass!"},
                           {"check": "mysql_shapes", "field": "f", "value": ["MySQL.8", "MySQL.16"]}]) == []


@pytest.mark.parametrize(("value", "text"), [
    ("my-compartment", "is not an OCID"),
    ("ocid1.subnet.oc1.me-jeddah-1.aaaaaaaaexample", "is a subnet OCID, expected a vcn OCID"),
    ("", "is required"),
    (None, "is required"),
    (42, "is not an OCID"),
])
def test_ocid_is_the_modules_pattern_with_field_and_fix(value, text):
    """Role preflights and modules share module_utils/oci_args.py's one OCID pattern."""
    problems = input_problems([{"check": "ocid", "field": "oke_cluster_vcn_id", "value": value, "kinds": ["vcn"]}])
    assert len(problems) == 1 and problems[0].startswith("oke_cluster_vcn_id: ") and text in problems[0] and "Fix:" in problems[0], problems
