"""Every public name of every public module of the official packages exists in ours.

The expected surface is ``official_api.json``: names, parameter names, kinds and defaults,
members, exception type names and enum values of durabletask 1.12.0 and
durabletask-azuremanaged 1.12.0, written by ``tools/official_api_snapshot.py`` run in a
virtualenv holding the official packages. Differences that belong to issues not done yet
are listed in ``KNOWN_GAPS`` with their issue; the list must shrink as they land (a gap
that is no longer a gap fails the test, so it is removed here).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.durabletask.compat.official_surface import module_problems

SNAPSHOT = json.loads((Path(__file__).with_name("official_api.json")).read_text())

# Prefix of a problem ("module:name[.member]: what") -> the issue that will close it.
KNOWN_GAPS: dict[str, int] = {
}

# Differences kept on purpose; each is explained in docs/compatibility.md.
DOCUMENTED_DIFFERENCES: dict[str, str] = {
    "durabletask.azuremanaged.preview": "sandboxes (preview) are not provided",
    "durabletask.testing.in_memory_backend:ActivityWorkItem": "official backend internals",
    "durabletask.testing.in_memory_backend:EntityState": "official backend internals",
    "durabletask.testing.in_memory_backend:EntityWorkItem": "official backend internals",
    "durabletask.testing.in_memory_backend:OrchestrationInstance": "official backend internals",
    "durabletask.testing.in_memory_backend:PendingLockRequest": "official backend internals",
    "durabletask.testing.in_memory_backend:StateWaiter": "official backend internals",
}


def _gap_of(problem: str) -> str | None:
    prefixes = [*KNOWN_GAPS, *DOCUMENTED_DIFFERENCES]
    return next((prefix for prefix in prefixes if problem.startswith(prefix)), None)


@pytest.mark.parametrize("module_name", sorted(SNAPSHOT["modules"]))
def test_official_module_surface_is_ours(module_name: str) -> None:
    problems = module_problems(module_name, SNAPSHOT["modules"][module_name])

    unexpected = [p for p in problems if _gap_of(p) is None]

    assert not unexpected, "differences from the official 1.12.0 surface:\n" + "\n".join(
        unexpected)


def test_every_known_gap_is_still_a_gap() -> None:
    problems = [p for name, entry in SNAPSHOT["modules"].items()
                for p in module_problems(name, entry)]

    closed = [prefix for prefix in [*KNOWN_GAPS, *DOCUMENTED_DIFFERENCES]
              if not any(p.startswith(prefix) for p in problems)]

    assert not closed, f"no longer differences, remove them from the lists: {closed}"
