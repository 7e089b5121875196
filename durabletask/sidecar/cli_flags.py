"""Command-line flags of the sidecar program, shared by ``durabletask sidecar`` and the launcher."""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from durabletask.sidecar.options import SidecarOptions

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4001
DEFAULT_DASHBOARD_PORT = 4002
# A relative name: the database lives in the working directory so state survives restarts.
DEFAULT_DB_PATH = "durabletask.db"
LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


@dataclass(frozen=True, slots=True, kw_only=True)
class SidecarLaunch:
    """Everything the sidecar program needs to start, parsed from its command line."""

    host: str = DEFAULT_HOST
    """Interface to bind."""
    port: int = DEFAULT_PORT
    """TCP port; 0 picks a free one (reported on the ready line)."""
    db_path: str | None = DEFAULT_DB_PATH
    """SQLite database file; None keeps everything in memory."""
    options: SidecarOptions = dataclasses.field(default_factory=SidecarOptions)
    """Limits and intervals of the sidecar."""
    log_level: str = "INFO"
    """Level of the ``durabletask`` loggers, written to stderr."""
    parent_pid: int | None = None
    """Exit when this process dies (set by ``SidecarProcess``); None disables the watchdog."""
    dashboard_port: int | None = None
    """Serve the web dashboard on this port (0 picks a free one); None: no dashboard."""
    dashboard_host: str = DEFAULT_HOST
    """Interface the dashboard binds."""


def option_flag(field_name: str) -> str:
    """Return the command-line flag of a ``SidecarOptions`` field.

    Units stay out of flag names (``health_ping_interval_seconds`` is
    ``--health-ping-interval``); the help text names the unit.

    Args:
        field_name: The dataclass field name.
    """
    return "--" + field_name.removesuffix("_seconds").replace("_", "-")


def _option_fields() -> Iterator[dataclasses.Field[object]]:
    for field in dataclasses.fields(SidecarOptions):
        if isinstance(field.default, (int, float)) and not isinstance(field.default, bool):
            yield field


def add_sidecar_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the sidecar's flags (address, store, options, logging, watchdog) to ``parser``.

    Args:
        parser: The parser of ``durabletask sidecar`` or ``python -m durabletask.sidecar``.
    """
    parser.add_argument(
        "--host", default=DEFAULT_HOST,
        help=f"interface to bind (default {DEFAULT_HOST}: loopback only)",
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT,
        help=f"TCP port (default {DEFAULT_PORT}; 0 picks a free port)",
    )
    store = parser.add_mutually_exclusive_group()
    store.add_argument(
        "--db", metavar="PATH", default=None,
        help=f"SQLite database file (default ./{DEFAULT_DB_PATH}); state survives restarts",
    )
    store.add_argument(
        "--memory", action="store_true", help="keep state in memory only (lost on exit)"
    )
    for field in _option_fields():
        unit = " (seconds)" if field.name.endswith("_seconds") else ""
        parser.add_argument(
            option_flag(field.name), dest=field.name, type=type(field.default),
            default=field.default, metavar="N" if isinstance(field.default, int) else "S",
            help=f"{field.name.removesuffix('_seconds').replace('_', ' ')}{unit} "
            f"(default {field.default})",
        )
    parser.add_argument(
        "--default-wait-timeout", dest="default_wait_timeout_seconds", type=float,
        default=None, metavar="S",
        help="cap WaitForInstance* calls that carry no deadline at S seconds (default: no cap; "
        "they wait until the caller cancels or its connection dies)",
    )
    parser.add_argument(
        "--taskhub", dest="taskhubs", action="append", default=[], metavar="NAME",
        help="serve a task hub of this name (repeatable); the 'taskhub' request header "
        "selects it. Without it one default hub serves every request",
    )
    tokens = parser.add_mutually_exclusive_group()
    tokens.add_argument(
        "--require-token", nargs="?", const=True, default=False, metavar="TOKEN",
        help="refuse calls without 'authorization: Bearer <token>' (equal to TOKEN if given; "
        "prefer --require-token-file or --require-token-env, which `ps` does not show)",
    )
    tokens.add_argument(
        "--require-token-file", metavar="PATH",
        help="require the bearer token read from PATH (surrounding whitespace ignored)",
    )
    tokens.add_argument(
        "--require-token-env", metavar="VAR",
        help="require the bearer token held by environment variable VAR",
    )
    _add_dashboard_arguments(parser)
    parser.add_argument(
        "--log-level", default="INFO", type=str.upper, choices=LOG_LEVELS,
        help="log level of messages written to stderr (default INFO)",
    )
    parser.add_argument(
        "--parent-pid", type=int, default=None, help=argparse.SUPPRESS,
    )


def _add_dashboard_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dashboard", action="store_true",
        help=f"also serve the web dashboard (port {DEFAULT_DASHBOARD_PORT}; needs "
        f"pip install 'durabletask[dashboard]')",
    )
    parser.add_argument(
        "--dashboard-port", type=int, default=None, metavar="N",
        help=f"dashboard TCP port (implies --dashboard; default {DEFAULT_DASHBOARD_PORT}, "
        f"0 picks a free port)",
    )
    parser.add_argument(
        "--dashboard-host", default=DEFAULT_HOST, metavar="HOST",
        help=f"interface the dashboard binds (default {DEFAULT_HOST}: loopback only)",
    )


def launch_from_args(args: argparse.Namespace) -> SidecarLaunch:
    """Build a :class:`SidecarLaunch` from parsed arguments.

    Args:
        args: The namespace of a parser prepared by :func:`add_sidecar_arguments`.

    Raises:
        ValueError: An option value is out of range; the message names the flag.
    """
    values: dict[str, Any] = {
        field.name: getattr(args, field.name) for field in _option_fields()
    }
    values["default_wait_timeout_seconds"] = args.default_wait_timeout_seconds
    values["taskhubs"] = tuple(args.taskhubs)
    values["require_token"] = _required_token(args)
    try:
        options = SidecarOptions(**values)
    except ValueError as exc:
        raise ValueError(_name_flag(str(exc))) from exc
    for flag, port in (("--port", args.port), ("--dashboard-port", args.dashboard_port)):
        if port is not None and not 0 <= port <= 65535:
            raise ValueError(f"{flag} must be between 0 and 65535, got {port}")
    dashboard_port = args.dashboard_port
    if args.dashboard and dashboard_port is None:
        dashboard_port = DEFAULT_DASHBOARD_PORT
    return SidecarLaunch(
        host=args.host,
        port=args.port,
        db_path=None if args.memory else (args.db or DEFAULT_DB_PATH),
        options=options,
        log_level=args.log_level,
        parent_pid=args.parent_pid,
        dashboard_port=dashboard_port,
        dashboard_host=args.dashboard_host,
    )


def _required_token(args: argparse.Namespace) -> bool | str:
    path = getattr(args, "require_token_file", None)
    variable = getattr(args, "require_token_env", None)
    if path:
        return read_token_file(path, "--require-token-file")
    if variable:
        token = os.environ.get(variable, "").strip()
        if not token:
            raise ValueError(f"--require-token-env: the environment variable {variable} is "
                             f"not set or empty")
        return token
    result: bool | str = args.require_token
    return result


def read_token_file(path: str, flag: str) -> str:
    """Return the token in ``path`` without surrounding whitespace.

    Args:
        path: The file.
        flag: The option that named it, for the message.

    Raises:
        ValueError: The file cannot be read or holds no token.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            token = handle.read().strip()
    except OSError as exc:
        raise ValueError(f"{flag}: cannot read {path}: {exc.strerror}") from exc
    if not token:
        raise ValueError(f"{flag}: {path} is empty")
    return token


