"""course-discovery's working directory as its container sees it, for `kubectl exec` on the Kubernetes test bed."""

from pathlib import Path

from .manage import STATE_ENV

DISCOVERY = Path(__file__).resolve().parent

__all__ = ["DISCOVERY", "STATE_ENV"]
