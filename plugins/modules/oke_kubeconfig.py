#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
module: oke_kubeconfig
short_description: Write the kubeconfig of an OKE cluster to a file
version_added: 0.1.0
description:
  - Fetches the cluster's kubeconfig (C(CreateKubeconfig)) and writes it to O(path) with mode C(0600), atomically
    (temporary file in the same directory, then rename).
  - Reports a change only when the content (or the mode) differs from what is on disk.
  - OCI's kubeconfig has kubectl run C(oci ce cluster generate-token), which needs the OCI CLI. With O(token_helper)
    the exec user runs that script instead, under the Python that runs this module (it has the oci SDK), with the
    same credentials as this task, so neither the controller nor the execution environment needs the OCI CLI.
    The identity (tenancy, user, fingerprint, key file) is written out, so credentials from C(OCI_*) variables work
    too; a key's pass phrase stays in the config file or C(OCI_USER_KEY_PASS_PHRASE), never in the kubeconfig.
author:
  - openedx_scale maintainers (@openedx-scale)
extends_documentation_fragment:
  - openedx_scale.oke.oci
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
  action_group:
    membership: [openedx_scale.oke.oci]
options:
  cluster_id:
    description: OCID of the cluster. Give it, or O(name) and O(compartment_id).
    type: str
  name:
    description:
      - Name of the cluster, looked up read-only in O(compartment_id) among the clusters that carry this
        O(deployment)'s ownership tags (a deploy job that only has the inventory, never a provisioning call).
    type: str
  compartment_id:
    description: Compartment OCID to look O(name) up in.
    type: str
  path:
    description: Where to write the kubeconfig. Parent directories are created (mode C(0700)).
    type: path
    required: true
  endpoint:
    description: Which cluster endpoint the kubeconfig points at.
    type: str
    choices: [PUBLIC_ENDPOINT, PRIVATE_ENDPOINT, VCN_HOSTNAME, LEGACY_KUBERNETES]
    default: PUBLIC_ENDPOINT
  token_version:
    description: Token version of the kubeconfig.
    type: str
    default: 2.0.0
  token_helper:
    description:
      - Path of a token script with the C(oci ce cluster generate-token) contract (the C(oke_cluster) role ships
        C(files/oke_token.py)). Empty keeps OCI's exec user (OCI CLI).
    type: path
"""

EXAMPLES = r"""
- name: Write the kubeconfig
  openedx_scale.oke.oke_kubeconfig:
    deployment: jeddah-50k
    cluster_id: "{{ cluster.cluster.id }}"
    path: ~/.kube/openedx-jeddah.yaml

- name: Write the kubeconfig of the cluster this deployment owns, by name (reads only)
  openedx_scale.oke.oke_kubeconfig:
    deployment: jeddah-50k
    name: openedx-jeddah
    compartment_id: ocid1.compartment.oc1..aaaaaaaaexample
    path: ~/.kube/openedx-jeddah.yaml
"""

RETURN = r"""
path:
  description: The file written.
  returned: always
  type: str
  sample: /root/.kube/openedx-jeddah.yaml
sha256:
  description: SHA-256 of the kubeconfig content.
  returned: always
  type: str
api_calls:
  description: Number of OCI API calls made.
  returned: always
  type: int
elapsed_seconds:
  description: Time the module took, on the clock its waits use (a virtual clock in tests).
  returned: always
  type: float
"""

import hashlib
import os
import sys
import tempfile

from ansible.module_utils.basic import AnsibleModule

try:
    import yaml
except ImportError:  # ansible-core requires PyYAML on the controller, where this module runs
    yaml = None

from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_args import argument_spec, check_ocid, check_writable_file
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_errors import InputError
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_module import run_module
from ansible_collections.openedx_scale.oke.plugins.module_utils.oke_clusters import ClusterReconciler, kubeconfig_content

MODE = 0o600


def write_if_changed(path, content, check_mode):
    """Atomically write `content` to `path` with mode 0600; returns True when something changed (or would)."""
    data = content.encode("utf-8")
    try:
        with open(path, "rb") as handle:
            same = handle.read() == data
        same = same and (os.stat(path).st_mode & 0o777) == MODE
    except (IOError, OSError):
        same = False
    if same or check_mode:
        return not same
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    fd, tmp = tempfile.mkstemp(prefix=".kubeconfig-", dir=directory)
    try:
        os.fchmod(fd, MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(tmp, path)
    except Exception:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return True


def _arg(args, flag):
    return args[args.index(flag) + 1] if flag in args[:-1] else None


def _api_key_identity(clients):
    """The identity this task signed with, whether it came from a config file or OCI_* variables (which kubectl
    may not have); the config file is named too when it exists, for a key's pass_phrase kept there."""
    config = clients.config
    if not config.get("key_file"):
        raise InputError("the API key is given as key_content, which cannot be handed to kubectl.", field="token_helper",
                         fix="keep the key in a file (key_file / OCI_USER_KEY_FILE), or leave token_helper empty to use the OCI CLI.")
    args = ["--tenancy", config["tenancy"], "--user", config["user"], "--fingerprint", config["fingerprint"],
            "--key-file", config["key_file"]]  # the SDK expands a leading ~ when it loads the key
    if os.path.isfile(clients.config_file):
        args += ["--config-file", clients.config_file, "--profile", clients.profile]
    return args


