# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ownership: freeform tags on everything we create, and deterministic opc-retry-tokens.

OCI freeform tag keys allow no dots or spaces, hence underscore keys. A resource is ours only when it
carries the deployment tag with our deployment name and the managed-by tag; teardown and every update
match on both, never on a name alone.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import hashlib
import re
import time

TAG_MANAGED_BY = "openedx_scale_managed_by"
TAG_DEPLOYMENT = "openedx_scale_deployment"
TAG_ROLE = "openedx_scale_role"          # lms, services, locust_master, ...
TAG_COMPONENT = "openedx_scale_component"  # cluster, node_pool, instance, capacity_reservation
MANAGED_BY = "openedx_scale.oke"

_TAG_KEY = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
_DEPLOYMENT = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


def tag_key_problem(key):
    """None if `key` is a valid freeform tag key, else what is wrong with it."""
    if not _TAG_KEY.match(key or ""):
        return "freeform tag key %r must be 1-100 characters of letters, digits, '_' or '-' (no dots, no spaces)" % (key,)
    return None


def deployment_problem(name):
    if not _DEPLOYMENT.match(name or ""):
        return "deployment name %r must be 1-40 lower-case letters, digits or '-', starting with a letter or digit" % (name,)
    return None


def ownership_tags(deployment, component, role=None, extra=None):
    tags = dict(extra or {})
    tags.update({TAG_MANAGED_BY: MANAGED_BY, TAG_DEPLOYMENT: deployment, TAG_COMPONENT: component})
    if role:
        tags[TAG_ROLE] = role
    return tags


def _tags_of(resource):
    if isinstance(resource, dict):
        return resource.get("freeform_tags") or resource.get("freeformTags") or {}
    return getattr(resource, "freeform_tags", None) or {}


def is_owned(resource, deployment, component=None, role=None):
    """True only if the resource carries our managed-by and deployment tags (and component/role when given)."""
    tags = _tags_of(resource)
    if tags.get(TAG_MANAGED_BY) != MANAGED_BY or tags.get(TAG_DEPLOYMENT) != deployment:
        return False
    if component is not None and tags.get(TAG_COMPONENT) != component:
        return False
    if role is not None and tags.get(TAG_ROLE) != role:
        return False
    return True


# OCI keeps a retry token 24 h, and lists a deleted/terminated resource only ">= 12 h". A create's token carries the ids
# of the dead same-named resources still listed AND the 12-hour epoch it is made in: a re-create less than 12 h after
# a teardown sees the dead ids (a new token), one 12 h or more after it is in another epoch than any create that
# teardown undid, so no re-provision inside OCI's 24 h can rebuild an old token and be answered with a deleted resource.
TOKEN_EPOCH_SECONDS = 12 * 3600


def token_epoch(now=None):
    """The 12-hour epoch (of epoch seconds `now`, default the wall clock) a create's retry token is made in."""
    return int((time.time() if now is None else now) // TOKEN_EPOCH_SECONDS)


def retry_token(*parts):
    """Deterministic opc-retry-token (<= 64 chars) for one logical create.

    Retrying the same create (after a timeout or a 5xx) sends the same token, so OCI returns the first
    result instead of creating a duplicate. Callers add the ids of dead resources with the same name and the
    token_epoch() to `parts`, so re-creating after a teardown is a new logical create.
    """
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()
    return "oes-" + digest[:60]
