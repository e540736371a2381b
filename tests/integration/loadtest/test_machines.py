"""The systemd-nspawn machines: boot, look like VMs to Ansible, stay on our subnet, leave nothing behind."""

from __future__ import annotations

import ipaddress
import subprocess
import sys
import time

import yaml

from tests.helpers.ansible import REPO, assert_ok, run_playbook
from tests.sandbox.machines import Machines, host_leftovers, machines

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
        assert len(set(ips)) == 2 and all(ipaddress.ip_address(ip) in mgr.subnet for ip in ips)

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


def test_two_sets_side_by_side(nspawn_host, tmp_path):
    """Two checkouts' machine sets (the default one and one in another directory, same machine name in both) run at
    once on their own bridges and /24s; removing one set's last machine leaves the other set's bridge and machine."""
    mine, other = Machines(), Machines(tmp_path / "other-checkout")
    mine.ensure_rootfs()
    with machines(["it-twin"]) as a_set, machines(["it-twin"], base_dir=other.base) as b_set:
        a, b = a_set["it-twin"], b_set["it-twin"]
        nets = (mine.network(), other.network())
        assert nets[0]["bridge"] != nets[1]["bridge"] and not ipaddress.ip_network(nets[0]["subnet"]).overlaps(ipaddress.ip_network(nets[1]["subnet"]))
        assert ipaddress.ip_address(a.ip) in mine.subnet and ipaddress.ip_address(b.ip) in other.subnet
        assert {a.netns, b.netns} == {f"osm{mine.ident}-it-twin", f"osm{other.ident}-it-twin"}
        # Each machine reaches its own set's host address (where that set's LMS stand-in listens).
        probe = "python3 -c \"import socket; socket.create_connection(('{}', 22), 3); print('ok')\""
        assert mine.ssh(a, probe.format(a.ip)).stdout.strip() == "ok"
        assert other.ssh(b, probe.format(b.ip)).stdout.strip() == "ok"
        other.down(["it-twin"])
        links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
        assert mine.bridge in links and other.bridge not in links
        assert mine.ssh(a, "systemctl is-system-running").stdout.strip() == "running"
    assert host_leftovers(["it-twin"], [b.ip], base_dir=other.base) == {"netns": [], "links": [], "processes": [], "mounts": []}
