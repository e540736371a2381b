"""A small, strict stand-in for the AWX REST API (v2) — just the resources awx.awx's configuration modules touch.

It answers the calls the modules make (lookups with filters, POST/PATCH/DELETE, association sub-lists,
survey_spec, project updates) and enforces the server-side rules that catch real configuration mistakes:
bearer-token auth, unique names, foreign keys that must exist, credential inputs against their type (required
fields, unknown fields, secrets returned as ``$encrypted$``), credential-type injectors that must render from
the declared inputs, survey specs (types, choices, defaults within min/max), job-template playbooks that must
exist in the synced project, and SCM inventory sources whose path must exist in the project. A launch
(``POST .../launch/``) applies AWX's prompt rules to the extra vars: all accepted with ask_variables_on_launch,
else only the survey's variables, answers checked against the question's type, min/max and choices, the rest
reported in ``ignored_fields``; the launched job is recorded (``jobs``), never run.

A project "sync" reads the project's files from a local directory: ``project_roots`` maps an SCM URL to a
checkout, and ``file://`` URLs are read directly.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

import jinja2
import jinja2.sandbox
import yaml

API = "/api/v2/"
ENCRYPTED = "$encrypted$"
PRODUCT_VERSION = "24.6.1"

# Resource collections, their API "type" and the foreign keys each may carry (field -> collection).
COLLECTIONS = {
    "organizations": ("organization", {"default_environment": "execution_environments"}),
    "credential_types": ("credential_type", {}),
    "credentials": ("credential", {"organization": "organizations", "credential_type": "credential_types"}),
    "execution_environments": ("execution_environment", {"organization": "organizations", "credential": "credentials"}),
    "projects": ("project", {"organization": "organizations", "credential": "credentials", "default_environment": "execution_environments"}),
    "project_updates": ("project_update", {"project": "projects"}),
    "inventories": ("inventory", {"organization": "organizations"}),
    "inventory_sources": (
        "inventory_source",
        {"inventory": "inventories", "source_project": "projects", "credential": "credentials", "execution_environment": "execution_environments"},
    ),
    "job_templates": (
        "job_template",
        {"organization": "organizations", "inventory": "inventories", "project": "projects", "execution_environment": "execution_environments"},
    ),
    "workflow_job_templates": ("workflow_job_template", {"organization": "organizations", "inventory": "inventories"}),
    "workflow_job_template_nodes": (
        "workflow_job_template_node",
        {"workflow_job_template": "workflow_job_templates", "unified_job_template": "unified_job_templates", "inventory": "inventories"},
    ),
    "labels": ("label", {"organization": "organizations"}),
    "instance_groups": ("instance_group", {}),
    "notification_templates": ("notification_template", {"organization": "organizations"}),
    "users": ("user", {}),
    "teams": ("team", {"organization": "organizations"}),
}
# Collections whose objects can be launched; /unified_job_templates/ lists them together, as AWX does.
UNIFIED = ("job_templates", "workflow_job_templates", "projects", "inventory_sources")
# Association sub-lists: name -> collection of the associated objects.
ASSOCIATIONS = {
    "credentials": "credentials",
    "labels": "labels",
    "instance_groups": "instance_groups",
    "galaxy_credentials": "credentials",
    "success_nodes": "workflow_job_template_nodes",
    "failure_nodes": "workflow_job_template_nodes",
    "always_nodes": "workflow_job_template_nodes",
    "notification_templates_started": "notification_templates",
    "notification_templates_success": "notification_templates",
    "notification_templates_error": "notification_templates",
    "notification_templates_approvals": "notification_templates",
}
# Name uniqueness scopes (AWX model constraints).
UNIQUE_SCOPE = {
    "organizations": (),
    "credential_types": (),
    "credentials": ("organization", "credential_type"),
    "execution_environments": (),
    "projects": ("organization",),
    "inventories": ("organization",),
    "inventory_sources": ("inventory",),
    "job_templates": ("organization",),
    "workflow_job_templates": ("organization",),
    "labels": ("organization",),
}
# Field defaults AWX's serializers fill in when a create omits them (only those the modules compare).
DEFAULTS = {
    "organizations": {"description": "", "max_hosts": 0, "default_environment": None},
    "credential_types": {"description": "", "kind": "cloud", "inputs": {}, "injectors": {}, "managed": False},
    "credentials": {"description": "", "organization": None, "inputs": {}},
    "execution_environments": {"description": "", "organization": None, "credential": None, "pull": ""},
    "projects": {"description": "", "scm_type": "", "scm_url": "", "scm_branch": "", "scm_refspec": "", "credential": None, "scm_clean": False,
                 "scm_delete_on_update": False, "scm_track_submodules": False, "scm_update_on_launch": False, "scm_update_cache_timeout": 0,
                 "allow_override": False, "timeout": 0, "scm_revision": "", "default_environment": None},
    "inventories": {"description": "", "kind": "", "host_filter": None, "variables": "", "prevent_instance_group_fallback": False},
    "inventory_sources": {"description": "", "source": "", "source_path": "", "source_vars": "", "source_project": None, "credential": None,
                          "overwrite": False, "overwrite_vars": False, "update_on_launch": False, "update_cache_timeout": 0, "timeout": 0,
                          "verbosity": 1, "execution_environment": None, "scm_branch": "", "limit": "", "enabled_var": "", "enabled_value": "",
                          "host_filter": ""},
    "job_templates": {"description": "", "job_type": "run", "inventory": None, "project": None, "playbook": "", "scm_branch": "", "forks": 0,
                      "limit": "", "verbosity": 0, "extra_vars": "", "job_tags": "", "skip_tags": "", "timeout": 0, "survey_enabled": False,
                      "become_enabled": False, "diff_mode": False, "allow_simultaneous": False, "execution_environment": None,
                      "ask_variables_on_launch": False, "ask_inventory_on_launch": False, "ask_credential_on_launch": False,
                      "ask_limit_on_launch": False, "ask_tags_on_launch": False, "ask_job_type_on_launch": False, "ask_verbosity_on_launch": False},
    "workflow_job_templates": {"description": "", "extra_vars": "", "organization": None, "inventory": None, "survey_enabled": False,
                               "allow_simultaneous": False, "ask_variables_on_launch": False, "ask_inventory_on_launch": False, "limit": None,
                               "scm_branch": None},
    "workflow_job_template_nodes": {"extra_data": {}, "inventory": None, "unified_job_template": None, "all_parents_must_converge": False},
    "labels": {},
}
SURVEY_TYPES = ("text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect")
INJECTOR_KINDS = ("file", "env", "extra_vars")
PLAYBOOK_SUFFIXES = (".yml", ".yaml")
SKIPPED_DIRS = {".git", ".venv", "build", "roles", "group_vars", "host_vars", "node_modules", "collections", "changelogs", "meta",
                "plugins", "extensions", "docs", "tools"}


class ApiError(Exception):
    """An HTTP error answer: status code and the JSON body AWX would send."""

    def __init__(self, status: int, body: dict):
        super().__init__(body)
        self.status = status
        self.body = body


def _bad(field: str, message: str) -> ApiError:
    return ApiError(400, {field: [message]})


class AwxState:
    """Objects by collection, associations, survey specs and a request log; every method runs under one lock."""

    def __init__(self, project_roots: dict[str, str] | None = None):
        self.lock = threading.RLock()
        self.objects: dict[str, dict[int, dict]] = {name: {} for name in COLLECTIONS}
        self.assoc: dict[tuple[str, int, str], list[int]] = {}
        self.surveys: dict[tuple[str, int], dict] = {}
        self.secrets: dict[int, dict] = {}  # credential id -> secret inputs (never returned)
        self.project_files: dict[int, dict] = {}  # project id -> {"playbooks": [...], "inventories": [...]}
        self.project_roots = dict(project_roots or {})
        self.requests: list[tuple[str, str]] = []
        self.jobs: list[dict] = []  # launches: template, accepted extra vars, ignored fields
        self.ids = itertools.count(1)
        self._seed()

    # ----------------------------------------------------------------------------------------------- seed data
    def _seed(self):
        """What a fresh AWX install has: the Default organization, the managed credential types we reference."""
        self._insert("organizations", {"name": "Default", "description": ""})
        self._insert("instance_groups", {"name": "default"})
        machine = {
            "fields": [
                {"id": "username", "label": "Username", "type": "string"},
                {"id": "password", "label": "Password", "type": "string", "secret": True, "ask_at_runtime": True},
                {"id": "ssh_key_data", "label": "SSH Private Key", "type": "string", "format": "ssh_private_key", "secret": True, "multiline": True},
                {"id": "ssh_public_key_data", "label": "Signed SSH Certificate", "type": "string", "multiline": True, "secret": True},
                {"id": "ssh_key_unlock", "label": "Private Key Passphrase", "type": "string", "secret": True, "ask_at_runtime": True},
                {"id": "become_method", "label": "Privilege Escalation Method", "type": "string"},
                {"id": "become_username", "label": "Privilege Escalation Username", "type": "string"},
                {"id": "become_password", "label": "Privilege Escalation Password", "type": "string", "secret": True, "ask_at_runtime": True},
            ],
        }
        scm = {
            "fields": [
                {"id": "username", "label": "Username", "type": "string"},
                {"id": "password", "label": "Password", "type": "string", "secret": True},
                {"id": "ssh_key_data", "label": "SCM Private Key", "type": "string", "format": "ssh_private_key", "secret": True, "multiline": True},
                {"id": "ssh_key_unlock", "label": "Private Key Passphrase", "type": "string", "secret": True},
            ],
        }
        self._insert("credential_types", {"name": "Machine", "kind": "ssh", "managed": True, "namespace": "ssh", "inputs": machine, "injectors": {}})
        self._insert("credential_types", {"name": "Source Control", "kind": "scm", "managed": True, "namespace": "scm", "inputs": scm, "injectors": {}})

    # ----------------------------------------------------------------------------------------------- helpers
    def _insert(self, coll: str, data: dict) -> dict:
        oid = next(self.ids)
        obj = {**copy.deepcopy(DEFAULTS.get(coll, {})), **data, "id": oid, "type": COLLECTIONS[coll][0]}
        self.objects[coll][oid] = obj
        return obj

    def _find(self, coll: str, oid) -> dict | None:
        if coll == "unified_job_templates":
            for name in UNIFIED:
                if int(oid) in self.objects[name]:
                    return self.objects[name][int(oid)]
            return None
        try:
            return self.objects[coll].get(int(oid))
        except (TypeError, ValueError):
            return None

    def _collection_of(self, obj: dict) -> str:
        return next(c for c, spec in COLLECTIONS.items() if spec[0] == obj["type"])

    def render(self, coll: str, obj: dict) -> dict:
        """An object as the API shows it: url, related links, summary_fields, secrets masked."""
        out = copy.deepcopy(obj)
        coll = self._collection_of(obj)
        base = f"{API}{coll}/{obj['id']}/"
        out["url"] = base
        related = {name: f"{base}{name}/" for name in ASSOCIATIONS}
        if coll in ("job_templates", "workflow_job_templates"):
            related["survey_spec"] = f"{base}survey_spec/"
        if coll == "projects":
            related["update"] = f"{base}update/"
            related["playbooks"] = f"{base}playbooks/"
            related["inventories"] = f"{base}inventories/"
        out["related"] = related
        summary = {}
        for field, target in COLLECTIONS[coll][1].items():
            ref = self._find(target, obj.get(field)) if obj.get(field) is not None else None
            if ref:
                summary[field] = {"id": ref["id"], "name": ref.get("name", ref.get("identifier"))}
        if coll == "projects" and obj.get("_current_update"):
            summary["current_update"] = {"id": obj["_current_update"]}
        out["summary_fields"] = summary
        if coll == "credentials":
            out["inputs"] = {**obj["inputs"], **{k: ENCRYPTED for k, v in self.secrets.get(obj["id"], {}).items() if v}}
        return {k: v for k, v in out.items() if not k.startswith("_")}

    # ----------------------------------------------------------------------------------------------- queries
    def list(self, coll: str, query: list[tuple[str, str]]) -> list[dict]:
        pool = [o for c in UNIFIED for o in self.objects[c].values()] if coll == "unified_job_templates" else list(self.objects[coll].values())
        ors = [(k[4:], v) for k, v in query if k.startswith("or__")]
        ands = [(k, v) for k, v in query if not k.startswith("or__") and k not in ("page", "page_size", "order_by")]

        def match(obj, field, value):
            field = field.removesuffix("__exact").removesuffix("__id")
            have = obj.get(field)
            return (have is None and value in ("", "null", "None")) or str(have) == value

        out = [o for o in pool if all(match(o, k, v) for k, v in ands) and (not ors or any(match(o, k, v) for k, v in ors))]
        return sorted(out, key=lambda o: o["id"])

    # ----------------------------------------------------------------------------------------------- writes
    def create(self, coll: str, data: dict) -> dict:
        if coll not in COLLECTIONS or coll in ("project_updates",):
            raise ApiError(405, {"detail": f'Method "POST" not allowed on {coll}.'})
        data = self._validate(coll, data, None)
        secrets = data.pop("_secrets", None)
        obj = self._insert(coll, data)
        if secrets is not None:
            self.secrets[obj["id"]] = secrets
        if coll == "projects":
            self._sync_project(obj)
        return obj

    def update(self, coll: str, obj: dict, data: dict) -> dict:
        data = self._validate(coll, data, obj)
        secrets = data.pop("_secrets", None)
        scm_changed = any(k in data and data[k] != obj.get(k) for k in ("scm_url", "scm_branch", "scm_type"))
        obj.update(data)
        if secrets is not None:
            self.secrets[obj["id"]] = {**self.secrets.get(obj["id"], {}), **secrets}
        if coll == "projects" and scm_changed:
            self._sync_project(obj)
        return obj

    def delete(self, coll: str, obj: dict):
        del self.objects[coll][obj["id"]]
        self.surveys.pop((coll, obj["id"]), None)
        for key in [k for k in self.assoc if k[:2] == (coll, obj["id"])]:
            del self.assoc[key]

    def associate(self, coll: str, obj: dict, name: str, data: dict):
        target = ASSOCIATIONS[name]
        other = self._find(target, data.get("id"))
        if other is None:
            raise _bad("id", f"Invalid pk \"{data.get('id')}\" - object does not exist.")
        if target == "workflow_job_template_nodes" and other["workflow_job_template"] != obj["workflow_job_template"]:
            raise _bad("id", "Cannot associate a node of another workflow.")
        ids = self.assoc.setdefault((coll, obj["id"], name), [])
        if data.get("disassociate"):
            if other["id"] in ids:
                ids.remove(other["id"])
        elif other["id"] not in ids:
            ids.append(other["id"])

    # ----------------------------------------------------------------------------------------------- validation
    def _validate(self, coll: str, data: dict, existing: dict | None) -> dict:
        data = {k: v for k, v in data.items() if k not in ("id", "type", "url", "related", "summary_fields")}
        merged = {**(existing or DEFAULTS.get(coll, {})), **data}
        ident = "identifier" if coll == "workflow_job_template_nodes" else "name"
        if coll not in ("users",) and not merged.get(ident):
            raise _bad(ident, "This field is required.")
        for field, target in COLLECTIONS[coll][1].items():
            value = data.get(field)
            if value not in (None, "") and self._find(target, value) is None:
                raise _bad(field, f'Invalid pk "{value}" - object does not exist.')
        scope = UNIQUE_SCOPE.get(coll)
        if scope is not None:
            clash = [
                o for o in self.objects[coll].values()
                if o["name"] == merged["name"] and all(o.get(f) == merged.get(f) for f in scope) and (existing is None or o["id"] != existing["id"])
            ]
            if clash:
                raise ApiError(400, {"__all__": [f"{COLLECTIONS[coll][0].replace('_', ' ').title()} with this Name already exists."]})
        check = getattr(self, f"_check_{coll}", None)
        if check:
            data = check(data, merged, existing) or data
        return data

    def _check_credential_types(self, data, merged, existing):
        if existing is not None and existing.get("managed"):
            raise ApiError(403, {"detail": "Modifications not allowed for managed credential types"})
        if merged.get("kind") not in ("cloud", "net"):
            raise _bad("kind", "Must be 'cloud' or 'net', not " + repr(merged.get("kind")))
        fields = merged.get("inputs", {}).get("fields", [])
        ids = []
        for field in fields:
            if not isinstance(field, dict) or not field.get("id") or not field.get("label"):
                raise _bad("inputs", f"every field needs an id and a label: {field!r}")
            if field.get("type", "string") not in ("string", "boolean"):
                raise _bad("inputs", f"{field['id']}: type must be string or boolean")
            if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", field["id"]):
                raise _bad("inputs", f"{field['id']}: not a valid identifier")
            ids.append(field["id"])
        if len(ids) != len(set(ids)):
            raise _bad("inputs", "field ids must be unique")
        for name in merged.get("inputs", {}).get("required", []):
            if name not in ids:
                raise _bad("inputs", f"required field {name!r} is not defined")
        injectors = merged.get("injectors", {})
        bad_kinds = set(injectors) - set(INJECTOR_KINDS)
        if bad_kinds:
            raise _bad("injectors", f"unknown injector kinds {sorted(bad_kinds)}")
        files = [k for k in injectors.get("file", {}) if k == "template" or k.startswith("template.")]
        if len(files) != len(injectors.get("file", {})):
            raise _bad("injectors", "file injector keys must be 'template' or 'template.<name>'")
        for kind in ("env", "extra_vars"):
            for key, value in injectors.get(kind, {}).items():
                if not isinstance(value, str):
                    raise _bad("injectors", f"{kind}.{key} must be a string")
                if kind == "extra_vars" and not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", key):
                    raise _bad("injectors", f"extra_vars.{key} is not a valid variable name")
        # AWX renders every injector template with the declared inputs; an undefined name is an error.
        names = {k.split(".", 1)[1] if "." in k else "cloudcred" for k in files}
        namespace = {i: "x" for i in ids} | {"tower": {"filename": dict.fromkeys(names, "/tmp/x")}}
        namespace["awx"] = namespace["tower"]
        env = jinja2.sandbox.ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined)
        for kind, entries in injectors.items():
            for key, template in entries.items():
                try:
                    env.from_string(template).render(namespace)
                except jinja2.TemplateError as exc:
                    raise _bad("injectors", f"{kind}.{key}: {exc}") from exc
        return data

    def _check_credentials(self, data, merged, existing):
        ctype = self._find("credential_types", merged.get("credential_type"))
        if ctype is None:
            raise _bad("credential_type", "This field is required.")
        fields = {f["id"]: f for f in ctype["inputs"].get("fields", [])}
        inputs = data.get("inputs")
        if inputs is None:
            return data
        unknown = set(inputs) - set(fields)
        if unknown:
            raise _bad("inputs", f"{sorted(unknown)} are not valid fields for {ctype['name']}")
        stored_secrets = self.secrets.get(existing["id"], {}) if existing else {}
        for name in ctype["inputs"].get("required", []):
            if not inputs.get(name) and not stored_secrets.get(name):
                raise _bad("inputs", f"{name}: required for {ctype['name']}")
        for name, value in inputs.items():
            if fields[name].get("type", "string") == "boolean" and not isinstance(value, bool):
                raise _bad("inputs", f"{name}: must be a boolean")
            if fields[name].get("type", "string") == "string" and not isinstance(value, str):
                raise _bad("inputs", f"{name}: must be a string")
            if fields[name].get("format") == "ssh_private_key" and value and value != ENCRYPTED and "PRIVATE KEY-----" not in value:
                raise _bad("inputs", f"{name}: Invalid certificate or key")
        plain = {k: v for k, v in inputs.items() if not fields[k].get("secret")}
        # Sending $encrypted$ back keeps the stored secret, as AWX does.
        secret = {k: v for k, v in inputs.items() if fields[k].get("secret") and v != ENCRYPTED}
        return {**data, "inputs": plain, "_secrets": secret}

    def _check_projects(self, data, merged, existing):
        if merged.get("scm_type") not in ("", "git", "svn", "insights", "archive"):
            raise _bad("scm_type", f'"{merged.get("scm_type")}" is not a valid choice.')
        if merged.get("scm_type") and not merged.get("scm_url"):
            raise _bad("scm_url", "SCM URL is required.")
        if not merged.get("organization"):
            raise _bad("organization", "This field is required.")
        return data

    def _check_inventory_sources(self, data, merged, existing):
        if merged.get("source") == "scm":
            project = self._find("projects", merged.get("source_project"))
            if project is None:
                raise _bad("source_project", "Project required for scm type sources.")
            known = self.project_files.get(project["id"], {}).get("inventories", [])
            if merged.get("source_path") not in known:
                raise _bad("source_path", f"Inventory file {merged.get('source_path')!r} not found in project {project['name']!r}.")
        return data

    def _check_job_templates(self, data, merged, existing):
        project = self._find("projects", merged.get("project"))
        if project is None:
            raise _bad("project", "This field is required.")
        if merged.get("playbook") not in self.project_files.get(project["id"], {}).get("playbooks", []):
            raise _bad("playbook", "Playbook not found for project.")
        if merged.get("inventory") is None and not merged.get("ask_inventory_on_launch"):
            raise _bad("inventory", "Job Template must provide 'inventory' or allow prompting for it.")
        for field in ("extra_vars",):
            if merged.get(field):
                _parse_vars(field, merged[field])
        return data

    def _check_workflow_job_templates(self, data, merged, existing):
        if merged.get("extra_vars"):
            _parse_vars("extra_vars", merged["extra_vars"])
        return data

    def _check_inventories(self, data, merged, existing):
        if merged.get("variables"):
            _parse_vars("variables", merged["variables"])
        if not merged.get("organization"):
            raise _bad("organization", "This field is required.")
        return data

    def _check_workflow_job_template_nodes(self, data, merged, existing):
        wfjt = merged.get("workflow_job_template")
        clash = [
            o for o in self.objects["workflow_job_template_nodes"].values()
            if o["workflow_job_template"] == wfjt and o["identifier"] == merged["identifier"] and (existing is None or o["id"] != existing["id"])
        ]
        if clash:
            raise ApiError(400, {"__all__": ["Workflow job template node with this Workflow job template and Identifier already exists."]})
        data.pop("type", None)
        return data

    # ----------------------------------------------------------------------------------------------- launches
    def launch(self, coll: str, obj: dict, body: dict) -> dict:
        """AWX's prompt rules for extra vars (SurveyJobTemplateMixin._accept_or_ignore_variables)."""
        given = body.get("extra_vars") or {}
        given = _parse_vars("extra_vars", given) if isinstance(given, str) else dict(given)
        survey = self.surveys.get((coll, obj["id"]), {}) if obj.get("survey_enabled") else {}
        questions = {q["variable"]: q for q in survey.get("spec", [])}
        if obj.get("ask_variables_on_launch"):
            accepted, ignored = dict(given), {}
        else:
            accepted = {k: v for k, v in given.items() if k in questions}
            ignored = {k: v for k, v in given.items() if k not in questions}
        errors = []
        for name, question in questions.items():
            if name not in accepted:
                if question.get("default") not in (None, ""):
                    accepted[name] = question["default"]
                elif question["required"]:
                    errors.append(f"'{name}' value missing")
                continue
            errors += survey_answer_errors(question, accepted[name])
        if errors:
            raise ApiError(400, {"variables_needed_to_start": errors})
        job = {"id": next(self.ids), "type": "job" if coll == "job_templates" else "workflow_job", "name": obj["name"],
               "extra_vars": json.dumps(accepted), "ignored_fields": {"extra_vars": ignored} if ignored else {}}
        self.jobs.append(job)
        return {**job, "job": job["id"]} if coll == "job_templates" else {**job, "workflow_job": job["id"]}

    # ----------------------------------------------------------------------------------------------- surveys
    def set_survey(self, coll: str, obj: dict, spec: dict):
        validate_survey(spec)
        self.surveys[(coll, obj["id"])] = copy.deepcopy(spec)

    # ----------------------------------------------------------------------------------------------- projects
    def _project_dir(self, obj: dict) -> Path | None:
        url = obj.get("scm_url") or ""
        if url in self.project_roots:
            return Path(self.project_roots[url])
        if url.startswith("file://"):
            return Path(unquote(urlsplit(url).path))
        return None

    def _sync_project(self, obj: dict):
        """A project update: list playbooks and inventory files the way AWX's project scan does."""
        root = self._project_dir(obj)
        ok = root is not None and root.is_dir()
        files = scan_project(root) if ok else {"playbooks": [], "inventories": []}
        self.project_files[obj["id"]] = files
        update = self._insert("project_updates", {"name": obj["name"], "project": obj["id"], "status": "successful" if ok else "failed",
                                                  "failed": not ok, "scm_revision": "local" if ok else ""})
        obj["_current_update"] = update["id"]
        obj["scm_revision"] = update["scm_revision"]
        obj["status"] = update["status"]

    def dump(self) -> dict:
        """Everything stored, by collection and name, with survey specs and associations resolved to names."""
        with self.lock:
            out = {}
            for coll, objs in self.objects.items():
                out[coll] = {}
                for obj in objs.values():
                    item = self.render(coll, obj)
                    key = obj.get("name") or obj.get("identifier") or str(obj["id"])
                    if coll == "workflow_job_template_nodes":
                        key = f"{self.objects['workflow_job_templates'][obj['workflow_job_template']]['name']}/{obj['identifier']}"
                    if (coll, obj["id"]) in self.surveys:
                        item["survey_spec"] = self.surveys[(coll, obj["id"])]
                    for (c, oid, name), ids in self.assoc.items():
                        if c == coll and oid == obj["id"] and ids:
                            item.setdefault("associations", {})[name] = [self._label(ASSOCIATIONS[name], i) for i in ids]
                    out[coll][key] = item
            return out

    def _label(self, coll, oid):
        obj = self._find(coll, oid)
        return obj.get("name") or obj.get("identifier")


