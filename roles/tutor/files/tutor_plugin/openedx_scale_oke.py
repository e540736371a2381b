# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tutor plugin openedx_scale_oke: Open edX on OKE at scale.

Installed by the openedx_scale.oke.tutor role as a single-file plugin in $(tutor plugins printroot),
next to its templates (openedx_scale_oke_templates/). It makes Tutor's Kubernetes manifests carry:
uWSGI tuning, LMS placement (own node pool, one pod per node, no surge, PDB, no HPA), services-pool
placement and HPAs for everything else, an Ingress (or Gateway API HTTPRoutes) per Tutor host behind
Caddy, MongoDB as a replica set, Redis as a non-evicting broker, an evicting cache and a non-evicting session store
(passwords only in Secrets), and Meilisearch
or Elasticsearch on OCI block volumes (with an init that only touches the search backend in use).
The datastores are rendered into a separate kustomization (env/plugins/openedx_scale_oke/
datastores) that the role applies itself, so `tutor k8s stop/delete` never touches the data.

Render seed: when OPENEDX_SCALE_OKE_RENDER_SEED is set, Tutor's secret generators (random_string,
rsa_private_key, uuid) draw from a deterministic stream derived from the seed, so a render of a fresh
configuration is byte-identical run after run. The role only sets it in render mode; secrets made
that way are public knowledge and must never reach a cluster.
"""

import hashlib
import math
import os
import shutil
import string
import uuid as uuid_module

from tutor import hooks

NAME = "openedx_scale_oke"
PREFIX = "OPENEDX_SCALE_OKE_"
TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), NAME + "_templates")
SEED_ENV = "OPENEDX_SCALE_OKE_RENDER_SEED"

# Tuning knobs. The role sets every one of them from its variables; these defaults only matter
# when the plugin is used on its own. uWSGI values: the case study's buffer-size 16000 and
# post-buffering-bufsize 8192, with post-buffering as a number (`true` would parse as 0 = off).
DEFAULTS = {
    "POOL_LABEL_KEY": "openedx-scale/pool",
    "LMS_POOL": "lms",
    "SERVICES_POOL": "services",
    "STORAGE_CLASS": "oci-bv",
    "CLUSTER_DOMAIN": "cluster.local",
    "UWSGI_BUFFER_SIZE": 16000,
    "UWSGI_POST_BUFFERING": 8192,
    "UWSGI_POST_BUFFERING_BUFSIZE": 8192,
    "LMS_REPLICAS": 5,
    "LMS_ONE_POD_PER_NODE": True,
    "LMS_UWSGI_THREADS": 2,
    "LMS_UWSGI_LISTEN": 1024,
    "LMS_UWSGI_HARAKIRI": 120,
    "LMS_CPU_REQUEST": "27",
    "LMS_MEMORY_REQUEST": "115Gi",
    "LMS_PDB_MAX_UNAVAILABLE": 1,
    "LMS_TOLERATIONS": [],
    "CMS_UWSGI_THREADS": 2,
    "CMS_UWSGI_LISTEN": 1024,
    "CMS_UWSGI_HARAKIRI": 300,
    # Everything but the LMS scales horizontally on the services pool.
    "AUTOSCALING": {
        "cms": {"min": 1, "max": 4, "cpu_utilization": 75, "cpu_request": "1", "memory_request": "4Gi"},
        "cms-worker": {"min": 1, "max": 4, "cpu_utilization": 75, "cpu_request": "1", "memory_request": "2Gi"},
        "lms-worker": {"min": 1, "max": 8, "cpu_utilization": 75, "cpu_request": "1", "memory_request": "2Gi"},
        "mfe": {"min": 1, "max": 4, "cpu_utilization": 75, "cpu_request": "100m", "memory_request": "128Mi"},
        # Caddy is on the path of every request: never a single pod.
        "caddy": {"min": 2, "max": 4, "cpu_utilization": 75, "cpu_request": "500m", "memory_request": "256Mi"},
    },
    # Requests (memory limit = request) of Tutor's other Deployments and of its init Jobs: no BestEffort pod.
    "RESOURCES": {
        "mysql": {"cpu_request": "2", "memory_request": "16Gi"},
        "meilisearch": {"cpu_request": "1", "memory_request": "2Gi"},
        "smtp": {"cpu_request": "50m", "memory_request": "64Mi"},
    },
    "JOB_RESOURCES": {"cpu_request": "500m", "memory_request": "2Gi"},
    # Startup: the LMS imports for minutes before uWSGI answers. Startup and readiness ask uWSGI's stats server
    # (loopback) whether a worker accepts requests: no database, and no queueing behind the users' requests.
    "PROBE_STARTUP_FAILURES": 60,
    "PROBE_PERIOD_SECONDS": 10,
    "UWSGI_STATS_PORT": 1717,
    # Empty = LMS pool untainted. "key=value:Effect" (e.g. openedx-scale/pool=lms:NoSchedule): LMS pods tolerate it.
    "LMS_POOL_TAINT": "",
    "INGRESS_CLASS": "nginx",
    # Set by the role: the translation of its neutral edge tuning (the edge_nginx_annotations filter), the one
    # source of the edge's values. The plugin on its own renders the Ingress without annotations.
    "INGRESS_ANNOTATIONS": {},
    "INGRESS_TLS_SECRET": "",
    "INGRESS_EXTRA_HOSTS": [],
    # "envoy-gateway": HTTPRoutes to the Gateway below instead of the Ingress (k8s/httproute.yml.j2).
    "EDGE": "ingress-nginx",
    "GATEWAY_NAMESPACE": "envoy-gateway-system",
    "GATEWAY_NAME": "openedx",
    # NetworkPolicies: datastores only from their users, the web pods only through Caddy, Caddy only from here.
    "NETWORK_POLICIES": True,
    "EDGE_NAMESPACE": "ingress-nginx",
    "HTTPS_REDIRECT": True,
    # mysqld options; the role sizes them from the MySQL memory request and the connections (lms_sizing).
    "MYSQL_ARGS": [],
    "VOLUME_SIZES": {"meilisearch": "50Gi", "mysql": "50Gi"},
    "MONGODB_MEMBERS": 3,
    "MONGODB_CPU_REQUEST": "1",
    "MONGODB_MEMORY_REQUEST": "4Gi",
    "MONGODB_STORAGE": "50Gi",
    "MONGODB_CACHE_GB": 2,
    # Two Redis instances: the broker (Celery queues, event bus) never evicts, the cache does.
    "REDIS_BROKER_MAXMEMORY": "2gb",
    "REDIS_BROKER_MEMORY_REQUEST": "5Gi",
    "REDIS_CACHE_MAXMEMORY": "4gb",
    "REDIS_CACHE_MAXMEMORY_POLICY": "allkeys-lru",
    "REDIS_CACHE_MEMORY_REQUEST": "9Gi",
    # Sessions: their own Redis that never evicts (an evicted session logs a learner out).
    "REDIS_SESSIONS_MAXMEMORY": "1gb",
    "REDIS_SESSIONS_MEMORY_REQUEST": "3Gi",
    "REDIS_STORAGE": "50Gi",
    "SEARCH_BACKEND": "meilisearch",
    "ELASTICSEARCH_IMAGE": "docker.io/elasticsearch:7.17.29",
    "ELASTICSEARCH_HEAP": "2g",
    "ELASTICSEARCH_MEMORY_REQUEST": "4Gi",
    "ELASTICSEARCH_STORAGE": "50Gi",
}

# Generated once by Tutor, saved in config.yml (which the role keeps in a Kubernetes Secret).
UNIQUE = {
    "MONGODB_ROOT_PASSWORD": "{{ 24|random_string }}",
    "MONGODB_KEYFILE": "{{ 756|random_string }}",
}

# Core settings this layout needs: Caddy behind the ingress (TLS ends there), datastores ours.
OVERRIDES = [
    ("ENABLE_WEB_PROXY", False),
    ("ENABLE_HTTPS", True),
    ("RUN_MONGODB", False),
    ("RUN_REDIS", False),
    ("MONGODB_USERNAME", "openedx"),
    ("MONGODB_PASSWORD", "{{ 24|random_string }}"),
    ("MONGODB_REPLICA_SET", "rs0"),
    ("MONGODB_AUTH_SOURCE", "admin"),
    # Tutor's Celery broker settings follow REDIS_HOST; the caches are pointed at redis-cache by the
    # openedx-common-settings patch.
    ("REDIS_HOST", "redis-broker"),
    # Tutor only puts credentials into the Redis URLs when both are set; requirepass = user "default".
    ("REDIS_USERNAME", "default"),
    ("REDIS_PASSWORD", "{{ 24|random_string }}"),
]


def mongodb_hosts(members, namespace, cluster_domain="cluster.local"):
    """Comma-separated stable DNS names of the replica-set members (StatefulSet mongodb, headless Service)."""
    return ",".join(
        f"mongodb-{i}.mongodb-headless.{namespace}.svc.{cluster_domain}" for i in range(int(members))
    )


def mongodb_members(mongodb_host, members, namespace, cluster_domain="cluster.local"):
    """The member list from MONGODB_HOST, which must name every member by its stable DNS name.

    MONGODB_HOST is what the LMS connects to; the role sets it (plugin overrides cannot see plugin
    defaults), and a mismatch with the StatefulSet would leave members unknown to the clients.
    """
    expected = mongodb_hosts(members, namespace, cluster_domain)
    if mongodb_host != expected:
        raise ValueError(f"MONGODB_HOST must list the {members} replica-set members: set MONGODB_HOST={expected} (got {mongodb_host!r})")
    return expected.split(",")


def uwsgi_ini(buffer_size, post_buffering, post_buffering_bufsize):
    """Lines appended to Tutor's uwsgi.ini (the last value of an option wins).

    The ini is shared by LMS and CMS, so per-service values come from the container environment
    (uWSGI expands $(VAR)); each Deployment sets its own UWSGI_THREADS/LISTEN/HARAKIRI.
    `listen` is not written here: uWSGI reads it as an immediate option, before $(VAR) expansion, so
    `listen = $(UWSGI_LISTEN)` means a backlog of 0. uWSGI takes UWSGI_LISTEN from the environment itself.
    """
    for name, value in (("buffer_size", buffer_size), ("post_buffering", post_buffering),
                        ("post_buffering_bufsize", post_buffering_bufsize)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"uWSGI {name} must be a positive number of bytes, got {value!r}")
    if buffer_size > 65535:
        raise ValueError(f"uWSGI buffer_size is a 16-bit packet size: at most 65535, got {buffer_size}")
    return "\n".join([
        "# openedx_scale_oke: request buffers (large cookies/JWT headers, uploads)",
        f"buffer-size = {buffer_size}",
        f"post-buffering = {post_buffering}",
        f"post-buffering-bufsize = {post_buffering_bufsize}",
        "# openedx_scale_oke: per-service values from the Deployment's environment",
        "threads = $(UWSGI_THREADS)",
        "harakiri = $(UWSGI_HARAKIRI)",
    ])


def redis_string(value):
    """A redis.conf string argument: double-quoted, with the escapes Redis's config parser reads."""
    value = str(value)
    if not value:
        raise ValueError("REDIS_PASSWORD is empty: Redis would run without a password; set REDIS_PASSWORD")
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def cpu_cores(quantity):
    """Cores of a Kubernetes CPU quantity ("500m", "2", 1.5)."""
    text = str(quantity).strip()
    try:
        return float(text[:-1]) / 1000 if text.endswith("m") else float(text)
    except ValueError:
        raise ValueError(f"not a Kubernetes CPU quantity: {quantity!r} (use e.g. 500m or 2)") from None


