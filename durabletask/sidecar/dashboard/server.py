"""``DashboardServer``: the dashboard's HTTP server, on the sidecar's own event loop."""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

from durabletask.sidecar.hubs import TaskHubs

try:
    from aiohttp import web
    from aiohttp.http_exceptions import HttpProcessingError
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "the sidecar dashboard needs aiohttp: pip install 'durabletask[dashboard]'"
    ) from exc

from durabletask.sidecar.dashboard.api import DashboardApi
from durabletask.sidecar.dashboard.entity_api import EntityApi
from durabletask.sidecar.dashboard.guard import (
    LOOPBACK_HOSTS,
    add_security_headers,
    json_errors,
    make_guard,
)

logger = logging.getLogger("durabletask.sidecar.dashboard")

# aiohttp refuses longer request lines in its parser with a plain-text 400; below this the
# guard answers a clear JSON 414 for long query strings.
_MAX_REQUEST_LINE_BYTES = 64 * 1024
_STATIC_DIR = Path(str(resources.files("durabletask.sidecar.dashboard") / "page-assets"))


class DashboardServer:
    """Serves the dashboard page and its JSON API for the task hubs of one sidecar."""

    def __init__(
        self,
        hubs: TaskHubs,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        require_token: bool | str = False,
        max_body_bytes: int = 4 * 1024 * 1024,
    ) -> None:
        """Configure (but do not start) the server.

        Args:
            hubs: The sidecar's task hubs; every request goes through their cores.
            host: Interface to bind; loopback unless told otherwise.
            port: TCP port; 0 picks a free one.
            require_token: The sidecar's token setting; the API refuses requests without it.
            max_body_bytes: Largest request body (a raised event's data).
        """
        self._host = host
        self._requested_port = port
        self.port = 0
        app = web.Application(
            middlewares=[json_errors, make_guard(require_token, host in LOOPBACK_HOSTS)],
            client_max_size=max_body_bytes,
        )
        app.router.add_routes(DashboardApi(hubs, require_token).routes())
        app.router.add_routes(EntityApi(hubs).routes())
        app.router.add_get("/", _index)
        app.router.add_static("/static/", _STATIC_DIR, append_version=False)
        app.on_response_prepare.append(add_security_headers)
        self._runner = web.AppRunner(
            app, access_log=None, logger=_parser_logger(), handler_cancellation=True,
            max_line_size=_MAX_REQUEST_LINE_BYTES,
        )
        self._started = False

    @property
    def url(self) -> str:
        """The page's address, e.g. ``http://127.0.0.1:8080/`` (valid after :meth:`start`)."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}/"

    async def start(self) -> str:
        """Bind and serve.

        Returns:
            :attr:`url`.

        Raises:
            RuntimeError: The port could not be bound.
        """
        if self._host not in LOOPBACK_HOSTS:
            logger.warning(
                "binding the dashboard to %s: anyone who can reach this address can read and "
                "control orchestrations unless the sidecar requires a token", self._host,
            )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._requested_port, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            failure: OSError | None = exc
        else:
            failure = None
        if failure is not None:
            await self._runner.cleanup()
            raise RuntimeError(
                f"the dashboard could not bind {self._host}:{self._requested_port} ({failure}); "
                f"choose another dashboard port or 0 for a free one"
            ) from failure
        self._started = True
        self.port = self._runner.addresses[0][1]
        logger.info("durabletask dashboard on %s", self.url)
        return self.url

    async def stop(self) -> None:
        """Stop serving; safe to call twice."""
        if self._started:
            self._started = False
            await self._runner.cleanup()


async def _index(request: web.Request) -> web.FileResponse:  # noqa: ASYNC124 - aiohttp handler
    return web.FileResponse(_STATIC_DIR / "index.html")


class _QuietParserErrors(logging.Filter):
    """A malformed request is the client's problem: one line, no traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            record.msg, record.args = "refused a malformed HTTP request: %s", (exc.message,)
            record.exc_info = None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def _parser_logger() -> logging.Logger:
    http_logger = logging.getLogger("durabletask.sidecar.dashboard.http")
    if not any(isinstance(f, _QuietParserErrors) for f in http_logger.filters):
        http_logger.addFilter(_QuietParserErrors())
    return http_logger
