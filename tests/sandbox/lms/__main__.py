"""`python -m tests.sandbox.lms --port N [--tls] --users-csv F --courses ID ...`: run the LMS stand-in."""

import argparse
import asyncio
import sys
from pathlib import Path

from .app import DEFAULT_COURSES, BadConfig, load_lms, parse_rate, write_users_csv
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
    p.add_argument("--mfe-base", help="redirect /dashboard, /u/<name>, /account/settings, courseware to this MFE origin")
    p.add_argument("--login-rate-limit-ip", metavar="RATE", help="e.g. 100/5m (LOGISTRATION_RATELIMIT_RATE); off by default")
    p.add_argument("--login-rate-limit-email", metavar="RATE", help="e.g. 30/5m (LOGISTRATION_PER_EMAIL_RATELIMIT_RATE)")
    p.add_argument("--ready-file", type=Path, help="write {url, port, pid, cert} as JSON once listening")
    args = p.parse_args(argv)
    if (args.tls_cert is None) != (args.tls_key is None):
        p.error("--tls-cert and --tls-key go together")
    args.tls = args.tls or args.tls_cert is not None
    for opt in ("login_rate_limit_ip", "login_rate_limit_email"):
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
