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
  - The kubeconfig's user runs C(oci ce cluster generate-token), so the OCI CLI must be on the PATH of kubectl's user
    on a real tenancy.
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
    description: OCID of the cluster.
    type: str
    required: true
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
"""

EXAMPLES = r"""
- name: Write the kubeconfig
  openedx_scale.oke.oke_kubeconfig:
    deployment: jeddah-50k
    cluster_id: "{{ cluster.cluster.id }}"
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
  description: Time the module took, on the clock its waits use (the sandbox clock in tests).
  returned: always
  type: float
"""

import hashlib
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_args import argument_spec, check_ocid
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_errors import InputError
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_module import run_module
from ansible_collections.openedx_scale.oke.plugins.module_utils.oke_clusters import kubeconfig_content

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


def validate(params):
    check_ocid(params["cluster_id"], "cluster_id", ("cluster",))
    if os.path.isdir(params["path"]):
        raise InputError("%s is a directory." % params["path"], field="path", fix="give the kubeconfig file's path, e.g. ~/.kube/config-openedx.")
    return params


def main():
    spec = argument_spec(
        cluster_id=dict(type="str", required=True),
        path=dict(type="path", required=True),
        endpoint=dict(type="str", default="PUBLIC_ENDPOINT", choices=["PUBLIC_ENDPOINT", "PRIVATE_ENDPOINT", "VCN_HOSTNAME", "LEGACY_KUBERNETES"]),
        token_version=dict(type="str", default="2.0.0", no_log=False),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)

    def work(clients, policy, params):
        content = kubeconfig_content(clients, policy, params["cluster_id"], params["endpoint"], params["token_version"])
        if not content.strip():
            raise InputError("the service returned an empty kubeconfig for cluster %s." % params["cluster_id"], field="cluster_id",
                             fix="check that the cluster is ACTIVE.")
        changed = write_if_changed(params["path"], content, module.check_mode)
        return {"changed": changed, "path": params["path"], "sha256": hashlib.sha256(content.encode("utf-8")).hexdigest()}

    run_module(module, "kubeconfig", validate, work)


if __name__ == "__main__":
    main()
