"""The systemd-nspawn machines: boot, look like VMs to Ansible, stay on our subnet, leave nothing behind."""

from __future__ import annotations

import ipaddress
import subprocess
import sys
import time

import yaml

from tests.helpers.ansible import REPO, assert_ok, run_playbook
from tests.sandbox.machines import SUBNET, Machines, host_leftovers, machines

PLAYBOOKS = REPO / "tests" / "integration" / "loadtest" / "playbooks"
NAMES = ["it-mach-a", "it-mach-b"]


def test_machines_boot_isolated_and_clean_up(nspawn_host, tmp_path):
    mgr = Machines()
    mgr.ensure_rootfs()  # cold cache: minutes, outside the timing below
    t0 = time.monotonic()
    with machines(NAMES, cpus={"it-mach-a": 1, "it-mach-b": 2}) as booted:
        boot_s = time.monotonic() - t0
        a, b = booted["it-mach-a"], booted["it-mach-b"]
        ips = [a.ip, b.ip]
        assert boot_s < 30, f"two machines took {boot_s:.1f}s to boot on a warm cache"
        assert len(set(ips)) == 2 and all(ipaddress.ip_address(ip) in SUBNET for ip in ips)

        # Real systemd as PID 1, own hostname, pinned CPUs.
        for m in (a, b):
            out = mgr.ssh(m, "cat /proc/1/comm; hostname; nproc; systemctl is-system-running").stdout.split()
            assert out == ["systemd", m.name, str(m.cpus), "running"], out

        # The two machines reach each other (sshd banner over the bridge), nothing else: no default route.
        probe = f"python3 -c \"import socket; s=socket.create_connection(('{b.ip}', 22), 3); print(s.recv(4).decode())\""
        assert mgr.ssh(a, probe).stdout.strip() == "SSH-"
        route = mgr.ssh(a, "ip route get 8.8.8.8")
        assert route.returncode != 0 and "unreachable" in route.stderr.lower()

        # Network sysctls are per machine (own namespace) and writable, as on a VM; the host's stay untouched.
        host_before = open("/proc/sys/net/core/somaxconn").read().strip()
        assert mgr.ssh(a, "sysctl -w net.core.somaxconn=4242").returncode == 0
        assert mgr.ssh(b, "sysctl -n net.core.somaxconn").stdout.strip() != "4242"
        assert open("/proc/sys/net/core/somaxconn").read().strip() == host_before

        # `up` is idempotent: same machine, same address.
        assert mgr.up(["it-mach-a"])[0].ip == a.ip

        # Ansible over SSH with the generated inventory (strict host key checking against our known_hosts).
        inv = tmp_path / "hosts.yml"
        inv.write_text(yaml.safe_dump(mgr.inventory()))
        run = run_playbook(PLAYBOOKS / "machine_facts.yml", inventory=inv, limit=",".join(NAMES), extravars={"expected_cpus": {m.name: m.cpus for m in (a, b)}})
        assert_ok(run)
    assert all(mgr.get(n) is None for n in NAMES)
    left = host_leftovers(NAMES, ips)
    assert left == {"netns": [], "links": [], "processes": [], "mounts": []}, left


def test_cli_up_inventory_down(nspawn_host):
    cli = [sys.executable, "-m", "tests.sandbox.machines"]
    up = subprocess.run([*cli, "up", "it-cli"], capture_output=True, text=True, cwd=REPO, check=False)
    try:
        assert up.returncode == 0, up.stderr
        ip = up.stdout.split()[1]
        inv = yaml.safe_load(
            subprocess.run([*cli, "inventory", "--group", "locust_master=it-cli"], capture_output=True, text=True, cwd=REPO, check=True).stdout
        )
        assert inv["all"]["children"]["machines"]["hosts"]["it-cli"]["ansible_host"] == ip
        assert inv["all"]["children"]["locust_master"]["hosts"] == {"it-cli": {}}
        listing = subprocess.run([*cli, "list"], capture_output=True, text=True, cwd=REPO, check=True).stdout
        assert any(ln.split()[:2] == ["it-cli", ip] and ln.endswith("running") for ln in listing.splitlines())
    finally:
        down = subprocess.run([*cli, "down", "it-cli"], capture_output=True, text=True, cwd=REPO, check=False)
    assert down.returncode == 0 and "removed it-cli" in down.stdout
    assert host_leftovers(["it-cli"], [ip]) == {"netns": [], "links": [], "processes": [], "mounts": []}


def test_bad_input_is_refused_before_anything_changes(nspawn_host):
    mgr = Machines()
    for names, kw, needle in ((["Bad_Name"], {}, "invalid machine name"), (["it-x"], {"cpus": 64}, "between 1 and")):
        try:
            mgr.up(names, **kw)
        except Exception as exc:
            assert needle in str(exc)
        else:
            raise AssertionError(f"up({names}, {kw}) should have failed")
    assert mgr.get("it-x") is None
