"""tests.sandbox.awx refuses what a real controller refuses, so a green integration run means something."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.sandbox.awx import FakeAWX

TOKEN = "t0k"


def call(awx: FakeAWX, method: str, path: str, body=None, token=TOKEN):
    req = urllib.request.Request(awx.url + "/api/v2/" + path, method=method, data=None if body is None else json.dumps(body).encode())
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


@pytest.fixture
def project(tmp_path):
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "site.yml").write_text("---\n- name: Play\n  hosts: all\n  tasks: []\n")
    (tmp_path / "playbooks" / "vars.yml").write_text("---\nfoo: 1\n")
    (tmp_path / "inventories" / "x").mkdir(parents=True)
    (tmp_path / "inventories" / "x" / "hosts.yml").write_text("---\nall: {}\n")
    return tmp_path


@pytest.fixture
def awx(project):
    with FakeAWX(TOKEN, project_roots={"git@example.invalid:p.git": str(project)}) as server:
        status, org = call(server, "POST", "organizations/", {"name": "o"})
        assert status == 201
        status, proj = call(server, "POST", "projects/", {"name": "p", "organization": org["id"], "scm_type": "git", "scm_url": "git@example.invalid:p.git"})
        assert status == 201 and proj["summary_fields"]["current_update"]
        server.ids_ = {"org": org["id"], "project": proj["id"]}
        yield server


def test_auth_is_required(awx):
    assert call(awx, "GET", "ping/", token=None)[0] == 200
    assert call(awx, "GET", "me/", token=None)[0] == 401
    assert call(awx, "GET", "organizations/", token="wrong")[0] == 401


def test_project_sync_lists_playbooks_and_inventories(awx, project):
    pid = awx.ids_["project"]
    assert call(awx, "GET", f"projects/{pid}/playbooks/")[1] == ["playbooks/site.yml"]
    assert call(awx, "GET", f"projects/{pid}/inventories/")[1] == ["inventories/x/hosts.yml"]


def test_job_template_needs_a_playbook_of_the_project(awx):
    base = {"name": "jt", "project": awx.ids_["project"], "ask_inventory_on_launch": True}
    status, body = call(awx, "POST", "job_templates/", {**base, "playbook": "playbooks/vars.yml"})
    assert status == 400 and body == {"playbook": ["Playbook not found for project."]}
    assert call(awx, "POST", "job_templates/", {**base, "playbook": "playbooks/site.yml"})[0] == 201
    status, body = call(awx, "POST", "job_templates/", {**base, "playbook": "playbooks/site.yml", "organization": awx.ids_["org"]})
    assert status == 201  # another organization scope
    status, body = call(awx, "POST", "job_templates/", {**base, "playbook": "playbooks/site.yml", "organization": awx.ids_["org"]})
    assert status == 400 and "already exists" in body["__all__"][0]


def test_inventory_source_path_must_exist(awx):
    inv = call(awx, "POST", "inventories/", {"name": "i", "organization": awx.ids_["org"]})[1]
    src = {"name": "s", "inventory": inv["id"], "source": "scm", "source_project": awx.ids_["project"]}
    assert call(awx, "POST", "inventory_sources/", {**src, "source_path": "inventories/y/hosts.yml"})[0] == 400
    assert call(awx, "POST", "inventory_sources/", {**src, "source_path": "inventories/x/hosts.yml"})[0] == 201


def _ctype(awx, injectors):
    inputs = {"fields": [{"id": "user", "label": "User", "type": "string"}, {"id": "key", "label": "Key", "type": "string", "secret": True}],
              "required": ["user", "key"]}
    return call(awx, "POST", "credential_types/", {"name": "T", "kind": "cloud", "inputs": inputs, "injectors": injectors})


def test_injectors_must_render_from_declared_inputs(awx):
    status, body = _ctype(awx, {"env": {"X": "{{ nope }}"}})
    assert status == 400 and "nope" in body["injectors"][0]
    status, body = _ctype(awx, {"env": {"X": "{{ tower.filename.key }}"}, "file": {"template.cfg": "u={{ user }}"}})
    assert status == 400  # no file template named 'key'
    assert _ctype(awx, {"env": {"X": "{{ tower.filename.cfg }}", "U": "{{ user }}"}, "file": {"template.cfg": "u={{ user }}"}})[0] == 201


def test_credentials_validate_inputs_and_mask_secrets(awx):
    ctype = _ctype(awx, {"env": {"U": "{{ user }}"}})[1]
    base = {"name": "c", "credential_type": ctype["id"], "organization": awx.ids_["org"]}
    assert call(awx, "POST", "credentials/", {**base, "inputs": {"user": "u"}})[0] == 400  # key required
    assert call(awx, "POST", "credentials/", {**base, "inputs": {"user": "u", "key": "k", "extra": "x"}})[0] == 400
    status, cred = call(awx, "POST", "credentials/", {**base, "inputs": {"user": "u", "key": "k"}})
    assert status == 201 and cred["inputs"] == {"user": "u", "key": "$encrypted$"}
    assert awx.state.secrets[cred["id"]] == {"key": "k"}
    # Sending $encrypted$ back keeps the stored secret.
    status, cred = call(awx, "PATCH", f"credentials/{cred['id']}/", {"inputs": {"user": "v", "key": "$encrypted$"}})
    assert status == 200 and awx.state.secrets[cred["id"]] == {"key": "k"} and cred["inputs"]["user"] == "v"


@pytest.mark.parametrize(("question", "fragment"), [
    ({"type": "integer", "default": "5"}, "integer"),
    ({"type": "integer", "default": 0, "min": 1, "max": 9}, "outside"),
    ({"type": "multiplechoice", "choices": ["a", "b"], "default": "c"}, "valid choice"),
    ({"type": "checkbox", "default": "x"}, "allowed question types"),
    ({"type": "text", "default": "x", "variable": "not a var"}, "valid variable"),
])
def test_survey_specs_are_validated(awx, question, fragment):
    new = {"name": "s", "project": awx.ids_["project"], "playbook": "playbooks/site.yml", "ask_inventory_on_launch": True}
    jt = call(awx, "POST", "job_templates/", new)[1]
    spec = {"name": "s", "description": "", "spec": [{"question_name": "q", "variable": "v", "required": True, **question}]}
    status, body = call(awx, "POST", f"job_templates/{jt['id']}/survey_spec/", spec)
    assert status == 400 and fragment in body["error"], body


def test_workflow_links_stay_in_their_workflow(awx):
    ids = []
    for name in ("w1", "w2"):
        wf = call(awx, "POST", "workflow_job_templates/", {"name": name, "organization": awx.ids_["org"]})[1]
        node = call(awx, "POST", "workflow_job_template_nodes/", {"identifier": "n", "workflow_job_template": wf["id"]})[1]
        ids.append(node["id"])
    # The workflow must exist, and a node may only link to nodes of its own workflow.
    assert call(awx, "POST", "workflow_job_template_nodes/", {"identifier": "m", "workflow_job_template": 999})[0] == 400
    assert call(awx, "POST", f"workflow_job_template_nodes/{ids[0]}/success_nodes/", {"id": ids[1]})[0] == 400
