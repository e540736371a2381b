"""systemd-nspawn machines standing in for VMs.

Each machine is a copy-on-write overlay of one cached, debootstrap'd Debian 12 root file system, booted with
`systemd-nspawn --boot` (real systemd as PID 1, sshd) inside its own network namespace. The namespace is joined
to a host bridge by a veth pair on a private /24 that has no default route and no forwarding, so traffic from
and to the machines stays between them and this host.

The host is not booted with systemd (no systemd-machined), so nspawn runs with `--register=no` as a detached
background process that this module tracks by PID in the state directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
# One machine set: keys and per-machine state. Each set (by default one per checkout) has host-wide names of its own
# (bridge, /24, namespaces, links) derived from this directory, so sets run side by side and never touch each other.
BASE_DIR = Path(os.environ.get("OPENEDX_SCALE_MACHINES_DIR", REPO / "build" / "sandbox" / "machines"))
# The debootstrap'd root fs, shared read-only by every set on this host (overlay lower dir), keyed by its recipe.
CACHE_DIR = Path(os.environ.get("OPENEDX_SCALE_MACHINES_CACHE", Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "openedx-scale-machines"))
# Set to pin a set's /24; otherwise each set claims a free one in 10.199.0.0/16 (machines .10-.250, the bridge .1).
SUBNET_ENV = "OPENEDX_SCALE_MACHINES_SUBNET"
# Host-wide claims of the /24s: one file per third octet naming the owning set's directory (tmpfs: gone at reboot).
CLAIMS_DIR = Path(os.environ.get("OPENEDX_SCALE_MACHINES_CLAIMS", "/run/openedx-scale-machines"))
# 10.199.57.0/24 on bridge osm-br0 is what checkouts from before per-set names use: never claimed, never touched.
LEGACY_OCTET = 57
SUITE = "bookworm"
MIRROR = os.environ.get("OPENEDX_SCALE_MACHINES_MIRROR", "http://deb.debian.org/debian")
PACKAGES = ["python3", "python3-venv", "python3-apt", "openssh-server", "systemd", "systemd-sysv", "dbus", "iproute2", "nftables", "sudo", "procps"]
# Bump when the root fs recipe changes so a stale cache is rebuilt.
ROOTFS_VERSION = "2"
# Units that only slow a container's boot or make it "degraded" (no hardware, no consoles, no periodic jobs).
MASKED_UNITS = [
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "dpkg-db-backup.timer",
    "e2scrub_all.timer",
    "e2scrub_reap.service",
    "fstrim.timer",
    "getty@.service",
    "console-getty.service",
    "systemd-networkd-wait-online.service",
]
# Masked per machine (in its overlay, so the cached root fs need not be rebuilt): nspawn sets up the mounts itself,
# and remounting them from inside occasionally fails under load, leaving systemd "degraded". systemd-sysctl (the
# image's boot-time defaults) likewise fails now and then on the namespace's /proc/sys/net under load; the roles
# under test set the sysctls they need live (ansible.posix.sysctl), which is what the tests check. systemd-sysusers
# failed once in CI the same way; the image's system users were created when the root fs was built. Any other boot
# unit that fails is started once more before the machine counts as broken (_settle_systemd).
MACHINE_MASKED_UNITS = ["systemd-remount-fs.service", "systemd-sysctl.service", "systemd-sysusers.service"]
NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}$")


def _recipe() -> str:
    return json.dumps({"version": ROOTFS_VERSION, "suite": SUITE, "packages": PACKAGES, "masked": MASKED_UNITS}, sort_keys=True)


class MachineError(RuntimeError):
    """A machine could not be built, booted or removed; the message says what to do."""


class MachineExited(MachineError):
    """systemd-nspawn ended before the machine was up (not a timeout)."""


@dataclass
class Machine:
    name: str
    ip: str
    cpus: int
    pid: int
    state: str = "running"
    netns: str = ""  # host-wide names, recorded so any process removes exactly these
    veth: str = ""


def _run(cmd: list[str], check: bool = True, **kw) -> subprocess.CompletedProcess:
    res = subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)
    if check and res.returncode != 0:
        raise MachineError(f"{' '.join(cmd)} failed (rc={res.returncode}): {res.stderr.strip() or res.stdout.strip()}")
    return res


def _pid_alive(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"systemd-nspawn" in cmdline


class Machines:
    """Build, boot, list and remove machines; all state lives under `base_dir` so any process can manage them."""

    def __init__(
        self,
        base_dir: Path | str = BASE_DIR,
        subnet: ipaddress.IPv4Network | str | None = None,
        cache_dir: Path | str = CACHE_DIR,
        claims_dir: Path | str = CLAIMS_DIR,
    ):
        self.base = Path(base_dir).resolve()
        self.cache = Path(cache_dir)
        self.claims = Path(claims_dir)
        self.rootfs = self.cache / f"rootfs-{hashlib.sha256(_recipe().encode()).hexdigest()[:12]}"
        self.runs = self.base / "run"
        self.key = self.base / "ssh" / "id_ed25519"
        self.known_hosts = self.base / "ssh" / "known_hosts"
        # Interface names are at most 15 characters: "osm" + 6 hex digits (+ "h" + last octet for a veth).
        self.ident = hashlib.sha256(str(self.base).encode()).hexdigest()[:6]
        self.bridge = f"osm{self.ident}"
        pinned = subnet or os.environ.get(SUBNET_ENV)
        self._pinned = bool(pinned)
        self._subnet = ipaddress.ip_network(pinned) if pinned else None

    @property
    def subnet(self) -> ipaddress.IPv4Network:
        """This set's /24: pinned, or claimed on first use (see _claim_subnet)."""
        if self._subnet is None:
            self._subnet = self._claim_subnet()
        return self._subnet

    @property
    def host_ip(self) -> str:
        return str(next(self.subnet.hosts()))

    def network(self) -> dict:
        """The host-wide names of this set (what `python -m tests.sandbox.machines network` prints)."""
        return {"bridge": self.bridge, "subnet": str(self.subnet), "host_ip": self.host_ip, "dir": str(self.base)}

    # ---------------------------------------------------------------- preconditions and the cached root fs
    def check_host(self) -> None:
        """Fail early, naming the missing piece, instead of half-creating a machine."""
        if os.geteuid() != 0:
            raise MachineError("systemd-nspawn machines need root (network namespaces, mounts): run as root")
        for tool, pkg in (
            ("systemd-nspawn", "systemd-container"),
            ("debootstrap", "debootstrap"),
            ("ip", "iproute2"),
            ("ssh", "openssh-client"),
            ("ssh-keygen", "openssh-client"),
        ):
            if not shutil.which(tool):
                raise MachineError(f"{tool} not found: apt-get install {pkg} (listed in tools/apt-packages.txt; `make bootstrap` installs it)")

    @contextlib.contextmanager
    def _lock(self, where: Path | None = None) -> Iterator[None]:
        where = where or self.base
        where.mkdir(parents=True, exist_ok=True)
        with open(where / ".lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def ensure_rootfs(self, log=print) -> Path:
        """debootstrap the Debian root fs once per recipe into the host's cache; later calls (any set) reuse it.

        A new recipe gets a new directory, so machines of other sets never lose the lower dir they run on."""
        stamp = self.rootfs.with_suffix(".stamp")
        self.cache.mkdir(parents=True, exist_ok=True)
        with self._lock(self.cache):
            if self.rootfs.is_dir() and stamp.is_file() and stamp.read_text() == _recipe():
                self._ensure_key()
                return self.rootfs
            tmp = self.rootfs.with_suffix(".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            log(f"[machines] debootstrap {SUITE} into {tmp} (once; a few minutes)")
            t0 = time.monotonic()
            res = subprocess.run(
                ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE, str(tmp), MIRROR],
                capture_output=True,
                text=True,
                check=False,
            )
            if res.returncode != 0:
                tail = "\n".join((res.stdout + res.stderr).splitlines()[-15:])
                raise MachineError(f"debootstrap failed (rc={res.returncode}); is {MIRROR} reachable? Last lines:\n{tail}")
            self._customise(tmp)
            shutil.rmtree(self.rootfs, ignore_errors=True)
            tmp.rename(self.rootfs)
            stamp.write_text(_recipe())
            log(f"[machines] root fs ready in {time.monotonic() - t0:.0f}s")
            self._ensure_key()
            return self.rootfs

    @staticmethod
    def _customise(root: Path) -> None:
        for unit in MASKED_UNITS:
            link = root / "etc/systemd/system" / unit
            link.unlink(missing_ok=True)
            link.symlink_to("/dev/null")
        # Host keys are generated per machine at boot time; the image must not carry shared ones.
        for key in (root / "etc/ssh").glob("ssh_host_*"):
            key.unlink()
        (root / "etc/ssh/sshd_config.d/sandbox.conf").write_text(
            "# Key-only root login for Ansible; no DNS lookups (there is no resolver on the machines' subnet).\n"
            "PermitRootLogin prohibit-password\nPasswordAuthentication no\nUseDNS no\n"
        )
        (root / "etc/machine-id").write_text("")
        (root / "etc/resolv.conf").unlink(missing_ok=True)
        (root / "etc/resolv.conf").write_text("# no resolver: the machines' subnet has no route out\n")
        shutil.rmtree(root / "var/cache/apt/archives", ignore_errors=True)
        (root / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)

    def _ensure_key(self) -> None:
        if not self.key.is_file():
            self.key.parent.mkdir(parents=True, exist_ok=True)
            _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "openedx-scale-machines", "-f", str(self.key)])

    # ---------------------------------------------------------------- state
    def _state_dirs(self) -> Iterable[Path]:
        return sorted(p for p in self.runs.glob("*") if (p / "machine.json").is_file()) if self.runs.is_dir() else []

    def _load(self, sd: Path) -> Machine:
        m = Machine(**json.loads((sd / "machine.json").read_text()))
        m.state = "running" if _pid_alive(m.pid) else "dead"
        return m

    def list(self) -> list[Machine]:
        return [self._load(sd) for sd in self._state_dirs()]

    def get(self, name: str) -> Machine | None:
        sd = self.runs / name
        return self._load(sd) if (sd / "machine.json").is_file() else None

    def _allocate_ip(self) -> str:
        used = {m.ip for m in self.list()}
        for host in list(self.subnet.hosts())[9:250]:
            if str(host) not in used:
                return str(host)
        raise MachineError(f"no free address left in {self.subnet}: remove machines with `down`")

    def _write_known_hosts(self) -> None:
        """Call under _lock(). Another process may be removing a machine (its `down` does not hold the lock while it
        deletes the state directory): a machine whose files are gone has no line."""
        lines = []
        for sd in self._state_dirs():
            try:
                m = json.loads((sd / "machine.json").read_text())
                pub = (sd / "host_key.pub").read_text().split()
            except FileNotFoundError:
                continue
            lines.append(f"{m['ip']} {pub[0]} {pub[1]}\n")
        self.known_hosts.parent.mkdir(parents=True, exist_ok=True)
        # Atomic: ssh in another process may be reading it.
        tmp = self.known_hosts.with_suffix(".tmp")
        tmp.write_text("".join(lines))
        tmp.replace(self.known_hosts)

    # ---------------------------------------------------------------- network
    def _bridge_subnet(self) -> ipaddress.IPv4Network | None:
        """The /24 on this set's bridge, when the bridge exists (its machines may be running on it)."""
        out = _run(["ip", "-4", "-o", "addr", "show", "dev", self.bridge], check=False).stdout.split()
        return next((ipaddress.ip_interface(w).network for i, w in enumerate(out) if i and out[i - 1] == "inet"), None)

    def _claim_subnet(self) -> ipaddress.IPv4Network:
        """A /24 of 10.199.0.0/16 for this set, the same on every call while it is claimed.

        Under a host-wide lock: the bridge's own /24 if it exists, else this set's claim, else the first free /24 from
        a start derived from the set's directory. Free: no other set's claim (an owner whose directory is gone has
        released it) and no address of any link on this host in it (older checkouts' osm-br0 included)."""
        self.base.mkdir(parents=True, exist_ok=True)  # a claim lives as long as its owner's directory
        with self._lock(self.claims):
            on_bridge = self._bridge_subnet()
            if on_bridge:
                return on_bridge
            used = set()
            for line in _run(["ip", "-4", "-o", "addr", "show"]).stdout.splitlines():
                words = line.split()
                if "inet" in words:
                    used.add(ipaddress.ip_interface(words[words.index("inet") + 1]).network)
            owners = {}
            for claim in self.claims.glob("[0-9]*"):
                with contextlib.suppress(OSError, ValueError):
                    owners[int(claim.name)] = claim.read_text().strip()
            mine = [o for o, d in owners.items() if d == str(self.base)]
            start = int(self.ident, 16) % 254 + 1
            order = mine + [(start - 1 + i) % 254 + 1 for i in range(254)]
            for octet in order:
                net = ipaddress.ip_network(f"10.199.{octet}.0/24")
                owner = owners.get(octet)
                if octet == LEGACY_OCTET or (owner and owner != str(self.base) and Path(owner).is_dir()):
                    continue
                if any(net.overlaps(u) for u in used):
                    continue
                for stale in mine:
                    if stale != octet:
                        (self.claims / str(stale)).unlink(missing_ok=True)
                (self.claims / str(octet)).write_text(f"{self.base}\n")
                return net
        raise MachineError(f"no free /24 in 10.199.0.0/16 for {self.base}: remove other checkouts' machines, or set {SUBNET_ENV}=<a free /24>")

    def _release_subnet(self) -> None:
        with self._lock(self.claims):
            for claim in self.claims.glob("[0-9]*"):
                with contextlib.suppress(OSError):
                    if claim.read_text().strip() == str(self.base):
                        claim.unlink()

    def _ensure_bridge(self) -> None:
        if _run(["ip", "link", "show", self.bridge], check=False).returncode != 0:
            if not self._pinned:
                self._subnet = None  # released with the bridge (maybe by another process): claim again
            _run(["ip", "link", "add", self.bridge, "type", "bridge"])
        addr = f"{self.host_ip}/{self.subnet.prefixlen}"
        if addr not in _run(["ip", "-4", "-o", "addr", "show", "dev", self.bridge]).stdout:
            _run(["ip", "addr", "add", addr, "dev", self.bridge])
        _run(["ip", "link", "set", self.bridge, "up"])

    def ensure_network(self) -> dict:
        """Create this set's bridge (a service for the machines, like the LMS stand-in, listens on its address)."""
        self.check_host()
        with self._lock():
            self._ensure_bridge()
        return self.network()

    def _drop_bridge_if_unused(self) -> None:
        # Only this set's own bridge: other sets (other checkouts, tests beside them) have their own.
        if not any(self._state_dirs()):
            _run(["ip", "link", "del", self.bridge], check=False)
            if not self._pinned:
                self._release_subnet()
                self._subnet = None

    def _setup_netns(self, m: Machine) -> None:
        ns = m.netns
        _run(["ip", "netns", "del", ns], check=False)
        _run(["ip", "link", "del", m.veth], check=False)
        _run(["ip", "netns", "add", ns])
        # The machine end is created directly inside its namespace and named like a VM's first NIC.
        _run(["ip", "link", "add", m.veth, "type", "veth", "peer", "name", "eth0", "netns", ns])
        _run(["ip", "link", "set", m.veth, "master", self.bridge, "up"])
        _run(["ip", "-n", ns, "addr", "add", f"{m.ip}/{self.subnet.prefixlen}", "dev", "eth0"])
        _run(["ip", "-n", ns, "link", "set", "lo", "up"])
        _run(["ip", "-n", ns, "link", "set", "eth0", "up"])

    def _teardown_netns(self, m: Machine) -> None:
        if m.netns:
            _run(["ip", "netns", "del", m.netns], check=False)  # destroys eth0 and with it the veth pair
        if m.veth:
            _run(["ip", "link", "del", m.veth], check=False)

    # ---------------------------------------------------------------- lifecycle
    def up(self, names: Iterable[str], cpus: int | dict[str, int] | None = None, timeout: float = 90.0, log=print) -> list[Machine]:
        """Boot the named machines (in parallel) and return them once sshd answers and systemd reached `running`."""
        names = list(dict.fromkeys(names))
        bad = [n for n in names if not NAME_RE.match(n)]
        if bad:
            raise MachineError(f"invalid machine name(s) {bad}: use lowercase letters, digits and '-', starting with a letter, at most 31 chars")
        host_cpus = len(os.sched_getaffinity(0))
        per = {n: (cpus.get(n) if isinstance(cpus, dict) else cpus) for n in names}
        for n, c in per.items():
            if c is not None and not 1 <= c <= host_cpus:
                raise MachineError(f"--cpus {c} for {n}: must be between 1 and this host's {host_cpus} CPUs (machines share the host's cores)")
        self.check_host()
        self.ensure_rootfs(log=log)
        new: list[Machine] = []
        try:
            for n in names:
                existing = self.get(n)
                if existing and existing.state == "running":
                    continue  # already up: `up` is idempotent
                if existing:
                    self._remove(existing)  # a crashed machine's leftovers
                try:
                    new.append(self._start(n, per[n] or host_cpus))
                except BaseException:
                    partial = self.get(n)
                    if partial:
                        self._remove(partial)
                    raise
            deadline = time.monotonic() + timeout
            for i, m in enumerate(new):
                try:
                    self._wait_ready(m, deadline, log=log)
                except MachineExited as exc:
                    # Seen a few times in CI right after other machines were torn down: nspawn ended at once with an
                    # empty console. One fresh start (new overlay, namespace and address) is the whole remedy.
                    log(f"{m.name}: {str(exc).splitlines()[0]}; starting it once more")
                    self._remove(m)
                    new[i] = self._start(m.name, m.cpus)
                    self._wait_ready(new[i], max(deadline, time.monotonic() + timeout / 2), log=log)
        except BaseException:
            # Only what this call booted is rolled back; machines that were already running stay.
            with contextlib.suppress(Exception):
                self.down([m.name for m in new])
            raise
        return [self.get(n) for n in names]

    def _start(self, name: str, cpus: int) -> Machine:
        with self._lock():
            self._ensure_bridge()
            sd = self.runs / name
            shutil.rmtree(sd, ignore_errors=True)
            for sub in ("upper", "work", "merged"):
                (sd / sub).mkdir(parents=True)
            ip = self._allocate_ip()
            m = Machine(name=name, ip=ip, cpus=cpus, pid=0, netns=f"osm{self.ident}-{name}", veth=f"osm{self.ident}h{ip.rsplit('.', 1)[1]}")
            # Reserve the address before releasing the lock; pid is filled in once nspawn runs.
            (sd / "machine.json").write_text(json.dumps(asdict(m)))
            _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"root@{name}", "-f", str(sd / "host_key")])
        _run(["mount", "-t", "overlay", "overlay", "-o", f"lowerdir={self.rootfs},upperdir={sd / 'upper'},workdir={sd / 'work'}", str(sd / "merged")])
        root = sd / "merged"
        (root / "etc/hostname").write_text(name + "\n")
        (root / "etc/hosts").write_text(f"127.0.0.1 localhost\n{ip} {name}\n")
        (root / "etc/machine-id").write_text(os.urandom(16).hex() + "\n")
        for unit in MACHINE_MASKED_UNITS:
            link = root / "etc/systemd/system" / unit
            link.unlink(missing_ok=True)
            link.symlink_to("/dev/null")
        shutil.copy(sd / "host_key", root / "etc/ssh/ssh_host_ed25519_key")
        shutil.copy(sd / "host_key.pub", root / "etc/ssh/ssh_host_ed25519_key.pub")
        os.chmod(root / "etc/ssh/ssh_host_ed25519_key", 0o600)
        (root / "root/.ssh").mkdir(mode=0o700, exist_ok=True)
        shutil.copy(self.key.with_suffix(".pub"), root / "root/.ssh/authorized_keys")
        os.chmod(root / "root/.ssh/authorized_keys", 0o600)
        self._setup_netns(m)
        cmd = [
            "systemd-nspawn",
            "--boot",
            "--quiet",
            f"--directory={root}",
            f"--machine={name}",
            f"--hostname={name}",
            f"--network-namespace-path=/run/netns/{m.netns}",
            "--register=no",
            "--keep-unit",
            "--console=passive",
            "--link-journal=no",
            "--resolv-conf=off",
            "--timezone=off",
            "--capability=CAP_NET_ADMIN",  # nftables and net sysctls inside the machine's own namespace
            f"--cpu-affinity=0-{cpus - 1}",
        ]
        logf = open(sd / "console.log", "w")
        # --network-namespace-path does not count as a private network for nspawn, which would leave /proc/sys/net
        # read-only; this documented switch makes exactly that subtree writable (sysctls are per namespace there).
        env = {**os.environ, "SYSTEMD_NSPAWN_API_VFS_WRITABLE": "network"}
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True, env=env)
        logf.close()
        m.pid = proc.pid
        (sd / "machine.json").write_text(json.dumps(asdict(m)))
        with self._lock():
            self._write_known_hosts()
        return m

    def ssh_command(self, m: Machine, *remote: str) -> list[str]:
        return [
            "ssh",
            "-i",
            str(self.key),
            "-o",
            f"UserKnownHostsFile={self.known_hosts}",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=5",
            "-o",
            "LogLevel=ERROR",
            f"root@{m.ip}",
            *remote,
        ]

    def ssh(self, m: Machine | str, *remote: str, timeout: float = 60) -> subprocess.CompletedProcess:
        m = self.get(m) if isinstance(m, str) else m
        return subprocess.run(self.ssh_command(m, *remote), capture_output=True, text=True, timeout=timeout, check=False)

    def _wait_ready(self, m: Machine, deadline: float, log=print) -> None:
        sd = self.runs / m.name
        while True:
            if not _pid_alive(m.pid):
                status = ""
                with contextlib.suppress(ChildProcessError):
                    pid, code = os.waitpid(m.pid, os.WNOHANG)  # our child: reap it and say how it ended
                    status = f" (exit status {os.waitstatus_to_exitcode(code)})" if pid else ""
                raise MachineExited(
                    f"machine {m.name} exited while booting{status}; console log {sd / 'console.log'}:\n"
                    + "\n".join((sd / "console.log").read_text(errors="replace").splitlines()[-20:])
                )
            try:
                with socket.create_connection((m.ip, 22), timeout=1) as s:
                    s.settimeout(2)
                    if s.recv(64).startswith(b"SSH-"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise MachineError(f"machine {m.name} ({m.ip}) has no sshd after the boot timeout; see {sd / 'console.log'}")
            time.sleep(0.2)
        self._settle_systemd(m, deadline, log)

    def _settle_systemd(self, m: Machine, deadline: float, log=print) -> None:
        """Wait for systemd to reach `running`; boot units that failed are started once more before giving up.

        Under heavy host load a oneshot boot unit (tmpfiles, sysusers, ...) now and then fails on a transient error and
        leaves the machine "degraded"; a second start of just those units is what an operator would do.
        """
        state = self._system_state(m, deadline)
        if state == "degraded":
            failed = self._failed_units(m)
            log(f"{m.name}: systemd is degraded ({', '.join(failed) or 'no unit listed'}); starting the failed units once more")
            if failed:
                self.ssh(m, "systemctl", "reset-failed", *failed)
                self.ssh(m, "systemctl", "restart", *failed, timeout=max(5, deadline - time.monotonic()))
            state = self._system_state(m, deadline)
        if state != "running":
            failed = "\n".join(self._failed_units(m, detail=True))
            raise MachineError(f"machine {m.name}: systemd is {state!r}, failed units:\n{failed}")

    def _system_state(self, m: Machine, deadline: float) -> str:
        res = self.ssh(m, "systemctl", "is-system-running", "--wait", timeout=max(5, deadline - time.monotonic()))
        return res.stdout.strip() or res.stderr.strip()

    def _failed_units(self, m: Machine, detail: bool = False) -> list[str]:
        lines = self.ssh(m, "systemctl", "--failed", "--no-legend", "--plain").stdout.splitlines()
        return [line.strip() if detail else line.split()[0] for line in lines if line.strip()]

    def down(self, names: Iterable[str] | None = None, timeout: float = 30.0) -> list[str]:
        """Power the machines off (clean systemd shutdown, then SIGKILL) and remove every trace of them."""
        targets = self.list() if names is None else [m for m in (self.get(n) for n in names) if m]
        for m in targets:
            if m.state == "running":
                # nspawn turns SIGTERM into SIGRTMIN+3 for the container's systemd: an orderly poweroff.
                with contextlib.suppress(ProcessLookupError):
                    os.kill(m.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for m in targets:
            while _pid_alive(m.pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            self._remove(m)
        with self._lock():
            self._write_known_hosts()
            self._drop_bridge_if_unused()
        return [m.name for m in targets]

    def _remove(self, m: Machine) -> None:
        if _pid_alive(m.pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(m.pid, signal.SIGKILL)
            for _attempt in range(100):
                if not _pid_alive(m.pid):
                    break
                time.sleep(0.05)
        if m.pid > 0:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(m.pid, os.WNOHANG)  # reap it when this process started it
        sd = self.runs / m.name
        merged = sd / "merged"
        if os.path.ismount(merged):
            _run(["umount", str(merged)], check=False)
            if os.path.ismount(merged):
                _run(["umount", "-l", str(merged)])
        self._teardown_netns(m)
        shutil.rmtree(sd, ignore_errors=True)

    # ---------------------------------------------------------------- Ansible
    def host_vars(self, m: Machine) -> dict:
        return {
            "ansible_host": m.ip,
            "ansible_user": "root",
            "ansible_ssh_private_key_file": str(self.key),
            "ansible_ssh_common_args": f"-o UserKnownHostsFile={self.known_hosts} -o StrictHostKeyChecking=yes",
            "ansible_python_interpreter": "/usr/bin/python3",
        }

    def inventory(self, groups: dict[str, list[str]] | None = None) -> dict:
        """An Ansible inventory of the running machines: all in `machines`, plus any extra `groups`."""
        running = {m.name: m for m in self.list() if m.state == "running"}
        inv: dict = {"all": {"children": {"machines": {"hosts": {n: self.host_vars(m) for n, m in running.items()}}}}}
        for group, members in (groups or {}).items():
            missing = [n for n in members if n not in running]
            if missing:
                raise MachineError(f"group {group}: machine(s) {missing} are not running (`up` them first)")
            inv["all"]["children"][group] = {"hosts": {n: {} for n in members}}
        return inv


@contextlib.contextmanager
def machines(names: Iterable[str], cpus: int | dict[str, int] | None = None, base_dir: Path | str = BASE_DIR) -> Iterator[dict[str, Machine]]:
    """Boot machines for the duration of a `with` block and remove them afterwards, whatever happens inside."""
    names = list(names)
    mgr = Machines(base_dir)
    booted = mgr.up(names, cpus=cpus, log=lambda msg: print(msg, file=sys.stderr))
    try:
        yield {m.name: m for m in booted}
    finally:
        mgr.down(names)


def host_leftovers(names: Iterable[str], ips: Iterable[str], base_dir: Path | str = BASE_DIR) -> dict[str, list[str]]:
    """What machines `names` (with addresses `ips`) left on the host; tests use it to prove `down` cleans up fully."""
    mgr = Machines(base_dir)
    runs = [str(mgr.runs / n) + "/" for n in names]
    netns = {f"osm{mgr.ident}-{n}" for n in names}
    veths = {f"osm{mgr.ident}h{ip.rsplit('.', 1)[1]}" for ip in ips}
    left_ns = [ln.split()[0] for ln in _run(["ip", "netns", "list"]).stdout.splitlines() if ln.split()[0] in netns]
    links = [ln.split(":")[1].strip().split("@")[0] for ln in _run(["ip", "-o", "link", "show"]).stdout.splitlines()]
    procs = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit() and _pid_alive(int(p.name)):
            with contextlib.suppress(OSError):
                if any(r in (p / "cmdline").read_bytes().decode(errors="replace") for r in runs):
                    procs.append(p.name)
    mounts = [ln.split()[1] for ln in Path("/proc/mounts").read_text().splitlines() if any(ln.split()[1].startswith(r) for r in runs)]
    return {"netns": left_ns, "links": [ln for ln in links if ln in veths], "processes": procs, "mounts": mounts}
