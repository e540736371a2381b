"""Canary secrets and the search for them in a playbook's log (issue 17: nothing secret in logs)."""

from __future__ import annotations

import base64
import json
import uuid

import yaml

# Tutor settings that hold a secret, as an operator would supply them (tutor_settings, in the inventory
# or as extra variables). Every value passes the tutor role's credential policy.
SECRET_SETTINGS = (
    "SMTP_PASSWORD",
    "MYSQL_ROOT_PASSWORD",
    "OPENEDX_MYSQL_PASSWORD",
    "OPENEDX_SECRET_KEY",
    "REDIS_PASSWORD",
    "MONGODB_PASSWORD",
    "OPENEDX_SCALE_OKE_MONGODB_ROOT_PASSWORD",
    "OPENEDX_SCALE_OKE_MONGODB_KEYFILE",
    "MEILISEARCH_MASTER_KEY",
    "CMS_OAUTH2_SECRET",
)


def canaries(tag: str = "") -> dict[str, str]:
    """One unique, recognisable value per secret setting (letters and digits: also a valid MongoDB keyfile)."""
    run = uuid.uuid4().hex[:12]
    return {key: f"Canary{tag}{key.replace('_', '')}{run}" for key in SECRET_SETTINGS}


def rendered_secret_values(*manifest_texts: str) -> set[str]:
    """Every value of every Secret in the given multi-document YAML texts (data decoded, stringData as is)."""
    values = set()
    for text in manifest_texts:
        for doc in yaml.safe_load_all(text):
            if not doc or doc.get("kind") != "Secret":
                continue
            values.update(str(v) for v in (doc.get("stringData") or {}).values())
            values.update(base64.b64decode(v).decode() for v in (doc.get("data") or {}).values())
    # Short or empty values (user names such as "default") say nothing about a leak.
    return {v for v in values if len(v) >= 8}


def leaks(run, values) -> dict[str, int]:
    """How often each of `values` appears in the run's log and its event data; empty = nothing leaked."""
    log = run.stdout + "\n" + json.dumps(run.events, default=str)
    return {value: log.count(value) for value in values if value and log.count(value)}
