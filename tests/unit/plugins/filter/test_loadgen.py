"""Unit tests of the load-generator sizing filter: fleet from target, think time and users per core, and refusals."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[4]
if str(REPO / "build" / "collections") not in sys.path:
    sys.path.insert(0, str(REPO / "build" / "collections"))

from ansible.errors import AnsibleFilterError  # noqa: E402
from ansible_collections.openedx_scale.oke.plugins.filter import loadgen  # noqa: E402


def test_50k_users_at_the_case_study_think_time_with_raised_login_limits():
    s = loadgen.loadgen_sizing(50000, [5, 15], users_per_core=12500, max_connections_per_ip=0, login_limits_raised=True)
    # 50,000 x 1.25 / 12,500 = 5 processes; 4 cores without headroom; 2 vCPUs per 1-OCPU VM -> 3 VMs.
    assert s["cpu_cores"] == 4.0 and s["cpu_processes"] == 5
    assert s["source_ips"] == 1
    assert (s["worker_vms"], s["processes_per_vm"], s["processes"]) == (3, 2, 6)
    assert s["users_per_process"] == 8334
    assert s["master_ocpus"] == 1 and s["master_cpu_cores"] == 0.012
    assert s["ocpus_total"] == 4
    # 1 GiB OS + 2 x (120 MB + 8,334 x 0.1 MB) x 1.25 = 3,407 MB -> 4 GB
    assert s["worker_memory_in_gbs"] == 4


def test_ingress_limit_connections_sets_the_source_ips():
    s = loadgen.loadgen_sizing(50000, [5, 15], users_per_core=12500, max_connections_per_ip=5000, login_limits_raised=True)
    # 50,000 connections / (5,000 x 0.9) = 11.1 -> 12 source IPs = 12 VMs; CPU needs only 5 processes -> 1 per VM.
    assert s["source_ips_for_connections"] == 12 and s["source_ips"] == 12
    assert (s["worker_vms"], s["processes_per_vm"], s["processes"]) == (12, 1, 12)
    assert s["users_per_process"] == 4167


def test_default_login_limit_needs_many_source_ips():
    s = loadgen.loadgen_sizing(50000, [5, 15], users_per_core=12500, max_connections_per_ip=0, login_rate_limit_ip="100/5m",
                               login_ramp_seconds=1800)
    # 100 logins per 300 s per IP -> 600 per IP in 30 min, planned at 90 %: 540 -> 93 IPs.
    assert s["source_ips_for_logins"] == 93 and s["worker_vms"] == 93


def test_longer_think_time_lowers_the_cpu_need():
    short = loadgen.loadgen_sizing(50000, [5, 15], users_per_core=12500, max_connections_per_ip=0, login_limits_raised=True)
    long_ = loadgen.loadgen_sizing(50000, [15, 25], users_per_core=12500, max_connections_per_ip=0, login_limits_raised=True)
    assert long_["users_per_core"] == 25000 and long_["cpu_processes"] == 3 < short["cpu_processes"]


def test_case_study_fleet_is_accepted_with_a_cost_warning():
    s = loadgen.loadgen_sizing(50000, [5, 15], users_per_core=12500, max_connections_per_ip=5000, login_limits_raised=True,
                               provided_worker_vms=50, provided_worker_ocpus=2)
    provided = s["provided"]
    assert provided["refusal"] == ""
    assert provided["processes"] == 200 and provided["ocpus_total"] == 101
    assert "101 OCPUs" in provided["warning"] and "13 OCPUs" in provided["warning"] and "88 OCPUs more than needed" in provided["warning"]
    lines = loadgen.loadgen_sizing_table(s)
    assert any(line.startswith("  WARNING: fleet much larger") for line in lines)


def test_a_fleet_that_fits_has_neither_refusal_nor_warning():
    s = loadgen.loadgen_sizing(50000, [5, 15], users_per_core=12500, max_connections_per_ip=5000, login_limits_raised=True,
                               provided_worker_vms=12, provided_worker_ocpus=1)
    assert s["provided"]["refusal"] == "" and s["provided"]["warning"] == ""
    assert s["provided"]["max_users"] == 240000


# Fleets smaller than needed: the refusal names what is short, with the numbers.
SMALL_FLEETS = {
    "too little CPU": (dict(max_connections_per_ip=0, provided_worker_vms=1, provided_worker_ocpus=1),
                       ["2 worker processes", "carry about 20,000 users", "50,000 users need 5 processes", "Needed: 3 worker VMs"]),
    "too few source IPs": (dict(max_connections_per_ip=5000, provided_worker_vms=4, provided_worker_ocpus=4),
                           ["4 worker VMs are 4 source IPs", "50,000 users need 12", "limit-connections: 12", "Needed: 12 worker VMs"]),
    "no workers": (dict(max_connections_per_ip=0, provided_worker_vms=0), ["0 worker processes", "need 5 processes"]),
}


@pytest.mark.parametrize("case", list(SMALL_FLEETS))
def test_small_fleet_is_refused_with_the_numbers(case):
    kwargs, needles = SMALL_FLEETS[case]
    s = loadgen.loadgen_sizing(50000, [5, 15], users_per_core=12500, login_limits_raised=True, **kwargs)
    refusal = s["provided"]["refusal"]
    assert refusal.startswith("fleet too small: ")
    for needle in needles:
        assert needle in refusal, refusal
    assert s["provided"]["warning"] == ""


BAD_INPUT = {
    "zero users": ((0,), {}, "target_users must be greater than 1"),
    "users not a number": (("many",), {}, "target_users must be a number"),
    "fractional users": ((10.5,), {}, "target_users must be a whole number"),
    "bool users": ((True,), {}, "target_users must be a number"),
    "think min > max": ((100, [15, 5]), {}, "think_time_seconds [min, max] has min > max"),
    "think three values": ((100, [1, 2, 3]), {}, "think_time_seconds must be a number or [min, max]"),
    "zero users per core": ((100,), {"users_per_core": 0}, "users_per_core must be greater than 0"),
    "negative headroom": ((100,), {"headroom": -0.1}, "headroom must be 0 or more"),
    "headroom not a number": ((100,), {"headroom": "lots"}, "headroom must be a number"),
    "zero worker OCPUs": ((100,), {"worker_ocpus": 0}, "worker_ocpus must be greater than 1"),
    "bad login rate": ((100,), {"login_rate_limit_ip": "100 per 5 minutes"}, "login rate limit per IP must look like 100/5m"),
    "zero login rate": ((100,), {"login_rate_limit_ip": "0/5m"}, "login rate limit per IP must look like 100/5m"),
    "negative connection limit": ((100,), {"max_connections_per_ip": -1}, "max_connections_per_ip must be greater than 0"),
    "excess below 1": ((100,), {"excess_factor": 0.5}, "excess_factor must be greater than 1"),
    "negative provided VMs": ((100,), {"provided_worker_vms": -2}, "provided_worker_vms must be greater than 0"),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_names_the_field(case):
    args, kwargs, message = BAD_INPUT[case]
    with pytest.raises(AnsibleFilterError, match=message.replace("[", r"\[").replace("]", r"\]")):
        loadgen.loadgen_sizing(*args, **kwargs)


def test_zero_headroom_sizes_at_the_measured_density():
    s = loadgen.loadgen_sizing(50000, [5, 15], users_per_core=12500, headroom=0, max_connections_per_ip=0, login_limits_raised=True)
    assert s["cpu_processes"] == 4


def test_login_rate_forms():
    assert loadgen._login_rate("100/5m") == pytest.approx(100 / 300.0)
    assert loadgen._login_rate("30/m") == pytest.approx(0.5)
    assert loadgen._login_rate(" 10 / 2s ") == pytest.approx(5.0)


def test_filters_are_registered():
    assert set(loadgen.FilterModule().filters()) == {"loadgen_sizing", "loadgen_sizing_table"}