def use_token_helper(content, helper, clients, params):
    """Point every exec user of OCI's kubeconfig at `helper`, with this task's credentials and endpoint."""
    config = yaml.safe_load(content)
    for user in config.get("users") or []:
        spec = (user.get("user") or {}).get("exec")
        if not spec:
            continue
        old = [str(a) for a in spec.get("args") or []]
        args = [helper, "--cluster-id", _arg(old, "--cluster-id") or params["cluster_id"]]
        region = _arg(old, "--region") or clients.region
        if region:
            args += ["--region", region]
        if params.get("auth_type") == "instance_principal":
            args += ["--auth", "instance_principal"]
        else:
            args += _api_key_identity(clients)
        if clients.service_endpoint:  # a stand-in: its /cluster_request answers instead of the region's host
            args += ["--endpoint", clients.service_endpoint]
        spec["command"] = sys.executable
        spec["args"] = args
    return yaml.safe_dump(config, sort_keys=False)


def validate(params):
    if params.get("cluster_id"):
        check_ocid(params["cluster_id"], "cluster_id", ("cluster",))
    elif not (params.get("name") and params.get("compartment_id")):
        raise InputError("no cluster given.", field="cluster_id", fix="give cluster_id, or name and compartment_id.")
    else:
        check_ocid(params["compartment_id"], "compartment_id", ("compartment", "tenancy"))
    helper = params.get("token_helper")
    if helper and yaml is None:
        raise InputError("PyYAML is missing.", field="token_helper", fix="install PyYAML next to ansible-core, or leave token_helper empty.")
    if helper and not os.path.isfile(helper):
        raise InputError("token_helper %s is not a file." % helper, field="token_helper",
                         fix="give the path of oke_token.py (the oke_cluster role's files/), or leave it empty to use the OCI CLI.")
    check_writable_file(params["path"], "path")
    return params


def main():
    spec = argument_spec(
        cluster_id=dict(type="str"),
        name=dict(type="str"),
        compartment_id=dict(type="str"),
        path=dict(type="path", required=True),
        endpoint=dict(type="str", default="PUBLIC_ENDPOINT", choices=["PUBLIC_ENDPOINT", "PRIVATE_ENDPOINT", "VCN_HOSTNAME", "LEGACY_KUBERNETES"]),
        token_version=dict(type="str", default="2.0.0", no_log=False),
        token_helper=dict(type="path"),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True, mutually_exclusive=[("cluster_id", "name")])

    def work(clients, policy, params):
        if not params.get("cluster_id"):
            cluster = ClusterReconciler(clients, policy, params).find()[0]
            if cluster is None:
                raise InputError("no cluster %r carrying this deployment's ownership tags in %s." % (params["name"], params["compartment_id"]),
                                 field="name", fix="run the provision stage (playbooks/provision_cluster.yml) first, or check name and deployment.")
            params["cluster_id"] = cluster.id
        content = kubeconfig_content(clients, policy, params["cluster_id"], params["endpoint"], params["token_version"])
        if not content.strip():
            raise InputError("the service returned an empty kubeconfig for cluster %s." % params["cluster_id"], field="cluster_id",
                             fix="check that the cluster is ACTIVE.")
        if params.get("token_helper"):
            content = use_token_helper(content, params["token_helper"], clients, params)
        changed = write_if_changed(params["path"], content, module.check_mode)
        return {"changed": changed, "path": params["path"], "sha256": hashlib.sha256(content.encode("utf-8")).hexdigest()}

    run_module(module, "kubeconfig", validate, work)


if __name__ == "__main__":
    main()
