"""Fixtures for the locustfile package tests: the LMS stand-in over HTTPS and one recorded headless run."""

from pathlib import Path

import pytest
from openedx_locust_testlib import DEMO_COURSE, SECOND_COURSE, run_locust

from tests.sandbox.lms import StandIn, write_users_csv


@pytest.fixture(scope="session")
def lms_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("lms")


@pytest.fixture(scope="session")
def accounts_csv(lms_dir) -> Path:
    return write_users_csv(lms_dir / "users.csv", 200)


@pytest.fixture(scope="session")
def standin(lms_dir, accounts_csv):
    """Over HTTPS, two courses, every account enrolled in the demo course (as seeding does), a program cached."""
    with StandIn(lms_dir, accounts_csv, tls=True, courses=[DEMO_COURSE, SECOND_COURSE], enroll=[DEMO_COURSE]) as lms:
        yield lms


@pytest.fixture(scope="session")
def recorded_run(tmp_path_factory, standin, accounts_csv) -> dict:
    """One real headless run of the locustfile: 20 users, 10/s, 20 s, short think time so every step runs."""
    out = tmp_path_factory.mktemp("run")
    before = standin.stats()
    proc = run_locust(
        [
            "--host",
            standin.url,
            "--users-csv",
            str(accounts_csv),
            "--headless",
            "-u",
            "20",
            "-r",
            "10",
            "-t",
            "20s",
            "--think-time",
            "0.2,0.6",
            "--course-ids",
            f"{DEMO_COURSE},{SECOND_COURSE}",
            "--csv",
            str(out / "run"),
            "--csv-full-history",
            "--json-file",
            str(out / "run"),
            "--only-summary",
        ],
        timeout=90,
    )
    after = standin.stats()
    return {"proc": proc, "dir": out, "prefix": str(out / "run"), "before": before, "after": after}
