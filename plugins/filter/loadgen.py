# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load-generator sizing: the Locust fleet (worker VMs, processes, master, source IPs) a target needs.

Documented in loadgen_sizing.yml and loadgen_sizing_table.yml next to this file (ansible-doc -t filter).
"""

from __future__ import (absolute_import, division, print_function)

__metaclass__ = type

import math
import re

from ansible.errors import AnsibleFilterError
from ansible_collections.openedx_scale.oke.plugins.filter.sizing import _number, labelled_lines, mean_think_time

# Users one Locust worker process (= one vCPU) holds under 90 % CPU over HTTPS at the 5-15 s think time with the
# browser-like mix: 14,000 measured with the old mix (tests/bench/bench_locust_tls.py, 10,000 users in one process),
# divided by the 3.6x CPU per user the realistic mix costs (tests/bench/bench_locust_mix.py, docs/loadtest.md).
MEASURED_USERS_PER_CORE_TLS = 3900
MEASURED_THINK_TIME = (5, 15)
# Keep planned per-IP figures this far under the LMS / ingress limits (users are spread evenly, not perfectly).
LIMIT_MARGIN = 0.9
_RATE = re.compile(r"^\s*([0-9]+)\s*/\s*([0-9]*)\s*([smhd])\s*$")
_RATE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _non_negative(value, name):
    number = _number(value, name, minimum=-math.inf)
    if number < 0:
        raise AnsibleFilterError("{0} must be 0 or more, got {1!r}".format(name, value))
    return number


def _login_rate(text):
    """'100/5m' (django-ratelimit's form, the LMS's LOGISTRATION_RATELIMIT_RATE) -> logins per second per IP."""
    match = _RATE.match(str(text))
    if not match or int(match.group(1)) < 1:
        raise AnsibleFilterError("login rate limit per IP must look like 100/5m (count/[n]unit, unit s|m|h|d), got {0!r}".format(text))
    period = int(match.group(2) or 1) * _RATE_UNITS[match.group(3)]
    return int(match.group(1)) / float(period)


def loadgen_sizing(target_users, think_time_seconds=MEASURED_THINK_TIME, users_per_core=MEASURED_USERS_PER_CORE_TLS,
                   measured_think_time_seconds=MEASURED_THINK_TIME, headroom=0.25, worker_ocpus=1, vcpus_per_ocpu=2,
                   memory_per_user_mb=0.1, process_memory_mb=120, os_memory_mb=1024, connections_per_user=1, max_connections_per_ip=5000,
                   login_rate_limit_ip="100/5m", login_limits_raised=False, login_ramp_seconds=1800,
                   master_cpu_per_process=0.002, provided_worker_vms=None, provided_worker_ocpus=None, excess_factor=2.0):
    """The Locust fleet for `target_users` (see loadgen_sizing.yml for every option and the returned keys)."""
    whole = {"minimum": 1, "integer": True}
    users, per_core, ocpus, vcpus, per_user_mb, base_mb, conns, conn_limit, ramp, excess = (
        _number(value, name, **opts) for value, name, opts in (
            (target_users, "target_users", whole), (users_per_core, "users_per_core", {}), (worker_ocpus, "worker_ocpus", whole),
            (vcpus_per_ocpu, "vcpus_per_ocpu", whole), (memory_per_user_mb, "memory_per_user_mb", {}),
            (process_memory_mb, "process_memory_mb", {}), (connections_per_user, "connections_per_user", {}),
            (max_connections_per_ip, "max_connections_per_ip", {"minimum": 0, "integer": True}),
            (login_ramp_seconds, "login_ramp_seconds", {}), (excess_factor, "excess_factor", {"minimum": 1})))
    spare, os_mb, master_per_process = (_non_negative(value, name) for value, name in (
        (headroom, "headroom"), (os_memory_mb, "os_memory_mb"), (master_cpu_per_process, "master_cpu_per_process")))
    think = mean_think_time(think_time_seconds, "think_time_seconds")
    measured_think = mean_think_time(measured_think_time_seconds, "measured_think_time_seconds")
    if think <= 0 or measured_think <= 0:
        raise AnsibleFilterError("think_time_seconds and measured_think_time_seconds must have a mean above 0 (a learner reads between pages)")

    # A learner's request rate falls with its think time, and a process's CPU with it: scale the measured density.
    per_core_here = per_core * think / measured_think
    cpu_processes = math.ceil(users * (1 + spare) / per_core_here - 1e-9)
    vm_vcpus = ocpus * vcpus
    ips_for_connections = math.ceil(users * conns / (conn_limit * LIMIT_MARGIN) - 1e-9) if conn_limit else 1
    login_rate = _login_rate(login_rate_limit_ip)
    ips_for_logins = 1 if login_limits_raised else math.ceil(users / (login_rate * ramp * LIMIT_MARGIN) - 1e-9)
    source_ips = max(ips_for_connections, ips_for_logins, 1)
    worker_vms = max(math.ceil(cpu_processes / float(vm_vcpus)), source_ips)
    processes_per_vm = max(1, math.ceil(cpu_processes / float(worker_vms)))
    processes = worker_vms * processes_per_vm
    users_per_process = math.ceil(users / float(processes))
    vm_memory = (os_mb + processes_per_vm * (base_mb + users_per_process * per_user_mb) * (1 + spare)) / 1024.0
    master_cpu = processes * master_per_process
    # The master only aggregates: size it to stay under half of its vCPUs, never below 1 OCPU.
    master_ocpus = max(1, math.ceil(master_cpu * (1 + spare) / (vcpus * 0.5) - 1e-9))
    result = {
        "target_users": users,
        "think_time_seconds": think,
        "users_per_core": int(per_core_here),
        "headroom": spare,
        "cpu_cores": round(users / per_core_here, 2),
        "cpu_processes": cpu_processes,
        "source_ips": source_ips,
        "source_ips_for_connections": ips_for_connections,
        "source_ips_for_logins": ips_for_logins,
        "worker_vms": worker_vms,
        "worker_ocpus": ocpus,
        "worker_memory_in_gbs": max(ocpus, math.ceil(vm_memory - 1e-9)),
        "processes_per_vm": processes_per_vm,
        "processes": processes,
        "users_per_process": users_per_process,
        "master_cpu_cores": round(master_cpu, 3),
        "master_ocpus": master_ocpus,
        "master_memory_in_gbs": 4 * master_ocpus,
        "worker_shape_ocpus_total": worker_vms * ocpus,
        "ocpus_total": worker_vms * ocpus + master_ocpus,
    }
    if provided_worker_vms is not None:
        result["provided"] = _provided(result, provided_worker_vms, provided_worker_ocpus, vcpus, per_core_here, spare, excess)
    return result


def _provided(need, worker_vms, worker_ocpus, vcpus, per_core, spare, excess):
    """What the inventory's fleet carries, with a refusal when it is too small and a warning when far too large."""
    vms = _number(worker_vms, "provided_worker_vms", minimum=0, integer=True)
    ocpus = _number(worker_ocpus if worker_ocpus is not None else need["worker_ocpus"], "provided_worker_ocpus", minimum=1, integer=True)
    processes = vms * ocpus * vcpus
    provided = {
        "worker_vms": vms,
        "worker_ocpus": ocpus,
        "processes": processes,
        "max_users": int(processes * per_core / (1 + spare)),
        "ocpus_total": vms * ocpus + need["master_ocpus"],
        "refusal": "",
        "warning": "",
    }
    short = []
    if processes < need["cpu_processes"]:
        short.append("{0} worker processes (1 per vCPU) carry about {1:,} users at {2:,} users/core with {3:.0%} headroom; "
                     "{4:,} users need {5} processes".format(processes, provided["max_users"], need["users_per_core"], spare,
                                                             need["target_users"], need["cpu_processes"]))
    if vms < need["source_ips"]:
        short.append("{0} worker VMs are {0} source IPs; {1:,} users need {2} (limit-connections: {3}, per-IP login limit: {4})".format(
            vms, need["target_users"], need["source_ips"], need["source_ips_for_connections"], need["source_ips_for_logins"]))
    if short:
        provided["refusal"] = "fleet too small: {0}. Needed: {1} worker VMs x {2} OCPU ({3} processes per VM).".format(
            "; ".join(short), need["worker_vms"], need["worker_ocpus"], need["processes_per_vm"])
    elif provided["ocpus_total"] > excess * need["ocpus_total"]:
        provided["warning"] = ("fleet much larger than needed: {0} worker VMs x {1} OCPU + master = {2} OCPUs where {3:,} users need "
                               "{4} worker VMs x {5} OCPU + {6} = {7} OCPUs; {8} OCPUs more than needed").format(
            vms, ocpus, provided["ocpus_total"], need["target_users"], need["worker_vms"], need["worker_ocpus"],
            need["master_ocpus"], need["ocpus_total"], provided["ocpus_total"] - need["ocpus_total"])
    return provided


