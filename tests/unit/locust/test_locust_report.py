"""Report + verdict from a recorded run: charts exist and are real PNGs, SLO pass/fail and exit codes."""

import json
import shutil

import pytest
from openedx_locust import report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
LOST = {"client_id": "w3", "index": 3, "host": "gen-3", "t": 42.0, "reason": "missed heartbeats"}


def run_report(prefix, out, *extra):
    return report.main(["--csv-prefix", prefix, "--out", str(out), *extra])


def test_passing_run_gives_charts_and_a_pass_verdict(recorded_run, tmp_path):
    code = run_report(recorded_run["prefix"], tmp_path, "--json", str(recorded_run["dir"] / "run.json"))
    assert code == report.EXIT_PASS
    for name in ("users.png", "rps.png", "latency.png", "failures.png", "generator_cpu.png"):
        data = (tmp_path / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 10_000, name
    md = (tmp_path / "verdict.md").read_text()
    assert md.startswith("# Open edX load test: PASS")
    assert "| users at end of ramp == target | 20 (max 20) | == 20 | pass |" in md
    assert "/api/courseware/sequence/[usage_id]" in md
    html = (tmp_path / "verdict.html").read_text()
    assert '<img src="latency.png"' in html and ">PASS<" in html
    verdict = json.loads((tmp_path / "verdict.json").read_text())
    assert verdict["verdict"] == "PASS" and verdict["facts"]["failures"] == 0


def test_slo_breach_fails(recorded_run, tmp_path):
    assert run_report(recorded_run["prefix"], tmp_path, "--max-p95-ms", "0.001") == report.EXIT_FAIL
    verdict = json.loads((tmp_path / "verdict.json").read_text())
    failed = [c["name"] for c in verdict["checks"] if not c["ok"]]
    assert failed == ["p95 response time"]
    assert "**FAIL**" in (tmp_path / "verdict.md").read_text()


def _copy_run(recorded_run, tmp_path):
    for suffix in ("_stats.csv", "_stats_history.csv", "_failures.csv"):
        shutil.copy(recorded_run["prefix"] + suffix, tmp_path / f"run{suffix}")
    shutil.copy(recorded_run["prefix"] + "_health.json", tmp_path / "run_health.json")
    return json.loads((tmp_path / "run_health.json").read_text())


@pytest.mark.parametrize(
    ("mutate", "failed_check"),
    [
        (lambda h: h.update(generator_cpu_peak=97.5), "load-generator CPU (peak ~6 s average)"),
        (lambda h: h["ramp"].update(users_at_check=18), "users at end of ramp == target"),
        (lambda h: h["ramp"].update(max_users=23), "users at end of ramp == target"),  # over-spawned
        (lambda h: h["lost_workers"].append(LOST), "workers lost mid-run"),
    ],
)
def test_generator_health_failures_fail_the_verdict(recorded_run, tmp_path, mutate, failed_check):
    health = _copy_run(recorded_run, tmp_path)
    mutate(health)
    (tmp_path / "run_health.json").write_text(json.dumps(health))
    assert run_report(str(tmp_path / "run"), tmp_path / "out") == report.EXIT_FAIL
    verdict = json.loads((tmp_path / "out" / "verdict.json").read_text())
    assert [c["name"] for c in verdict["checks"] if not c["ok"]] == [failed_check]
    if health["lost_workers"]:
        assert "worker #3 on gen-3 (w3): missed heartbeats at t=42s" in (tmp_path / "out" / "verdict.md").read_text()


def test_request_failures_over_the_ratio_fail(recorded_run, tmp_path):
    _copy_run(recorded_run, tmp_path)
    stats = (tmp_path / "run_stats.csv").read_text().splitlines()
    header = stats[0].split(",")
    rows = []
    for line in stats:
        cells = line.split(",")
        if len(cells) == len(header) and cells[1] == "Aggregated":
            cells[header.index("Failure Count")] = str(int(cells[header.index("Request Count")]) // 10)
        rows.append(",".join(cells))
    (tmp_path / "run_stats.csv").write_text("\n".join(rows) + "\n")
    assert run_report(str(tmp_path / "run"), tmp_path / "out", "--max-failure-ratio", "0.05") == report.EXIT_FAIL
    assert run_report(str(tmp_path / "run"), tmp_path / "out2", "--max-failure-ratio", "0.2") == report.EXIT_PASS


def test_missing_input_is_exit_2(tmp_path, capsys):
    assert run_report(str(tmp_path / "nothing"), tmp_path / "out") == report.EXIT_BAD_INPUT
    assert "nothing_stats.csv is missing" in capsys.readouterr().err
