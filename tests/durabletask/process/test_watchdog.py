"""ParentWatchdog: fires once when the watched pid is no longer the parent, never otherwise."""

from __future__ import annotations

import os
import threading

import pytest

from durabletask.sidecar.watchdog import ParentWatchdog, is_parent_alive


def test_is_parent_alive_is_true_for_the_real_parent_only():
    assert is_parent_alive(os.getppid())
    assert not is_parent_alive(os.getpid())


def test_parent_watchdog_fires_at_start_when_the_parent_is_already_gone():
    fired: list[bool] = []
    watchdog = ParentWatchdog(os.getpid(), lambda: fired.append(True))

    watchdog.start()
    watchdog.stop()

    assert fired == [True]


def test_parent_watchdog_stays_quiet_while_the_parent_lives():
    fired = threading.Event()
    watchdog = ParentWatchdog(os.getppid(), fired.set, poll_interval_seconds=0.01)

    watchdog.start()
    quiet = not fired.wait(0.1)
    watchdog.stop()
    watchdog.stop()

    assert quiet


def test_parent_watchdog_rejects_a_non_positive_interval():
    with pytest.raises(ValueError, match="poll_interval_seconds must be > 0"):
        ParentWatchdog(1, lambda: None, poll_interval_seconds=0)
