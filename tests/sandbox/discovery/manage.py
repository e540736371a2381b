#!/usr/bin/env python
"""The discovery container's `./manage.py` as far as the seeding uses it (tutor-discovery 22.0.0's image runs
openedx/course-discovery from /openedx/discovery; its Job and the seeding call `./manage.py ...` there).

- `refresh_course_metadata --partner_code CODE` (course_metadata/management/commands/refresh_course_metadata.py):
  pulls the LMS's courses (its Courses API) into Course and CourseRun rows of the partner. Here: the courses the LMS
  stand-in imported (`cms import`, what importdemocourse runs); an unknown partner is an error, as Partner.objects.get
  raises.
- `shell --command CODE` (Django's shell): CODE runs with just the ORM the seeding's program code uses, shaped like
  course-discovery's models: Partner (core/models.py, short_code), Course (key ORG+NUMBER), CourseRun (key, course),
  ProgramType (slug; migration 0191_add_microbachelors_program_type and 0090_degree_curriculum_reset create
  microbachelors and masters), Program (uuid, title, marketing_slug, type, status, partner, courses M2M) with
  update_or_create as Django's QuerySet has it, and django.utils.text.slugify.

State: key "discovery" of the LMS stand-in's store (the JSON file named by OPENEDX_STANDIN_ACCOUNTS, one per test
bed, locked the same way): {"courses": {...}, "programs": [...]}, each program in the shape of GET
/api/v1/programs/<uuid>/ (api/serializers.py ProgramSerializer, the fields the LMS's programs pages read), which the
LMS stand-in's `cache_programs` copies as the real command copies the API's answers into the LMS cache.
Standard library only.
"""

import argparse
import contextlib
import fcntl
import json
import os
import re
import sys
import types
import uuid

STATE_ENV = "OPENEDX_STANDIN_ACCOUNTS"
# What tutor-discovery's init creates (tasks/discovery/init: create_or_update_partner --code dev / --code openedx).
PARTNERS = ("dev", "openedx")
PROGRAM_TYPES = {"microbachelors": "MicroBachelors", "masters": "Masters"}


class CommandError(Exception):
    """What Django prints as `CommandError: ...` with exit status 1."""


class DoesNotExist(Exception):
    """Model.DoesNotExist."""


