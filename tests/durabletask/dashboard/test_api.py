"""The dashboard's JSON API against a real sidecar and worker, over real sockets."""

from __future__ import annotations

import json

import pytest

from durabletask import client
from tests.durabletask.dashboard.conftest import (
    Dashboard,
    approval,
    broken,
    greeter,
    rewindable,
)
from tests.durabletask.helpers.wait import poll_until

pytest.importorskip("aiohttp", reason="the dashboard needs aiohttp (pip install '.[dashboard]')")
pytestmark = pytest.mark.slow


def _status(board: Dashboard, instance_id: str) -> str:
    return board.http.get(f"/api/instances/{instance_id}").json["status"]


def _wait_status(board: Dashboard, instance_id: str, status: str) -> None:
    poll_until(lambda: _status(board, instance_id) == status,
               message=f"{instance_id} to be {status}")


def test_pages_walk_every_instance_newest_first_without_repeats(make_dashboard):
    board = make_dashboard(with_worker=False)
    ids = [f"job-{i:03d}" for i in range(120)]
    for instance_id in ids:
        board.client.schedule_new_orchestration("job", instance_id=instance_id)

    seen: list[dict] = []
    cursor = None
    for _ in range(10):
        page = board.http.get("/api/instances", limit=50, **({"cursor": cursor} if cursor else {}))
        assert page.status == 200
        seen += page.json["instances"]
        cursor = page.json["nextCursor"]
        if cursor is None:
            break

    assert [row["id"] for row in seen] == list(reversed(ids))
    created = [row["createdAt"] for row in seen]
    assert created == sorted(created, reverse=True)
    assert board.http.get("/api/counts").json == {"counts": {"PENDING": 120}, "total": 120}


def test_status_filter_and_search_narrow_the_list_and_the_counts(dashboard):
    dashboard.completed(greeter, "greet-ada", "Ada")
    dashboard.completed(broken, "boom-1")
    dashboard.running(approval, "order-7")

    failed = dashboard.http.get("/api/instances", status="FAILED").json["instances"]
    either = dashboard.http.get("/api/instances", status="failed,running").json["instances"]
    by_name = dashboard.http.get("/api/instances", q="GREET").json["instances"]
    by_id = dashboard.http.get("/api/instances", q="der-").json["instances"]
    counts = dashboard.http.get("/api/counts", q="o").json

    assert [row["id"] for row in failed] == ["boom-1"]
    assert sorted(row["id"] for row in either) == ["boom-1", "order-7"]
    assert [(row["id"], row["name"], row["status"]) for row in by_name] == [
        ("greet-ada", "greeter", "COMPLETED")]
    assert [row["id"] for row in by_id] == ["order-7"]
    assert counts == {"counts": {"FAILED": 1, "RUNNING": 1}, "total": 2}


def test_instance_page_data_has_payloads_failure_and_a_named_history(dashboard):
    dashboard.completed(greeter, "greet-bo", "Bo")
    dashboard.completed(broken, "boom-2", {"x": 1})

    done = dashboard.http.get("/api/instances/greet-bo").json
    failed = dashboard.http.get("/api/instances/boom-2").json
    history = dashboard.http.get("/api/instances/greet-bo/history").json["events"]

    assert (done["status"], done["name"]) == ("COMPLETED", "greeter")
    assert json.loads(done["input"]) == "Bo"
    assert json.loads(done["output"]) == "hello Bo"
    assert json.loads(done["customStatus"]) == {"greeted": "Bo"}
    assert failed["failure"]["errorType"].endswith("ValueError")
    assert failed["failure"]["errorMessage"] == "kaboom"
    assert json.loads(failed["input"]) == {"x": 1}
    kinds = [event["kind"] for event in history]
    assert kinds[1] == "executionStarted"
    assert kinds[-2:] == ["executionCompleted", "orchestratorCompleted"]
    scheduled = next(e for e in history if e["kind"] == "taskScheduled")
    answered = next(e for e in history if e["kind"] == "taskCompleted")
    assert scheduled["summary"] == "say_hello"
    assert answered["summary"] == f"say_hello (#{scheduled['eventId']})"
    assert json.loads(answered["details"]["result"]) == "hello Bo"


