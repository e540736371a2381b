# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deploy-stage filters: LMS capacity sizing, MongoDB placement and DNS-name checks."""

from __future__ import (absolute_import, division, print_function)

__metaclass__ = type

import math
import re

from ansible.errors import AnsibleFilterError

_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def _number(value, name, minimum=0.0, integer=False):
    if isinstance(value, bool):
        raise AnsibleFilterError("{0} must be a number, got {1!r}".format(name, value))
    try:
        number = int(value) if integer else float(value)
    except (TypeError, ValueError):
        raise AnsibleFilterError("{0} must be a number, got {1!r}".format(name, value)) from None
    if integer and number != float(value):
        raise AnsibleFilterError("{0} must be a whole number, got {1!r}".format(name, value))
    if number < minimum or (minimum == 0.0 and not integer and number <= 0):
        raise AnsibleFilterError("{0} must be greater than {1}, got {2!r}".format(name, minimum, value))
    return number


def _optional(value, name):
    """A non-negative number where 0 means "not given"."""
    return 0 if value in (0, "0", None, "") else _number(value, name)


def mean_think_time(think_time_seconds, name="think time"):
    """A think time in seconds, a number or [min, max] (uniform: the mean), validated."""
    if isinstance(think_time_seconds, (list, tuple)):
        if len(think_time_seconds) != 2:
            raise AnsibleFilterError("{0} must be a number or [min, max], got {1!r}".format(name, think_time_seconds))
        low, high = (_number(v, name, minimum=0) for v in think_time_seconds)
        if low > high:
            raise AnsibleFilterError("{0} [min, max] has min > max: {1!r}".format(name, think_time_seconds))
        return (low + high) / 2.0
    return _number(think_time_seconds, name, minimum=0)


def _lms_pod(node_ocpus, node_memory_gib, process_memory_gib, vcpus_per_ocpu, node_reserved_fraction, node_memory_reserved_fraction):
    """(node vCPUs, pod CPU, pod memory GiB, processes per pod): one LMS pod per node, sized to the node less the
    reserved shares (system daemons, kubelet reservations, DaemonSets), its processes bounded by vCPUs and memory."""
    ocpus = _number(node_ocpus, "node OCPUs")
    memory = _number(node_memory_gib, "node memory GiB")
    per_process = _number(process_memory_gib, "process memory GiB")
    reserved = _number(node_reserved_fraction, "node reserved fraction")
    memory_reserved = _number(node_memory_reserved_fraction, "node memory reserved fraction")
    if reserved >= 1 or memory_reserved >= 1:
        raise AnsibleFilterError("node reserved fractions must be below 1, got {0!r} / {1!r}".format(reserved, memory_reserved))
    node_vcpus = ocpus * _number(vcpus_per_ocpu, "vCPUs per OCPU")
    pod_cpu = math.floor(node_vcpus * (1 - reserved))
    pod_memory_gib = math.floor(memory * (1 - memory_reserved))
    if pod_cpu < 1 or pod_memory_gib < per_process:
        raise AnsibleFilterError("an LMS node of {0} OCPUs / {1} GiB leaves no room for one uWSGI process".format(ocpus, memory))
    return node_vcpus, pod_cpu, pod_memory_gib, min(pod_cpu, math.floor(pod_memory_gib / per_process))


def _provided(capacity, users, per_step, service):
    """The inventory's fleet (`capacity`) with what it carries against the target: shortfall, coverage and the think
    time it needs."""
    # The mean think time at which the provided fleet carries the target (same closed model, solved for think).
    think_for_target = users * per_step / max(capacity["max_request_rate"], 1e-9) - per_step * service
    return dict(capacity, shortfall=capacity["max_users"] < users, coverage=round(capacity["max_users"] / float(users), 3),
                think_time_for_target_seconds=round(max(0.0, think_for_target), 1))