@contextlib.contextmanager
def state():
    path = os.environ[STATE_ENV]
    with open(path + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with open(path) as fh:
                data = json.load(fh)
        except FileNotFoundError:
            data = {"accounts": {}, "runs": []}
        data.setdefault("discovery", {"courses": {}, "programs": [], "runs": []})
        yield data
        tmp = f"{path}.{os.getpid()}"
        with open(tmp, "w") as fh:
            json.dump(data, fh)
        os.replace(tmp, path)


def refresh_course_metadata(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="manage.py refresh_course_metadata")
    parser.add_argument("--partner_code")
    args = parser.parse_args(argv)
    if args.partner_code not in PARTNERS:
        raise CommandError(f"Partner matching query does not exist (partner_code={args.partner_code!r})")
    with state() as data:
        for run_key in data.get("courses", []):
            org, number, _run = run_key.removeprefix("course-v1:").split("+")
            course = data["discovery"]["courses"].setdefault(f"{args.partner_code}:{org}+{number}", {
                "key": f"{org}+{number}", "uuid": str(uuid.uuid4()), "title": f"{org} {number}", "partner": args.partner_code,
                "course_runs": []})
            if run_key not in [r["key"] for r in course["course_runs"]]:
                course["course_runs"].append({"key": run_key, "uuid": str(uuid.uuid4()), "title": course["title"],
                                              "pacing_type": "self_paced", "type": "audit", "status": "published"})
        data["discovery"]["runs"].append({"argv": sys.argv[1:]})
    print(f"Refreshed course metadata for partner {args.partner_code}")


class _Manager:
    def __init__(self, model):
        self.model = model

    def get(self, **lookup):
        hits = [o for o in self.model.all() if all(getattr(o, k) == v for k, v in lookup.items())]
        if len(hits) != 1:
            raise self.model.DoesNotExist(f"{self.model.__name__} matching query does not exist: {lookup}")
        return hits[0]


class Partner:
    DoesNotExist = DoesNotExist

    def __init__(self, short_code):
        self.short_code = short_code

    @classmethod
    def all(cls):
        return [cls(code) for code in PARTNERS]


class ProgramType:
    DoesNotExist = DoesNotExist

    def __init__(self, slug):
        self.slug, self.name = slug, PROGRAM_TYPES[slug]

    @classmethod
    def all(cls):
        return [cls(slug) for slug in PROGRAM_TYPES]


class Course:
    DoesNotExist = DoesNotExist

    def __init__(self, row):
        self.row, self.key, self.partner_code = row, row["key"], row["partner"]

    @classmethod
    def all(cls):
        return [cls(row) for row in _DATA["courses"].values()]


class CourseRun:
    DoesNotExist = DoesNotExist

    def __init__(self, course, row):
        self.course, self.key = course, row["key"]

    @classmethod
    def all(cls):
        return [cls(course, run) for course in Course.all() for run in course.row["course_runs"]]


class _Courses:
    def __init__(self, program):
        self.program = program

    def set(self, courses):
        self.program.row["courses"] = [course.row for course in courses]


class Program:
    DoesNotExist = DoesNotExist

    def __init__(self, row):
        self.row = row
        self.uuid = uuid.UUID(row["uuid"])
        self.courses = _Courses(self)

    def __getattr__(self, name):
        return self.row[name]

    @classmethod
    def all(cls):
        return [cls(row) for row in _DATA["programs"]]

    @classmethod
    def update_or_create(cls, defaults=None, **lookup):
        """QuerySet.update_or_create: the one row matching `lookup` gets `defaults`, or a new row gets both."""
        fields = {**lookup, **(defaults or {})}
        row_fields = {k: (v.short_code if isinstance(v, Partner) else v) for k, v in fields.items() if k != "type"}
        wanted = {k: (v.short_code if isinstance(v, Partner) else v) for k, v in lookup.items()}
        hits = [r for r in _DATA["programs"] if all(r.get(k) == v for k, v in wanted.items())]
        created = not hits
        row = hits[0] if hits else {"uuid": str(uuid.uuid4()), "courses": []}
        if created:
            _DATA["programs"].append(row)
        row.update(row_fields)
        if "type" in fields:
            row.update(type=fields["type"].name, type_attrs={"slug": fields["type"].slug, "coaching_supported": False})
        row.setdefault("marketing_url", f"{row['type_attrs']['slug']}/{row.get('marketing_slug', '')}")
        return cls(row), created


for _model in (Partner, ProgramType, Course, CourseRun, Program):
    _model.objects = _Manager(_model)
Program.objects.update_or_create = Program.update_or_create
_DATA: dict = {}


def slugify(value: str) -> str:
    """django.utils.text.slugify for ASCII: lowercase, drop what is not a word character, space or '-', dashes."""
    value = re.sub(r"[^\w\s-]", "", value.lower())
    return re.sub(r"[-\s]+", "-", value).strip("-_")


def shell(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="manage.py shell")
    parser.add_argument("-c", "--command")
    args = parser.parse_args(argv)
    if args.command is None:
        raise CommandError("this stand-in has no interactive shell: pass --command")
    modules = {
        "django.utils.text": {"slugify": slugify},
        "course_discovery.apps.core.models": {"Partner": Partner},
        "course_discovery.apps.course_metadata.models": {"Course": Course, "CourseRun": CourseRun, "Program": Program,
                                                         "ProgramType": ProgramType},
    }
    for name, members in modules.items():
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            sys.modules.setdefault(".".join(parts[:i]), types.ModuleType(".".join(parts[:i])))
        sys.modules[name].__dict__.update(members)
    with state() as data:
        _DATA.clear()
        _DATA.update(data["discovery"])
        exec(args.command, {"__name__": "__main__"})  # what Django's shell --command does
        data["discovery"].update(_DATA)
        data["discovery"]["runs"].append({"argv": [a if i != 2 else "<code>" for i, a in enumerate(sys.argv[1:])]})


COMMANDS = {"refresh_course_metadata": refresh_course_metadata, "shell": shell}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        sys.stderr.write(f"Unknown command: {argv[0] if argv else ''!r}\n")
        return 1
    try:
        COMMANDS[argv[0]](argv[1:])
    except (CommandError, DoesNotExist) as exc:
        sys.stderr.write(f"{type(exc).__name__}: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
