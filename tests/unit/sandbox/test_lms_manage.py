"""The LMS container's manage.py stand-in keeps edx-platform's create_test_users contract (what the seed play relies on)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.sandbox.lms.edx_platform import ACCOUNTS_ENV, PLATFORM, check_password


def manage(tmp_path, *args):
    """Run it as kwok does for `kubectl exec`: ./manage.py in its directory, the accounts file in the environment."""
    env = {ACCOUNTS_ENV: str(tmp_path / "accounts.json"), "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    return subprocess.run(["./manage.py", *args], cwd=PLATFORM, env=env, capture_output=True, text=True, check=False)


def stored(tmp_path):
    return json.loads((tmp_path / "accounts.json").read_text())


def test_creates_accounts_with_emails_and_hashed_passwords(tmp_path):
    run = manage(tmp_path, "lms", "create_test_users", "--domain", "lt.example", "--password", "S3cret-pw", "ann", "bob")
    assert run.returncode == 0 and run.stdout.strip() == "2 created, 0 already there"
    accounts = stored(tmp_path)["accounts"]
    assert {u: a["email"] for u, a in accounts.items()} == {"ann": "ann@lt.example", "bob": "bob@lt.example"}
    assert check_password("S3cret-pw", accounts["ann"]["password"]) and not check_password("wrong", accounts["ann"]["password"])
    assert "S3cret-pw" not in (tmp_path / "accounts.json").read_text()


def test_existing_accounts_fail_unless_ignored_and_then_keep_their_password(tmp_path):
    manage(tmp_path, "lms", "create_test_users", "--password", "first-pw", "ann")
    again = manage(tmp_path, "lms", "create_test_users", "--password", "other-pw", "ann")
    assert again.returncode == 1 and "CommandError: An account with the Public Username 'ann'" in again.stderr
    ignored = manage(tmp_path, "lms", "create_test_users", "--ignore_user_already_exists", "--password", "other-pw", "ann", "cy")
    assert ignored.returncode == 0 and ignored.stdout.strip() == "1 created, 1 already there"
    data = stored(tmp_path)
    assert check_password("first-pw", data["accounts"]["ann"]["password"]), "create_test_users never resets a password"
    assert data["runs"] == [{"created": 1, "skipped": 0}, {"created": 1, "skipped": 1}]  # the failed run wrote nothing


def test_rejects_what_edx_platform_rejects(tmp_path):
    assert "Unknown command: 'createsuperuser'" in manage(tmp_path, "lms", "createsuperuser").stderr
    assert "unrecognized arguments: --email" in manage(tmp_path, "lms", "create_test_users", "--email", "x@y", "ann").stderr
    assert "Invalid username 'a b'" in manage(tmp_path, "lms", "create_test_users", "a b").stderr
    assert "usage: ./manage.py lms|cms" in manage(tmp_path, "create_test_users", "ann").stderr
    assert not (tmp_path / "accounts.json").exists()