def test_raise_event_suspend_resume_and_terminate_act_like_the_grpc_api(dashboard):
    dashboard.running(approval, "order-1")
    dashboard.running(approval, "order-2")
    http = dashboard.http

    assert http.post("/api/instances/order-1/suspend", {"reason": "checking"}).status == 200
    _wait_status(dashboard, "order-1", "SUSPENDED")
    assert http.post("/api/instances/order-1/resume", {}).status == 200
    _wait_status(dashboard, "order-1", "RUNNING")
    assert http.post("/api/instances/order-1/raise-event",
                     {"name": "approval", "data": {"ok": True}}).status == 200
    assert http.post("/api/instances/order-2/terminate", {"output": "stopped"}).status == 200

    approved = dashboard.client.wait_for_orchestration_completion("order-1", timeout=15)
    stopped = dashboard.client.wait_for_orchestration_completion("order-2", timeout=15)
    assert approved is not None
    assert json.loads(approved.serialized_output) == {"ok": True}
    assert stopped is not None
    assert stopped.runtime_status == client.OrchestrationStatus.TERMINATED
    assert json.loads(stopped.serialized_output) == "stopped"


def test_purge_deletes_a_finished_instance_and_refuses_a_running_one(dashboard):
    dashboard.completed(greeter, "greet-cy", "Cy")
    dashboard.running(approval, "order-3")

    purged = dashboard.http.post("/api/instances/greet-cy/purge", {})
    refused = dashboard.http.post("/api/instances/order-3/purge", {})

    assert purged.json == {"deleted": 1}
    assert dashboard.client.get_orchestration_state("greet-cy") is None
    assert dashboard.http.get("/api/instances/greet-cy").status == 404
    assert refused.status == 409
    assert "terminate it first" in refused.json["error"]


def test_rewind_reruns_a_failed_instance_to_completion(dashboard):
    failed = dashboard.completed(rewindable, "rewind-1", "rewind-1")
    assert failed.runtime_status == client.OrchestrationStatus.FAILED
    not_failed = dashboard.http.post("/api/instances/order-x/rewind", {})

    rewound = dashboard.http.post("/api/instances/rewind-1/rewind", {"reason": "fixed"})

    assert rewound.status == 200
    state = poll_until(
        lambda: (s := dashboard.client.get_orchestration_state("rewind-1")) and s.runtime_status
        == client.OrchestrationStatus.COMPLETED and s, message="the rewound instance to finish",
    )
    assert json.loads(state.serialized_output) == "recovered rewind-1"
    assert not_failed.status == 404


def test_task_hubs_are_separate_and_must_be_chosen(make_dashboard):
    board = make_dashboard(with_worker=False, taskhubs=("alpha", "beta"))
    with client.TaskHubGrpcClient(host_address=board.sidecar.address,
                                  metadata=[("taskhub", "alpha")]) as alpha:
        alpha.schedule_new_orchestration("job", instance_id="in-alpha")
    http = board.http

    assert http.get("/api/info").json["hubs"] == ["alpha", "beta"]
    assert [r["id"] for r in http.get("/api/instances", hub="alpha").json["instances"]] == [
        "in-alpha"]
    assert http.get("/api/instances", hub="beta").json["instances"] == []
    assert http.get("/api/instances/in-alpha", hub="beta").status == 404
    missing = http.get("/api/instances")
    unknown = http.get("/api/instances", hub="gamma")
    assert missing.status == 400
    assert "alpha, beta" in missing.json["error"]
    assert unknown.status == 404
    assert "'gamma' not found" in unknown.json["error"]
