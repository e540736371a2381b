"""`python -m tests.sandbox.lms --port N [--tls] --users-csv F --courses ID ...`: run the LMS stand-in."""

import argparse
import asyncio
import sys
from pathlib import Path

from .app import DEFAULT_COURSES, ENROLLMENT_RATE, BadConfig, load_lms, parse_rate, write_users_csv
from .server import serve, tls_context
from .tls import ensure_self_signed

REPO = Path(__file__).resolve().parents[3]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tests.sandbox.lms", description=__doc__)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (loopback or one of our namespaces only)")
    p.add_argument("--port", type=int, default=8000, help="port; 0 picks a free one (see --ready-file)")
    p.add_argument("--users-csv", type=Path, required=True, help="username,email,password rows the login accepts")
    p.add_argument("--create-users", type=int, metavar="N", help="first (over)write --users-csv with N generated accounts")
    p.add_argument("--courses", nargs="+", default=list(DEFAULT_COURSES), help="course ids (course-v1:ORG+COURSE+RUN)")
    p.add_argument("--tls", action="store_true", help="serve HTTPS with a self-signed certificate generated at start")
    p.add_argument("--tls-cert", type=Path, help="certificate (PEM); generated if missing. Implies --tls")
    p.add_argument("--tls-key", type=Path, help="private key (PEM); generated if missing. Implies --tls")
    p.add_argument("--tls-hostname", action="append", default=[], help="extra DNS name/IP for the certificate")
    p.add_argument("--mfe-base", help="the MFE origin pages redirect to (default: Tutor's https://apps.<Host>)")
    p.add_argument("--trusted-origin", action="append", default=[], help="extra CSRF_TRUSTED_ORIGINS entry (the MFE origin is trusted)")
    p.add_argument("--no-catalog-mfe", action="store_true", help="/courses renders the local catalog instead of redirecting to the catalog MFE")
    p.add_argument("--login-rate-limit-ip", metavar="RATE", help="e.g. 100/5m (LOGISTRATION_RATELIMIT_RATE); off by default")
    p.add_argument("--login-rate-limit-email", metavar="RATE", help="e.g. 30/5m (LOGISTRATION_PER_EMAIL_RATELIMIT_RATE)")
    p.add_argument("--mfe-context-rate-limit", metavar="RATE", help="e.g. 20/m (LOGISTRATION_API_RATELIMIT, per IP); off by default")
    p.add_argument(
        "--enrollment-rate-limit", metavar="RATE", default=ENROLLMENT_RATE, help=f"per user (EnrollmentUserThrottle); default {ENROLLMENT_RATE}, 'off' to drop"
    )
    p.add_argument("--enroll", nargs="+", default=[], metavar="COURSE", help="enroll every account at start (create_test_users --course)")
    p.add_argument("--program-courses", nargs="+", default=[], metavar="COURSE", help="one program holding these runs, cached as cache_programs does")
    p.add_argument("--state", type=Path, help="the LMS container's manage.py state (OPENEDX_STANDIN_ACCOUNTS): enrollments and cached programs")
    p.add_argument("--ready-file", type=Path, help="write {url, port, pid, cert} as JSON once listening")
    args = p.parse_args(argv)
    if (args.tls_cert is None) != (args.tls_key is None):
        p.error("--tls-cert and --tls-key go together")
    args.tls = args.tls or args.tls_cert is not None
    for opt in ("login_rate_limit_ip", "login_rate_limit_email", "mfe_context_rate_limit", "enrollment_rate_limit"):
        try:
            parse_rate(getattr(args, opt))
        except BadConfig as exc:
            p.error(f"--{opt.replace('_', '-')}: {exc}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.create_users:
        write_users_csv(args.users_csv, args.create_users)
    try:
        app = load_lms(
            args.users_csv,
            args.courses,
            mfe_base=args.mfe_base,
            ip_rate=args.login_rate_limit_ip,
            email_rate=args.login_rate_limit_email,
            mfe_context_rate=args.mfe_context_rate_limit,
            enrollment_rate=args.enrollment_rate_limit,
            trusted_origins=tuple(args.trusted_origin),
            catalog_mfe=not args.no_catalog_mfe,
            enroll=tuple(args.enroll),
            program_courses=tuple(args.program_courses),
            state=args.state,
        )
    except (BadConfig, OSError) as exc:
        print(f"lms stand-in: {exc}", file=sys.stderr)
        return 2
    ssl_ctx = cert = None
    if args.tls:
        tls_dir = REPO / "build" / "sandbox" / "lms" / "tls"
        cert, key = ensure_self_signed(args.tls_cert or tls_dir / "cert.pem", args.tls_key or tls_dir / "key.pem", [args.host, *args.tls_hostname])
        ssl_ctx = tls_context(cert, key)
    asyncio.run(serve(app, args.host, args.port, ssl_ctx, args.ready_file, cert))
    return 0


if __name__ == "__main__":
    sys.exit(main())
