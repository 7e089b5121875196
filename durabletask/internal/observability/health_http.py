"""A tiny HTTP health endpoint for a worker: ``/healthz`` (alive) and ``/readyz`` (ready).

Standard library only (``http.server`` on a thread of its own): a probe endpoint answers a
few requests a minute and must not need an extra. It binds 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["HealthServer"]

_logger = logging.getLogger("durabletask.health")
_STOP_TIMEOUT_SECONDS = 5.0


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 - the http.server naming
        path = self.path.split("?", 1)[0]
        if path not in ("/healthz", "/readyz"):
            self._answer(404, {"error": f"unknown path {path!r}; use /healthz or /readyz"})
            return
        try:
            health = self.server.worker.health()
        except Exception as exc:  # a probe must get an answer, not a dropped connection
            self._answer(500, {"error": f"could not read the worker's health: {exc!r}"})
            return
        body = health.to_dict()
        if path == "/healthz":
            alive = health.state.value != "stopped"
            self._answer(200 if alive else 503, body)
        else:
            self._answer(200 if health.ready else 503, body)

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        _logger.debug("health endpoint: " + format, *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], worker: Any) -> None:
        self.worker = worker
        super().__init__(address, _Handler)


class HealthServer:
    """Serves a worker's health over HTTP.

    ``GET /healthz`` answers 200 while the worker is started (503 once stopped);
    ``GET /readyz`` answers 200 when its stream is connected, 503 otherwise. Both return
    the :class:`~durabletask.health.WorkerHealth` as JSON. Use it as a context manager,
    or call :meth:`start` and :meth:`stop`.
    """

    def __init__(self, worker: Any, *, host: str = "127.0.0.1", port: int = 8080) -> None:
        """Prepare the endpoint; nothing binds until :meth:`start`.

        Args:
            worker: A ``TaskHubGrpcWorker`` (anything with ``health()``).
            host: Interface to bind (loopback by default).
            port: Port to bind; 0 picks a free one (see :attr:`url`).
        """
        self._worker = worker
        self._address = (host, port)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://host:port`` of the running endpoint."""
        if self._server is None:
            raise RuntimeError("the health endpoint is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> str:
        """Bind and serve in a background thread; returns :attr:`url`."""
        if self._server is None:
            self._server = _Server(self._address, self._worker)
            self._thread = threading.Thread(
                target=self._server.serve_forever, name="durabletask-health", daemon=True)
            self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving and close the socket (safe to call twice)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(_STOP_TIMEOUT_SECONDS)

    def __enter__(self) -> HealthServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
