"""The awx_config role's data checked against the rest of the collection, without a controller:

- every job template's playbook exists, and every survey variable is an option of a role that playbook runs
  (or an openedx_scale_* inventory setting the playbook or one of its roles reads);
- every survey default, rendered with each shipped inventory, passes that option's argument spec (type and
  choices), the survey's own min/max/choices, and the controller's survey-spec rules;
- the OCI credential type: injectors reference only declared inputs and files, every input is injected,
  secrets are marked secret, and the rendered files/env give a working config to the OCI SDK and to this
  collection's own OCI client (module_utils), even when the inventory's config_file does not exist.
"""

from __future__ import annotations

import functools
import re
import sys
from pathlib import Path

import jinja2
import jinja2.meta
import jinja2.sandbox
import oci
import pytest
import yaml
from ansible.inventory.manager import InventoryManager
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
from ansible.vars.manager import VariableManager
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.helpers.ansible import load_collections
from tests.rehearsal import inventory_path

REPO = Path(__file__).resolve().parents[3]
ROLE = REPO / "roles" / "awx_config"
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
INVENTORIES = ["sandbox", "example-jeddah"]
# The inventories' values call this collection's filters (openedx_scale.oke.loadgen_sizing, ...).
load_collections()
ROLE_ACTIONS = {"include_role", "import_role", "ansible.builtin.include_role", "ansible.builtin.import_role"}
IMPORT_PLAYBOOK = {"import_playbook", "ansible.builtin.import_playbook"}
# Survey question type -> argument-spec types it can feed without conversion.
SURVEY_TO_SPEC = {"integer": {"int", "float", "raw"}, "float": {"float", "raw"}, "text": {"str", "raw", "path"},
                  "textarea": {"str", "raw"}, "password": {"str", "raw"}, "multiplechoice": {"str", "raw"}, "multiselect": {"list", "raw"}}
PY_TYPES = {"integer": int, "float": (int, float), "text": str, "textarea": str, "password": str, "multiplechoice": str, "multiselect": list}

JOB_TEMPLATES = DEFAULTS["awx_config_job_templates"]
WORKFLOWS = DEFAULTS["awx_config_workflows"]


@functools.cache
def _yaml(path: Path):
    """Parsed YAML of a repository file (cached: the files do not change during a run; callers never mutate)."""
    return yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) if path.exists() else None


def _tasks(items):
    for task in items or []:
        yield task
        for key in ("block", "rescue", "always"):
            yield from _tasks(task.get(key))


def playbook_roles(playbook: Path, seen=None) -> set[str]:
    """Roles of this collection a playbook runs (roles:, include/import_role, and imported playbooks)."""
    seen = seen if seen is not None else set()
    if playbook in seen:
        return set()
    seen.add(playbook)
    roles = set()
    for play in _yaml(playbook) or []:
        target = next((play[k] for k in IMPORT_PLAYBOOK if k in play), None)
        if target:
            roles |= playbook_roles((playbook.parent / target).resolve(), seen)
            continue
        for entry in play.get("roles", []):
            roles.add(entry if isinstance(entry, str) else entry.get("role") or entry.get("name"))
        for section in ("pre_tasks", "tasks", "post_tasks", "handlers"):
            for task in _tasks(play.get(section)):
                action = next((k for k in task if k in ROLE_ACTIONS), None)
                if action:
                    args = task[action]
                    roles.add(args if isinstance(args, str) else args.get("name"))
    names = {r.removeprefix("openedx_scale.oke.") for r in roles if r}
    return {n for n in names if (REPO / "roles" / n / "meta" / "argument_specs.yml").exists()}


def playbook_text(playbook: Path, seen=None) -> str:
    seen = seen if seen is not None else set()
    if playbook in seen or not playbook.exists():
        return ""
    seen.add(playbook)
    text = playbook.read_text()
    for play in _yaml(playbook) or []:
        target = next((play[k] for k in IMPORT_PLAYBOOK if k in play), None)
        if target:
            text += playbook_text((playbook.parent / target).resolve(), seen)
    return text


def role_options(role: str) -> dict:
    return _yaml(REPO / "roles" / role / "meta" / "argument_specs.yml")["argument_specs"]["main"].get("options", {})


def role_defaults(role: str) -> dict:
    return _yaml(REPO / "roles" / role / "defaults" / "main.yml") or {}


def shared_settings() -> set[str]:
    names = set()
    for inv in INVENTORIES:
        names |= set(_yaml(inventory_path(inv) / "group_vars" / "all" / "openedx_scale.yml") or {})
    return names


