"""``examples/entities.py`` runs to completion and exits 0 on every sidecar with entities."""

from __future__ import annotations

import pytest

from examples import entities as example


@pytest.mark.slow
def test_entities_example_runs_and_exits_zero(entity_sidecar, capsys):
    assert example.main(entity_sidecar.address) == 0
    output = capsys.readouterr().out
    assert '"status": "done"' in output
    assert "insufficient funds" in output