def lms_sizing(target_users, think_time_seconds, service_time_seconds=0.25, cpu_fraction=0.5,
               node_ocpus=30, node_memory_gib=128, vcpus_per_ocpu=2, node_reserved_fraction=0.1, node_memory_reserved_fraction=0.15,
               process_memory_gib=0.75, target_utilization=0.7, threads_per_process=0,
               provided_pods=0, provided_processes_per_pod=0, provided_threads=0, services_nodes=0,
               mongodb_members=3, requests_per_step=1.0, response_kib=0, lb_max_mbps=0,
               mysql_max_connections=0, mysql_reserved_connections=0, cms_slots=0,
               redis_maxmemory="", session_kib=0, mysql_memory_request="", celery_processes=0,
               grading_processes=0, problem_checks_per_step=0, grading_task_seconds=0, broker_maxmemory="",
               broker_backlog_minutes=0, task_message_kib=0, redis_memory=None, mysql_db_system=""):
    """LMS capacity for `target_users` concurrent users (closed model: each user thinks, then requests).

    request rate   = users x R / (think time + R x service time)     R = LMS requests per step (page view)
    in flight      = request rate x service time                     (Little's law)
    CPU cores      = request rate x service time x cpu_fraction / target utilisation
    threads        = ceil(1 / cpu_fraction) per process: enough to keep one core busy while the
                     others wait on MySQL/MongoDB/Redis (one process uses at most one core: the GIL)
    processes      = max(in flight / (threads x utilisation), CPU cores)
    per pod        = one pod per node, sized to the node minus the reserved shares (system daemons,
                     kubelet reservations, DaemonSets): processes bounded
                     by vCPUs and by memory / process memory
    pods = nodes   = ceil(processes / processes per pod)

    With provided_* (the inventory's values) the result says what they carry and `shortfall` is
    true when they carry less than the target. `components` lists needed vs provided for what the
    other inputs describe (MySQL connections, Redis session memory and fork headroom, Celery grading
    workers and the broker's backlog room, load-balancer bandwidth); `mysql` the MySQL settings sized
    from its memory request and the connections (with `mysql_memory_request`); `mysql_db_system` the shape of a
    managed DB system serving MySQL instead (with `mysql_db_system`, a shape name).
    """
    users = _number(target_users, "target users", minimum=1, integer=True)
    think = mean_think_time(think_time_seconds)
    service = _number(service_time_seconds, "service time")
    cpu_share = _number(cpu_fraction, "cpu fraction")
    if cpu_share > 1:
        raise AnsibleFilterError("cpu fraction is the share of the service time spent on CPU (0-1], got {0!r}".format(cpu_fraction))
    utilization = _number(target_utilization, "target utilization")
    if utilization > 1:
        raise AnsibleFilterError("target utilization must be in (0, 1], got {0!r}".format(target_utilization))
    node_vcpus, pod_cpu, pod_memory_gib, per_pod = _lms_pod(node_ocpus, node_memory_gib, process_memory_gib, vcpus_per_ocpu,
                                                            node_reserved_fraction, node_memory_reserved_fraction)
    threads = int(threads_per_process) or max(1, math.ceil(1.0 / cpu_share - 1e-9))

    per_step = _number(requests_per_step, "requests per step")
    rate = users * per_step / (think + per_step * service)
    in_flight = rate * service
    cores = rate * service * cpu_share / utilization
    processes = math.ceil(max(in_flight / (threads * utilization), cores) - 1e-9)

    pods = math.ceil(processes / float(per_pod))

    def capacity(pods_, processes_per_pod, threads_):
        slots = pods_ * processes_per_pod * threads_
        # A pod serves at most its cores' worth of CPU and its slots' worth of in-flight requests.
        cpu_rate = pods_ * min(processes_per_pod, pod_cpu) * utilization / (service * cpu_share)
        slot_rate = slots * utilization / service
        max_rate = min(cpu_rate, slot_rate)
        return {
            "pods": pods_, "processes_per_pod": processes_per_pod, "threads": threads_,
            "processes": pods_ * processes_per_pod, "slots": slots,
            "max_request_rate": round(max_rate, 1),
            "max_users": int(max_rate * (think + per_step * service) / per_step),
        }

    result = {
        "target_users": users,
        "think_time_seconds": think,
        "service_time_seconds": service,
        "requests_per_step": per_step,
        "request_rate": round(rate, 1),
        "in_flight_requests": round(in_flight, 1),
        "cpu_cores": round(cores, 1),
        "threads_per_process": threads,
        "processes": processes,
        "node_vcpus": node_vcpus,
        "pod_cpu_request": pod_cpu,
        "pod_memory_request_gib": pod_memory_gib,
        "processes_per_pod": per_pod,
        "pods": pods,
        "lms_nodes": pods,
        "recommended": capacity(pods, per_pod, threads),
    }
    if provided_pods:
        result["provided"] = _provided(capacity(int(provided_pods), int(provided_processes_per_pod or per_pod), int(provided_threads or threads)),
                                       users, per_step, service)
    if services_nodes:
        result["mongodb"] = mongodb_placement(mongodb_members, services_nodes)
    lms_slots = result.get("provided", result["recommended"])["slots"]
    # Django holds up to one connection per serving thread (LMS and CMS) and per Celery process, plus jobs and admin.
    connections = int(lms_slots) + _number(cms_slots, "CMS slots", minimum=0, integer=True) + \
        _number(celery_processes, "Celery processes", minimum=0, integer=True) + \
        _number(mysql_reserved_connections, "MySQL reserved connections", minimum=0, integer=True)
    result["mysql_connections_needed"] = connections
    if mysql_db_system:
        result["mysql_db_system"] = {"shape": str(mysql_db_system), "connections_needed": connections}
    if str(mysql_memory_request):
        result["mysql"] = mysql_settings(mysql_memory_request, connections, max_connections=mysql_max_connections,
                                         serving_threads=int(lms_slots) + int(cms_slots))
        mysql_max_connections = result["mysql"]["max_connections"]
    result["celery"] = celery_sizing(rate / per_step, problem_checks_per_step, grading_task_seconds, utilization,
                                     grading_processes, broker_maxmemory, broker_backlog_minutes, task_message_kib)
    rows = _components(result, connections, response_kib, lb_max_mbps, mysql_max_connections, redis_maxmemory,
                       session_kib)
    rows += _redis_fork_rows(redis_memory or [])
    rows += result["celery"].get("rows", [])
    result["components"] = rows
    result["shortfall"] = any(not row["ok"] for row in rows)
    return result


