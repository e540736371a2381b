"""A real Kubernetes control plane on loopback, with simulated OKE nodes.

`build` compiles kube-apiserver, kube-controller-manager, kube-scheduler and etcd (one Go module,
go/kubernetes: k8s.io/kubernetes v1.35.4) and kwok (go/kwok) from the Go module proxy. `up` generates a
CA and certificates, starts etcd, the API server, the controller-manager, the scheduler, kwok (the
kubelet of every simulated node) and the OCI stand-in (cloud.py: block volumes for PVCs, load-balancer
addresses), then registers the nodes of a node set (nodesets/<name>.yml) and waits until they are Ready.

Where things live (see docs/testbed.md):
- build/kube/ (KUBE_TESTBED_DIR): bin/, pki/, etcd/, logs/, run/ (pid files), kubeconfig, state.json.
- the Go caches and a cache of built binaries keyed by the module files, Go version and flags:
  KUBE_TESTBED_CACHE, default ~/.cache/openedx-scale-kube. Outside the checkout on purpose, so a fresh
  clone (CI's) on the same machine starts warm; an empty or missing cache dir is a cold build.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from ipaddress import ip_network
from pathlib import Path

import yaml

from tests.helpers.net import free_port
from tests.rehearsal import inventory_path
from tests.sandbox.discovery import DISCOVERY
from tests.sandbox.kube import pki as pkimod
from tests.sandbox.kube.build import K8S_VERSION, TestbedError, build, log, state_dir
from tests.sandbox.lms.edx_platform import ACCOUNTS_ENV
from tests.sandbox.lms.edx_platform import PLATFORM as LMS_PLATFORM

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
FAKE_NODE_ANNOTATION = ("kwok.x-k8s.io/node", "fake")
# Where the API server reaches the kubelet API of every node (kwok's server, with its own certificate).
KUBELET_HOST = "localhost"
NODESETS = HERE / "nodesets"

COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "cloud")


def _node_matches(node, body: dict) -> bool:
    """True when a registered node carries the wanted node's labels and capacity."""
    labels = node.metadata.labels or {}
    capacity = (node.status.capacity or {}) if node.status else {}
    want = body["metadata"]["labels"]
    return all(labels.get(k) == v for k, v in want.items()) and all(capacity.get(k) == v for k, v in body["status"]["capacity"].items())


# ------------------------------------------------------------------------------------------- node sets


@dataclass
class Pool:
    name: str
    count: int
    shape: str
    ocpus: int
    memory_gbs: int
    max_pods: int
    subnet: str
    labels: dict = field(default_factory=dict)
    taints: list = field(default_factory=list)


@dataclass
class NodeSet:
    name: str
    region: str
    zone: str
    pool_label_key: str
    pools: list[Pool]
    fault_domains: list[str] = field(default_factory=lambda: ["FAULT-DOMAIN-1", "FAULT-DOMAIN-2", "FAULT-DOMAIN-3"])

    def nodes(self) -> list[dict]:
        """Node objects as OKE registers them (labels, capacity), annotated for kwok to manage."""
        out = []
        for pool in self.pools:
            hosts = ip_network(pool.subnet).hosts()
            next(hosts)  # the subnet's first address is the gateway
            for i in range(1, pool.count + 1):
                name = f"oke-{pool.name}-{i}"
                ip = str(next(hosts))
                # OKE spreads a pool's nodes over its placement's fault domains.
                fault_domain = self.fault_domains[(i - 1) % len(self.fault_domains)]
                # x86 flex shapes: one OCPU is two hardware threads.
                resources = {"cpu": str(pool.ocpus * 2), "memory": f"{pool.memory_gbs}Gi", "pods": str(pool.max_pods), "ephemeral-storage": "47Gi"}
                labels = {
                    "kubernetes.io/hostname": name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "node.kubernetes.io/instance-type": pool.shape,
                    "topology.kubernetes.io/region": self.region,
                    "topology.kubernetes.io/zone": self.zone,
                    "oci.oraclecloud.com/fault-domain": fault_domain,
                    self.pool_label_key: pool.name,
                    **pool.labels,
                }
                out.append(
                    {
                        "apiVersion": "v1",
                        "kind": "Node",
                        "metadata": {
                            "name": name,
                            "labels": labels,
                            "annotations": {FAKE_NODE_ANNOTATION[0]: FAKE_NODE_ANNOTATION[1], "node.alpha.kubernetes.io/ttl": "0"},
                        },
                        "spec": {"taints": list(pool.taints)} if pool.taints else {},
                        "status": {
                            "capacity": resources,
                            "allocatable": resources,
                            # InternalIP as OKE's worker subnet hands it out; InternalDNS is where the API server
                            # reaches this node's kubelet API (exec): kwok plays every kubelet on loopback.
                            "addresses": [
                                {"type": "InternalIP", "address": ip},
                                {"type": "Hostname", "address": name},
                                {"type": "InternalDNS", "address": KUBELET_HOST},
                            ],
                            "nodeInfo": {
                                "architecture": "amd64",
                                "operatingSystem": "linux",
                                "osImage": "Oracle Linux Server 8.10",
                                "kernelVersion": "5.15.0-simulated",
                                "containerRuntimeVersion": "cri-o://1.35.0",
                                "kubeletVersion": K8S_VERSION,
                                "kubeProxyVersion": "",
                                "machineID": "",
                                "systemUUID": "",
                                "bootID": "",
                            },
                        },
                    }
                )
        return out


