# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tutor plugin openedx_scale_oke: Open edX on OKE at scale.

Installed by the openedx_scale.oke.tutor role as a single-file plugin in $(tutor plugins printroot),
next to its templates (openedx_scale_oke_templates/). It makes Tutor's Kubernetes manifests carry:
uWSGI tuning, LMS placement (own node pool, one pod per node, no surge, PDB, no HPA), services-pool
placement and HPAs for everything else, an Ingress (or Gateway API HTTPRoutes) per Tutor host behind Caddy, MongoDB as a replica
set, Redis with a password and a non-evicting policy, and Meilisearch or Elasticsearch on OCI block
volumes. The datastores are rendered into a separate kustomization (env/plugins/openedx_scale_oke/
datastores) that the role applies itself, so `tutor k8s stop/delete` never touches the data.

Render seed: when OPENEDX_SCALE_OKE_RENDER_SEED is set, Tutor's secret generators (random_string,
rsa_private_key, uuid) draw from a deterministic stream derived from the seed, so a render of a fresh
configuration is byte-identical run after run. The role only sets it in render mode; secrets made
that way are public knowledge and must never reach a cluster.
"""

import hashlib
import os
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
        "cms": {"min": 1, "max": 4, "cpu_utilization": 75, "cpu_request": "1", "memory_request": "2Gi"},
        "cms-worker": {"min": 1, "max": 4, "cpu_utilization": 75, "cpu_request": "500m", "memory_request": "1Gi"},
        "lms-worker": {"min": 1, "max": 8, "cpu_utilization": 75, "cpu_request": "500m", "memory_request": "1Gi"},
        "mfe": {"min": 1, "max": 4, "cpu_utilization": 75, "cpu_request": "100m", "memory_request": "128Mi"},
    },
    "INGRESS_CLASS": "nginx",
    # Case-study annotations in the forms ingress-nginx parses (timeouts in bare seconds; keep-alive-requests
    # and timeout-socket are controller ConfigMap settings); the role replaces them with the translation of
    # its neutral edge tuning.
    "INGRESS_ANNOTATIONS": {
        "nginx.ingress.kubernetes.io/limit-connections": "5000",
        "nginx.ingress.kubernetes.io/proxy-body-size": "500M",
        "nginx.ingress.kubernetes.io/proxy-connect-timeout": "3600",
        "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600",
        "nginx.ingress.kubernetes.io/proxy-send-timeout": "3600",
        "nginx.ingress.kubernetes.io/service-upstream": "true",
        "nginx.ingress.kubernetes.io/ssl-redirect": "true",
    },
    "INGRESS_TLS_SECRET": "",
    "INGRESS_EXTRA_HOSTS": [],
    # "envoy-gateway": HTTPRoutes to the Gateway below instead of the Ingress (k8s/httproute.yml.j2).
    "EDGE": "ingress-nginx",
    "GATEWAY_NAMESPACE": "envoy-gateway-system",
    "GATEWAY_NAME": "openedx",
    "HTTPS_REDIRECT": True,
    "MYSQL_MAX_CONNECTIONS": 4000,
    "VOLUME_SIZES": {"meilisearch": "50Gi", "mysql": "50Gi"},
    "MONGODB_MEMBERS": 3,
    "MONGODB_CPU_REQUEST": "1",
    "MONGODB_MEMORY_REQUEST": "4Gi",
    "MONGODB_STORAGE": "50Gi",
    "MONGODB_CACHE_GB": 2,
    "REDIS_MAXMEMORY": "4gb",
    "REDIS_MAXMEMORY_POLICY": "volatile-lru",
    "REDIS_MEMORY_REQUEST": "5Gi",
    "REDIS_STORAGE": "50Gi",
    "SEARCH_BACKEND": "meilisearch",
    "ELASTICSEARCH_IMAGE": "docker.io/elasticsearch:7.17.29",
    "ELASTICSEARCH_HEAP": "2g",
    "ELASTICSEARCH_STORAGE": "50Gi",
    # Load tests only (issue 4 item 6): thousands of logins from 50 load-generator IPs.
    "LOADTEST_LOGIN_RATELIMITS": False,
    "LOGISTRATION_RATELIMIT_RATE": "100000/m",
    "LOGISTRATION_PER_EMAIL_RATELIMIT_RATE": "100000/m",
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
    ("REDIS_HOST", "redis"),
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
])

for _patch_name in ("k8s-override", "kustomization-patches", "kustomization-resources", "uwsgi-config",
                    "openedx-common-settings", "openedx-lms-common-settings"):
    hooks.Filters.ENV_PATCHES.add_item((_patch_name, _template(_patch_name)))


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
