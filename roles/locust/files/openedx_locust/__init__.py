"""Open edX load test for Locust: learners log in like the current LMS and run weighted flows.

Run: ``locust -f openedx_locust/locustfile.py --host https://LMS --users-csv users.csv`` (see docs/loadtest.md).
Report on the controller: ``python -m openedx_locust.report --csv-prefix RUN/run --out RUN/report``.
"""

__version__ = "1.0.0"