def _parse_vars(field: str, text: str):
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _bad(field, f"Cannot parse as JSON or YAML: {exc}") from exc
    if value is not None and not isinstance(value, dict):
        raise _bad(field, "Must be a dictionary of variables.")
    return value or {}


def validate_survey(spec) -> None:
    """AWX's survey-spec rules (JobTemplateSurveySpec), plus defaults checked against min/max and choices."""
    if not isinstance(spec, dict):
        raise ApiError(400, {"error": "Survey specification must be a dictionary."})
    for key in ("name", "description"):
        if key not in spec:
            raise ApiError(400, {"error": f"'{key}' missing from survey spec."})
    if not isinstance(spec.get("spec"), list):
        raise ApiError(400, {"error": "'spec' must be a list of items."})
    seen = set()
    for idx, item in enumerate(spec["spec"]):
        where = f"Survey question {idx}"
        if not isinstance(item, dict):
            raise ApiError(400, {"error": f"{where} is not a json object."})
        for key in ("type", "question_name", "variable", "required"):
            if key not in item:
                raise ApiError(400, {"error": f"'{key}' missing from survey question {idx}."})
        if item["type"] not in SURVEY_TYPES:
            raise ApiError(400, {"error": f"'{item['type']}' in survey question {idx} is not one of '{', '.join(SURVEY_TYPES)}' allowed question types."})
        if item["variable"] in seen:
            raise ApiError(400, {"error": f"'variable' '{item['variable']}' duplicated in survey question {idx}."})
        if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", item["variable"]):
            raise ApiError(400, {"error": f"'{item['variable']}' in survey question {idx} is not a valid variable name."})
        seen.add(item["variable"])
        if not isinstance(item["required"], bool):
            raise ApiError(400, {"error": f"'required' in survey question {idx} must be a boolean."})
        default = item.get("default")
        kind = item["type"]
        lo, hi = item.get("min"), item.get("max")
        if kind in ("multiplechoice", "multiselect"):
            choices = item.get("choices")
            choices = choices.split("\n") if isinstance(choices, str) else choices
            if not isinstance(choices, list) or not choices:
                raise ApiError(400, {"error": f"'choices' must be a non-empty list in survey question {idx}."})
            if default in (None, ""):
                picked = []
            elif kind == "multiselect":
                picked = default.split("\n") if isinstance(default, str) else default
            else:
                picked = [default]
            for value in picked:
                if value not in choices:
                    raise ApiError(400, {"error": f"Default choice {value!r} must be a valid choice in survey question {idx}."})
        elif default not in (None, ""):
            if kind == "integer" and (not isinstance(default, int) or isinstance(default, bool)):
                raise ApiError(400, {"error": f"Value {default!r} for 'default' expected to be of type integer in survey question {idx}."})
            if kind == "float" and (not isinstance(default, (int, float)) or isinstance(default, bool)):
                raise ApiError(400, {"error": f"Value {default!r} for 'default' expected to be of type float in survey question {idx}."})
            if kind in ("text", "textarea", "password") and not isinstance(default, str):
                raise ApiError(400, {"error": f"Value {default!r} for 'default' expected to be a string in survey question {idx}."})
            measure = len(default) if isinstance(default, str) else default
            if (lo is not None and measure < lo) or (hi is not None and measure > hi):
                raise ApiError(400, {"error": f"Default {default!r} outside min/max [{lo}, {hi}] in survey question {idx}."})


