#!/usr/bin/env python
"""The LMS container's `./manage.py` as far as the seeding uses it: `./manage.py lms create_test_users ...`,
`./manage.py lms shell --command CODE` with Django's `call_command` for it (the loadtest_seed role passes the batch,
password included, on standard input to code that calls create_test_users in-process), `./manage.py cms import`
(what `tutor ... do importdemocourse` runs) and `./manage.py lms cache_programs`.

On the Kubernetes test bed kwok runs this for `kubectl exec` into any container named lms (testbed.py's
ClusterExec), in this directory, as the image's working directory is edx-platform's. It keeps the contract of
edx-platform's student/management/commands/create_test_users.py: usernames as arguments, email username@domain,
one password for all, an account that exists is an error unless --ignore_user_already_exists, and then it is left
as it is (password included); with --course every named account is enrolled in that (imported) course.
Accounts, enrollments, imported courses, course discovery's programs and the LMS's program cache are kept in the JSON
file named by OPENEDX_STANDIN_ACCOUNTS (the HTTP stand-in reads it with --state), passwords
hashed as Django stores them (pbkdf2_sha256), so a test can check a users CSV against what was really created;
each run records its argv, so a test can check that no password was passed as an argument.
Standard library only; `python` is the test environment's (the ClusterExec puts its bin first on PATH).
"""

import argparse
import base64
import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import sys
import types
from xml.etree import ElementTree

ACCOUNTS_ENV = "OPENEDX_STANDIN_ACCOUNTS"
# Django hashes with 1,000,000+ iterations; a stand-in creating thousands of accounts need not burn that CPU.
ITERATIONS = 1000
# edx-platform's registration form: 2-30 characters, letters, digits, '_' and '-'.
USERNAME_RE = re.compile(r"^[\w-]{2,30}$", re.ASCII)
MODES = ("audit", "verified", "professional", "no-id-professional", "credit", "honor", "masters", "executive-education")


class CommandError(Exception):
    """What Django prints as `CommandError: ...` with exit status 1."""


def make_password(password: str, salt: str | None = None, iterations: int = ITERATIONS) -> str:
    salt = salt or secrets.token_hex(11)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return f"pbkdf2_sha256${iterations}${salt}${base64.b64encode(digest).decode()}"


def check_password(password: str, encoded: str) -> bool:
    algorithm, iterations, salt, _digest = encoded.split("$", 3)
    return algorithm == "pbkdf2_sha256" and hmac.compare_digest(make_password(password, salt, int(iterations)), encoded)


@contextlib.contextmanager
def accounts_store(path: str):
    """The accounts, locked against concurrent execs, written back atomically when the block ends without error."""
    with open(path + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with open(path) as fh:
                data = json.load(fh)
        except FileNotFoundError:
            data = {"accounts": {}, "runs": []}
        yield data
        tmp = f"{path}.{os.getpid()}"
        with open(tmp, "w") as fh:
            json.dump(data, fh)
        os.replace(tmp, path)


def _create_test_users_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="manage.py lms create_test_users")
    parser.add_argument("usernames", nargs="+")
    parser.add_argument("--course")
    parser.add_argument("--mode", default="audit", choices=MODES)
    parser.add_argument("--password", default="12345")
    parser.add_argument("--domain", default="example.com")
    parser.add_argument("--course_staff", action="store_true")
    parser.add_argument("--ignore_user_already_exists", action="store_true")
    return parser


def create_test_users(argv: list[str]) -> str:
    return _create_test_users(_create_test_users_parser().parse_args(argv))


def _create_test_users(args: argparse.Namespace) -> str:
    created = skipped = 0
    with accounts_store(os.environ[ACCOUNTS_ENV]) as data:
        accounts = data["accounts"]
        if args.course and args.course not in data.get("courses", []):
            # CourseEnrollment.enroll raises CourseDoesNotExistException for a course that is not in the modulestore
            raise CommandError(f"Course {args.course} does not exist (import it first)")
        for username in args.usernames:
            email = f"{username}@{args.domain}"
            if not USERNAME_RE.match(username):
                raise CommandError(f"Invalid username {username!r}: 2-30 letters, digits, '_' or '-'.")
            existing = accounts.get(username)
            if existing and args.ignore_user_already_exists and existing["email"] == email:
                skipped += 1  # create_users(): same username and email -> the same user, probably; leave it
            elif existing or any(a["email"] == email for a in accounts.values()):
                raise CommandError(f"An account with the Public Username '{username}' or email {email} already exists.")
            else:
                accounts[username] = {"email": email, "password": make_password(args.password), "is_active": True}
                created += 1
            if args.course:  # create_users() enrolls each user it made or found
                accounts[username].setdefault("enrollments", {})[args.course] = {"mode": args.mode, "is_active": True}
        data["runs"].append({"created": created, "skipped": skipped, "argv": _masked(sys.argv[1:])})
    return f"{created} created, {skipped} already there"