def celery_concurrency(cpu_request):
    """Celery prefork processes for a worker pod: one per requested core, at least one.

    Without --concurrency Celery starts one process per CPU of the node, so every replica of an HPA at
    max would hold a node's worth of processes; with it, a pod's memory is bounded by its request.
    """
    return max(1, math.ceil(cpu_cores(cpu_request) - 1e-9))


def lms_pool_toleration(taint):
    """The toleration matching a "key=value:Effect" taint of the LMS pool ([] when there is none)."""
    if not taint:
        return []
    key_value, sep, effect = str(taint).rpartition(":")
    key, eq, value = key_value.partition("=")
    if not sep or not eq or not key or effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
        raise ValueError(f"LMS_POOL_TAINT must be key=value:Effect with Effect NoSchedule, PreferNoSchedule or "
                         f"NoExecute (e.g. openedx-scale/pool=lms:NoSchedule), got {taint!r}")
    return [{"key": key, "operator": "Equal", "value": value, "effect": effect}]


# Tutor's lms init creates the Meilisearch indexes unconditionally; with Elasticsearch there is no
# Meilisearch to talk to. The line is replaced by a branch on the backend (rendered by Tutor with the config).
MEILISEARCH_INDEXES_LINE = './manage.py lms shell -c "import search.meilisearch; search.meilisearch.create_indexes()"'
SEARCH_INIT_BRANCH = """{% if OPENEDX_SCALE_OKE_SEARCH_BACKEND == "elasticsearch" %}
# openedx_scale_oke: Elasticsearch backend; edx-search creates its indexes on first use
dockerize -wait tcp://elasticsearch:9200 -timeout 300s
{% else %}
""" + MEILISEARCH_INDEXES_LINE + """
{% endif %}"""


