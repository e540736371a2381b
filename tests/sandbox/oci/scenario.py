"""Scenario files: YAML describing the region, its capacity and the faults to inject.

A scenario is loaded into the dataclasses below. Every field is type-checked and unknown
fields are rejected, so a typo fails at load time with the field's path, e.g.
``scenario jeddah-tight: capacity[1].fault_domian: unknown field (expected one of ...)``.
See docs/sandbox-oci.md for the full reference and scenarios/*.yaml for examples.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .shapes import SHAPES

SCENARIO_DIR = Path(__file__).with_name("scenarios")


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the field and the fix."""


@dataclass
class AvailabilityDomain:
    name: str
    fault_domains: list[str] = field(default_factory=lambda: ["FAULT-DOMAIN-1", "FAULT-DOMAIN-2", "FAULT-DOMAIN-3"])


@dataclass
class CapacityChange:
    """Sets a pool's free capacity once its trigger fires (whichever of the two comes first)."""

    ocpus: float
    memory_gbs: float
    after_seconds: float | None = None  # sandbox-clock seconds since start
    after_failures: int | None = None  # failed placements (OOHC) against this pool


@dataclass
class CapacityPool:
    """Free host capacity for one shape in one fault domain, in OCPUs and GB of memory."""

    fault_domain: str
    shape: str
    ocpus: float
    memory_gbs: float
    availability_domain: str | None = None  # defaults to the only/first AD
    changes: list[CapacityChange] = field(default_factory=list)
    # Largest instance one host can take (fragmented capacity: room for many small VMs, no big one).
    max_instance_ocpus: float | None = None
    max_instance_memory_gbs: float | None = None
    # Capacity reports are advisory on OCI: when set, reports claim this many instances for the
    # pool whatever is really free (a stale AVAILABLE, or a pessimistic 0).
    reported: int | None = None
    # Real reports can say AVAILABLE with availableCount null (oci-cli #748): the report keeps the status, drops the count.
    reported_null: bool = False


@dataclass
class ThrottleWindow:
    start_seconds: float
    duration_seconds: float


@dataclass
class Throttle:
    """429 TooManyRequests: a token bucket refilled at `per_minute` (sandbox clock), plus bursts."""

    per_minute: float | None = None
    burst: int = 10
    operations: list[str] = field(default_factory=lambda: ["*"])
    windows: list[ThrottleWindow] = field(default_factory=list)  # every matching call is throttled inside


@dataclass
class Fault:
    """An error injected on chosen calls of chosen operations.

    Calls are counted per operation from 1 (retries count). Choose them with `calls`, `first`,
    `every` or `probability` (seeded, reproducible). With `applied: true` the request is carried
    out before the error is answered (a false LimitExceeded after the instance was in fact
    created, or a lost response); `stall_seconds` delays the answer in real time so the client's
    read timeout fires.
    """

    operations: list[str]
    status: int = 500
    code: str = "InternalError"
    message: str = "Internal error (sandbox fault injection)."
    calls: list[int] = field(default_factory=list)
    first: int | None = None
    every: int | None = None
    probability: float | None = None
    applied: bool = False
    stall_seconds: float = 0.0
    max_times: int | None = None


@dataclass
class Timings:
    """Sandbox-clock seconds each asynchronous operation takes (accepted -> in progress -> done)."""

    accept: float = 2
    instance_launch: float = 60
    instance_terminate: float = 30
    node_pool_create: float = 240
    node_pool_update: float = 180
    node_pool_delete: float = 60
    cluster_create: float = 420
    cluster_delete: float = 120
    capacity_reservation: float = 10


@dataclass
class MysqlShape:
    """A shape the MySQL service lists (MysqlaasClient.ListShapes; oci SDK oci/mysql/models/shape_summary.py)."""

    name: str
    cpu_core_count: int
    memory_gbs: int
    is_supported_for: list[str] = field(default_factory=lambda: ["DBSYSTEM"])


def _default_mysql_shapes() -> list[MysqlShape]:
    # ECPU shape names as OCI names them (MySQL.<ECPUs>); sizes at HeatWave's 8 GB per vCPU (the shape tables of
    # dev.mysql.com/doc/heatwave-aws/en/heatwave-aws-supported-shapes.html: MySQL.2.16GB, MySQL.4.32GB, MySQL.8.64GB).
    return [MysqlShape("MySQL.2", 2, 16), MysqlShape("MySQL.4", 4, 32), MysqlShape("MySQL.8", 8, 64), MysqlShape("MySQL.16", 16, 128)]


