"""The replayer on histories recorded by the official SDK (1.12.0, its own venv and process).

The official client and worker run ``replay_workflows.py`` on the official in-memory sidecar
and save each history as ``[history.to_dict(e) for e in get_orchestration_history(id)]``;
our ``Replayer`` then replays those files against the same code and its changed versions.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.durabletask.interop import replay_workflows
from tests.durabletask.interop.conftest import PROVISION_LOCK_TIMEOUT_SECONDS
from tests.durabletask.toolkit.replay_cases import CHANGES, assert_replayer_verdict

pytestmark = [pytest.mark.slow, pytest.mark.timeout(PROVISION_LOCK_TIMEOUT_SECONDS + 120)]


@pytest.fixture(scope="module")
def official_histories(
    run_official: Callable[..., Any], tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """A folder with ``<workflow>.json`` per workflow, recorded by the official SDK."""
    out = tmp_path_factory.mktemp("official-histories")
    instances = run_official("record-histories", "--out", str(out))
    assert sorted(instances) == sorted(replay_workflows.INPUTS)
    return out


@pytest.mark.parametrize("change", CHANGES, ids=lambda c: f"{c.workflow}-{c.name}")
def test_replayer_flags_each_change_on_histories_recorded_by_the_official_sdk(
        official_histories, change):
    assert_replayer_verdict(change, official_histories / f"{change.workflow}.json")