def _masked(argv: list[str]) -> list[str]:
    """argv as recorded: a --password value (a secret passed as an argument) kept as <password>, so the store holds
    no password while a test still sees that one was passed."""
    out: list[str] = []
    for arg in argv:
        if out and out[-1] == "--password":
            out.append("<password>")
        elif arg.startswith("--password="):
            out.append("--password=<password>")
        else:
            out.append(arg)
    return out


def import_courses(argv: list[str]) -> str:
    """`./manage.py cms import DATA_DIR COURSE_DIR...`: the course id comes from each course's course.xml
    (org, course, url_name = run), as the OLX importer reads it."""
    parser = argparse.ArgumentParser(prog="manage.py cms import")
    parser.add_argument("data_dir")
    parser.add_argument("source_dirs", nargs="*")
    args = parser.parse_args(argv)
    dirs = [os.path.join(args.data_dir, d) for d in args.source_dirs] or [args.data_dir]
    ids = []
    for course_dir in dirs:
        try:
            root = ElementTree.parse(os.path.join(course_dir, "course.xml")).getroot()
        except (OSError, ElementTree.ParseError) as exc:
            raise CommandError(f"{course_dir}: no readable course.xml ({exc})") from None
        parts = [root.get(attr) for attr in ("org", "course", "url_name")]
        if not all(parts):
            raise CommandError(f"{course_dir}/course.xml: org, course and url_name are required")
        ids.append("course-v1:" + "+".join(parts))
    with accounts_store(os.environ[ACCOUNTS_ENV]) as data:
        courses = data.setdefault("courses", [])
        courses.extend(cid for cid in ids if cid not in courses)
    return "\n".join(f"Imported {cid}" for cid in ids)


def cache_programs(argv: list[str]) -> str:
    """`./manage.py lms cache_programs`: copy course discovery's programs into the LMS cache (the real command reads
    them over discovery's API with the catalog integration's service user and fails without one)."""
    argparse.ArgumentParser(prog="manage.py lms cache_programs").parse_args(argv)
    with accounts_store(os.environ[ACCOUNTS_ENV]) as data:
        discovery = data.get("discovery")
        if not discovery:
            raise CommandError("no course discovery: CatalogIntegration is not configured, no programs to cache")
        data["programs"] = list(discovery.get("programs", []))
        count = len(data["programs"])
    return f"{count} programs cached"


def call_command(name: str, *args, **options) -> None:
    """django.core.management.call_command for create_test_users: positional arguments as on the command line,
    options by their dest name; an unknown option is a TypeError, as Django raises it."""
    if name != "create_test_users":
        raise CommandError(f"Unknown command: {name!r}")
    parser = _create_test_users_parser()
    dests = {action.dest for action in parser._actions} - {"help", "usernames"}
    unknown = sorted(set(options) - dests)
    if unknown:
        raise TypeError(f"Unknown option(s) for {name} command: {', '.join(unknown)}. Valid options are: {', '.join(sorted(dests))}.")
    namespace = parser.parse_args([str(a) for a in args])
    for key, value in options.items():
        setattr(namespace, key, value)
    print(_create_test_users(namespace))


def shell(argv: list[str]) -> None:
    """`./manage.py lms shell --command CODE`: CODE runs with django.core.management importable (call_command above)."""
    parser = argparse.ArgumentParser(prog="manage.py lms shell")
    parser.add_argument("-c", "--command")
    args = parser.parse_args(argv)
    if args.command is None:
        raise CommandError("this stand-in has no interactive shell: pass --command")
    for name in ("django", "django.core", "django.core.management"):
        sys.modules.setdefault(name, types.ModuleType(name))
    sys.modules["django.core.management"].call_command = call_command
    exec(args.command, {"__name__": "__main__"})  # what Django's shell --command does


COMMANDS = {
    "create_test_users": lambda argv: print(create_test_users(argv)),
    "shell": shell,
    "import": lambda argv: print(import_courses(argv)),
    "cache_programs": lambda argv: print(cache_programs(argv)),
}


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("lms", "cms"):
        sys.stderr.write("usage: ./manage.py lms|cms COMMAND [ARGS]\n")
        return 1
    if argv[1] not in COMMANDS:
        sys.stderr.write(f"Unknown command: {argv[1]!r}\n")
        return 1
    try:
        COMMANDS[argv[1]](argv[2:])
    except CommandError as exc:
        sys.stderr.write(f"CommandError: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
