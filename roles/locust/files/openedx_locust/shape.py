"""StagedRamp: steps up to the target users, a hold at each step and at the peak, then a ramp down.

With ``--ramp-users`` the stages come from ``config.plan_ramp`` (rate-limit aware); without it the shape
behaves like plain ``-u/-r/-t`` so ``locust -f locustfile.py --headless -u 20 -r 10 -t 10s`` works as usual.
"""

from locust import LoadTestShape

from .config import RampPlan

RAMP_CHECK_GRACE = 10.0  # seconds after the planned ramp end before "users == target" is asserted


class StagedRamp(LoadTestShape):
    use_common_options = True
    plan: RampPlan | None = None
    stop_requested = False  # set on SIGTERM (plugin.py): end the test now, with reports

    def _classic(self) -> tuple[int, float, float | None]:
        opts = self.runner.environment.parsed_options
        return int(opts.num_users or 1), float(opts.spawn_rate or 1), opts.run_time or None

    def tick(self):
        t = self.get_run_time()
        if self.stop_requested:
            return None
        if self.plan is None:
            users, rate, run_time = self._classic()
            if run_time and t >= run_time:
                return None
            return users, rate
        stage = self.plan.stage_at(t)
        return None if stage is None else (stage.users, stage.spawn_rate)

    def current_target(self) -> int | None:
        if self.runner is None:
            return None
        if self.plan is None:
            return self._classic()[0]
        stage = self.plan.stage_at(self.get_run_time())
        return stage.users if stage else 0

    def ramp_check_point(self) -> tuple[int, float, float]:
        """(target users, planned end of ramp in s, grace in s) for the end-of-ramp user-count assertion."""
        if self.plan is not None:
            return self.plan.target_users, self.plan.ramp_end, min(RAMP_CHECK_GRACE, self.plan.hold / 2)
        users, rate, run_time = self._classic()
        ramp_end = users / rate
        hold = (run_time - ramp_end) if run_time else 2 * RAMP_CHECK_GRACE
        return users, ramp_end, max(0.0, min(RAMP_CHECK_GRACE, hold / 2))
