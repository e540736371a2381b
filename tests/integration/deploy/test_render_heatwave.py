"""Render mode with openedx_scale_mysql=heatwave, with the real Tutor: the DB system is made in the OCI sandbox by
oci_mysql_db_system, the deploy playbook reads its endpoint from OCI (oke_cluster's mysql_endpoint entry point, as a
fresh AWX job does), and the rendered manifests run no MySQL pod and point every MySQL setting at the DB system.
"""

from __future__ import annotations

import json

import pytest
import yaml

from tests.helpers.ansible import REPO, VENV_BIN, assert_ok, run_playbook
from tests.rehearsal import inventory_path
from tests.sandbox.oci import OciSandbox

from .test_render import PLAYBOOK, secret_files
from .test_variants import load

PASSWORD = "Rehearsal-Adm1n.sandbox"  # the sandbox inventory's openedx_scale_mysql_admin_password
MODULE_PLAYBOOK = REPO / "tests" / "integration" / "provision" / "playbooks" / "mysql_db_system.yml"


@pytest.fixture(scope="module")
def heatwave(tmp_path_factory):
    work = tmp_path_factory.mktemp("heatwave")
    with OciSandbox("ample", work / "oci") as sb:
        common = {"deployment": "rehearsal", "name": "openedx-rehearsal-mysql", "compartment_id": "ocid1.compartment.oc1..aaaaaaaasandboxcompartment",
                  "subnet_id": "ocid1.subnet.oc1.me-jeddah-1.aaaaaaaasandboxmysql", "client_cidrs": ["10.0.20.0/24"], "shape": "MySQL.8",
                  "admin_username": "openedx_admin", "admin_password": PASSWORD, "config_file": sb.config_file}
        made = run_playbook(MODULE_PLAYBOOK, extravars={"mysql_common": common}, envvars=sb.env())
        assert_ok(made)
        db = made.results("Ensure the DB system")[0]["db_system"]
        out = work / "render"
        run = run_playbook(PLAYBOOK, inventory_path("sandbox"), envvars=sb.env(), extravars={
            "openedx_scale_render_dir": str(out), "tutor_executable": str(VENV_BIN / "tutor"), "tutor_kubectl": str(VENV_BIN / "kubectl"),
            "openedx_scale_mysql": "heatwave", "openedx_scale_oci_auth": {"config_file": sb.config_file, "profile": "DEFAULT"}})
        calls = sb.state()["counters"]["calls"]
    assert_ok(run)
    return {"db": db, "objects": load(out), "run": run, "calls": calls}


def test_no_mysql_pod_volume_or_policy(heatwave):
    names = {(o["kind"], o["metadata"]["name"]) for o in heatwave["objects"]}
    # Tutor's mysql-job stays: it is the client that creates the openedx database and user on the DB system.
    servers = [n for n in names if "mysql" in n[1] and n != ("Job", "mysql-job")]
    assert not servers, servers
    assert ("NetworkPolicy", "openedx-scale-mysql") not in names
    assert ("NetworkPolicy", "openedx-scale-redis") in names  # the other datastores keep theirs


def test_every_mysql_setting_points_at_the_db_system(heatwave):
    host, port = heatwave["db"]["ip_address"], heatwave["db"]["port"]
    config = secret_files(heatwave["objects"], "openedx-config")
    for name in ("lms.env.yml", "cms.env.yml"):  # Tutor's apps/openedx/config/partials/auth.yml: DATABASES.default
        database = yaml.safe_load(config[name])["DATABASES"]["default"]
        assert (database["HOST"], database["PORT"]) == (host, port), (name, database["HOST"], database["PORT"])
    rendered = json.dumps(heatwave["objects"])
    assert '"HOST": "mysql"' not in rendered and "HOST: mysql" not in rendered
    # Tutor's mysql-job is only a template here (`tutor k8s do init` renders its script, jobs/init/mysql.sh, from
    # config.yml at run time): no MySQL server image runs as a Deployment, and the job's only container is the client.
    job = next(o for o in heatwave["objects"] if o["kind"] == "Job" and o["metadata"]["name"] == "mysql-job")
    assert [c["name"] for c in job["spec"]["template"]["spec"]["containers"]] == ["mysql"]


def test_endpoint_read_from_oci_and_nothing_created(heatwave):
    assert heatwave["calls"].get("mysql.ListDbSystems", 0) >= 2  # the module's own run, then the deploy playbook's read
    assert heatwave["calls"]["mysql.CreateDbSystem"] == 1


def test_sizing_shows_the_db_system_and_the_password_stays_out(heatwave):
    out = " ".join(heatwave["run"].stdout.split())
    assert "HeatWave DB system MySQL.8 (outside the cluster)" in out
    assert PASSWORD not in heatwave["run"].stdout and PASSWORD not in json.dumps(heatwave["run"].events, default=str)


def test_weak_heatwave_password_stops_before_anything_is_written(tmp_path):
    out = tmp_path / "render"
    run = run_playbook(PLAYBOOK, inventory_path("sandbox"), extravars={
        "openedx_scale_render_dir": str(out), "tutor_executable": str(VENV_BIN / "tutor"), "tutor_kubectl": str(VENV_BIN / "kubectl"),
        "openedx_scale_mysql": "heatwave", "openedx_scale_mysql_host": "10.0.10.3", "openedx_scale_mysql_admin_password": "Weak$pass1"})
    text = " ".join(run.stdout.split())
    assert run.rc != 0 and "tutor_mysql_admin_password (openedx_scale_mysql_admin_password) holds one of" in text
    assert "Weak$pass1" not in run.stdout and not out.exists()
