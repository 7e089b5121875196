"""Drive a client flow by hand: collect the calls it makes, feed it canned responses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from durabletask.internal.requests import Call, Flow


def drive(flow: Flow[Any], responses: Sequence[Any]) -> tuple[list[Call], Any]:
    """Run ``flow``, answering its calls with ``responses`` in order.

    Returns the calls it made and its result; fails if it makes more calls than answers.
    """
    calls = [next(flow)]
    for response in responses:
        try:
            calls.append(flow.send(response))
        except StopIteration as done:
            return calls, done.value
    raise AssertionError(f"flow made more calls than the {len(responses)} answers given")
