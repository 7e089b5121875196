"""Every resiliency requirement id cited in the code or the tests is listed in the docs.

Comments and tests cite rules as ``R-<letters><number>``; ``docs/resiliency.md`` lists each
one in its table, so an id never points at nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
SCANNED = ("durabletask", "durabletask-azuremanaged", "tests")
REQUIREMENT_ID = re.compile(r"\bR-[A-Z]+[0-9]+\b")
TABLE_ROW = re.compile(r"^\|\s*(R-[A-Z]+[0-9]+)\s*\|", re.MULTILINE)


def _listed_ids() -> set[str]:
    return set(TABLE_ROW.findall((REPO_ROOT / "docs" / "resiliency.md").read_text("utf-8")))


def _cited_ids() -> dict[str, list[str]]:
    cited: dict[str, list[str]] = {}
    for top in SCANNED:
        for path in sorted((REPO_ROOT / top).rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts or ".egg-info" in str(path):
                continue
            try:
                text = path.read_text("utf-8")
            except (UnicodeDecodeError, OSError):
                continue  # binary files cite nothing
            for found in set(REQUIREMENT_ID.findall(text)):
                cited.setdefault(found, []).append(str(path.relative_to(REPO_ROOT)))
    return cited


def test_the_docs_list_requirement_ids():
    assert len(_listed_ids()) >= 10  # the table is found and parsed


def test_every_cited_requirement_id_is_listed_in_docs_resiliency():
    listed = _listed_ids()
    cited = _cited_ids()
    assert cited, "no requirement id found at all: is the scan looking in the right place?"
    missing = {found: where for found, where in cited.items() if found not in listed}
    assert not missing, (
        f"requirement ids cited but not listed in docs/resiliency.md: {missing}; add a row "
        "(one line saying the rule) or drop the citation"
    )