def _inventory_vars(inventory: str, path: Path) -> dict:
    """Literal values of an inventory's group_vars/all/*.yml (the test bed does not template)."""
    gv = inventory_path(inventory) / "group_vars" / "all"
    if not gv.is_dir():
        raise TestbedError(f"{path}: inventory {inventory!r} has no {gv.relative_to(REPO)}; set `inventory` to sandbox or a directory of inventories/")
    out: dict = {}
    for f in sorted(gv.glob("*.yml")):
        out.update(yaml.safe_load(f.read_text()) or {})
    return out


def _literal(inv: dict, key: str, path: Path, inventory: str):
    if key not in inv:
        raise TestbedError(f"{path}: {inventory_path(inventory).relative_to(REPO)} does not define {key}; define it there or give the value in the node set")
    value = inv[key]
    if "{{" in json.dumps(value):
        raise TestbedError(f"{path}: {key} in {inventory_path(inventory).relative_to(REPO)} is templated ({value!r}); give the value in the node set instead")
    return value


def load_nodeset(name_or_path: str) -> NodeSet:
    """Read nodesets/<name>.yml (or a path); pool sizes and shapes come from its `inventory` if it names one."""
    path = Path(name_or_path)
    if not path.suffix:
        path = NODESETS / f"{name_or_path}.yml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in NODESETS.glob("*.yml")))
        raise TestbedError(f"node set {name_or_path!r} not found: give one of {known} or a path to a YAML file like them")
    data = yaml.safe_load(path.read_text()) or {}
    inventory = data.get("inventory")
    inv = _inventory_vars(inventory, path) if inventory else {}
    if inventory:
        data.setdefault("region", _literal(inv, "openedx_scale_region", path, inventory))
        data.setdefault("pool_label_key", _literal(inv, "openedx_scale_pool_label_key", path, inventory))
        data.setdefault("fault_domains", _literal(inv, "oke_cluster_fault_domains", path, inventory))
    missing = [k for k in ("region", "zone", "pool_label_key", "pools") if k not in data]
    if missing:
        raise TestbedError(f"{path}: missing {', '.join(missing)}; give them, or `inventory` to read them from (see nodesets/sandbox.yml)")
    pools = []
    for i, raw in enumerate(data["pools"]):
        p = dict(raw)
        if inventory:
            name = p.get("name", "")
            p.setdefault("count", _literal(inv, f"oke_cluster_{name}_count", path, inventory))
            shape = _literal(inv, f"oke_cluster_{name}_shape", path, inventory)
            p.setdefault("shape", shape["shape"])
            p.setdefault("ocpus", shape["ocpus"])
            p.setdefault("memory_gbs", shape["memory_in_gbs"])
        try:
            pools.append(Pool(**p))
        except TypeError as exc:
            raise TestbedError(f"{path}: pools[{i}]: {exc}; fields are name, count, shape, ocpus, memory_gbs, max_pods, subnet, labels, taints") from exc
    fds = data.get("fault_domains") or ["FAULT-DOMAIN-1", "FAULT-DOMAIN-2", "FAULT-DOMAIN-3"]
    return NodeSet(path.stem, data["region"], data["zone"], data["pool_label_key"], pools, list(fds))


# ----------------------------------------------------------------------------------------- processes