@dataclass
class Mysql:
    """The MySQL HeatWave service. Capacity for a MySQL shape is a `capacity` pool naming it: a standalone DB system takes
    one instance (cpu_core_count cores, memory_gbs) in its fault domain, a highly available one one in each of the AD's
    fault domains. Without a pool for the shape, the service has room."""

    shapes: list[MysqlShape] = field(default_factory=_default_mysql_shapes)
    create_seconds: float = 600
    delete_seconds: float = 120


@dataclass
class IngressRule:
    """One ingress rule of a subnet's security list (oci SDK oci/core/models/ingress_security_rule.py)."""

    source: str
    protocol: str = "6"  # TCP; "all" for every protocol
    port_min: int | None = None
    port_max: int | None = None


@dataclass
class NodePools:
    # Lifecycle of a pool whose nodes failed to launch (OCI shows NEEDS_ATTENTION or stays ACTIVE).
    failed_pool_state: str = "NEEDS_ATTENTION"
    # When false a node only goes to the fault domain round-robin assigns it; when true OKE tries
    # every fault domain of the placement config before failing the node.
    fault_domain_fallback: bool = False
    # OKE keeps reconciling a pool to its size: failed nodes are retried this many sandbox seconds
    # later by a NODEPOOL_RECONCILE work request, then after 2x, 4x, ... while they keep failing; on by
    # default as on OKE (https://github.com/kubernetes/autoscaler/pull/10306); null: never.
    reconcile_after_seconds: float | None = 60
    # Nodes that got capacity but never register: the first N stay UPDATING with an instance and no nodeError while
    # their work request SUCCEEDED (autoscaler's "registration timeouts", kubernetes/autoscaler#8840).
    stuck_nodes: int = 0
    # The first N nodes that got capacity go FAILING (a state of the SDK's Node lifecycle,
    # oci/container_engine/models/node.py) without nodeError after their work request SUCCEEDED.
    failing_nodes: int = 0
    # Nodes that never launched (out of capacity) carry no faultDomain, only their nodeError.
    failed_without_fault_domain: bool = False


@dataclass
class OkeImage:
    """One OKE node image as GetNodePoolOptions lists it (sourceName carries the OS, arch and Kubernetes version)."""

    id: str
    name: str
    architecture: str = "X86_64"  # or AARCH64 (Ampere A1 shapes)
    kubernetes_version: str = "v1.35.4"


def _default_images() -> list[OkeImage]:
    return [
        OkeImage("ocid1.image.oc1.me-jeddah-1.aaaaaaaasandboxoke", "Oracle-Linux-8.10-2026.10.30-0-OKE-1.35.4-1000"),
        OkeImage("ocid1.image.oc1.me-jeddah-1.aaaaaaaasandboxokearm", "Oracle-Linux-8.10-aarch64-2026.10.30-0-OKE-1.35.4-1000", "AARCH64"),
        OkeImage("ocid1.image.oc1.me-jeddah-1.aaaaaaaasandboxoke134", "Oracle-Linux-8.10-2026.08.14-0-OKE-1.34.2-900", kubernetes_version="v1.34.2"),
    ]


@dataclass
class OkeOptions:
    """What GetClusterOptions / GetNodePoolOptions answer in the region (versions, images per architecture)."""

    kubernetes_versions: list[str] = field(default_factory=lambda: ["v1.33.1", "v1.34.2", "v1.35.4"])
    images: list[OkeImage] = field(default_factory=_default_images)


@dataclass
class CapacityReservations:
    enabled: bool = True


@dataclass
class Clock:
    mode: str = "fast"
    request_seconds: float = 0.5
    # Fast mode: a poll of a pending work request jumps to its next transition (quick tests). Benchmarks that
    # count API calls switch it off, so every client pays each poll its own cadence makes.
    jump_on_poll: bool = True


@dataclass
class BootHook:
    """Called when an instance (or node) boots; returns its private IP. See hooks.py."""

    python: str | None = None  # "package.module:function"
    command: list[str] | None = None  # gets the instance JSON on stdin, prints the IP
    kinds: list[str] = field(default_factory=lambda: ["instance"])
    on_terminate_python: str | None = None
    on_terminate_command: list[str] | None = None


