"""A month-long subscription in under a second: the time-skipping test environment.

The orchestration waits 30 days, then charges the card; the first charge fails and the retry
policy waits 7 days before the next attempt. ``TimeSkippingEnvironment`` runs the sidecar
and the worker on a virtual clock that jumps to the next timer whenever everything waits on
one, so all of it happens at once while the orchestration still sees 37 days pass.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta, timezone

from durabletask import client, task
from durabletask.testing import TimeSkippingEnvironment

charges: list[str] = []


def charge_card(ctx: task.ActivityContext, amount: int) -> str:
    charges.append(f"attempt {len(charges) + 1}")
    if len(charges) == 1:
        raise ConnectionError("the payment service is down")
    return f"charged {amount}"


def renew_subscription(ctx: task.OrchestrationContext, amount: int):
    started = ctx.current_utc_datetime
    yield ctx.create_timer(timedelta(days=30))
    retry = task.RetryPolicy(first_retry_interval=timedelta(days=7), max_number_of_attempts=3)
    receipt = yield ctx.call_activity(charge_card, input=amount, retry_policy=retry)
    return {"receipt": receipt, "days": (ctx.current_utc_datetime - started).days}


def main() -> int:
    real_start = time.monotonic()
    start = datetime(2030, 1, 1, tzinfo=timezone.utc)
    with TimeSkippingEnvironment(orchestrators=[renew_subscription],
                                 activities=[charge_card], start=start) as env:
        instance_id = env.client.schedule_new_orchestration(renew_subscription, input=30)
        state = env.client.wait_for_orchestration_completion(instance_id, timeout=30)
        print(f"output: {state.serialized_output}")
        print(f"virtual time now: {env.now():%Y-%m-%d}, after {len(charges)} charge attempts")
    print(f"real time taken: {time.monotonic() - real_start:.1f}s")
    return 0 if state.runtime_status == client.OrchestrationStatus.COMPLETED else 1


if __name__ == "__main__":
    sys.exit(main())
