"""A connection burst on the real uWSGI (PyPI), three inis side by side, same workers and the same app.

1. Tutor's default ini (tutor/templates/apps/openedx/uwsgi.ini from the installed Tutor), no threads, listen 100.
2. The rendered ini with the line the plugin used to write, `listen = $(UWSGI_LISTEN)` (immediate option: 0).
3. The rendered ini as the deploy stage writes it today (example-jeddah's LMS Deployment environment).

Each serves the trivial app of tests/helpers/uwsgi.py on loopback; a burst of concurrent fresh connections each
holds a worker slot for HOLD seconds. Printed per ini: the kernel's backlog, answered/refused/timed out, p50, p99
and the wall time to drain; then the ratios against Tutor's default. The tests assert the rendered values; this
shows what they change under a burst.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import tutor
import yaml

from tests.helpers import uwsgi
from tests.helpers.ansible import REPO, VENV_BIN, assert_ok, run_playbook

INVENTORY = REPO / "inventories" / "example-jeddah"
PLAYBOOK = REPO / "playbooks" / "deploy_openedx.yml"
# apps/openedx/uwsgi.ini is this file plus the uwsgi-config patch (ours): without the patch, Tutor's default.
TUTOR_DEFAULT_INI = Path(tutor.__file__).parent / "templates" / "build" / "openedx" / "settings" / "uwsgi.ini"
# Workers as a small LMS pod (the bench host has 2 cores); threads, listen and harakiri from the rendered LMS.
WORKERS = 4
BURST = 600
HOLD = 0.05
TIMEOUT = 20.0


def rendered_lms(out: Path) -> tuple[str, dict]:
    """The uWSGI ini and the LMS container's UWSGI_* environment, rendered by the deploy stage (render mode)."""
    run = run_playbook(
        PLAYBOOK, INVENTORY,
        extravars={"openedx_scale_render_dir": str(out), "tutor_executable": str(VENV_BIN / "tutor"), "tutor_kubectl": str(VENV_BIN / "kubectl")},
    )
    assert_ok(run)
    docs = [doc for doc in yaml.safe_load_all((out / "openedx.yaml").read_text()) if doc]
    ini = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("openedx-uwsgi-config"))
    lms = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "lms")
    env = {e["name"]: e["value"] for e in lms["spec"]["template"]["spec"]["containers"][0].get("env", []) if e["name"].startswith("UWSGI_") and "value" in e}
    return ini["data"]["uwsgi.ini"], env


def one(port: int) -> tuple[str, float]:
    start = time.monotonic()
    try:
        status = uwsgi.request(port, f"/?sleep={HOLD}", timeout=TIMEOUT)[0]
    except TimeoutError:
        return "timed out", time.monotonic() - start
    except OSError:
        return "refused", time.monotonic() - start
    return ("answered" if status == 200 else f"status {status}"), time.monotonic() - start


def burst(ini: str, env: dict, root: Path) -> dict:
    with uwsgi.serve(ini, env, root) as (port, _log):
        backlog = uwsgi.listen_backlog(port)
        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=BURST) as pool:
            results = list(pool.map(lambda _index: one(port), range(BURST)))
        wall = time.monotonic() - start
    answered = sorted(t for outcome, t in results if outcome == "answered")
    outcomes = {}
    for outcome, _elapsed in results:
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    quantiles = statistics.quantiles(answered, n=100) if len(answered) > 1 else [float("nan")] * 99
    return {"backlog": backlog, "answered": len(answered), "outcomes": outcomes, "p50": quantiles[49], "p99": quantiles[98], "wall": wall}


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-uwsgi-") as tmp_name:
        tmp = Path(tmp_name)
        ini, env = rendered_lms(tmp / "render")
        env.update({"UWSGI_WORKERS": str(WORKERS), "SERVICE_VARIANT": "lms"})
        variants = {
            "Tutor default ini": (TUTOR_DEFAULT_INI.read_text(), {"UWSGI_WORKERS": str(WORKERS), "SERVICE_VARIANT": "lms"}),
            "rendered + listen = $(UWSGI_LISTEN)": (ini + "\nlisten = $(UWSGI_LISTEN)\n", env),
            "rendered (deploy stage today)": (ini, env),
        }
        print(
            f"burst: {BURST} concurrent fresh connections, each holding a slot {HOLD} s; {WORKERS} workers, "
            f"threads={env.get('UWSGI_THREADS')}, UWSGI_LISTEN={env.get('UWSGI_LISTEN')}; client timeout {TIMEOUT} s"
        )
        print(f"{'ini':40} {'backlog':>7} {'answered':>9} {'p50 s':>7} {'p99 s':>7} {'wall s':>7}  other outcomes")
        seen = {}
        for index, (name, (text, variant_env)) in enumerate(variants.items()):
            result = burst(text, variant_env, tmp / f"run-{index}")
            seen[name] = result
            other = {k: v for k, v in result["outcomes"].items() if k != "answered"} or "-"
            print(
                f"{name:40} {result['backlog']:>7} {result['answered']:>5}/{BURST:<3} {result['p50']:7.2f} {result['p99']:7.2f} {result['wall']:7.2f}  {other}",
                flush=True,
            )
        base, ours = seen["Tutor default ini"], seen["rendered (deploy stage today)"]
        print(
            f"rendered vs Tutor default: answered x{ours['answered'] / max(base['answered'], 1):.2f}, "
            f"p99 x{ours['p99'] / base['p99']:.2f}, drain time x{ours['wall'] / base['wall']:.2f}"
        )
    return 0 if ours["answered"] == BURST else 1
