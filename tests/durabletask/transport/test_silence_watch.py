"""SilenceWatch: one timer per stream ends only a stream silent for its whole limit."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from durabletask.internal.transport.silence import SilenceWatch
from durabletask.testing import VirtualClock
from tests.durabletask.helpers.wait import async_poll_until

START = datetime(2030, 1, 1, tzinfo=timezone.utc)


async def _advance(clock: VirtualClock, seconds: float) -> None:
    """Move the clock and let the loop run the timers that became due."""
    clock.advance(seconds)
    await async_poll_until(lambda: clock.pending_callbacks == 0, timeout=5,
                           message="the due timers")


async def test_a_stream_heard_from_within_each_window_is_kept_and_a_silent_one_ended_once():
    clock = VirtualClock(START)
    ended: list[float] = []

    async def never_probed() -> bool:  # noqa: ASYNC124 - the watch awaits a probe
        raise AssertionError("a stream with a window is not probed")

    watch = SilenceWatch(clock, lambda: (1.0, None), never_probed,
                         lambda: ended.append(clock.monotonic()))
    try:
        for _ in range(5):  # a message every 0.6 s for 3 s: the one timer fires, is re-armed
            await _advance(clock, 0.6)
            watch.heard()
        await _advance(clock, 0.9)
        assert ended == []
        assert not watch.found_dead
        await _advance(clock, 1.0)  # silent for more than the window
        assert len(ended) == 1
        assert watch.found_dead
        await _advance(clock, 5)
        assert len(ended) == 1
    finally:
        watch.stop()
        clock.close()


async def test_a_silent_stream_without_a_window_is_probed_kept_while_answered_then_ended():
    clock = VirtualClock(START)
    answers = [True, False]
    probes: list[float] = []
    ended: list[float] = []

    async def probe() -> bool:  # noqa: ASYNC124 - the watch awaits a probe
        probes.append(clock.monotonic())
        return answers.pop(0)

    watch = SilenceWatch(clock, lambda: (None, 2.0), probe,
                         lambda: ended.append(clock.monotonic()))
    try:
        await _advance(clock, 2.0)
        await async_poll_until(lambda: len(probes) == 1, timeout=5, message="the first probe")
        await async_poll_until(lambda: clock.next_deadline() == START + timedelta(seconds=4),
                               timeout=5, message="the watch re-armed after the answer")
        assert ended == []  # answered: the stream is merely idle
        await _advance(clock, 2.0)
        await async_poll_until(lambda: ended, timeout=5, message="the end after no answer")
        assert probes == [2.0, 4.0]
        assert watch.found_dead
    finally:
        watch.stop()
        clock.close()
