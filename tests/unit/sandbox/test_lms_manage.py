"""The LMS container's manage.py stand-in keeps edx-platform's create_test_users contract (what the seed play relies on)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.sandbox.lms.edx_platform import ACCOUNTS_ENV, PLATFORM, check_password


def manage(tmp_path, *args, stdin=None):
    """Run it as kwok does for `kubectl exec`: ./manage.py in its directory, the accounts file in the environment."""
    env = {ACCOUNTS_ENV: str(tmp_path / "accounts.json"), "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    return subprocess.run(["./manage.py", *args], cwd=PLATFORM, env=env, input=stdin, capture_output=True, text=True, check=False)


def stored(tmp_path):
    return json.loads((tmp_path / "accounts.json").read_text())


def test_creates_accounts_with_emails_and_hashed_passwords(tmp_path):
    run = manage(tmp_path, "lms", "create_test_users", "--domain", "lt.example", "--password", "S3cret-pw", "ann", "bob")
    assert run.returncode == 0 and run.stdout.strip() == "2 created, 0 already there"
    accounts = stored(tmp_path)["accounts"]
    assert {u: a["email"] for u, a in accounts.items()} == {"ann": "ann@lt.example", "bob": "bob@lt.example"}
    assert check_password("S3cret-pw", accounts["ann"]["password"]) and not check_password("wrong", accounts["ann"]["password"])
    assert "S3cret-pw" not in (tmp_path / "accounts.json").read_text()
    # the run's argv is recorded with the password passed as an argument masked
    assert stored(tmp_path)["runs"][0]["argv"] == ["lms", "create_test_users", "--domain", "lt.example", "--password", "<password>", "ann", "bob"]


def test_shell_command_calls_create_test_users_in_process_with_the_batch_from_stdin(tmp_path):
    """What the loadtest_seed role runs: Django's `shell --command` reading one JSON line; no password in argv."""
    code = (
        "import json, sys\nfrom django.core.management import call_command\nbatch = json.loads(sys.stdin.readline())\n"
        "call_command('create_test_users', *batch['usernames'], domain=batch['domain'], password=batch['password'], ignore_user_already_exists=True)"
    )
    batch = json.dumps({"usernames": ["ann", "bob"], "domain": "lt.example", "password": "Stdin-secret-1"}) + "\n"
    run = manage(tmp_path, "lms", "shell", "--command", code, stdin=batch)
    assert run.returncode == 0 and run.stdout.strip() == "2 created, 0 already there", run.stderr
    data = stored(tmp_path)
    assert check_password("Stdin-secret-1", data["accounts"]["bob"]["password"])
    assert data["runs"][0]["argv"][:3] == ["lms", "shell", "--command"] and "Stdin-secret-1" not in json.dumps(data["runs"])
    # an option create_test_users does not have is refused, as Django's call_command does
    bad = manage(tmp_path, "lms", "shell", "--command", "from django.core.management import call_command\ncall_command('create_test_users', 'x_1', passwd='a')")
    assert bad.returncode != 0 and "Unknown option(s) for create_test_users command: passwd" in bad.stderr


def test_existing_accounts_fail_unless_ignored_and_then_keep_their_password(tmp_path):
    manage(tmp_path, "lms", "create_test_users", "--password", "first-pw", "ann")
    again = manage(tmp_path, "lms", "create_test_users", "--password", "other-pw", "ann")
    assert again.returncode == 1 and "CommandError: An account with the Public Username 'ann'" in again.stderr
    ignored = manage(tmp_path, "lms", "create_test_users", "--ignore_user_already_exists", "--password", "other-pw", "ann", "cy")
    assert ignored.returncode == 0 and ignored.stdout.strip() == "1 created, 1 already there"
    data = stored(tmp_path)
    assert check_password("first-pw", data["accounts"]["ann"]["password"]), "create_test_users never resets a password"
    # the failed run wrote nothing
    assert [{k: r[k] for k in ("created", "skipped")} for r in data["runs"]] == [{"created": 1, "skipped": 0}, {"created": 1, "skipped": 1}]


def test_rejects_what_edx_platform_rejects(tmp_path):
    assert "Unknown command: 'createsuperuser'" in manage(tmp_path, "lms", "createsuperuser").stderr
    assert "unrecognized arguments: --email" in manage(tmp_path, "lms", "create_test_users", "--email", "x@y", "ann").stderr
    assert "Invalid username 'a b'" in manage(tmp_path, "lms", "create_test_users", "a b").stderr
    assert "usage: ./manage.py lms|cms" in manage(tmp_path, "create_test_users", "ann").stderr
    assert not (tmp_path / "accounts.json").exists()


def demo_course(tmp_path):
    course = tmp_path / "data" / "demo"
    course.mkdir(parents=True)
    (course / "course.xml").write_text('<course url_name="DemoCourse" org="OpenedX" course="DemoX"/>\n')
    return tmp_path / "data"


def test_create_test_users_with_course_enrolls_everyone_named_once_the_course_is_imported(tmp_path):
    early = manage(tmp_path, "lms", "create_test_users", "--course", "course-v1:OpenedX+DemoX+DemoCourse", "ann")
    assert early.returncode == 1 and "Course course-v1:OpenedX+DemoX+DemoCourse does not exist" in early.stderr
    imported = manage(tmp_path, "cms", "import", str(demo_course(tmp_path)), "demo")
    assert imported.returncode == 0 and imported.stdout.strip() == "Imported course-v1:OpenedX+DemoX+DemoCourse"
    manage(tmp_path, "lms", "create_test_users", "bob")  # made before, without --course
    run = manage(tmp_path, "lms", "create_test_users", "--ignore_user_already_exists", "--course", "course-v1:OpenedX+DemoX+DemoCourse", "ann", "bob")
    assert run.returncode == 0 and run.stdout.strip() == "1 created, 1 already there", run.stderr
    accounts = stored(tmp_path)["accounts"]
    for name in ("ann", "bob"):
        assert accounts[name]["enrollments"] == {"course-v1:OpenedX+DemoX+DemoCourse": {"mode": "audit", "is_active": True}}
    bad = manage(tmp_path, "cms", "import", str(tmp_path), "nowhere")
    assert bad.returncode == 1 and "no readable course.xml" in bad.stderr


def test_cache_programs_copies_discoverys_programs_into_the_lms_cache(tmp_path):
    none = manage(tmp_path, "lms", "cache_programs")
    assert none.returncode == 1 and "no course discovery" in none.stderr
    runs = [{"key": "course-v1:OpenedX+DemoX+DemoCourse"}]
    program = {"uuid": "1f2e3d4c-0000-4000-8000-000000000001", "title": "Seeded", "courses": [{"key": "OpenedX+DemoX", "course_runs": runs}]}
    (tmp_path / "accounts.json").write_text(json.dumps({"accounts": {}, "runs": [], "discovery": {"programs": [program]}}))
    run = manage(tmp_path, "lms", "cache_programs")
    assert run.returncode == 0 and run.stdout.strip() == "1 programs cached"
    assert stored(tmp_path)["programs"] == [program]