@dataclass
class Subnet:
    """A subnet GetSubnet / ListPrivateIps describe. Unlisted subnet OCIDs get settings.private_ip_range."""

    id: str
    cidr_block: str
    # Addresses held by things this sandbox does not model (other tenants' VMs, load balancers, mount targets).
    others_in_use: int = 0
    # Its security list's ingress rules; unset, the default VCN-wide rule (every protocol from 10.0.0.0/16).
    ingress: list[IngressRule] | None = None


@dataclass
class Settings:
    """Run-time settings; a state-dir settings.yaml and PUT /_sandbox/settings override them."""

    kube_api_url: str = "https://127.0.0.1:6443"
    kubeconfig_file: str | None = None  # served verbatim (server rewritten to kube_api_url if set)
    private_ip_range: str = "10.0.10.0/24"
    node_ip_range: str = "10.0.20.0/24"
    page_limit_default: int = 100


@dataclass
class Scenario:
    name: str
    description: str = ""
    region: str = "me-jeddah-1"
    ad_prefix: str = "hxIl"
    seed: int = 1
    availability_domains: list[AvailabilityDomain] = field(default_factory=lambda: [AvailabilityDomain("ME-JEDDAH-1-AD-1")])
    capacity: list[CapacityPool] = field(default_factory=list)
    throttle: Throttle = field(default_factory=Throttle)
    faults: list[Fault] = field(default_factory=list)
    timings: Timings = field(default_factory=Timings)
    node_pools: NodePools = field(default_factory=NodePools)
    capacity_reservations: CapacityReservations = field(default_factory=CapacityReservations)
    oke_options: OkeOptions = field(default_factory=OkeOptions)
    # shape -> max OCPUs in use: LaunchInstance answers LimitExceeded past it, and GetResourceAvailability reports it
    # as the family's core-count limit (a family without one answers a null count, as OCI does for some limits).
    limits: dict[str, float] = field(default_factory=dict)
    subnets: list[Subnet] = field(default_factory=list)
    mysql: Mysql = field(default_factory=Mysql)
    # Operations no IAM policy allows the caller: answered 404 NotAuthorizedOrNotFound, as OCI answers them.
    iam_denied: list[str] = field(default_factory=list)
    clock: Clock = field(default_factory=Clock)
    boot_hook: BootHook = field(default_factory=BootHook)
    settings: Settings = field(default_factory=Settings)
    source: str = ""

    def ad_full_name(self, short: str) -> str:
        return f"{self.ad_prefix}:{short}"


def _fail(where: str, msg: str) -> typing.NoReturn:
    raise ScenarioError(f"{where}: {msg}")


