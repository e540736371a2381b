"""Open edX load test: ``locust -f <path>/openedx_locust/locustfile.py --host https://LMS --users-csv users.csv``.

Options, flows, defaults and the ramp plan: docs/loadtest.md (or ``locust -f ... --help``).
"""

import sys
from pathlib import Path

# Locust imports this file by path; make its package importable so the support modules load as openedx_locust.*.
_PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent)
if _PACKAGE_PARENT not in sys.path:
    sys.path.insert(0, _PACKAGE_PARENT)

from openedx_locust import fixes  # noqa: E402  # importable only after the sys.path line above

fixes.apply()  # before any user or worker runner exists

from openedx_locust import plugin  # noqa: E402  # registers the options and event listeners
from openedx_locust.shape import StagedRamp  # noqa: E402  # Locust picks the shape up from this module
from openedx_locust.users import LmsUser  # noqa: E402  # after fixes.apply(), see above

__all__ = ["LmsUser", "StagedRamp", "plugin"]
