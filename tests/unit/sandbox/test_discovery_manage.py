"""Course discovery's manage.py stand-in runs the seeding's program code (roles/loadtest_seed/vars/main.yml) as the
discovery container would: refresh_course_metadata first, then `shell --command` with the program on stdin."""

import json
import subprocess
import sys

import yaml

from tests.helpers.ansible import REPO
from tests.sandbox.discovery import DISCOVERY, STATE_ENV

CODE = yaml.safe_load((REPO / "roles" / "loadtest_seed" / "vars" / "main.yml").read_text())["_loadtest_seed_program_code"]
WANT = {"partner": "openedx", "course_run": "course-v1:OpenedX+DemoX+DemoCourse", "title": "Open edX Load Test Program", "type": "microbachelors"}


def manage(tmp_path, *argv, stdin=""):
    store = tmp_path / "lms-accounts.json"
    if not store.exists():  # the LMS stand-in's store after `cms import` of the demo course
        store.write_text(json.dumps({"accounts": {}, "runs": [], "courses": [WANT["course_run"]]}))
    env = {STATE_ENV: str(store), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "manage.py", *argv], cwd=DISCOVERY, env=env, input=stdin, capture_output=True, text=True, check=False)


def programs(tmp_path):
    return {p["uuid"]: p for p in json.loads((tmp_path / "lms-accounts.json").read_text())["discovery"]["programs"]}


def test_program_holds_the_course_discovery_learned_from_the_lms(tmp_path):
    assert manage(tmp_path, "refresh_course_metadata", "--partner_code=openedx").returncode == 0
    first = manage(tmp_path, "shell", "--command", CODE, stdin=json.dumps(WANT) + "\n")
    assert first.returncode == 0, first.stderr
    made = json.loads(first.stdout.splitlines()[-1])
    assert made["created"] is True
    program = programs(tmp_path)[made["uuid"]]
    assert program["title"] == WANT["title"] and program["marketing_slug"] == "open-edx-load-test-program"
    assert program["status"] == "active" and program["type_attrs"]["slug"] == "microbachelors"
    assert [r["key"] for c in program["courses"] for r in c["course_runs"]] == [WANT["course_run"]]
    # A re-run updates the same program (update_or_create by its slug): nothing new.
    again = manage(tmp_path, "shell", "--command", CODE, stdin=json.dumps(WANT) + "\n")
    assert json.loads(again.stdout.splitlines()[-1]) == {"uuid": made["uuid"], "created": False}
    assert list(programs(tmp_path)) == [made["uuid"]]


def test_program_before_the_course_is_known_fails(tmp_path):
    """Without refresh_course_metadata discovery has no such course run: DoesNotExist, exit 1, no program; a partner
    tutor-discovery's init did not create is refused too."""
    run = manage(tmp_path, "shell", "--command", CODE, stdin=json.dumps(WANT) + "\n")
    assert run.returncode == 1 and "CourseRun matching query does not exist" in run.stderr
    assert manage(tmp_path, "refresh_course_metadata", "--partner_code=nope").returncode == 1


def test_discovery_knows_only_the_courses_the_lms_imported(tmp_path):
    (tmp_path / "lms-accounts.json").write_text(json.dumps({"accounts": {}, "runs": []}))
    assert manage(tmp_path, "refresh_course_metadata", "--partner_code=openedx").returncode == 0
    run = manage(tmp_path, "shell", "--command", CODE, stdin=json.dumps(WANT) + "\n")
    assert run.returncode == 1 and "CourseRun matching query does not exist" in run.stderr
