"""`make rehearsal` end to end with -vvv: it completes, prints where the report is, leaves nothing behind, and
no secret it handled (OCI key, Tutor secrets, MongoDB/Redis passwords, Locust users' passwords) is in the log."""

from __future__ import annotations

import base64
import csv
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
BUILD = REPO / "build"
# Tutor config keys that hold secrets (passwords, signing keys, API keys); not e.g. OPENEDX_SCALE_OKE_POOL_LABEL_KEY.
SECRET_KEY_RE = re.compile(r"(PASSWORD|SECRET|TOKEN|PRIVATE_KEY|KEYFILE|SECRET_KEY|MASTER_KEY|API_KEY)$", re.IGNORECASE)


def _env() -> dict:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    env["ANSIBLE_NOCOLOR"] = "1"
    return env


def _kubectl(*args: str) -> str:
    kubeconfig = BUILD / "kube" / "kubeconfig"
    return subprocess.run(["kubectl", f"--kubeconfig={kubeconfig}", *args], capture_output=True, text=True, check=True, env=_env()).stdout


# The seeding's Secret keeps its password beside what derives the accounts (docs/loadtest.md): prefix, domain, count,
# course and progress are public (the user names and the course id are in every log), only the password is a secret.
PUBLIC_KEYS = {"openedx-scale-loadtest-users": {"prefix", "domain", "users", "course", "complete"}}


def _secret_values_in_cluster() -> dict[str, str]:
    """Every value of every Secret in the Open edX namespace, plus the secrets inside Tutor's stored config.yml."""
    values: dict[str, str] = {}
    secrets = json.loads(_kubectl("get", "secrets", "--all-namespaces", "-o", "json"))["items"]
    for item in secrets:
        if item["metadata"]["namespace"] in ("kube-system", "kube-public", "kube-node-lease", "default"):
            continue
        for key, raw in (item.get("data") or {}).items():
            if key in PUBLIC_KEYS.get(item["metadata"]["name"], ()):
                continue
            value = base64.b64decode(raw).decode(errors="replace")
            name = f"{item['metadata']['namespace']}/{item['metadata']['name']}:{key}"
            if key == "config.yml":
                for ckey, cval in (yaml.safe_load(value) or {}).items():
                    if SECRET_KEY_RE.search(ckey) and isinstance(cval, str):
                        values[f"{name}:{ckey}"] = cval
            else:
                values[name] = value
    return values


def _leaks(log: str, secrets: dict[str, str]) -> list[str]:
    found = []
    for name, value in secrets.items():
        # Multi-line secrets (keys) are checked line by line: a logged key is never on one line.
        pieces = [ln.strip() for ln in value.splitlines() if len(ln.strip()) >= 16] if "\n" in value.strip() else [value]
        if any(len(p) >= 8 and p in log for p in pieces):
            found.append(name)
    return found


def _boot_failures() -> str:
    """Why the sandbox terminated instances while they started (a VM stand-in that did not boot), if it did."""
    try:
        failures = json.loads((BUILD / "sandbox" / "oci" / "state.json").read_text())["counters"].get("boot_failures")
    except (OSError, ValueError, KeyError):
        return "(no sandbox state)"
    return f"sandbox boot failures: {failures}" if failures else "sandbox boot failures: none"


def _page_views(verdict_md: str) -> dict[str, tuple[int, int]]:
    """The verdict's Pages table: page -> (views, failed views)."""
    section = verdict_md.split("## Pages", 1)[-1].split("\n## ", 1)[0]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in section.splitlines() if line.startswith("| ")]
    return {r[0]: (int(r[1]), int(r[2])) for r in rows[1:] if len(r) > 2 and r[1].isdigit()}


def test_rehearsal_completes_cleanly_without_leaking_secrets(tmp_path):
    log_file = tmp_path / "rehearsal.log"
    started = time.monotonic()
    with log_file.open("w") as fh:
        proc = subprocess.run(
            ["bash", "tools/rehearsal.sh", "-vvv", "-e", "rehearsal_keep_testbed=true"],
            cwd=REPO, env=_env(), stdout=fh, stderr=subprocess.STDOUT, timeout=2400, check=False,
        )
    elapsed = time.monotonic() - started
    log = log_file.read_text(errors="replace")
    try:
        assert proc.returncode == 0, f"rehearsal failed (rc={proc.returncode}) after {elapsed:.0f} s:\n{log[-15000:]}\n{_boot_failures()}"
        print(f"\nrehearsal: {elapsed:.0f} s")

        # Every stage ran for real: the summary at the end says so, stage by stage.
        summary = log[log.rindex("[rehearsal] summary") :]
        stages = ("provision cluster", "provision VMs", "test bed", "deploy", "seed", "load test", "teardown")
        status = {stage: re.search(rf"^  {stage} +(\S+)", summary, re.M) for stage in stages}
        assert {k: m and m.group(1) for k, m in status.items()} == dict.fromkeys(stages, "applied"), summary

        # The report: path printed, charts and verdict present.
        reports = re.findall(r"report: (\S+)", log)
        assert reports, "the rehearsal did not print where the report is"
        report = Path(reports[-1].strip("\"',"))
        assert report.is_dir(), report
        assert list(report.rglob("*.png")), f"no charts in {report}"
        assert list(report.rglob("verdict.md")), f"no verdict in {report}"

        # The seed's four flows reached for real, course discovery's program among them (the test bed runs discovery,
        # the seeding put the demo course in a program and the LMS cached it): each page viewed, none failed.
        views = _page_views(next(report.rglob("verdict.md")).read_text())
        for page in ("login", "dashboard", "course home", "courseware", "unit completion", "programs", "program details"):
            assert views.get(page, (0, 0))[0] > 0, f"the load test never reached the {page!r} page: {views}"
        failed = {page: v for page, v in views.items() if v[1]}
        assert not failed, f"pages with failed views: {failed}"

        # Teardown left nothing in OCI: the sandbox wrote its final state when it stopped.
        state = json.loads((BUILD / "sandbox" / "oci" / "state.json").read_text())
        live = {k: v for k, v in state["live_counts"].items() if v}
        assert not live, f"resources left after teardown: {live}"
        for pool in state["capacity"]:
            assert pool["free_ocpus"] == pool["initial_ocpus"], f"capacity not returned: {pool}"

        # No VM stand-in left running.
        machines = subprocess.run([sys.executable, "-m", "tests.sandbox.machines", "list"], cwd=REPO, capture_output=True, text=True, check=True).stdout
        assert "locust-master-01" not in machines and "locust-worker-0" not in machines, machines

        # Secrets: every value the run handled, none in the -vvv log.
        secrets = _secret_values_in_cluster()
        assert any("tutor-config" in k for k in secrets), f"Tutor's config Secret not found: {sorted(secrets)}"
        secrets["oci api key"] = (BUILD / "sandbox" / "oci" / "key.pem").read_text()
        with (BUILD / "sandbox" / "lms" / "users.csv").open() as fh:
            for row in csv.DictReader(fh):
                secrets[f"locust user {row['username']}"] = row["password"]
        leaked = _leaks(log, secrets)
        assert not leaked, f"secrets in the -vvv log of the rehearsal: {leaked}"
    finally:
        subprocess.run(["bash", "tests/sandbox/kube/testbed.sh", "down"], cwd=REPO, env=_env(), capture_output=True, check=False)
