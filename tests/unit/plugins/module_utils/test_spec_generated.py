"""Generated bad input: for every variable of every role's argument spec, bad values derived from its type and its
meta/constraints.yml (wrong type, empty, negative, zero, huge, too long, non-ASCII, whitespace, another region's or
another resource's OCID, a path that cannot be written, a broken cross-field rule) must each be refused by the spec
check every role's preflight runs first, naming the variable, without a traceback, creating nothing on disk.

The check runs before any task that calls OCI or Kubernetes (each role's preflight starts with it; the bad-input table
in tests/integration/operate proves the order through the real playbooks against the OCI sandbox). Here it runs
in-process, the way the lookup runs it, so thousands of cases take seconds; `test_lookup_in_a_play` runs a sample
through ansible-playbook and the lookup the roles call.
"""

from __future__ import annotations

import json
import os
import subprocess
import traceback
from pathlib import Path

import yaml

from tests.helpers.ansible import load_collections

REPO = Path(__file__).resolve().parents[4]
# Ansible's collection finder first, so that this import and the in-process templating of other test modules in the
# same worker resolve the collection the same way (a plain sys.path import shadows the finder's package).
load_collections()

from ansible_collections.openedx_scale.oke.plugins.module_utils.spec_constraints import PATTERNS, spec_problems  # noqa: E402

ROLES = sorted(p.name for p in (REPO / "roles").iterdir() if (p / "meta" / "argument_specs.yml").exists())
REGION = "me-jeddah-1"
# A valid value of each named pattern (the baseline a bad value replaces).
PATTERN_SAMPLES = {
    "name": "openedx-demo", "k8s_name": "openedx", "k8s_subdomain": "openedx.demo", "dns_name": "lms.example.org",
    "label_key": "openedx-scale/pool", "label_value": "lms", "quantity": "2Gi", "redis_memory": "2gb", "jvm_heap": "2g",
    "rate": "100/5m", "url": "https://lms.example.org", "version": "1.2.3", "unix_name": "opc", "executable": "kubectl",
    "path": "/tmp/openedx-scale-spec/file", "host": "10.0.0.2", "image": "registry.k8s.io/pause:3.10",
    "course_key": "course-v1:OpenedX+DemoX+DemoCourse", "slug": "openedx",
    "sha256": "sha256:" + "0" * 64, "chart_ref": "ingress-nginx", "email_domain": "example.com", "password": "correct-horse-battery",
    "ssh_public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDf1 me@host", "private_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n",
}
TYPE_SAMPLES = {"str": "x", "int": 1, "float": 1.0, "bool": True, "list": [], "dict": {}, "raw": "x", "path": "/tmp/x"}
# Values of the wrong type that ansible-core's own conversions cannot turn into the right one.
WRONG_TYPE = {"int": ["many", 1.5, {"a": 1}], "float": ["fast", [1]], "bool": ["maybe", 2], "list": [{"a": 1}], "dict": [5, ["a"]],
              "str": [{"a": 1}]}
SAMPLE_PER_ROLE = 2  # hosts per role in the play (each costs the play a worker round trip)
PASTED_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAAB\n-----END OPENSSH PRIVATE KEY-----\n"
UNWRITABLE = ["/etc/hostname/sub/dir", "/proc/version/x"]


def load(role):
    base = REPO / "roles" / role / "meta"
    specs = yaml.safe_load((base / "argument_specs.yml").read_text())["argument_specs"]
    constraints = yaml.safe_load((base / "constraints.yml").read_text()) if (base / "constraints.yml").exists() else {}
    return specs, constraints


def valid_value(name, option, rule, tmp):
    """A value the variable accepts: its literal spec default, else one built from its constraint and type."""
    default = option.get("default")
    if default is not None and not (isinstance(default, str) and "{{" in default):
        return default
    if rule.get("writable"):
        return str(tmp / name / ("file" if rule["writable"] == "file" else "dir"))
    if rule.get("ocid"):
        kind = rule["ocid"] if isinstance(rule["ocid"], str) else rule["ocid"][0]
        region = "" if kind in ("compartment", "tenancy") else REGION
        return f"ocid1.{kind}.oc1.{region}.aaaaaaaavalid"
    if rule.get("seconds_range"):
        return [5, 15]
    if "min" in rule or "above" in rule:
        return max(rule.get("min", 0), rule.get("above", 0) + 1)
    pattern = rule.get("pattern")
    if pattern == "name":  # names that must differ from each other
        return name.replace("_", "-")[-60:]
    if pattern in PATTERN_SAMPLES:
        return PATTERN_SAMPLES[pattern]
    if pattern == "^[a-z]+-[a-z]+-[0-9]+$":
        return REGION
    if option.get("choices"):
        return option["choices"][0]
    if option.get("options"):
        sub = {k: valid_value(k, o, {}, tmp) for k, o in option["options"].items() if o.get("required")}
        return [sub] if option.get("type") == "list" else sub
    if option.get("type") == "list" and rule.get("elements"):
        return [valid_value(name, {"type": option.get("elements", "str")}, rule["elements"], tmp)]
    return TYPE_SAMPLES.get(option.get("type", "str"), "x")