def survey_answer_errors(question: dict, value) -> list[str]:
    """AWX's checks of one survey answer at launch (SurveyJobTemplateMixin._survey_element_validation)."""
    name, kind, lo, hi = question["variable"], question["type"], question.get("min"), question.get("max")
    if kind in ("text", "textarea", "password"):
        if not isinstance(value, str):
            return [f"Value {value} for '{name}' expected to be a string."]
        if lo is not None and len(value) < int(lo):
            return [f"'{name}' value {value} is too small (length is {len(value)} must be at least {lo})."]
        if hi is not None and len(value) > int(hi):
            return [f"'{name}' value {value} is too large (must be no more than {hi})."]
    elif kind in ("integer", "float"):
        number = (int,) if kind == "integer" else (int, float)
        if not isinstance(value, number) or isinstance(value, bool):
            return [f"Value {value} for '{name}' expected to be of type {kind}."]
        if lo is not None and value < lo:
            return [f"'{name}' value {value} is too small (must be at least {lo})."]
        if hi is not None and value > hi:
            return [f"'{name}' value {value} is too large (must be no more than {hi})."]
    elif kind in ("multiplechoice", "multiselect"):
        choices = question.get("choices")
        choices = choices.split("\n") if isinstance(choices, str) else choices
        picked = value if kind == "multiselect" and isinstance(value, list) else [value]
        if any(v not in choices for v in picked):
            return [f"Value {value} for '{name}' expected to be one of {choices}."]
    return []