def consumers(var: str, roles: set[str]) -> list[tuple[str, str, dict]]:
    """(role, option, spec) of role options whose default is exactly '{{ var }}'."""
    out = []
    pattern = re.compile(r"^\{\{\s*" + re.escape(var) + r"\s*\}\}$")
    for role in sorted(roles):
        for name, value in role_defaults(role).items():
            if isinstance(value, str) and pattern.match(value.strip()):
                out.append((role, name, role_options(role)[name]))
    return out


def pinned_vars(playbook: Path, seen=None) -> set[str]:
    """Variables a playbook sets itself (play vars, role-entry vars, include_role vars): extra vars would override them."""
    seen = seen if seen is not None else set()
    if playbook in seen or not playbook.exists():
        return set()
    seen.add(playbook)
    out = set()
    for play in _yaml(playbook) or []:
        target = next((play[k] for k in IMPORT_PLAYBOOK if k in play), None)
        if target:
            out |= pinned_vars((playbook.parent / target).resolve(), seen)
            continue
        out |= set(play.get("vars") or {})
        out |= {k for entry in play.get("roles", []) if isinstance(entry, dict) for k in entry.get("vars") or {}}
        for section in ("pre_tasks", "tasks", "post_tasks"):
            for task in _tasks(play.get(section)):
                if any(k in task for k in ROLE_ACTIONS):
                    out |= set(task.get("vars") or {})
    return out


def option_specs(var: str, playbooks: list[str]) -> list[tuple[str, str, dict]]:
    """Argument specs a survey variable feeds in these playbooks; fails when none of them uses it."""
    specs, used = [], False
    for pb in playbooks:
        path = REPO / pb
        roles = playbook_roles(path)
        direct = [(role, var, role_options(role)[var]) for role in sorted(roles) if var in role_options(role)]
        via_defaults = consumers(var, roles) if var.startswith("openedx_scale_") else []
        read_by_playbook = var.startswith("openedx_scale_") and var in shared_settings() and re.search(r"\b" + var + r"\b", playbook_text(path))
        used = used or bool(direct or via_defaults or read_by_playbook)
        assert var not in pinned_vars(path), f"{pb} sets {var} itself; a survey answer (an extra var) would override it"
        specs += direct + via_defaults
    assert used, (
        f"survey variable {var} does nothing in {playbooks}: it is neither an option of their roles nor an "
        "openedx_scale_* setting that a playbook or one of those roles' defaults reads"
    )
    return specs


def _trusted(value):
    return trust_as_template(value) if isinstance(value, str) else value


def value_without_survey(var: str, playbooks: list[str], inventory: str):
    """What the playbooks use for `var` when no extra var is given: inventory first, then role defaults."""
    loader, inv_vars = _inventory_vars(inventory)
    defaults = {}
    for pb in playbooks:
        for role in playbook_roles(REPO / pb):
            defaults |= {k: _trusted(v) for k, v in role_defaults(role).items()}
    variables = {**defaults, **inv_vars, "playbook_dir": str(REPO / "playbooks"), "inventory_dir": str(inventory_path(inventory))}
    return Templar(loader=loader, variables=variables).template(trust_as_template("{{ " + var + " }}"))


@functools.cache
def _inventory_vars(inventory: str):
    loader = DataLoader()
    inv = InventoryManager(loader=loader, sources=[str(inventory_path(inventory))])
    return loader, dict(VariableManager(loader=loader, inventory=inv).get_vars(host=inv.get_host("localhost"), include_hostvars=False))


def inventory_templar(inventory: str) -> Templar:
    """Variables playbooks/awx_configure.yml renders the survey defaults with: the inventory only."""
    loader, variables = _inventory_vars(inventory)
    variables = {**variables, "playbook_dir": str(REPO / "playbooks"), "inventory_dir": str(inventory_path(inventory))}
    return Templar(loader=loader, variables=variables)


def lookup_default(question: dict, inventory: str):
    """What the role's `lookup('ansible.builtin.vars', variable, default=default)` gives for a question."""
    inv_vars = _inventory_vars(inventory)[1]
    return inv_vars.get(question["variable"], question["default"])


SURVEYS = [(jt["name"], [jt["playbook"]], jt.get("survey", [])) for jt in JOB_TEMPLATES] + [
    (wf["name"], [next(jt["playbook"] for jt in JOB_TEMPLATES if jt["name"] == node["template"]) for node in wf["nodes"]], wf.get("survey", []))
    for wf in WORKFLOWS
]


@pytest.mark.parametrize("template", JOB_TEMPLATES, ids=lambda t: t["name"])
def test_job_template_playbook_exists(template):
    path = REPO / template["playbook"]
    assert path.is_file(), f"job template {template['name']!r}: {template['playbook']} does not exist"
    plays = _yaml(path)
    assert isinstance(plays, list) and plays, f"{template['playbook']} is not a playbook"