def bad_values(option, rule):
    """(label, value) pairs the variable must refuse, derived from its type and constraint."""
    kind = option.get("type", "str")
    out = []
    if "choices" in option:
        out.append(("not a choice", "no-such-choice"))
    if kind in WRONG_TYPE and not (kind == "str" and not (rule.get("pattern") not in (None, "path") or rule.get("ocid"))):
        out += [("wrong type", v) for v in WRONG_TYPE[kind]]
    if kind == "raw" and any(k in rule for k in ("min", "max", "above")):
        out += [("not a number", "many"), ("quoted negative", "-1")]
    if kind in ("int", "float", "raw") and any(k in rule for k in ("min", "max", "above")):
        if rule.get("min", 1) >= 0 or rule.get("above") is not None:
            out.append(("negative", -1))
        if rule.get("min", 0) > 0 or rule.get("above") is not None:
            out.append(("zero", 0))
        if rule.get("max") is not None:
            out.append(("huge", rule["max"] * 10 + 1))
        if rule.get("odd"):
            out.append(("even", 2))
    if kind in ("str", "path") and rule:
        formed = rule.get("pattern") or rule.get("ocid") or rule.get("writable")
        if (formed or rule.get("min_length")) and not rule.get("empty"):
            out.append(("empty", ""))
        if rule.get("max_length"):
            out.append(("too long", "a" * (rule["max_length"] + 1)))
        elif rule.get("pattern") in ("name", "k8s_name", "label_value", "slug", "unix_name"):
            out.append(("too long", "a" * 300))
        if rule.get("pattern") == "path":
            out += [("blank", "   "), ("leading space", " /tmp/x"), ("newline", "/tmp/a\nb")]
        elif formed:
            out += [("non-ASCII", "lms-\u00e9t\u00e9"), ("whitespace", "has space"), ("blank", "   ")]
        if rule.get("ocid"):
            kinds = [rule["ocid"]] if isinstance(rule["ocid"], str) else rule["ocid"]
            out.append(("another resource's OCID", f"ocid1.instance.oc1.{REGION}.aaaaaaaawrong"))
            if kinds[0] not in ("compartment", "tenancy"):
                out.append(("another region's OCID", f"ocid1.{kinds[0]}.oc1.us-ashburn-1.aaaaaaaaother"))
        if rule.get("writable"):
            out += [("unwritable path", p) for p in UNWRITABLE]
        if rule.get("pattern") == "ssh_public_key":
            out.append(("private key pasted", PASTED_KEY))
    if rule.get("forbidden_keys"):
        out += [(f"sets {key}", {key: True}) for key in rule["forbidden_keys"]]
    if kind == "list" and rule.get("min_length"):
        out.append(("empty list", []))
    if kind == "list" and rule.get("elements"):
        for label, value in bad_values({"type": option.get("elements", "str")}, rule["elements"]):
            if label not in ("wrong type", "blank"):
                out.append(("element " + label, [value]))
    if rule.get("seconds_range"):
        out += [("min above max", [15, 5]), ("negative", [-1, 5]), ("not seconds", "soon"), ("three items", [1, 2, 3])]
    return out


def rule_breakers(rules, valid):
    """(label, changes) for each cross-field rule: the changes break it."""
    out = []
    for rule in rules:
        kind, names = next(iter(rule.items()))
        if not set(names) <= set(valid):
            continue
        if kind == "le":
            out.append(("{} above {}".format(*tuple(names)), {names[0]: valid[names[1]] + 1}))
        elif kind == "distinct":
            out.append((f"{names[1]} equals {names[0]}", {names[1]: valid[names[0]]}))
        elif kind == "ge_sum":
            out.append((f"{names[0]} below the sum", {names[0]: 1, names[1]: 10}))
    return out


def cases(tmp):
    """Every (role, entry point, variable, label, values) case."""
    for role in ROLES:
        specs, constraints = load(role)
        rules = constraints.get("constraints") or {}
        for entry, spec in sorted(specs.items()):
            options = spec.get("options") or {}
            valid = {n: valid_value(n, o, rules.get(n, {}), tmp) for n, o in options.items()}
            yield role, entry, None, "valid", valid, options, constraints
            for name, option in sorted(options.items()):
                for label, value in bad_values(option, rules.get(name, {})):
                    yield role, entry, name, label, dict(valid, **{name: value}), options, constraints
            for label, changes in rule_breakers(constraints.get("rules") or [], valid):
                yield role, entry, next(iter(changes), None), label, dict(valid, **changes), options, constraints


