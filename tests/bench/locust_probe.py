"""Bench only: counters a bench locustfile installs in its Locust process, written to a JSON file every 0.5 s.

steps = flow steps run (a step is one think-time interval: one SequentialTaskSet task), requests and bytes from
Locust's request event, page_weight = the requests named in ``page_weight`` (stats names), users = users running.
The bench reads the file at the start and end of a steady window.
"""

import json
import os
from pathlib import Path

import gevent
from locust import events


def install(path: str, *flow_bases, page_weight: frozenset = frozenset()) -> None:
    counters = {"steps": 0, "requests": 0, "page_weight": 0, "bytes": 0, "failures": 0, "users": 0}

    for base in flow_bases:
        original = base.execute_task

        def execute_task(self, task, *args, _original=original, **kwargs):
            counters["steps"] += 1
            return _original(self, task, *args, **kwargs)

        base.execute_task = execute_task

    @events.request.add_listener
    def _count(name="", response_length=0, exception=None, **_kwargs):
        counters["requests"] += 1
        counters["page_weight"] += name in page_weight
        counters["bytes"] += int(response_length or 0)
        counters["failures"] += exception is not None

    @events.init.add_listener
    def _start(environment, **_kwargs):
        target = Path(path)

        def loop():
            while True:
                runner = environment.runner
                counters["users"] = runner.user_count if runner is not None else 0
                tmp = target.with_suffix(".tmp")
                tmp.write_text(json.dumps(counters))
                os.replace(tmp, target)
                gevent.sleep(0.5)

        gevent.spawn(loop)
