"""Unit tests of the deploy-stage filters: LMS sizing, MongoDB placement, DNS-name checks."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[4]
if str(REPO / "build" / "collections") not in sys.path:
    sys.path.insert(0, str(REPO / "build" / "collections"))

from ansible.errors import AnsibleFilterError  # noqa: E402
from ansible_collections.openedx_scale.oke.plugins.filter import sizing  # noqa: E402


def test_case_study_target_needs_far_more_than_five_pods_of_five_workers():
    s = sizing.lms_sizing(50000, [5, 15], node_ocpus=30, node_memory_gib=128,
                          provided_pods=5, provided_processes_per_pod=5, provided_threads=1, services_nodes=2)
    # 50,000 users / (10 s think + 0.25 s service) = 4878 req/s; Little's law: 1219.5 in flight.
    assert s["request_rate"] == 4878.0
    assert s["in_flight_requests"] == 1219.5
    assert s["threads_per_process"] == 2
    # CPU-bound: 4878 x 0.25 x 0.5 / 0.7 = 871.1 cores -> 872 single-core processes.
    assert s["cpu_cores"] == 871.1 and s["processes"] == 872
    # A 30-OCPU node = 60 vCPUs, 10 % reserved -> 54 processes; 128 GiB - 15 % -> 108 GiB.
    assert (s["pod_cpu_request"], s["pod_memory_request_gib"], s["processes_per_pod"]) == (54, 108, 54)
    assert s["pods"] == s["lms_nodes"] == 17
    provided = s["provided"]
    assert provided["processes"] == 25 and provided["slots"] == 25
    assert provided["shortfall"] is True
    # 25 single-threaded processes at 70 % of 4 req/s each: 70 req/s, about 717 users.
    assert provided["max_request_rate"] == 70.0 and provided["max_users"] == 717
    assert provided["coverage"] < 0.02


def test_recommended_capacity_covers_the_target():
    s = sizing.lms_sizing(50000, 10, provided_pods=17, provided_processes_per_pod=54, provided_threads=2)
    assert s["recommended"]["max_users"] >= 50000
    assert s["provided"]["shortfall"] is False


def test_memory_bounds_processes_per_pod():
    s = sizing.lms_sizing(1000, 10, node_ocpus=30, node_memory_gib=16, process_memory_gib=1)
    assert s["pod_memory_request_gib"] == 13 and s["processes_per_pod"] == 13


def test_threads_per_process_follow_the_cpu_share_unless_given():
    assert sizing.lms_sizing(100, 5, cpu_fraction=0.25)["threads_per_process"] == 4
    assert sizing.lms_sizing(100, 5, cpu_fraction=1)["threads_per_process"] == 1
    assert sizing.lms_sizing(100, 5, threads_per_process=3)["threads_per_process"] == 3


@pytest.mark.parametrize(("args", "kwargs", "message"), [
    ((0, 10), {}, "target users must be greater than 1"),
    (("many", 10), {}, "target users must be a number"),
    ((100, [1, 2, 3]), {}, "think time must be a number or [min, max]"),
    ((100, [9, 3]), {}, "min > max"),
    ((100, 10), {"cpu_fraction": 1.5}, "cpu fraction is the share"),
    ((100, 10), {"target_utilization": 2}, "target utilization must be in (0, 1]"),
    ((100, 10), {"node_ocpus": 0.25, "node_memory_gib": 1}, "leaves no room for one uWSGI process"),
    ((100, 10), {"service_time_seconds": True}, "service time must be a number"),
])
def test_sizing_rejects_bad_input(args, kwargs, message):
    with pytest.raises(AnsibleFilterError) as err:
        sizing.lms_sizing(*args, **kwargs)
    assert message in str(err.value)


@pytest.mark.parametrize(("members", "nodes", "per_node", "survived"), [
    (3, 1, [3], 0),
    (3, 2, [2, 1], 0),
    (3, 3, [1, 1, 1], 1),
    (3, 5, [1, 1, 1, 0, 0], 1),
    (5, 5, [1, 1, 1, 1, 1], 2),
    (5, 3, [2, 2, 1], 1),
])
def test_mongodb_placement(members, nodes, per_node, survived):
    placement = sizing.mongodb_placement(members, nodes)
    assert placement["members_per_node"] == per_node
    assert placement["node_losses_survived"] == survived
    assert placement["majority"] == members // 2 + 1


def test_sizing_table_warns_loudly_on_shortfall_and_on_fragile_replica_set():
    s = sizing.lms_sizing(50000, [5, 15], provided_pods=5, provided_processes_per_pod=5, provided_threads=1, services_nodes=2)
    text = "\n".join(sizing.sizing_table(s))
    assert "WARNING: the inventory carries about 717 users, below the 50000 targeted: use 17 LMS nodes x 54 processes" in text
    assert "survives 0 node loss(es) - NO node loss" in text
    fine = "\n".join(sizing.sizing_table(sizing.lms_sizing(60, [1, 3], provided_pods=2, services_nodes=3)))
    assert "WARNING" not in fine and "NO node loss" not in fine


def test_dns_name_errors():
    good = ["learn.example.edu.sa", "studio.lms.sandbox.test", "a-b.c0"]
    bad = ["https://lms.example.org", "lms.example.org:443", "Lms.example.org", "localhost", "a_b.example.org", "-a.example.org",
           "lms.example.org/path", "x." + "a" * 64 + ".org"]
    assert sizing.dns_name_errors(good + bad) == bad


def test_filter_module_exposes_every_filter():
    names = sizing.FilterModule().filters()
    assert set(names) == {"lms_sizing", "sizing_table", "mongodb_placement", "dns_name_errors", "mysql_settings", "quantity_gib"}


def test_requests_per_step_multiply_the_request_rate():
    # 1.625 LMS requests per page view, one page view per 10 s of think plus 1.625 x 0.25 s of service.
    s = sizing.lms_sizing(50000, 10, requests_per_step=1.625)
    assert s["request_rate"] == round(50000 * 1.625 / (10 + 1.625 * 0.25), 1) == 7807.8
    assert s["requests_per_step"] == 1.625
    # The capacity check counts users by the same cycle: the recommended fleet still covers the target.
    assert s["recommended"]["max_users"] >= 50000


def test_components_compare_needed_and_provided():
    s = sizing.lms_sizing(50000, 10, requests_per_step=1.625, provided_pods=5, provided_processes_per_pod=54,
                          provided_threads=2, response_kib=32, lb_max_mbps=1000, mysql_max_connections=4000,
                          mysql_reserved_connections=200, cms_slots=32, redis_maxmemory="4gb", session_kib=4)
    rows = {r["component"]: r for r in s["components"]}
    # 5 x 54 x 2 = 540 LMS threads + 32 CMS + 200 reserved = 772 connections, under 4000.
    assert rows["MySQL connections"]["needed"] == 772 and rows["MySQL connections"]["ok"]
    # 50,000 sessions x 4 KiB at most 3/4 of maxmemory: 261 MiB of 4096.
    assert rows["Redis memory (sessions)"] == {**rows["Redis memory (sessions)"], "needed": 261, "provided": 4096, "ok": True}
    # 7807.8 req/s x 32 KiB x 8 = 2047 Mbps through a 1000 Mbps load balancer: short, and the table says so.
    lb = rows["Load balancer bandwidth"]
    assert lb["needed"] == 2047 and lb["provided"] == 1000 and not lb["ok"]
    assert not rows["LMS users carried"]["ok"]
    text = "\n".join(sizing.sizing_table(s))
    assert "Load balancer bandwidth" in text and "SHORT" in text
    assert "WARNING: Load balancer bandwidth: 2047 Mbps needed, 1000 provided: raise the flexible load balancer's maximum" in text


def test_mysql_sized_from_its_memory_and_the_connections():
    m = sizing.mysql_settings("16Gi", 642, serving_threads=572)
    # 642 connections + 25 % headroom; 80 % of 16 GiB - 1 GiB fixed - 803 x 2 MiB = 10.2 -> a 10 GiB pool.
    assert m["max_connections"] == 803
    assert m["innodb_buffer_pool_size_gib"] == 10 and m["innodb_redo_log_capacity_gib"] == 2
    assert m["table_open_cache"] == 803 * 8 and m["thread_cache_size"] == 572
    assert m["args"] == ["--max-connections=803", "--innodb-buffer-pool-size=10G", "--innodb-redo-log-capacity=2G",
                         "--table-open-cache=6424", "--thread-cache-size=572"]
    # An explicit max_connections wins; the pool shrinks with the connections' memory.
    assert sizing.mysql_settings("16Gi", 642, max_connections=4000)["innodb_buffer_pool_size_gib"] == 3
    # The default table cache is the floor; the redo log stays within 1-16 GiB.
    small = sizing.mysql_settings("4Gi", 10)
    assert small["table_open_cache"] == 4000 and small["innodb_redo_log_capacity_gib"] == 1
    assert sizing.mysql_settings("256Gi", 10)["innodb_redo_log_capacity_gib"] == 16


@pytest.mark.parametrize(("args", "message"), [
    (("2Gi", 4000), "2.0 GiB and 5000 connections has no room for a 1 GiB buffer pool: raise tutor_resources.mysql.memory_request to at least 15Gi"),
    (("16 gigs", 10), "Kubernetes memory quantity like 16Gi"),
])
def test_mysql_settings_refuse_what_cannot_run(args, message):
    with pytest.raises(AnsibleFilterError, match=message):
        sizing.mysql_settings(*args)


def test_mysql_connections_count_every_process_that_can_connect():
    s = sizing.lms_sizing(50000, 10, provided_pods=5, provided_processes_per_pod=54, provided_threads=2, cms_slots=32,
                          celery_processes=20, mysql_reserved_connections=50, mysql_memory_request="16Gi")
    assert s["mysql_connections_needed"] == 540 + 32 + 20 + 50
    assert s["mysql"]["max_connections"] == 803
    rows = {r["component"]: r for r in s["components"]}
    assert rows["MySQL connections"]["provided"] == 803 and rows["MySQL connections"]["ok"]
    # A max_connections below what can connect is a SHORT row.
    short = sizing.lms_sizing(50000, 10, provided_pods=5, provided_processes_per_pod=54, provided_threads=2,
                              mysql_max_connections=500, mysql_memory_request="16Gi")
    assert not {r["component"]: r for r in short["components"]}["MySQL connections"]["ok"] and short["shortfall"]


def test_celery_sized_from_the_grading_task_rate():
    s = sizing.lms_sizing(50000, 10, service_time_seconds=0.67, requests_per_step=1.625, problem_checks_per_step=0.05,
                          grading_task_seconds=0.2, grading_processes=16, broker_maxmemory="2gb",
                          broker_backlog_minutes=10, task_message_kib=2)
    # 50,000 / (10 + 1.625 x 0.67) = 4509 steps/s, 5 % problem checks: 225.5 tasks/s x 0.2 s / 0.7 = 65 processes.
    assert s["celery"]["task_rate"] == 225.5 and s["celery"]["processes"] == 65
    rows = {r["component"]: r for r in s["components"]}
    assert rows["Celery grading processes"] == {**rows["Celery grading processes"], "needed": 65, "provided": 16, "ok": False}
    # Ten minutes of 225 tasks/s at 2 KiB each: 265 MiB of the broker's 2048.
    assert rows["Redis broker (10 min backlog)"]["needed"] == 265 and rows["Redis broker (10 min backlog)"]["ok"]
    assert s["shortfall"] is True
    assert "celery" in s and sizing.lms_sizing(1000, 10)["celery"] == {}


def test_redis_memory_holds_an_aof_rewrite_fork():
    s = sizing.lms_sizing(1000, 10, redis_memory=[["cache", "4gb", "5Gi"], ["sessions", "1gb", "3Gi"]])
    rows = {r["component"]: r for r in s["components"]}
    assert rows["Redis cache memory (AOF fork)"] == {**rows["Redis cache memory (AOF fork)"], "needed": 8448, "provided": 5120, "ok": False}
    assert rows["Redis sessions memory (AOF fork)"]["ok"]
    assert "tutor_redis_cache_memory_request to at least 8448Mi" in rows["Redis cache memory (AOF fork)"]["fix"]


def test_shortfall_table_says_at_which_think_time_the_fleet_carries_the_target():
    s = sizing.lms_sizing(50000, [5, 15], service_time_seconds=0.67, requests_per_step=1.625, provided_pods=5,
                          provided_processes_per_pod=54, provided_threads=2)
    think = s["provided"]["think_time_for_target_seconds"]
    assert think == 142.9
    # Solved back through the model: at that think time the same fleet carries the target.
    again = sizing.lms_sizing(50000, think, service_time_seconds=0.67, requests_per_step=1.625, provided_pods=5,
                              provided_processes_per_pod=54, provided_threads=2)
    assert abs(again["provided"]["max_users"] - 50000) < 50 and s["shortfall"]
    assert "carries 50000 users at a mean think time of 142.9 s" in "\n".join(sizing.sizing_table(s))


def test_components_are_left_out_without_their_inputs():
    s = sizing.lms_sizing(1000, 10)
    assert s["components"] == []


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"redis_maxmemory": "4 gigs", "session_kib": 4}, "Redis maxmemory must be a redis.conf size like 4gb"),
    ({"requests_per_step": 0}, "requests per step must be greater than 0"),
    ({"mysql_max_connections": 10.5}, "MySQL max connections must be a whole number"),
])
def test_component_inputs_are_checked(kwargs, message):
    with pytest.raises(AnsibleFilterError, match=message):
        sizing.lms_sizing(1000, 10, **kwargs)


def test_sizing_table_shows_a_managed_db_system_instead_of_mysql_settings():
    s = sizing.lms_sizing(60, [1, 3], provided_pods=2, services_nodes=3, mysql_db_system="MySQL.8", mysql_reserved_connections=50)
    text = "\n".join(sizing.sizing_table(s))
    assert f"HeatWave DB system MySQL.8 (outside the cluster): {s['mysql_connections_needed']} connections" in text
    assert "mysql" not in s  # no in-cluster MySQL settings without a memory request