def search_init_tasks(tasks):
    """CLI_DO_INIT_TASKS with the Meilisearch steps guarded by the search backend."""
    out = []
    for service, task in tasks:
        script = task
        if MEILISEARCH_INDEXES_LINE in task:
            script = task.replace(MEILISEARCH_INDEXES_LINE, SEARCH_INIT_BRANCH)
        elif "meilisearch.Client(" in task:
            # Tutor's API-key task for Meilisearch: only when Meilisearch runs.
            script = "{% if RUN_MEILISEARCH %}\n" + task + "\n{% endif %}"
        out.append((service, script))
    return out


class SeededStream:
    """Deterministic byte stream: SHA-256 in counter mode over the seed (render mode only)."""

    ALPHABET = string.ascii_letters + string.digits

    def __init__(self, seed):
        self._seed = seed.encode("utf-8")
        self._counter = 0
        self._buffer = b""

    def read(self, size):
        while len(self._buffer) < size:
            block = hashlib.sha256(self._seed + b":" + str(self._counter).encode("ascii")).digest()
            self._counter += 1
            self._buffer += block
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out

    def random_string(self, length):
        chars = []
        limit = 256 - 256 % len(self.ALPHABET)
        while len(chars) < int(length):
            byte = self.read(1)[0]
            if byte < limit:  # rejection sampling keeps the choice uniform
                chars.append(self.ALPHABET[byte % len(self.ALPHABET)])
        return "".join(chars)

    def rsa_private_key(self, bits=2048):
        from Crypto.PublicKey import RSA  # Tutor's own RSA library (pycryptodome)
        return RSA.generate(bits, randfunc=self.read).export_key().decode()

    def uuid(self, size):
        if int(size) != 4:
            raise ValueError(f"render seed: only uuid4 is deterministic, got uuid{size}")
        return str(uuid_module.UUID(bytes=self.read(16), version=4))