_QUANTITY_GIB = {"": 1.0 / 2 ** 30, "Ki": 1.0 / 2 ** 20, "Mi": 1.0 / 2 ** 10, "Gi": 1.0, "Ti": 2.0 ** 10,
                 "k": 1e3 / 2 ** 30, "M": 1e6 / 2 ** 30, "G": 1e9 / 2 ** 30, "T": 1e12 / 2 ** 30}
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$")


def quantity_gib(quantity, name="memory"):
    """A Kubernetes memory quantity (8Gi, 512Mi, 1e9 bytes as 1G) in GiB."""
    match = _QUANTITY.match(str(quantity).strip())
    if not match:
        raise AnsibleFilterError("{0} must be a Kubernetes memory quantity like 16Gi or 512Mi, got {1!r}".format(name, quantity))
    return float(match.group(1)) * _QUANTITY_GIB[match.group(2) or ""]


# MySQL 8.4 reference manual: thread_stack is 1 MiB; each connection also holds a connection buffer and a result
# buffer (net_buffer_length, growing to max_allowed_packet) and per-query sort/join/read buffers while it runs.
MYSQL_PER_CONNECTION_MIB = 2
# Memory outside the buffer pool and the connections: the redo log buffer, the data dictionary and table caches,
# performance_schema.
MYSQL_FIXED_GIB = 1.0
# Tables one query opens at most (joins): the manual sizes table_open_cache as concurrent connections x this.
MYSQL_TABLES_PER_QUERY = 8


