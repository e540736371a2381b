"""edx-platform's working directory as an LMS container sees it, for `kubectl exec` on the Kubernetes test bed."""

from pathlib import Path

from .manage import ACCOUNTS_ENV, check_password

PLATFORM = Path(__file__).resolve().parent

__all__ = ["ACCOUNTS_ENV", "PLATFORM", "check_password"]