def _template(path):
    with open(os.path.join(TEMPLATES, "patches", path), encoding="utf-8") as handle:
        return handle.read()


hooks.Filters.CONFIG_DEFAULTS.add_items([(PREFIX + key, value) for key, value in DEFAULTS.items()])
hooks.Filters.CONFIG_UNIQUE.add_items([(PREFIX + key, value) for key, value in UNIQUE.items()])
hooks.Filters.CONFIG_OVERRIDES.add_items(OVERRIDES)

hooks.Filters.ENV_TEMPLATE_ROOTS.add_item(TEMPLATES)
hooks.Filters.ENV_TEMPLATE_TARGETS.add_item((NAME, "plugins"))
hooks.Filters.ENV_TEMPLATE_FILTERS.add_items([
    ("openedx_scale_oke_mongodb_members", mongodb_members),
    ("openedx_scale_oke_uwsgi_ini", uwsgi_ini),
    ("openedx_scale_oke_redis_string", redis_string),
    ("openedx_scale_oke_celery_concurrency", celery_concurrency),
    ("openedx_scale_oke_lms_pool_toleration", lms_pool_toleration),
])
# After Tutor's core tasks (default priority), so they are there to be rewritten.
hooks.Filters.CLI_DO_INIT_TASKS.add(priority=hooks.priorities.LOW)(search_init_tasks)

for _patch_name in ("k8s-override", "kustomization-patches", "kustomization-resources", "uwsgi-config",
                    "openedx-common-settings", "openedx-lms-common-settings"):
    hooks.Filters.ENV_PATCHES.add_item((_patch_name, _template(_patch_name)))
# Secrets out of ConfigMaps and literal env values: a patch of its own under Tutor's patch names (patch() joins them).
hooks.Filters.ENV_PATCHES.add_items([("kustomization", _template("secrets-kustomization")),
                                     ("kustomization-patches", _template("secrets-kustomization-patches"))])


def _docker_rootless_or_none(check):
    """tutor-discovery's is_docker_rootless runs `docker info` and catches only its failure, so rendering (its
    docker-compose dev patch, never used on Kubernetes) raises FileNotFoundError where there is no docker CLI: the
    AWX execution environment, CI. No docker CLI: not rootless docker."""

    def is_docker_rootless():
        return shutil.which("docker") is not None and check()

    return is_docker_rootless


@hooks.Filters.ENV_TEMPLATE_VARIABLES.add(priority=hooks.priorities.LOW)
def _discovery_without_docker(items):
    # In place, after the plugins' own items (no duplicate names, so no conflict warnings).
    return [(name, _docker_rootless_or_none(value) if name == "is_docker_rootless" else value) for name, value in items]


_SEED = os.environ.get(SEED_ENV)
if _SEED:
    _STREAM = SeededStream(_SEED)
    _SEEDED = {
        "random_string": _STREAM.random_string,
        "rsa_private_key": _STREAM.rsa_private_key,
        "uuid": _STREAM.uuid,
    }

    @hooks.Filters.ENV_TEMPLATE_FILTERS.add(priority=hooks.priorities.LOW)
    def _seeded_generators(items):
        # Replace Tutor's generators in place (no duplicate names, so no conflict warnings).
        return [(name, _SEEDED.get(name, func)) for name, func in items]