def snapshot(*roots):
    return {str(p) for root in roots if root.exists() for p in root.rglob("*")}


def test_every_variable_refuses_its_bad_values(tmp_path, capsys):
    tmp = tmp_path / "targets"
    before = snapshot(tmp_path, Path("/etc/hostname").parent / "hostname")
    counted, covered, failures = 0, set(), []
    all_names = set()
    for role, entry, name, label, values, options, constraints in cases(tmp):
        all_names.update(f"{role}.{n}" for n in options)
        try:
            problems = spec_problems(values, options, constraints, REGION)
        except Exception:  # a crash is a failure of its own: the preflight would end in a traceback
            failures.append(f"{role} {name} {label}: traceback {traceback.format_exc(limit=3)}")
            continue
        text = " | ".join(problems)
        if name is None:
            if problems:
                failures.append(f"{role}/{entry}: the valid baseline is refused: {text}")
            continue
        counted += 1
        covered.add(f"{role}.{name}")
        if not problems:
            failures.append(f"{role} {name}={values[name]!r} ({label}): accepted")
        elif not any(p.startswith(name) or f"'{name}'" in p or f" {name} " in p for p in problems):
            failures.append(f"{role} {name} ({label}): the message does not name it: {text}")
        elif "Traceback" in text:
            failures.append(f"{role} {name} ({label}): traceback in the message")
        elif "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ" in text:
            failures.append(f"{role} {name} ({label}): a pasted private key in the message")
        elif options[name].get("no_log") and str(values[name]) in text and len(str(values[name])) > 3:
            failures.append(f"{role} {name} ({label}): a no_log value in the message")
    assert snapshot(tmp_path) == {p for p in before if p.startswith(str(tmp_path))}, "the check created files"
    assert not failures, "\n".join(failures[:40]) + f"\n({len(failures)} failures)"
    # Every variable with a constraint, a choice or a checkable type got at least one bad value.
    untested = sorted(all_names - covered)
    with capsys.disabled():
        print(f"\nspec check: {counted} generated bad inputs over {len(covered)} of {len(all_names)} variables in {len(ROLES)} roles "
              f"refused, each naming its variable; {len(untested)} variables take any value of their type ({', '.join(untested)})")
    assert counted > 500


def test_constraints_name_only_spec_variables():
    """A constraint or rule on a name the spec does not have would never be checked."""
    for role in ROLES:
        specs, constraints = load(role)
        names = {n for spec in specs.values() for n in (spec.get("options") or {})}
        ruled = {n for rule in constraints.get("rules") or [] for n in next(iter(rule.values()))}
        assert set(constraints.get("constraints") or {}) | ruled <= names, role
        for name, rule in (constraints.get("constraints") or {}).items():
            pattern = rule.get("pattern") or (rule.get("elements") or {}).get("pattern")
            assert pattern is None or pattern in PATTERNS or pattern.startswith("^"), (role, name, pattern)


def test_lookup_in_a_play(tmp_path):
    """A sample through ansible-playbook: one host per bad value, each host's assert fails naming the variable, the same
    lookup call as the roles' preflights make."""
    hosts = {}
    expected = {}
    for role, entry, name, _label, values, _options, _c in cases(tmp_path / "targets"):
        if name is None or entry != "main" or sum(h.startswith(role + "-") for h in hosts) >= SAMPLE_PER_ROLE:
            continue
        host = f"{role}-{len(hosts)}"
        hosts[host] = {"ansible_connection": "local", "spec_role": role, **values}
        expected[host] = name
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump([{
        "hosts": "all", "gather_facts": False,
        "tasks": [{"name": "Check the variables", "ansible.builtin.assert": {
            "that": "__problems | length == 0", "fail_msg": "{{ __problems | join(' | ') }}", "quiet": True},
            "vars": {"__problems": f"{{{{ query('openedx_scale.oke.spec_problems', '{REPO}/roles/' ~ spec_role, region='{REGION}') }}}}"}}],
    }]))
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_FORKS="4",
               ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
    proc = subprocess.run([str(REPO / ".venv" / "bin" / "ansible-playbook"), "-i", str(inventory), str(playbook)], check=False, env=env,
                          capture_output=True, text=True, timeout=600, cwd=REPO)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr[-3000:]
    results = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]
    wrong = [(h, expected[h], r.get("msg")) for h, r in results.items() if not r.get("failed") or expected[h] not in r.get("msg", "")]
    assert not wrong, wrong[:10]
    assert len(results) == len(hosts) == SAMPLE_PER_ROLE * len(ROLES)