def test_every_stage_playbook_has_a_job_template():
    stage = {"provision_cluster.yml", "provision_loadgen.yml", "deploy_openedx.yml", "loadtest.yml", "teardown.yml", "site.yml"}
    covered = {Path(jt["playbook"]).name for jt in JOB_TEMPLATES}
    assert stage <= covered, f"no job template for {sorted(stage - covered)}"


def test_workflows_chain_provision_deploy_loadtest():
    by_name = {jt["name"]: Path(jt["playbook"]).stem for jt in JOB_TEMPLATES}
    for wf in WORKFLOWS:
        nodes = {n["identifier"]: n for n in wf["nodes"]}
        roots = set(nodes) - {c for n in wf["nodes"] for k in ("success_nodes", "failure_nodes", "always_nodes") for c in n.get(k, [])}
        assert len(roots) == 1, f"{wf['name']}: one start node expected, got {roots}"
        chain, node = [], nodes[roots.pop()]
        while node:
            chain.append(by_name[node["template"]])
            nxt = node.get("success_nodes", [])
            node = nodes[nxt[0]] if nxt else None
        assert chain[:4] == ["provision_cluster", "provision_loadgen", "deploy_openedx", "loadtest"], (wf["name"], chain)


@pytest.mark.parametrize("inventory", INVENTORIES)
@pytest.mark.parametrize(("name", "playbooks", "survey"), SURVEYS, ids=[s[0] for s in SURVEYS])
def test_survey_variables_and_defaults(name, playbooks, survey, inventory):
    assert survey, f"{name}: no survey"
    templar = inventory_templar(inventory)
    # Strings read with yaml.safe_load are untrusted in ansible-core 2.19: mark them as templates, as the role's
    # defaults file is when Ansible loads it.
    # The role fills a question's default with the inventory's value of its variable, else the question's default.
    rendered = [{**q, "default": templar.template(_trusted(lookup_default(q, inventory)))} if "default" in q else q for q in survey]
    # Whether AWX accepts the spec is judged by AWX itself (tests/integration/operate/test_awx_config.py).
    for q in rendered:
        var, kind, default = q["variable"], q["type"], q.get("default")
        assert isinstance(default, PY_TYPES[kind]) and not isinstance(default, bool), f"{name}: {var} default {default!r} is not {kind}"
        for role, option, spec in option_specs(var, playbooks):
            spec_type = spec.get("type", "str")
            assert spec_type in SURVEY_TO_SPEC[kind], f"{name}: {var} is a {kind} question but {role}.{option} is type {spec_type}"
            if spec.get("choices"):
                assert kind in ("multiplechoice", "multiselect"), f"{name}: {var} feeds {role}.{option} with choices; use a multiplechoice question"
                choices = q["choices"] if isinstance(q["choices"], list) else q["choices"].split("\n")
                assert set(choices) <= set(spec["choices"]), f"{name}: {var} offers {choices}, {role}.{option} accepts {spec['choices']}"
            result = ArgumentSpecValidator({option: spec}).validate({option: default})
            assert not result.error_messages, f"{name} ({inventory}): {var}={default!r} fails {role}.{option}: {result.error_messages}"
        # Launching with the defaults must run the playbook exactly as without a survey.
        expected = value_without_survey(var, playbooks, inventory)
        assert default == expected, f"{name} ({inventory}): survey default {var}={default!r}, but the playbook would use {expected!r}"


# ------------------------------------------------------------------------------------------ credential type
OCI_TYPE = next(t for t in DEFAULTS["awx_config_credential_types"] if t["name"] == "OCI API key")
RAW = re.compile(r"^\{% raw %\}(.*)\{% endraw %\}\n?$", re.S)


def _injector_templates() -> dict[str, str]:
    """kind.key -> template text as the controller receives it (the role's raw blocks removed)."""
    out = {}
    for kind, entries in OCI_TYPE["injectors"].items():
        for key, value in entries.items():
            match = RAW.match(value)
            out[f"{kind}.{key}"] = match.group(1) if match else value
    return out


def test_oci_type_fields_secrets_and_required():
    fields = {f["id"]: f for f in OCI_TYPE["inputs"]["fields"]}
    assert set(OCI_TYPE["inputs"]["required"]) <= set(fields)
    assert fields["private_key"].get("secret") is True and fields["private_key"].get("multiline") is True
    assert fields["passphrase"].get("secret") is True
    for name in ("user", "tenancy", "fingerprint", "region"):
        assert not fields[name].get("secret"), f"{name} is not secret; marking it so hides it from operators for nothing"
    assert "passphrase" not in OCI_TYPE["inputs"]["required"]


