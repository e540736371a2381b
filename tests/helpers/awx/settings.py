"""AWX settings for the test fixture (AWX_SETTINGS_FILE): included by awx/settings/production.py into its own scope,
so LOGGING and CHANNEL_LAYERS are AWX's defaults (read through globals(): they are defined by the file that includes
this one). Everything lives under the fixture's run directory."""

import os

_RUN = os.environ["AWX_FIXTURE_RUN"]
SECRET_KEY = os.environ["AWX_FIXTURE_SECRET_KEY"]
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
CLUSTER_HOST_ID = os.environ["AWX_FIXTURE_NODE"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "awx",
        "USER": "awx",
        "PASSWORD": "",
        "HOST": _RUN,
        "PORT": os.environ["AWX_FIXTURE_PG_PORT"],
        "ATOMIC_REQUESTS": True,
    }
}
BROKER_URL = f"unix://{_RUN}/redis.sock"
globals()["CHANNEL_LAYERS"]["default"]["CONFIG"]["hosts"] = [BROKER_URL]
PROJECTS_ROOT = f"{_RUN}/projects/"
JOBOUTPUT_ROOT = f"{_RUN}/job_status/"
STATIC_ROOT = f"{_RUN}/static"
AWX_ISOLATION_BASE_PATH = f"{_RUN}/jobs"
LOG_AGGREGATOR_MAX_DISK_USAGE_PATH = _RUN
for _handler in globals()["LOGGING"]["handlers"].values():
    if "filename" in _handler:
        _handler["filename"] = os.path.join(_RUN, "log", os.path.basename(_handler["filename"]))
