"""``examples/large_payloads.py`` runs to completion with a folder store and with Azurite."""

from __future__ import annotations

import pytest

from examples import large_payloads as example
from tests.durabletask.helpers.azurite import Azurite

pytestmark = pytest.mark.slow


def test_large_payloads_example_runs_with_a_folder_store(capsys: pytest.CaptureFixture) -> None:
    assert example.main() == 0
    output = capsys.readouterr().out
    assert "output: {'tables': 10, 'summary_chars':" in output
    assert "the sidecar holds the input as: blob:v1:durabletask-payloads:" in output


def test_large_payloads_example_runs_with_azurite(
    azurite: Azurite, capsys: pytest.CaptureFixture,
) -> None:
    pytest.importorskip("azure.storage.blob")

    assert example.main(azurite.connection_string) == 0
    assert "the sidecar holds the input as: blob:v1:" in capsys.readouterr().out
