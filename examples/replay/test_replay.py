"""The CI check: every recorded history still replays against the current code.

Run with ``pytest examples/replay``. A failure lists each mismatch: the event index, what
the history records and what the code now does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from durabletask.testing import Replayer
from examples.replay import workflows

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.name)
def test_recorded_history_replays_against_the_current_code(path: Path) -> None:
    Replayer([workflows.order_flow]).replay_file(path).raise_if_mismatched()
