"""The dashboard's entity API against a real sidecar and our worker, over real sockets."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

from durabletask.entities import EntityInstanceId
from durabletask.sidecar.store.sqlite import SqliteStore
from tests.durabletask.dashboard.conftest import Dashboard, Http, holds_lock, signals_later
from tests.durabletask.helpers.wait import poll_until

pytest.importorskip("aiohttp", reason="the dashboard needs aiohttp (pip install '.[dashboard]')")
pytestmark = pytest.mark.slow


def _path(entity_id: str) -> str:
    return "/api/entities/" + quote(entity_id, safe="")


def _entity(http: Http, entity_id: str) -> dict[str, Any]:
    answer = http.get(_path(entity_id))
    assert answer.status == 200, (answer.status, answer.body)
    return answer.json


def _wait_state(http: Http, entity_id: str, expected: Any) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        answer = http.get(_path(entity_id))
        if answer.status != 200 or answer.json["state"] is None:
            return None
        return answer.json if json.loads(answer.json["state"]) == expected else None

    return poll_until(probe, message=f"{entity_id} to hold {expected!r}")


def _ids(http: Http, **params: Any) -> list[str]:
    answer = http.get("/api/entities", **params)
    assert answer.status == 200, (answer.status, answer.body)
    return [row["id"] for row in answer.json["entities"]]


def test_function_and_class_entities_are_listed_by_id_searched_and_paged(dashboard):
    c = dashboard.client
    for key, amount in (("b", 2), ("a", 1), ("c", 3)):
        c.signal_entity(EntityInstanceId("counter", key), "add", input=amount)
    c.signal_entity(EntityInstanceId("Cart", "alice"), "add_item", input="book")
    _wait_state(dashboard.http, "@cart@alice", ["book"])
    for key, amount in (("a", 1), ("b", 2), ("c", 3)):
        _wait_state(dashboard.http, f"@counter@{key}", amount)
    http = dashboard.http

    listed = http.get("/api/entities").json
    pages: list[str] = []
    cursor = None
    for _ in range(5):
        page = http.get("/api/entities", limit=2, **({"cursor": cursor} if cursor else {})).json
        pages += [row["id"] for row in page["entities"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break

    ids = ["@cart@alice", "@counter@a", "@counter@b", "@counter@c"]
    assert [row["id"] for row in listed["entities"]] == ids
    assert listed["nextCursor"] is None
    assert pages == ids
    cart = listed["entities"][0]
    assert (cart["name"], cart["key"], cart["hasState"], cart["lockedBy"]) == (
        "cart", "alice", True, None)
    assert json.loads(cart["statePreview"]) == ["book"]
    # q is an id prefix: an entity name (any case), or a name and the start of a key.
    assert _ids(http, q="COUNT") == ["@counter@a", "@counter@b", "@counter@c"]
    assert _ids(http, q="@counter@b") == ["@counter@b"]
    assert _ids(http, q="counter@c") == ["@counter@c"]
    assert _ids(http, q="nothing") == []


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_entity_page_shows_lock_holder_queue_and_state_as_the_lock_is_released(
    make_dashboard, store, tmp_path
):
    options = {"store": SqliteStore(tmp_path / "state.db")} if store == "sqlite" else {}
    dashboard = make_dashboard(**options)
    http = dashboard.http
    dashboard.client.schedule_new_orchestration(holds_lock, input="locked", instance_id="holder-1")
    locked = poll_until(lambda: (e := http.get(_path("@counter@locked"))).status == 200
                        and e.json["lockedBy"] and e.json, message="the lock to be granted")
    dashboard.client.signal_entity(EntityInstanceId("counter", "locked"), "add", input=5)
    dashboard.completed(signals_later, "later-1", "later")

    waiting = poll_until(lambda: (e := _entity(http, "@counter@locked"))["backlog"] and e,
                         message="the signal to wait behind the lock")
    later = _entity(http, "@counter@later")
    without_transient = _ids(http)
    with_transient = _ids(http, transient="true")

    assert locked["lock"]["holder"] == "holder-1"
    assert locked["lock"]["criticalSection"]
    assert (waiting["state"], waiting["hasState"], waiting["lockedBy"]) == (None, False, "holder-1")
    [queued] = waiting["queued"]
    assert (queued["kind"], queued["operation"], queued["from"], queued["inputPreview"],
            queued["visibleAt"]) == ("signal", "add", None, "5", None)
    [delayed] = later["queued"]
    assert (delayed["kind"], delayed["operation"], delayed["from"], delayed["fromEntity"]) == (
        "signal", "add", "later-1", False)
    assert delayed["visibleAt"] > delayed["enqueuedAt"]
    assert later["backlog"] == 1
    # Entities without state are listed only on request.
    assert without_transient == []
    assert with_transient == ["@counter@later", "@counter@locked"]

    dashboard.client.raise_orchestration_event("holder-1", "release")
    released = _wait_state(http, "@counter@locked", 5)
    assert (released["lock"], released["lockedBy"], released["backlog"], released["queued"]) == (
        None, None, 0, [])


def test_signal_runs_the_operation_through_the_same_core_as_grpc(dashboard):
    http = dashboard.http

    first = http.post(_path("@cart@bob") + "/signal", {"operation": "add_item", "input": "pen"})
    _wait_state(http, "@cart@bob", ["pen"])
    second = http.post(_path("@counter@z") + "/signal", {"operation": "add", "input": 4})
    _wait_state(http, "@counter@z", 4)
    http.post(_path("@cart@bob") + "/signal", {"operation": "add_item", "input": "ink"})

    assert first.status == 200
    assert first.json["accepted"] == "signal"
    assert first.json["requestId"] != second.json["requestId"]
    _wait_state(http, "@cart@bob", ["pen", "ink"])
    metadata = dashboard.client.get_entity(EntityInstanceId("Cart", "bob"))
    assert metadata is not None
    assert metadata.get_typed_state() == ["pen", "ink"]


def _error(answer, status: int) -> str:
    assert answer.status == status, (answer.status, answer.body)
    return answer.json["error"]


def test_unknown_and_malformed_entity_ids_and_bad_signals_are_clear_4xx(dashboard):
    http = dashboard.http

    assert "no entity with id '@counter@nobody'" in _error(http.get(_path("@counter@nobody")), 404)
    assert "not an entity id" in _error(http.get(_path("counter-1")), 400)
    assert "not an entity id" in _error(http.get(_path("@counter@")), 400)
    assert "not an entity id" in _error(
        http.post(_path("no-at-sign") + "/signal", {"operation": "add"}), 400)
    assert "operation is required" in _error(http.post(_path("@counter@x") + "/signal", {}), 400)
    assert "must be a string" in _error(
        http.post(_path("@counter@x") + "/signal", {"operation": 3}), 400)
    assert "not valid JSON" in _error(http.request(
        "POST", _path("@counter@x") + "/signal", body=b"{oops",
        headers={"Content-Type": "application/json"}), 400)
    assert "transient" in _error(http.get("/api/entities", transient="maybe"), 400)
    assert "cursor" in _error(http.get("/api/entities", cursor="\x01"), 400)
    _error(http.get("/api/entities", limit="0"), 400)
    _error(http.request("DELETE", _path("@counter@x")), 405)
    # Nothing was signalled by the refused requests.
    assert _ids(http, transient="true") == []


def test_entity_routes_need_the_token_and_refuse_other_sites(make_dashboard):
    board: Dashboard = make_dashboard(with_worker=False, require_token="s3cret")
    anonymous = Http(board.sidecar.dashboard_url)
    right = Http(board.sidecar.dashboard_url, token="s3cret")
    signal = {"operation": "add", "input": 1}

    assert "requires a token" in _error(anonymous.get("/api/entities"), 401)
    _error(anonymous.get(_path("@counter@t")), 401)
    _error(Http(board.sidecar.dashboard_url, token="guess").post(
        _path("@counter@t") + "/signal", signal), 401)
    cross_site = right.request("POST", _path("@counter@t") + "/signal",
                               body=json.dumps(signal).encode(),
                               headers={"Content-Type": "application/json",
                                        "Origin": "http://evil.example"})
    _error(cross_site, 403)
    assert right.get("/api/entities", transient="true").json["entities"] == []

    assert right.post(_path("@counter@t") + "/signal", signal).status == 200
    queued = _entity(right, "@counter@t")  # no worker here: the signal waits in the queue
    assert (queued["backlog"], queued["queued"][0]["operation"]) == (1, "add")