def scan_project(root: Path) -> dict:
    """Playbooks (YAML lists of plays) and inventory files (every file under an inventories/ or inventory/ directory) in a checkout."""
    playbooks, inventories = [], []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        in_inventories = bool({"inventories", "inventory"} & set(rel_dir.parts))
        # Prune what a project scan never needs (and the venv/build trees, which are large).
        dirnames[:] = sorted(
            d for d in dirnames
            if not d.startswith(".") and (d not in SKIPPED_DIRS or (in_inventories and d not in ("group_vars", "host_vars")))
        )
        if in_inventories:
            dirnames[:] = [d for d in dirnames if d not in ("group_vars", "host_vars")]
        for name in sorted(filenames):
            rel = rel_dir / name
            if in_inventories:
                inventories.append(str(rel))
                continue
            if Path(name).suffix not in PLAYBOOK_SUFFIXES:
                continue
            try:
                doc = yaml.safe_load((root / rel).read_text())
            except (yaml.YAMLError, UnicodeDecodeError, OSError):
                continue
            if isinstance(doc, list) and doc and all(isinstance(p, dict) for p in doc) and any(
                "hosts" in p or "import_playbook" in p or "ansible.builtin.import_playbook" in p for p in doc
            ):
                playbooks.append(str(rel))
    return {"playbooks": sorted(playbooks), "inventories": sorted(inventories)}


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeAWX/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # keep test output clean
        return

    @property
    def state(self) -> AwxState:
        return self.server.state  # type: ignore[attr-defined]

    def _send(self, status: int, body=None):
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-API-Product-Name", "AWX")
        self.send_header("X-API-Product-Version", PRODUCT_VERSION)
        self.end_headers()
        self.wfile.write(payload)

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise ApiError(400, {"detail": f"JSON parse error - {exc}"}) from exc

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PATCH(self):
        self._dispatch("PATCH")

    def do_PUT(self):
        self._dispatch("PATCH")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def _dispatch(self, method: str):
        url = urlsplit(self.path)
        query = parse_qsl(url.query, keep_blank_values=True)
        try:
            body = self._body() if method in ("POST", "PATCH") else {}
            with self.state.lock:
                self.state.requests.append((method, url.path))
                status, out = self._route(method, url.path, query, body)
        except ApiError as exc:
            status, out = exc.status, exc.body
        self._send(status, out)

    def _authorised(self) -> bool:
        return self.headers.get("Authorization", "") == f"Bearer {self.server.token}"  # type: ignore[attr-defined]

    def _route(self, method: str, path: str, query, body):
        if not path.startswith(API):
            raise ApiError(404, {"detail": "Not found."})
        parts = [unquote(p) for p in path[len(API):].strip("/").split("/") if p]
        if parts == ["ping"]:
            return 200, {"ha": False, "version": PRODUCT_VERSION, "active_node": "fake-awx", "instances": [], "instance_groups": []}
        if not self._authorised():
            raise ApiError(401, {"detail": "Authentication credentials were not provided."})
        if parts == ["me"]:
            return 200, {"count": 1, "next": None, "previous": None,
                         "results": [{"id": 1, "type": "user", "username": "admin", "is_superuser": True}]}
        if not parts or (parts[0] not in COLLECTIONS and parts[0] != "unified_job_templates"):
            raise ApiError(404, {"detail": "Not found."})
        st = self.state
        coll = parts[0]
        if len(parts) == 1:
            if method == "GET":
                results = [st.render(coll, o) for o in st.list(coll, query)]
                return 200, {"count": len(results), "next": None, "previous": None, "results": results}
            if method == "POST":
                return 201, st.render(coll, st.create(coll, body))
            raise ApiError(405, {"detail": f'Method "{method}" not allowed.'})
        obj = st._find(coll, parts[1]) if parts[1].isdigit() else None
        if obj is None:
            raise ApiError(404, {"detail": "Not found."})
        coll = st._collection_of(obj)
        if len(parts) == 2:
            if method == "GET":
                return 200, st.render(coll, obj)
            if method == "PATCH":
                return 200, st.render(coll, st.update(coll, obj, body))
            if method == "DELETE":
                st.delete(coll, obj)
                return 204, None
        sub = parts[2] if len(parts) == 3 else None
        if sub == "survey_spec" and coll in ("job_templates", "workflow_job_templates"):
            if method == "GET":
                return 200, copy.deepcopy(st.surveys.get((coll, obj["id"]), {}))
            if method == "POST":
                st.set_survey(coll, obj, body)
                return 200, None
            if method == "DELETE":
                st.surveys.pop((coll, obj["id"]), None)
                return 200, None
        if sub == "launch" and coll in ("job_templates", "workflow_job_templates") and method == "POST":
            return 201, st.launch(coll, obj, body)
        if sub in ("playbooks", "inventories") and coll == "projects" and method == "GET":
            return 200, st.project_files.get(obj["id"], {}).get(sub, [])
        if sub in ASSOCIATIONS:
            if method == "GET":
                ids = st.assoc.get((coll, obj["id"], sub), [])
                results = [st.render(ASSOCIATIONS[sub], st._find(ASSOCIATIONS[sub], i)) for i in ids]
                return 200, {"count": len(results), "next": None, "previous": None, "results": results}
            if method == "POST":
                st.associate(coll, obj, sub, body)
                return 204, None
        raise ApiError(404, {"detail": "Not found."})


class FakeAWX:
    """Serve the fake API on 127.0.0.1 in a background thread: ``with FakeAWX(token) as awx: awx.url``."""

    def __init__(self, token: str, project_roots: dict[str, str] | None = None, port: int = 0):
        self.state = AwxState(project_roots)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self.httpd.state = self.state  # type: ignore[attr-defined]
        self.httpd.token = token  # type: ignore[attr-defined]
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="fake-awx", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def writes(self) -> list[tuple[str, str]]:
        """Requests that would change the controller (POST/PATCH/PUT/DELETE), in order."""
        with self.state.lock:
            return [r for r in self.state.requests if r[0] != "GET"]

    def __enter__(self) -> FakeAWX:
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
