"""The locustfile requests only routes the LMS of release/verawood has: each request in the locustfile's route table
(roles/locust/files/openedx_locust/routes.py) must be a row of docs/loadtest.md's "LMS stand-in routes" table, with
its source, and that table is the stand-in's own (tests/sandbox/lms/routes.py)."""

import importlib.util
import re
from pathlib import Path

import pytest

from tests.sandbox.lms.app import PROGRAM_UUID, Lms
from tests.sandbox.lms.routes import ROUTES, resolve

REPO = Path(__file__).resolve().parents[3]
DOCS = REPO / "docs" / "loadtest.md"
LOCUST_ROUTES = REPO / "roles" / "locust" / "files" / "openedx_locust" / "routes.py"
HEADING = "### LMS stand-in routes"
# A value of each placeholder the locustfile's templates use, to check the stand-in resolves the route.
SAMPLES = {
    "course_id": "course-v1:OpenedX+DemoX+DemoCourse",
    "usage_id": "block-v1:OpenedX+DemoX+DemoCourse+type@sequential+block@sequence_0_0",
    "username": "loaduser000001",
    "program_uuid": PROGRAM_UUID,
    "file": "css/lms-main-v1.css",
}


def docs_table() -> list[dict]:
    text = DOCS.read_text()
    assert HEADING in text, f"{DOCS} has no {HEADING!r} section"
    section = text.split(HEADING, 1)[1].split("\n#", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if len(cells) != 4 or cells[0] in ("Method", "---") or set(cells[0]) <= {"-"}:
            continue
        rows.append({"method": cells[0], "path": cells[1].strip("`"), "answers": cells[2].replace("\\|", "|"), "source": cells[3].replace("\\|", "|")})
    return rows


def template_regex(path: str) -> re.Pattern:
    parts = re.split(r"<(\w+)>", path)
    out = "".join(re.escape(p) if i % 2 == 0 else (".+" if p == "file" else "[^/]+") for i, p in enumerate(parts))
    return re.compile(f"^{out}$")


def locust_routes():
    if not LOCUST_ROUTES.exists():
        pytest.fail(f"{LOCUST_ROUTES} is missing: the locustfile's route table is what this test checks")
    spec = importlib.util.spec_from_file_location("openedx_locust_routes", LOCUST_ROUTES)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ROUTES


def test_docs_table_is_the_stand_ins_route_table():
    rows = docs_table()
    assert [(r["method"], r["path"], r["answers"], r["source"]) for r in rows] == [(r.method, r.path, r.answers, r.source) for r in ROUTES]
    for route in ROUTES:
        assert re.search(r"\w+/\S+\.(py|js|ts|html)|urls\.py", route.source), f"{route.name}: no source file named: {route.source!r}"


def test_every_locustfile_request_is_a_documented_route_with_its_source():
    rows = docs_table()
    missing = []
    for key, route in locust_routes().items():
        concrete = re.sub(r"<(\w+)>", "X", route.path)
        documented = [r for r in rows if r["method"] == route.method and template_regex(r["path"]).match(concrete) and r["source"]]
        if not documented:
            missing.append(f"{key}: {route.method} {route.path}")
    assert not missing, "the locustfile requests routes docs/loadtest.md does not list with a source:\n" + "\n".join(missing)


def test_the_stand_in_serves_every_locustfile_route():
    lms_handlers = set(dir(Lms))
    for key, route in locust_routes().items():
        path = route.path
        for name, value in SAMPLES.items():
            path = path.replace(f"<{name}>", value)
        assert "<" not in path, f"{key}: no sample value for a placeholder of {route.path}"
        found, _params, _known = resolve(route.method, path)
        assert found is not None and found.handler in lms_handlers, f"{key}: {route.method} {path} is not served"


def test_handlers_are_methods_not_shadowed_by_state():
    users = {"ann": {"username": "ann", "email": "ann@example.com", "password": "p", "id": 1}}
    lms = Lms(users, [SAMPLES["course_id"]])
    for route in ROUTES:
        assert callable(getattr(lms, route.handler)), route.name


def test_removed_routes_stay_404():
    """Routes Verawood does not have: the legacy profile (openedx-platform PR #36219)."""
    assert resolve("GET", "/u/loaduser000001") == (None, {}, False)
