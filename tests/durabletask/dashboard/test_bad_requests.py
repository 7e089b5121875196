"""Bad requests to the dashboard get clear 4xx JSON answers, and the sidecar serves on."""

from __future__ import annotations

import http.client
import socket
from urllib.parse import urlsplit

import grpc
import pytest
from google.protobuf import empty_pb2

from durabletask.internal.proto import orchestrator_service_pb2_grpc as pb_grpc
from tests.durabletask.dashboard.conftest import Dashboard, Http, approval

pytest.importorskip("aiohttp", reason="the dashboard needs aiohttp (pip install '.[dashboard]')")
pytestmark = pytest.mark.slow


def _still_serving(board: Dashboard) -> None:
    assert board.http.get("/api/info").status == 200
    with grpc.insecure_channel(board.sidecar.address) as channel:
        pb_grpc.TaskHubSidecarServiceStub(channel).Hello(empty_pb2.Empty(), timeout=5)


def _error(answer, status: int) -> str:
    assert answer.status == status, (answer.status, answer.body)
    assert answer.headers["Content-Type"].startswith("application/json")
    return answer.json["error"]


def test_unknown_ids_routes_actions_and_methods_are_json_4xx(dashboard):
    dashboard.running(approval, "order-1")
    http = dashboard.http

    assert "no orchestration instance with id 'nope'" in _error(
        http.get("/api/instances/nope"), 404)
    _error(http.get("/api/instances/nope/history"), 404)
    _error(http.post("/api/instances/nope/terminate", {}), 404)
    assert "raise-event" in _error(http.post("/api/instances/order-1/explode", {}), 404)
    _error(http.get("/api/nothing-here"), 404)
    _error(http.request("DELETE", "/api/instances/order-1"), 405)
    _error(http.post("/api/instances/order-1/raise-event", {"data": 1}), 400)  # no name
    _error(http.post("/api/instances/order-1/terminate", {"recursive": "yes"}), 400)
    _still_serving(dashboard)


def test_malformed_bodies_and_content_types_are_refused(dashboard):
    dashboard.running(approval, "order-2")
    http = dashboard.http
    path = "/api/instances/order-2/suspend"
    json_type = {"Content-Type": "application/json"}

    assert "not valid JSON" in _error(http.request("POST", path, body=b"{nope", headers=json_type),
                                      400)
    assert "not valid JSON" in _error(http.request("POST", path, body=b"\xff\xfe",
                                                   headers=json_type), 400)
    assert "JSON object" in _error(http.request("POST", path, body=b"[1]", headers=json_type),
                                   400)
    _error(http.request("POST", path, body=b"{}", headers={"Content-Type": "text/plain"}), 415)
    assert "too large" in _error(http.request(
        "POST", path, body=b'{"reason": "' + b"x" * (4 * 1024 * 1024) + b'"}', headers=json_type,
    ), 413)
    assert dashboard.http.get("/api/instances/order-2").json["status"] == "RUNNING"
    _still_serving(dashboard)


def test_bad_query_parameters_and_huge_query_strings_are_refused(dashboard):
    http = dashboard.http

    assert "unknown status BOGUS" in _error(http.get("/api/instances", status="bogus"), 400)
    assert "cursor" in _error(http.get("/api/instances", cursor="garbage"), 400)
    _error(http.get("/api/instances", limit="0"), 400)
    _error(http.get("/api/instances", limit="lots"), 400)
    _error(http.get("/api/instances", q="x" * 300), 400)
    assert "longer than 4096 bytes" in _error(http.get("/api/instances", q="x" * 10_000), 414)
    giant = http.get("/api/instances", q="x" * 200_000)  # refused by the HTTP parser itself
    assert giant.status == 400
    _still_serving(dashboard)


def test_a_garbage_request_line_is_refused_and_the_server_serves_on(dashboard):
    parts = urlsplit(dashboard.sidecar.dashboard_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(b"\x16\x03\x01 not http at all\r\n\r\n")
        reply = sock.recv(1024)

    assert reply.split(b" ", 2)[1] == b"400", reply
    _still_serving(dashboard)


def test_other_sites_cannot_drive_the_api_through_a_browser(dashboard):
    dashboard.running(approval, "order-3")
    http = dashboard.http
    json_type = {"Content-Type": "application/json"}

    cross_site = http.request("POST", "/api/instances/order-3/terminate", body=b"{}",
                              headers={**json_type, "Origin": "http://evil.example"})
    rebound = http.request("GET", "/api/instances", headers={"Host": "evil.example"})

    _error(cross_site, 403)
    assert "loopback host names only" in _error(rebound, 421)
    assert dashboard.http.get("/api/instances/order-3").json["status"] == "RUNNING"


def test_the_token_is_required_for_the_api_but_not_for_the_empty_page(make_dashboard):
    board = make_dashboard(with_worker=False, require_token="s3cret")
    anonymous = Http(board.sidecar.dashboard_url)
    wrong = Http(board.sidecar.dashboard_url, token="guess")
    right = Http(board.sidecar.dashboard_url, token="s3cret")

    refused = anonymous.get("/api/instances")
    assert "requires a token" in _error(refused, 401)
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert "not accepted" in _error(wrong.get("/api/info"), 401)
    _error(anonymous.post("/api/instances/x/terminate", {}), 401)
    assert right.get("/api/info").json["requireToken"] is True
    assert right.get("/api/instances").status == 200
    page = anonymous.get("/")
    assert page.status == 200
    assert b"<title>durabletask dashboard</title>" in page.body
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]


def test_stopping_the_sidecar_closes_the_dashboard_port(make_dashboard):
    board = make_dashboard(with_worker=False)
    parts = urlsplit(board.sidecar.dashboard_url)

    board.sidecar.stop()

    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        with pytest.raises(ConnectionRefusedError):
            conn.request("GET", "/api/info")
    finally:
        conn.close()