def _convert(tp, value, where: str):
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _convert(args[0], value, where)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, where)
    if origin is list:
        if not isinstance(value, list):
            _fail(where, f"must be a list, got {type(value).__name__}")
        (item,) = typing.get_args(tp)
        return [_convert(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            _fail(where, f"must be a mapping, got {type(value).__name__}")
        item = typing.get_args(tp)[1]
        return {str(k): _convert(item, v, f"{where}.{k}") for k, v in value.items()}
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            _fail(where, f"must be a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(where, f"must be an integer, got {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            _fail(where, f"must be true or false, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            _fail(where, f"must be a string, got {value!r}")
        return value
    raise TypeError(tp)


def _build(cls, data, where: str):
    if not isinstance(data, dict):
        _fail(where, f"must be a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        _fail(f"{where}.{unknown[0]}", f"unknown field (expected one of: {', '.join(sorted(fields))})")
    kwargs = {}
    for name, spec in fields.items():
        if name in data:
            kwargs[name] = _convert(hints[name], data[name], f"{where}.{name}")
        elif spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
            _fail(f"{where}.{name}", "required field is missing")
    return cls(**kwargs)


def _check(sc: Scenario, where: str) -> None:
    """Cross-field rules the types alone cannot express."""
    if not sc.availability_domains:
        _fail(f"{where}.availability_domains", "at least one availability domain is required")
    ads = {ad.name: ad for ad in sc.availability_domains}
    for i, pool in enumerate(sc.capacity):
        at = f"{where}.capacity[{i}]"
        if pool.availability_domain is None:
            pool.availability_domain = sc.availability_domains[0].name
        ad = ads.get(pool.availability_domain)
        if ad is None:
            _fail(f"{at}.availability_domain", f"{pool.availability_domain!r} is not in availability_domains ({', '.join(ads)})")
        if pool.fault_domain not in ad.fault_domains:
            _fail(f"{at}.fault_domain", f"{pool.fault_domain!r} is not a fault domain of {ad.name} ({', '.join(ad.fault_domains)})")
        mysql_shapes = [m.name for m in sc.mysql.shapes]
        if pool.shape not in SHAPES and pool.shape not in mysql_shapes:
            _fail(f"{at}.shape", f"unknown shape {pool.shape!r} (known: {', '.join([*SHAPES, *mysql_shapes])})")
        if pool.ocpus < 0 or pool.memory_gbs < 0:
            _fail(at, "ocpus and memory_gbs must be >= 0")
        for name in ("max_instance_ocpus", "max_instance_memory_gbs", "reported"):
            if getattr(pool, name) is not None and getattr(pool, name) < 0:
                _fail(f"{at}.{name}", "must be >= 0 (omit it for no limit)")
        for j, change in enumerate(pool.changes):
            if change.after_seconds is None and change.after_failures is None:
                _fail(f"{at}.changes[{j}]", "set after_seconds or after_failures (or both)")
    seen = set()
    for pool in sc.capacity:
        key = (pool.availability_domain, pool.fault_domain, pool.shape)
        if key in seen:
            _fail(f"{where}.capacity", f"duplicate pool for {key}; merge them into one entry")
        seen.add(key)
    for i, fault in enumerate(sc.faults):
        at = f"{where}.faults[{i}]"
        if not fault.operations:
            _fail(f"{at}.operations", "list at least one operation (or '*')")
        if not (fault.calls or fault.first or fault.every or fault.probability is not None):
            _fail(at, "choose the calls to fail with calls, first, every or probability")
        if not 400 <= fault.status <= 599:
            _fail(f"{at}.status", f"must be an HTTP error status (400-599), got {fault.status}")
        if fault.probability is not None and not 0 <= fault.probability <= 1:
            _fail(f"{at}.probability", "must be between 0 and 1")
    if sc.throttle.per_minute is not None and sc.throttle.per_minute <= 0:
        _fail(f"{where}.throttle.per_minute", "must be > 0 (omit it to disable throttling)")
    if sc.node_pools.failed_pool_state not in ("NEEDS_ATTENTION", "ACTIVE", "UPDATING"):
        _fail(f"{where}.node_pools.failed_pool_state", "must be NEEDS_ATTENTION, ACTIVE or UPDATING")
    if sc.clock.mode not in ("real", "fast"):
        _fail(f"{where}.clock.mode", "must be real or fast")
    for i, image in enumerate(sc.oke_options.images):
        if image.architecture not in ("X86_64", "AARCH64"):
            _fail(f"{where}.oke_options.images[{i}].architecture", "must be X86_64 or AARCH64")
    for i, subnet in enumerate(sc.subnets):
        try:
            ipaddress.ip_network(subnet.cidr_block)
        except ValueError as exc:
            _fail(f"{where}.subnets[{i}].cidr_block", str(exc))
        if subnet.others_in_use < 0:
            _fail(f"{where}.subnets[{i}].others_in_use", "must be >= 0")
    for shape in sc.limits:
        if shape not in SHAPES:
            _fail(f"{where}.limits.{shape}", f"unknown shape (known: {', '.join(SHAPES)})")
    hook = sc.boot_hook
    if hook.python and hook.command:
        _fail(f"{where}.boot_hook", "set python or command, not both")
    for kind in hook.kinds:
        if kind not in ("instance", "node"):
            _fail(f"{where}.boot_hook.kinds", f"{kind!r} is not instance or node")


def parse(data, name: str = "<inline>") -> Scenario:
    where = f"scenario {name}"
    if not isinstance(data, dict):
        _fail(where, "the file must hold a YAML mapping")
    data = dict(data)
    data.setdefault("name", name)
    sc = _build(Scenario, data, where)
    _check(sc, where)
    return sc


def load(name_or_path: str | Path) -> Scenario:
    """Load a shipped scenario by name (``jeddah-tight``) or any YAML file by path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = SCENARIO_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        shipped = ", ".join(sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml")))
        raise ScenarioError(f"scenario {name_or_path}: no such file {path} (shipped scenarios: {shipped})")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ScenarioError(f"scenario {path}: not valid YAML: {exc}") from exc
    sc = parse(data, path.stem)
    sc.source = str(path)
    return sc


def shipped() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))