def mysql_settings(memory_request, connections_needed, max_connections=0, headroom=0.25, serving_threads=0):
    """MySQL 8.4 server settings sized from the container's memory and the connections that can be open.

    max_connections       = connections needed x (1 + headroom), unless given
    innodb_buffer_pool    = 80 % of the memory (the manual's figure for a dedicated server) minus the
                            connections' and the fixed memory, in whole GiB (a multiple of chunk size x instances)
    innodb_redo_log       = a quarter of the buffer pool, 1-16 GiB (8.4's default, 100 MiB, forces flushing at
                            every write burst of a pool this size)
    table_open_cache      = max_connections x tables per query, at least 8.4's default 4000
    thread_cache_size     = the serving threads (each reconnects per request with Django's CONN_MAX_AGE 0)
    """
    memory = quantity_gib(memory_request, "the MySQL memory request (tutor_resources.mysql.memory_request)")
    needed = _number(connections_needed, "MySQL connections needed", minimum=0, integer=True)
    given = _number(max_connections or 0, "MySQL max connections", minimum=0, integer=True)
    connections = given or math.ceil(needed * (1 + float(headroom)) - 1e-9)
    pool = math.floor(memory * 0.8 - MYSQL_FIXED_GIB - connections * MYSQL_PER_CONNECTION_MIB / 1024.0)
    if pool < 1:
        raise AnsibleFilterError(
            "MySQL with {0} GiB and {1} connections has no room for a 1 GiB buffer pool: raise "
            "tutor_resources.mysql.memory_request to at least {2}Gi".format(
                round(memory, 2), connections,
                math.ceil((1 + MYSQL_FIXED_GIB + connections * MYSQL_PER_CONNECTION_MIB / 1024.0) / 0.8)))
    redo = max(1, min(16, pool // 4))
    return {
        "memory_gib": round(memory, 2),
        "max_connections": connections,
        "innodb_buffer_pool_size_gib": pool,
        "innodb_redo_log_capacity_gib": redo,
        "table_open_cache": max(4000, connections * MYSQL_TABLES_PER_QUERY),
        "thread_cache_size": min(16384, max(9, int(serving_threads) or connections)),
        "args": [
            "--max-connections={0}".format(connections),
            "--innodb-buffer-pool-size={0}G".format(pool),
            "--innodb-redo-log-capacity={0}G".format(redo),
            "--table-open-cache={0}".format(max(4000, connections * MYSQL_TABLES_PER_QUERY)),
            "--thread-cache-size={0}".format(min(16384, max(9, int(serving_threads) or connections))),
        ],
    }


def celery_sizing(step_rate, problem_checks_per_step=0, grading_task_seconds=0, utilization=0.7, provided_processes=0,
                  broker_maxmemory="", backlog_minutes=0, task_message_kib=0):
    """LMS Celery workers for the grading tasks: every problem check queues one subsection-grade task.

    task rate  = learner steps per second x problem checks per step
    processes  = task rate x task seconds / utilisation
    broker     = the messages of `backlog_minutes` at the task rate (workers down or behind) within maxmemory
    """
    out = {}
    share = _optional(problem_checks_per_step, "problem checks per step")
    seconds = _optional(grading_task_seconds, "grading task seconds")
    if not (share and seconds):
        return out
    task_rate = float(step_rate) * share
    needed = math.ceil(task_rate * seconds / float(utilization) - 1e-9)
    out.update({"task_rate": round(task_rate, 1), "processes": needed, "rows": []})
    provided = _number(provided_processes, "Celery grading processes", minimum=0, integer=True)
    out["rows"].append(_row("Celery grading processes", "processes", needed, provided,
                            "raise the lms-worker HPA max x --concurrency (tutor_autoscaling.lms-worker max and "
                            "cpu_request) to at least {0} processes".format(needed)))
    minutes = _optional(backlog_minutes, "broker backlog minutes")
    message = _optional(task_message_kib, "task message KiB")
    if minutes and message and str(broker_maxmemory):
        backlog = math.ceil(task_rate * 60 * minutes * message / 1024.0)
        out["broker_backlog_mib"] = backlog
        out["rows"].append(_row("Redis broker ({0:g} min backlog)".format(minutes), "MiB", backlog,
                                _redis_bytes(broker_maxmemory) // 1024 ** 2,
                                "raise tutor_redis_broker_maxmemory to at least {0}mb".format(backlog)))
    return out


def _row(name, unit, needed, provided, fix):
    return {"component": name, "unit": unit, "needed": needed, "provided": provided, "ok": provided >= needed, "fix": fix}


# Redis forks for an AOF rewrite; the child's pages are copied on write, up to the whole dataset when every key
# changes during the rewrite (redis.io, "Redis persistence" / latency docs): maxmemory twice, plus the process.
REDIS_FORK_OVERHEAD_MIB = 256


def _redis_fork_rows(instances):
    rows = []
    for name, maxmemory, memory_request in instances:
        needed = 2 * (_redis_bytes(maxmemory) // 1024 ** 2) + REDIS_FORK_OVERHEAD_MIB
        provided = int(quantity_gib(memory_request, "the Redis {0} memory request".format(name)) * 1024)
        rows.append(_row("Redis {0} memory (AOF fork)".format(name), "MiB", needed, provided,
                         "raise tutor_redis_{0}_memory_request to at least {1}Mi".format(name, needed)))
    return rows


_REDIS_UNITS = {"": 1, "k": 1000, "kb": 1024, "m": 1000 ** 2, "mb": 1024 ** 2, "g": 1000 ** 3, "gb": 1024 ** 3}
_REDIS_SIZE = re.compile(r"^([0-9]+)\s*(k|kb|m|mb|g|gb)?$", re.IGNORECASE)


def _redis_bytes(value):
    """A redis.conf memory size (`4gb`, `512mb`, `1000000`) in bytes; units as redis.conf defines them."""
    match = _REDIS_SIZE.match(str(value).strip())
    if not match:
        raise AnsibleFilterError("Redis maxmemory must be a redis.conf size like 4gb or 512mb, got {0!r}".format(value))
    return int(match.group(1)) * _REDIS_UNITS[(match.group(2) or "").lower()]


def _components(result, mysql_needed, response_kib, lb_max_mbps, mysql_max_connections, redis_maxmemory, session_kib):
    """Needed vs provided per component the inputs describe; a component without inputs is left out."""
    rows = []
    provided = result.get("provided")
    if provided:
        rows.append(_row("LMS users carried", "users", result["target_users"], provided["max_users"],
                         "use {0} LMS nodes x {1} processes".format(result["pods"], result["processes_per_pod"])))
    if _number(mysql_max_connections, "MySQL max connections", minimum=0, integer=True):
        rows.append(_row("MySQL connections", "connections", mysql_needed, int(mysql_max_connections),
                         "raise tutor_mysql_max_connections to at least {0} (0 = sized)".format(mysql_needed)))
    if _optional(session_kib, "session KiB") and str(redis_maxmemory):
        # Sessions live in their own non-evicting Redis: full, it refuses new logins; keep them at most 3/4 of it.
        needed = math.ceil(result["target_users"] * float(session_kib) / 1024.0 / 0.75)
        rows.append(_row("Redis memory (sessions)", "MiB", needed, _redis_bytes(redis_maxmemory) // 1024 ** 2,
                         "raise tutor_redis_sessions_maxmemory to at least {0}mb".format(needed)))
    if _optional(lb_max_mbps, "load balancer Mbps") and _optional(response_kib, "response KiB"):
        needed = math.ceil(result["request_rate"] * float(response_kib) * 8 * 1024 / 1e6)
        rows.append(_row("Load balancer bandwidth", "Mbps", needed, int(float(lb_max_mbps)),
                         "raise the flexible load balancer's maximum to at least {0} Mbps (or serve static files from a CDN)".format(needed)))
    return rows


def mongodb_placement(members, services_nodes):
    """How many services-node losses the replica set survives with members spread evenly."""
    members = _number(members, "MongoDB members", minimum=1, integer=True)
    nodes = _number(services_nodes, "services nodes", minimum=1, integer=True)
    majority = members // 2 + 1
    # Spread as topologySpreadConstraints(maxSkew 1) does; losing the fullest nodes first.
    per_node = sorted((members // nodes + (1 if i < members % nodes else 0) for i in range(nodes)), reverse=True)
    survives, lost = 0, 0
    for count in per_node:
        lost += count
        if members - lost >= majority:
            survives += 1
        else:
            break
    return {"members": members, "services_nodes": nodes, "members_per_node": per_node,
            "majority": majority, "node_losses_survived": survives}


def labelled_lines(rows, width):
    """The body of a sizing table: '  <label padded to width> <text>' for each (label, text) of `rows`."""
    return ["  {0:{1}} {2}".format(label, width, text) for label, text in rows]


def sizing_table(sizing):
    """The sizing as printable lines (for a debug task)."""
    lines = ["LMS sizing for {0} concurrent users (think {1}s, service {2}s, {3} requests per step):".format(
        sizing["target_users"], sizing["think_time_seconds"], sizing["service_time_seconds"], sizing.get("requests_per_step", 1.0))]
    lines += labelled_lines([
        ("request rate", "{0} req/s".format(sizing["request_rate"])),
        ("requests in flight", sizing["in_flight_requests"]),
        ("CPU cores (at target)", sizing["cpu_cores"]),
        ("uWSGI processes needed", "{0} x {1} threads".format(sizing["processes"], sizing["threads_per_process"])),
        ("per pod (= per node)", "{0} processes, requests {1} CPU / {2} GiB".format(
            sizing["processes_per_pod"], sizing["pod_cpu_request"], sizing["pod_memory_request_gib"])),
        ("LMS pods = LMS nodes", sizing["pods"]),
    ], 23)
    provided = sizing.get("provided")
    if provided:
        lines.append("  inventory provides      {0} pods x {1} processes x {2} threads = {3} slots, ~{4} req/s, ~{5} users ({6:.0%})".format(
            provided["pods"], provided["processes_per_pod"], provided["threads"], provided["slots"],
            provided["max_request_rate"], provided["max_users"], provided["coverage"]))
        if provided["shortfall"]:
            lines.append("  WARNING: the inventory carries about {0} users, below the {1} targeted: use {2} LMS nodes x {3} processes".format(
                provided["max_users"], sizing["target_users"], sizing["pods"], sizing["processes_per_pod"]))
    components = sizing.get("components") or []
    if components:
        lines.append("  {0:32} {1:>10} {2:>10}  {3}".format("component", "needed", "provided", "unit"))
        for item in components:
            lines.append("  {0:32} {1:>10} {2:>10}  {3}{4}".format(
                item["component"], item["needed"], item["provided"], item["unit"], "" if item["ok"] else "  SHORT"))
        for item in components:
            if not item["ok"] and item["component"] != "LMS users carried":
                lines.append("  WARNING: {0}: {1} {3} needed, {2} provided: {4}".format(
                    item["component"], item["needed"], item["provided"], item["unit"], item["fix"]))
    if provided and provided["shortfall"]:
        lines.append("  the provided LMS carries {0} users at a mean think time of {1} s".format(
            sizing["target_users"], provided["think_time_for_target_seconds"]))
    mysql = sizing.get("mysql")
    if mysql:
        lines.append("  MySQL                   {0}".format(" ".join(mysql["args"])))
    db_system = sizing.get("mysql_db_system")
    if db_system:
        lines.append("  MySQL                   HeatWave DB system {0} (outside the cluster): {1} connections at the target; its "
                     "max_connections is the shape's (set tutor_mysql_max_connections to it for a checked row)".format(
                         db_system["shape"], db_system["connections_needed"]))
    celery = sizing.get("celery") or {}
    if celery:
        lines.append("  Celery grading          {0} tasks/s -> {1} processes".format(celery["task_rate"], celery["processes"]))
    mongo = sizing.get("mongodb")
    if mongo:
        lines.append("  MongoDB                 {0} members on {1} services nodes {2}: survives {3} node loss(es){4}".format(
            mongo["members"], mongo["services_nodes"], mongo["members_per_node"], mongo["node_losses_survived"],
            " - NO node loss: add services nodes" if mongo["node_losses_survived"] == 0 else ""))
    return lines


def dns_name_errors(hosts):
    """Hostnames in `hosts` that are not DNS names (lowercase labels, dots, no scheme/port/path)."""
    bad = []
    for host in hosts or []:
        name = str(host)
        labels = name.split(".")
        if len(name) > 253 or len(labels) < 2 or not all(_DNS_LABEL.match(label) for label in labels):
            bad.append(name)
    return bad


class FilterModule(object):
    """Deploy-stage filters."""

    def filters(self):
        return {
            "lms_sizing": lms_sizing,
            "sizing_table": sizing_table,
            "mongodb_placement": mongodb_placement,
            "mysql_settings": mysql_settings,
            "quantity_gib": quantity_gib,
            "dns_name_errors": dns_name_errors,
        }
