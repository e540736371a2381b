"""Page views: a view the end of the run cuts short is not counted (its wait and request count would be partial)."""

from openedx_locust_testlib import run_python


def test_a_view_cut_short_by_the_run_stopping_is_not_counted():
    result = run_python(
        """
import json
import gevent
from locust.exception import StopUser
from openedx_locust import pages

def view(name, requests, interrupt=None):
    try:
        with pages.PageVisit(name) as visit:
            for _ in range(requests):
                visit.add(100)
            if interrupt is not None:
                raise interrupt
    except (gevent.GreenletExit, StopUser, ValueError):
        pass

view("courseware", 10)
view("courseware", 3, gevent.GreenletExit())   # the runner killed the user's greenlet mid-view
view("courseware", 2, StopUser())
view("dashboard", 2, ValueError("a bug in a flow"))  # any other exception still ends a view that was waited for
print(json.dumps({row["Page"]: row for row in pages.TOTALS.rows()}))
"""
    )
    assert result["courseware"]["Views"] == 1 and result["courseware"]["Requests per view"] == 10
    assert result["dashboard"]["Views"] == 1 and result["dashboard"]["Requests per view"] == 2