def test_oci_type_injectors_reference_only_declared_inputs():
    fields = {f["id"] for f in OCI_TYPE["inputs"]["fields"]}
    files = {k.split(".", 1)[1] for k in OCI_TYPE["injectors"].get("file", {})}
    env = jinja2.Environment()
    used = set()
    for key, template in _injector_templates().items():
        names = jinja2.meta.find_undeclared_variables(env.parse(template))
        assert names <= fields | {"tower"}, f"{key} references {sorted(names - fields - {'tower'})}, not inputs of the type"
        for ref in re.findall(r"tower\.filename\.(\w+)", template):
            assert ref in files, f"{key} references tower.filename.{ref}; the type only writes {sorted(files)}"
        used |= names
    assert fields <= used, f"inputs never injected: {sorted(fields - used)}"
    # The controller itself renders every template with only the inputs and file names (the real AWX judges the
    # type in tests/integration/operate); secrets must never be copied into extra_vars, which job output can show.
    assert not OCI_TYPE["injectors"].get("extra_vars")


def _render(inputs: dict, tmp: Path) -> tuple[dict[str, Path], dict[str, str]]:
    """Render injectors as the controller does for a job: write the files, return them and the env."""
    templates = _injector_templates()
    env_ = jinja2.sandbox.ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined)
    files = {k.split(".", 2)[2]: tmp / k.split(".", 2)[2] for k in templates if k.startswith("file.")}
    namespace = {**inputs, "tower": {"filename": {n: str(p) for n, p in files.items()}}}
    for name, path in files.items():
        path.write_text(env_.from_string(templates[f"file.template.{name}"]).render(namespace))
        path.chmod(0o600)
    env = {k.split(".", 1)[1]: env_.from_string(t).render(namespace) for k, t in templates.items() if k.startswith("env.")}
    return files, env


@pytest.fixture(scope="module")
def api_key():
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())
    # The fingerprint the console shows: MD5 of the DER-encoded public key.
    der = private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashes.Hash(hashes.MD5())
    digest.update(der)
    fingerprint = ":".join(f"{b:02x}" for b in digest.finalize())
    return {"user": "ocid1.user.oc1..aaaaaaaaexampleuser", "tenancy": "ocid1.tenancy.oc1..aaaaaaaaexampletenancy", "fingerprint": fingerprint,
            "region": "me-jeddah-1", "private_key": pem.decode(), "passphrase": ""}


def test_injected_config_file_loads_in_the_oci_sdk(api_key, tmp_path):
    files, env = _render(api_key, tmp_path)
    config = oci.config.from_file(str(files["config"]), "DEFAULT")
    oci.config.validate_config(config)
    assert config["user"] == api_key["user"] and config["tenancy"] == api_key["tenancy"] and config["region"] == "me-jeddah-1"
    assert Path(config["key_file"]).read_text() == api_key["private_key"]
    assert not config.get("pass_phrase")
    assert env["OCI_CONFIG_FILE"] == env["OCI_CLI_CONFIG_FILE"] == str(files["config"])


def test_passphrase_is_written_only_when_given(api_key, tmp_path):
    files, env = _render({**api_key, "passphrase": "s3cret"}, tmp_path)
    assert "pass_phrase=s3cret" in files["config"].read_text()
    assert env["OCI_USER_KEY_PASS_PHRASE"] == "s3cret"


def _oci_clients():
    collections = str(REPO / "build" / "collections")
    if collections not in sys.path:
        sys.path.insert(0, collections)
    from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_client import OciClients

    return OciClients


def test_injected_env_feeds_our_modules_despite_the_inventory_config_file(api_key, tmp_path):
    """In a job the inventory still says config_file: ~/.oci/config, which the EE does not have: the
    injected OCI_* variables must be enough for this collection's OCI client."""
    env = _render(api_key, tmp_path)[1]
    clients = _oci_clients()({"config_file": str(tmp_path / "absent" / "config"), "profile": "DEFAULT"}, environ=env)
    assert clients.tenancy == api_key["tenancy"] and clients.region == "me-jeddah-1"
    assert clients.config["user"] == api_key["user"] and clients.config["fingerprint"] == api_key["fingerprint"]


def test_injected_config_file_feeds_our_modules(api_key, tmp_path):
    files = _render(api_key, tmp_path)[0]
    clients = _oci_clients()({"config_file": str(files["config"]), "profile": "DEFAULT"}, environ={})
    assert clients.tenancy == api_key["tenancy"] and clients.config["key_file"] == str(files["key"])