def loadgen_sizing_table(sizing):
    """The load-generator sizing as printable lines (for a debug task or the bench)."""
    s = sizing
    lines = ["Load generators for {0:,} users (think {1}s, {2:,} users/core over TLS, {3:.0%} headroom):".format(
        s["target_users"], s["think_time_seconds"], s["users_per_core"], s["headroom"])]
    lines += labelled_lines([
        ("worker CPU (no headroom)", "{0} cores".format(s["cpu_cores"])),
        ("worker processes (CPU)", s["cpu_processes"]),
        ("source IPs", "{0} (limit-connections: {1}, per-IP login limit: {2})".format(
            s["source_ips"], s["source_ips_for_connections"], s["source_ips_for_logins"])),
        ("worker VMs", "{0} x {1} OCPU / {2} GB, {3} process(es) each, {4:,} users per process".format(
            s["worker_vms"], s["worker_ocpus"], s["worker_memory_in_gbs"], s["processes_per_vm"], s["users_per_process"])),
        ("master", "{0} OCPU / {1} GB (expected CPU {2} cores)".format(s["master_ocpus"], s["master_memory_in_gbs"], s["master_cpu_cores"])),
        ("OCPUs in all", s["ocpus_total"]),
    ], 26)
    provided = s.get("provided")
    if provided:
        lines.append("  inventory provides         {0} worker VMs x {1} OCPU = {2} processes, ~{3:,} users, {4} OCPUs".format(
            provided["worker_vms"], provided["worker_ocpus"], provided["processes"], provided["max_users"], provided["ocpus_total"]))
        for key in ("refusal", "warning"):
            if provided[key]:
                lines.append("  {0}: {1}".format(key.upper(), provided[key]))
    return lines


class FilterModule(object):
    """Load-generator filters."""

    def filters(self):
        return {"loadgen_sizing": loadgen_sizing, "loadgen_sizing_table": loadgen_sizing_table}
