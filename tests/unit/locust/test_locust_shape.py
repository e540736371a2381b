"""StagedRamp: stages from the ramp plan, or plain -u/-r/-t when no ramp is asked for."""

from openedx_locust_testlib import run_python


def test_staged_ramp_shape_follows_the_plan_and_plain_options():
    result = run_python(
        """
import json
from types import SimpleNamespace
from openedx_locust import config
from openedx_locust.shape import StagedRamp

shape = StagedRamp()
shape.plan = config.plan_ramp(100, steps=2, step_hold=10, hold=30, ramp_down=10, spawn_rate=10, limits_raised=True)
ticks = {}
for t in (0, 4.9, 7, 16, 40, 55, 75):
    shape.get_run_time = lambda t=t: t
    ticks[str(t)] = shape.tick()
check = shape.ramp_check_point()
classic = StagedRamp()
classic.runner = SimpleNamespace(environment=SimpleNamespace(parsed_options=SimpleNamespace(num_users=20, spawn_rate=10, run_time=10)))
plain = {}
for t in (0, 9.9, 10):
    classic.get_run_time = lambda t=t: t
    plain[str(t)] = classic.tick()
print(json.dumps({"ticks": ticks, "check": check, "plain": plain, "plain_check": classic.ramp_check_point()}))
"""
    )
    ticks = result["ticks"]
    assert ticks["0"] == [50, 10] and ticks["4.9"] == [50, 10]  # step 1: 50 users at 10/s (5 s)
    assert ticks["7"] == [50, 10]  # hold at step 1 until 15 s
    assert ticks["16"] == [100, 10] and ticks["40"] == [100, 10]  # step 2 ramp (15-20 s) and peak hold (20-50 s)
    assert ticks["55"] == [0, 10.0]  # ramp down: 100 users over 10 s (50-60 s)
    assert ticks["75"] is None  # test over
    assert result["check"] == [100, 20, 10]  # target, ramp end, grace
    assert result["plain"] == {"0": [20, 10.0], "9.9": [20, 10.0], "10": None}
    assert result["plain_check"] == [20, 2.0, 4.0]
