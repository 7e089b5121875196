"""VirtualClock: time moves only when told (or by the autojump), timers fire in order."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timedelta, timezone

import pytest

from durabletask.internal.clock import SYSTEM_CLOCK, wait_first
from durabletask.sidecar.timers import TimerScheduler
from durabletask.testing import VirtualClock
from tests.durabletask.helpers.wait import async_poll_until, poll_until

START = datetime(2030, 1, 1, tzinfo=timezone.utc)


def test_time_stands_still_until_advanced():
    clock = VirtualClock(START)
    assert clock.now() == START
    assert clock.monotonic() == 0.0
    clock.advance(timedelta(days=30))
    assert clock.now() == START + timedelta(days=30)
    assert clock.monotonic() == timedelta(days=30).total_seconds()
    with pytest.raises(ValueError, match="cannot go back"):
        clock.advance(-1)


async def test_advance_fires_due_timers_in_deadline_order_and_no_others():
    clock = VirtualClock(START)
    fired: list[str] = []
    clock.call_later(20, lambda: fired.append("20 s"))
    clock.call_later(5, lambda: fired.append("5 s"))
    cancelled = clock.call_later(6, lambda: fired.append("cancelled"))
    clock.call_later(3600, lambda: fired.append("an hour"))
    cancelled.cancel()
    assert clock.next_deadline() == START + timedelta(seconds=5)

    clock.advance(30)
    await async_poll_until(lambda: len(fired) == 2, timeout=5, message="the due timers")
    assert fired == ["5 s", "20 s"]
    assert clock.next_deadline() == START + timedelta(hours=1)


async def test_a_timer_at_a_datetime_fires_exactly_when_the_clock_reaches_it():
    clock = VirtualClock(START)
    due = START + timedelta(days=3, microseconds=7)
    fired: list[datetime] = []
    clock.call_later((due - clock.now()).total_seconds(), lambda: fired.append(clock.now()))
    clock.advance_to(due - timedelta(microseconds=1))
    clock.advance_to(due)
    await async_poll_until(lambda: fired, timeout=5, message="the timer")
    assert fired == [due]


async def test_autojump_ends_a_month_long_sleep_at_exactly_a_month():
    clock = VirtualClock(START, autojump_threshold=0.01)
    try:
        await clock.sleep(timedelta(days=30).total_seconds())
        assert clock.now() == START + timedelta(days=30)
    finally:
        clock.close()


def test_autojump_wakes_a_blocking_sleep_and_a_timer_thread():
    clock = VirtualClock(START, autojump_threshold=0.01)
    fired = threading.Event()
    try:
        clock.start_timer(7200, fired.set)
        clock.sleep_blocking(3600)
        assert clock.now() == START + timedelta(hours=1)
        assert not fired.is_set()
        assert fired.wait(5)
        assert clock.now() == START + timedelta(hours=2)
    finally:
        clock.close()


async def test_with_a_rate_time_flows_and_timers_fire_without_a_jump():
    clock = VirtualClock(START, rate=1.0)
    fired: list[str] = []
    try:
        clock.call_later(0.01, lambda: fired.append("due"))
        await async_poll_until(lambda: fired, timeout=5, message="the timer")
        assert clock.now() > START
    finally:
        clock.close()


async def test_wait_first_times_out_on_the_injected_clock():
    clock = VirtualClock(START, autojump_threshold=0.01)
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    try:
        assert await wait_first(clock, never, 600) is False
        assert clock.monotonic() == 600
        never.set_result(None)
        assert await wait_first(SYSTEM_CLOCK, never, 600) is True
    finally:
        clock.close()


async def test_the_sidecar_timer_scheduler_runs_on_the_virtual_clock():
    clock = VirtualClock(START)
    timers = TimerScheduler(clock)
    fired: list[str] = []
    timers.start()
    try:
        timers.schedule(START + timedelta(days=2), lambda: fired.append("two days"))
        dropped = timers.schedule(START + timedelta(days=1), lambda: fired.append("dropped"))
        timers.schedule(START + timedelta(days=1), lambda: fired.append("one day"))
        dropped.cancel()
        assert timers.next_due() == START + timedelta(days=1)
        clock.advance_to(START + timedelta(days=1))
        await async_poll_until(lambda: fired, timeout=5, message="the first timer")
        assert fired == ["one day"]
        assert timers.next_due() == START + timedelta(days=2)
    finally:
        await timers.close()


def test_timers_of_a_closed_loop_do_not_block_the_clock():
    clock = VirtualClock(START)

    async def arm() -> None:
        clock.call_later(1, lambda: None)  # on this loop, closed before the timer fires
        await asyncio.sleep(0)

    asyncio.run(arm())
    clock.advance(2)
    poll_until(lambda: clock.pending_callbacks == 0, timeout=5, message="the dropped callback")