def _kubeconfig(path: Path, server: str, ca: Path, crt: Path, key: Path, user: str) -> None:
    cfg = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "testbed", "cluster": {"server": server, "certificate-authority": str(ca)}}],
        "users": [{"name": user, "user": {"client-certificate": str(crt), "client-key": str(key)}}],
        "contexts": [{"name": "testbed", "context": {"cluster": "testbed", "user": user}}],
        "current-context": "testbed",
    }
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    path.chmod(0o600)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (our own child not yet reaped) is not alive.
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z"):
            return False
    return True


def _ours(pid: int) -> bool:
    """Only signal processes this test bed started: their command line names our state dir."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    return str(state_dir()) in cmdline


class Testbed:
    __test__ = False  # not a pytest test class, despite the name

    def __init__(self) -> None:
        self.dir = state_dir()
        self.run = self.dir / "run"
        self.logs = self.dir / "logs"
        self.pki = pkimod.Pki(self.dir / "pki")
        self.kubeconfig = self.dir / "kubeconfig"
        self.state_file = self.dir / "state.json"

    # -- state
    def state(self) -> dict:
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {}

    def _save(self, st: dict) -> None:
        self.state_file.write_text(json.dumps(st, indent=2) + "\n")

    def pid(self, comp: str) -> int | None:
        try:
            return int((self.run / f"{comp}.pid").read_text())
        except (OSError, ValueError):
            return None

    # -- lifecycle
    def _start(self, comp: str, argv: list[str], env: dict | None = None, cwd: Path | None = None) -> None:
        log = (self.logs / f"{comp}.log").open("ab")
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd or self.dir,
            env=env,
            start_new_session=True,
        )
        log.close()
        (self.run / f"{comp}.pid").write_text(f"{proc.pid}\n")

    def _https_ok(self, url: str, client: str | None = None, timeout: float = 2.0) -> bool:
        ctx = ssl.create_default_context(cafile=str(self.pki.ca))
        if client:
            ctx.load_cert_chain(str(self.pki.crt(client)), str(self.pki.key(client)))
        else:
            # Controller-manager and scheduler serve healthz with a self-signed cert they make at start.
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        try:
            with urllib.request.urlopen(url, context=ctx, timeout=timeout) as r:  # loopback https only
                return r.status == 200
        except (urllib.error.URLError, OSError, ssl.SSLError):
            return False

    def _wait(self, what: str, check, timeout: float, comp: str | None = None) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            if comp and (pid := self.pid(comp)) and not _pid_alive(pid):
                raise TestbedError(f"{comp} exited during start-up; see {self.logs / (comp + '.log')}:\n{self._tail(comp)}")
            time.sleep(0.25)
        raise TestbedError(f"timed out after {timeout:.0f}s waiting for {what}; logs in {self.logs}" + (f":\n{self._tail(comp)}" if comp else ""))

    def _tail(self, comp: str, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "".join((self.logs / f"{comp}.log").read_text(errors="replace").splitlines(keepends=True)[-lines:])
        return ""

    def health(self) -> dict[str, bool]:
        st = self.state()
        ports = st.get("ports", {})
        out = {}
        for comp in COMPONENTS:
            pid = self.pid(comp)
            alive = bool(pid) and _pid_alive(pid) and _ours(pid)
            if alive and comp == "etcd":
                alive = self._https_ok(f"https://127.0.0.1:{ports['etcd']}/health", client="apiserver-etcd-client")
            elif alive and comp == "kube-apiserver":
                alive = self._https_ok(f"https://127.0.0.1:{ports['apiserver']}/readyz", client="admin")
            elif alive and comp in ("kube-controller-manager", "kube-scheduler"):
                alive = self._https_ok(f"https://127.0.0.1:{ports[comp]}/healthz")
            elif alive and comp == "kwok":
                alive = self._http_ok(f"http://127.0.0.1:{ports['kwok']}/healthz")
            out[comp] = alive
        return out

    def _healthy_or_running(self, patience: float = 60) -> bool:
        """True once every component answers healthy. While all of our processes are alive, a slow answer
        (a loaded machine) is waited for rather than taken as a reason to restart what others may be using."""
        deadline = time.monotonic() + patience
        while True:
            if all(self.health().values()):
                return True
            pids = [self.pid(c) for c in COMPONENTS]
            if not all(pids) or not all(_pid_alive(p) and _ours(p) for p in pids) or time.monotonic() >= deadline:
                return False
            time.sleep(2)

    @staticmethod
    def _http_ok(url: str) -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:  # loopback only
                return r.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def up(self, nodeset: str = "sandbox", reuse: bool = False) -> dict:
        """Start the control plane with the nodes of `nodeset` Ready; return timings."""
        t0 = time.monotonic()
        wanted = load_nodeset(nodeset)
        if reuse and self._healthy_or_running():
            self.apply_nodeset(wanted)
            return {"reused": True, "build": {"source": "ready", "seconds": 0.0}, "up_seconds": round(time.monotonic() - t0, 1)}
        self.down(quiet=True)
        build_result = build()
        try:
            return self._boot(wanted, build_result)
        except BaseException:
            # Leave nothing half-started behind (a failed start must not hold ports or burn CPU).
            self.down(quiet=True)
            raise

    def _boot(self, wanted: NodeSet, build_result: dict) -> dict:
        t1 = time.monotonic()
        for d in (self.run, self.logs):
            d.mkdir(parents=True, exist_ok=True)
        for f in self.logs.glob("*.log"):
            if not f.name.startswith("build-"):
                f.unlink()
        shutil.rmtree(self.dir / "etcd", ignore_errors=True)
        pkimod.generate(self.pki.root)
        bindir = self.dir / "bin"
        ports = {
            "etcd": free_port(),
            "etcd-peer": free_port(),
            "apiserver": free_port(),
            "kube-controller-manager": free_port(),
            "kube-scheduler": free_port(),
            "kwok": free_port(),
        }
        server = f"https://127.0.0.1:{ports['apiserver']}"
        kubeconfigs = {}
        for comp, stem in (
            ("admin", "admin"),
            ("kube-controller-manager", "controller-manager"),
            ("kube-scheduler", "scheduler"),
            ("kwok", "kwok"),
            ("cloud", "cloud"),
        ):
            path = self.kubeconfig if comp == "admin" else self.dir / f"{stem}.kubeconfig"
            _kubeconfig(path, server, self.pki.ca, self.pki.crt(stem), self.pki.key(stem), stem)
            kubeconfigs[comp] = path
        self._save({"ports": ports, "server": server, "kubeconfig": str(self.kubeconfig), "nodeset": wanted.name, "started": time.time()})

        p = self.pki
        etcd_url = f"https://127.0.0.1:{ports['etcd']}"
        self._start(
            "etcd",
            [
                str(bindir / "etcd"),
                "--name=testbed",
                f"--data-dir={self.dir / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls=https://127.0.0.1:{ports['etcd-peer']}",
                f"--initial-advertise-peer-urls=https://127.0.0.1:{ports['etcd-peer']}",
                f"--initial-cluster=testbed=https://127.0.0.1:{ports['etcd-peer']}",
                f"--cert-file={p.crt('etcd')}",
                f"--key-file={p.key('etcd')}",
                f"--trusted-ca-file={p.ca}",
                "--client-cert-auth",
                f"--peer-cert-file={p.crt('etcd')}",
                f"--peer-key-file={p.key('etcd')}",
                f"--peer-trusted-ca-file={p.ca}",
                "--peer-client-cert-auth",
                # A throw-away store: no fsync per write, small backend quota.
                "--unsafe-no-fsync",
                "--quota-backend-bytes=2147483648",
                "--log-level=warn",
            ],
        )
        self._start(
            "kube-apiserver",
            [
                str(bindir / "kube-apiserver"),
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={ports['apiserver']}",
                f"--etcd-servers={etcd_url}",
                f"--etcd-cafile={p.ca}",
                f"--etcd-certfile={p.crt('apiserver-etcd-client')}",
                f"--etcd-keyfile={p.key('apiserver-etcd-client')}",
                f"--tls-cert-file={p.crt('apiserver')}",
                f"--tls-private-key-file={p.key('apiserver')}",
                f"--client-ca-file={p.ca}",
                "--authorization-mode=Node,RBAC",
                f"--service-cluster-ip-range={pkimod.SERVICE_CIDR}",
                f"--service-account-key-file={p.sa_pub}",
                f"--service-account-signing-key-file={p.sa_key}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                # Endpoints may not hold a loopback address, so the API server does not publish its own.
                "--endpoint-reconciler-type=none",
                f"--requestheader-client-ca-file={p.ca}",
                "--requestheader-allowed-names=front-proxy-client",
                "--requestheader-username-headers=X-Remote-User",
                "--requestheader-group-headers=X-Remote-Group",
                "--requestheader-extra-headers-prefix=X-Remote-Extra-",
                f"--proxy-client-cert-file={p.crt('front-proxy-client')}",
                f"--proxy-client-key-file={p.key('front-proxy-client')}",
                "--allow-privileged=true",
                # exec/logs go to kwok's kubelet API, named by each node's InternalDNS address (see NodeSet.nodes).
                "--kubelet-preferred-address-types=InternalDNS,InternalIP,Hostname",
                f"--kubelet-certificate-authority={p.ca}",
                "--profiling=false",
                "--v=1",
            ],
        )
        self._wait("kube-apiserver /readyz", lambda: self._https_ok(f"{server}/readyz", client="admin"), 120, comp="kube-apiserver")
        common = ["--bind-address=127.0.0.1", "--leader-elect=false", "--profiling=false", "--v=1"]
        kcm = kubeconfigs["kube-controller-manager"]
        self._start(
            "kube-controller-manager",
            [
                str(bindir / "kube-controller-manager"),
                *common,
                f"--secure-port={ports['kube-controller-manager']}",
                f"--kubeconfig={kcm}",
                f"--authentication-kubeconfig={kcm}",
                f"--authorization-kubeconfig={kcm}",
                f"--service-account-private-key-file={p.sa_key}",
                f"--root-ca-file={p.ca}",
                "--use-service-account-credentials=true",
                f"--cluster-signing-cert-file={p.ca}",
                f"--cluster-signing-key-file={p.key('ca')}",
                f"--service-cluster-ip-range={pkimod.SERVICE_CIDR}",
            ],
        )
        sch = kubeconfigs["kube-scheduler"]
        self._start(
            "kube-scheduler",
            [
                str(bindir / "kube-scheduler"),
                *common,
                f"--secure-port={ports['kube-scheduler']}",
                f"--kubeconfig={sch}",
                f"--authentication-kubeconfig={sch}",
                f"--authorization-kubeconfig={sch}",
            ],
        )
        self._start(
            "kwok",
            [
                str(bindir / "kwok"),
                f"--kubeconfig={kubeconfigs['kwok']}",
                f"--config={self._kwok_config()}",
                f"--manage-nodes-with-annotation-selector={'='.join(FAKE_NODE_ANNOTATION)}",
                f"--server-address=127.0.0.1:{ports['kwok']}",
                # The same port serves the kubelet API over TLS (kwok tells TLS from plain HTTP on one listener).
                f"--node-port={ports['kwok']}",
                f"--tls-cert-file={p.crt('kubelet')}",
                f"--tls-private-key-file={p.key('kubelet')}",
            ],
        )
        env = dict(os.environ, PYTHONPATH=str(REPO))
        self._start("cloud", [sys.executable, "-m", "tests.sandbox.kube.cloud", f"--kubeconfig={kubeconfigs['cloud']}"], env=env, cwd=REPO)
        for comp in ("kube-controller-manager", "kube-scheduler"):
            url = f"https://127.0.0.1:{ports[comp]}/healthz"
            self._wait(f"{comp} /healthz", lambda u=url: self._https_ok(u), 60, comp=comp)
        self._wait("kwok /healthz", lambda: self._http_ok(f"http://127.0.0.1:{ports['kwok']}/healthz"), 60, comp="kwok")
        self._bootstrap_objects()
        self.apply_nodeset(wanted)
        up_seconds = round(time.monotonic() - t1, 1)
        st = self.state()
        st.update(build=build_result, up_seconds=up_seconds)
        self._save(st)
        return {"reused": False, "build": build_result, "up_seconds": up_seconds}

    def _kwok_config(self) -> Path:
        """kwok reads one multi-document file; kwok.yml keeps configuration and stages in one YAML document."""
        data = yaml.safe_load((HERE / "kwok.yml").read_text())
        path = self.dir / "kwok.yaml"
        path.write_text(yaml.safe_dump_all([data["configuration"], *data["stages"], self._lms_exec()], sort_keys=False))
        return path

    def _lms_exec(self) -> dict:
        """`kubectl exec` into a container named lms (any pod, any namespace) runs in the LMS stand-in's edx-platform
        directory, whose manage.py keeps the accounts it creates in lms_accounts (one file per test bed); into one
        named discovery, in course discovery's stand-in, which keeps its courses and programs in the same file (the LMS's
        cache_programs copies them from there)."""
        envs = [
            {"name": ACCOUNTS_ENV, "value": str(self.lms_accounts)},
            # manage.py's `#!/usr/bin/env python`: this environment's interpreter
            {"name": "PATH", "value": f"{Path(sys.executable).parent}:/usr/bin:/bin"},
        ]
        return {
            "apiVersion": "kwok.x-k8s.io/v1alpha1",
            "kind": "ClusterExec",
            "metadata": {"name": "lms"},
            "spec": {
                "execs": [
                    {"containers": ["lms"], "local": {"workDir": str(LMS_PLATFORM), "envs": envs}},
                    {"containers": ["discovery"], "local": {"workDir": str(DISCOVERY), "envs": envs}},
                ]
            },
        }

    @property
    def lms_accounts(self) -> Path:
        """The accounts create_test_users made through `kubectl exec` (JSON; see tests/sandbox/lms/edx_platform)."""
        return self.dir / "lms-accounts.json"

    def mark_started_by(self, who: str) -> None:
        """Record who started the running test bed (the pytest fixture stops only what pytest started)."""
        st = self.state()
        st["started_by"] = who
        self._save(st)

    def down(self, quiet: bool = False) -> list[str]:
        stopped = []
        for comp in reversed(COMPONENTS):
            pid = self.pid(comp)
            if pid and _pid_alive(pid) and _ours(pid):
                os.kill(pid, signal.SIGTERM)
                deadline = time.monotonic() + 15
                while _pid_alive(pid) and time.monotonic() < deadline:
                    time.sleep(0.1)
                if _pid_alive(pid):
                    os.kill(pid, signal.SIGKILL)
                stopped.append(comp)
            with contextlib.suppress(FileNotFoundError):
                (self.run / f"{comp}.pid").unlink()
        if not quiet:
            log(f"stopped: {', '.join(stopped) or 'nothing was running'}")
        return stopped

    # -- API objects
    def client(self):
        from kubernetes import client, config

        return client.ApiClient(configuration=self._config(config))

    def _config(self, config):
        from kubernetes import client

        cfg = client.Configuration()
        config.load_kube_config(config_file=str(self.kubeconfig), client_configuration=cfg)
        return cfg

    def _bootstrap_objects(self) -> None:
        """What an OKE cluster has from the start: the oci-bv StorageClass (default) and the default SA."""
        from kubernetes import client
        from kubernetes.client.rest import ApiException

        api = self.client()
        storage = client.StorageV1Api(api)
        sc = {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": "oci-bv", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "blockvolume.csi.oraclecloud.com",
            "reclaimPolicy": "Delete",
            "volumeBindingMode": "WaitForFirstConsumer",
            "allowVolumeExpansion": True,
        }
        try:
            storage.create_storage_class(sc)
        except ApiException as exc:
            if exc.status != 409:
                raise
        core = client.CoreV1Api(api)
        # Pods can only be created once the service-account controller made the namespace's default SA.
        self._wait("the default ServiceAccount", lambda: bool(core.list_namespaced_service_account("default").items), 60, comp="kube-controller-manager")

    def apply_nodeset(self, ns: NodeSet, timeout: float = 60) -> list[str]:
        """Register the node set's nodes (removing other simulated nodes) and wait until all are Ready."""
        from kubernetes import client
        from kubernetes.client.rest import ApiException

        core = client.CoreV1Api(self.client())
        wanted = {n["metadata"]["name"]: n for n in ns.nodes()}
        existing = {
            n.metadata.name: n for n in core.list_node().items if (n.metadata.annotations or {}).get(FAKE_NODE_ANNOTATION[0]) == FAKE_NODE_ANNOTATION[1]
        }
        # Node sets reuse names (oke-lms-1) with other shapes: a same-named node of another size is
        # replaced, or the scheduler would keep sizing pods against the previous node set's capacity.
        stale = {name for name, body in wanted.items() if name in existing and not _node_matches(existing[name], body)}
        for name in (existing.keys() - wanted.keys()) | stale:
            core.delete_node(name)
        if stale:
            self._wait(
                f"replaced nodes {sorted(stale)} deleted",
                lambda: not stale & {n.metadata.name for n in core.list_node().items},
                timeout,
                comp="kube-apiserver",
            )
        for name, body in wanted.items():
            if name in existing and name not in stale:
                continue
            try:
                core.create_node(body)
            except ApiException as exc:
                if exc.status != 409:
                    raise

        def all_ready() -> bool:
            ready = 0
            for n in core.list_node().items:
                if n.metadata.name in wanted and any(c.type == "Ready" and c.status == "True" for c in (n.status.conditions or [])):
                    ready += 1
            return ready == len(wanted)

        self._wait(f"{len(wanted)} nodes of node set {ns.name} Ready", all_ready, timeout, comp="kwok")
        st = self.state()
        st["nodeset"] = ns.name
        self._save(st)
        return sorted(wanted)
