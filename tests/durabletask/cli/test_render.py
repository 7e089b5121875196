"""CLI output helpers: aligned tables and fields, JSON values, one-line cells."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from durabletask.cli.render import (
    decode_payload,
    format_time,
    render_fields,
    render_json,
    render_table,
    shorten,
)


def test_render_table_aligns_columns_and_strips_trailing_spaces():
    text = render_table(["ID", "NAME"], [["a", "long name"], ["longer-id", "x"]])

    assert text.splitlines() == ["ID         NAME", "a          long name", "longer-id  x"]


def test_render_fields_aligns_values_after_the_longest_key():
    text = render_fields([("Name", "x"), ("Last updated", "y"), ("Output", "")])

    assert text.splitlines() == ["Name:          x", "Last updated:  y", "Output:"]


def test_format_time_shows_naive_and_aware_datetimes_in_utc():
    naive = datetime(2024, 1, 2, 3, 4, 5, 600)
    aware = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)

    assert format_time(naive) == format_time(aware) == "2024-01-02 03:04:05Z"
    assert format_time(None) == ""


def test_render_json_writes_datetimes_as_iso_utc():
    document = json.loads(render_json({"at": datetime(2024, 1, 2, 3, 4, 5)}))

    assert document == {"at": "2024-01-02T03:04:05+00:00"}


def test_decode_payload_returns_json_values_or_the_raw_text():
    assert decode_payload('{"a": 1}') == {"a": 1}
    assert decode_payload("not json") == "not json"
    assert decode_payload(None) is None


def test_shorten_keeps_one_line_within_the_limit():
    assert shorten("a\nb   c") == "a b c"
    assert shorten("x" * 100, 10) == "xxxxxxx..."