def launch_env(launch: SidecarLaunch) -> dict[str, str]:
    """Return the environment a child sidecar needs besides :func:`launch_to_args`.

    A required token travels in the environment, not on the command line, where ``ps``
    would show it.
    """
    token = launch.options.require_token
    return {TOKEN_ENV_FOR_CHILD: token} if isinstance(token, str) else {}


TOKEN_ENV_FOR_CHILD = "DURABLETASK_SIDECAR_REQUIRED_TOKEN"
"""The variable through which a launcher hands the required token to its child sidecar."""


def _name_flag(message: str) -> str:
    field_name = message.split(" ", 1)[0]
    if any(field.name == field_name for field in _option_fields()):
        return f"{option_flag(field_name)}: {message}"
    return message


def launch_to_args(launch: SidecarLaunch) -> list[str]:
    """Return the command-line arguments that reproduce ``launch`` (inverse of parsing).

    Options equal to their defaults are left out, so the command line stays short.

    Args:
        launch: What the child sidecar should do.
    """
    args = ["--host", launch.host, "--port", str(launch.port)]
    args += ["--memory"] if launch.db_path is None else ["--db", launch.db_path]
    for field in _option_fields():
        value = getattr(launch.options, field.name)
        if value != field.default:
            args += [option_flag(field.name), repr(value)]
    if launch.options.default_wait_timeout_seconds is not None:
        args += ["--default-wait-timeout", repr(launch.options.default_wait_timeout_seconds)]
    for hub in launch.options.taskhubs:
        args += ["--taskhub", hub]
    if launch.options.require_token is True:
        args += ["--require-token"]
    elif launch.options.require_token:
        args += ["--require-token-env", TOKEN_ENV_FOR_CHILD]  # see launch_env
    if launch.dashboard_port is not None:
        args += ["--dashboard-port", str(launch.dashboard_port)]
        args += ["--dashboard-host", launch.dashboard_host]
    args += ["--log-level", launch.log_level]
    if launch.parent_pid is not None:
        args += ["--parent-pid", str(launch.parent_pid)]
    return args
