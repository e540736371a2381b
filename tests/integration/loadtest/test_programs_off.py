"""Without course discovery the locust role's preflight switches the programs flow off (weight 0) and says why
(openedx_scale_discovery_enabled, the setting the deploy stage deploys discovery by and the seeding creates its
program by).

Verawood's /dashboard/programs/ is 404 unless programs are configured, which needs course discovery
(openedx_scale_discovery): the flow is left out of the locustfile's flow weights, so it is never run and never
counted as failures. Same harness as test_loadtest_bad_input: this host as master and workers, an unreachable LMS
that stops the play after the input checks.
"""

from __future__ import annotations

from tests.helpers.ansible import run_playbook
from tests.integration.loadtest.test_loadtest_bad_input import PLAYBOOK, _fails_with, write_inventory

OFF = "The programs flow runs with weight 0 instead of 1: it reads programs from course discovery"


def test_discovery_off_runs_the_other_flows_and_says_why(tmp_path):
    run = run_playbook(PLAYBOOK, inventory=write_inventory(tmp_path))
    out = " ".join(run.stdout.split())
    assert OFF in out and "(locust_discovery_enabled is false, from openedx_scale_discovery_enabled)" in out, out[-3000:]
    assert "neither requested nor counted as failures" in out
    _fails_with(run, "is unreachable from w1")  # the later check: the inputs passed


def test_discovery_on_keeps_the_programs_flow(tmp_path):
    run = run_playbook(PLAYBOOK, inventory=write_inventory(tmp_path, openedx_scale_discovery_enabled=True))
    assert "runs with weight 0" not in run.stdout
    _fails_with(run, "is unreachable from w1")


def test_only_programs_without_discovery_is_refused(tmp_path):
    run = run_playbook(PLAYBOOK, inventory=write_inventory(tmp_path, locust_flow_weights={"programs": 1}))
    _fails_with(run, "locust_flow_weights: only the programs flow has a weight > 0", "openedx_scale_discovery_enabled: true")
