"""The metadata every Durable Task Scheduler call carries: names, values and merging (no I/O)."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterable, Mapping, Sequence

__all__ = [
    "DEFAULT_RESOURCE_ID",
    "PACKAGE_VERSION",
    "US_GOVERNMENT_RESOURCE_ID",
    "Header",
    "authorization_header",
    "default_resource_id",
    "merge_metadata",
    "new_worker_id",
    "static_headers",
    "token_scope",
    "validate_taskhub",
]

PACKAGE_VERSION = "1.12.0.post1"
"""Version of ``durabletask-azuremanaged``, sent in the ``x-user-agent`` header."""

DEFAULT_RESOURCE_ID = "https://durabletask.io"
"""The Entra ID resource of the Durable Task Scheduler in public Azure."""

US_GOVERNMENT_RESOURCE_ID = "https://durabletask.azure.us"
"""The Entra ID resource in the US Government clouds (``REGION_NAME`` usgov*/usdod*)."""

_US_GOVERNMENT_REGION_PREFIXES = ("usgov", "usdod")

Header = tuple[str, str]
"""One gRPC metadata pair; keys are lower case."""


def validate_taskhub(taskhub: str) -> str:
    """Return ``taskhub`` if it names a task hub.

    Raises:
        ValueError: ``taskhub`` is empty or not a string.
    """
    if not isinstance(taskhub, str) or not taskhub.strip():
        raise ValueError(
            f"taskhub must be the non-empty name of a task hub of your Durable Task Scheduler, "
            f"got {taskhub!r}; pass taskhub='<name>' (for the local emulator: 'default')"
        )
    return taskhub


def default_resource_id(environ: Mapping[str, str] | None = None) -> str:
    """Return the scheduler's Entra ID resource for the cloud this process runs in.

    Args:
        environ: Environment to read ``REGION_NAME`` from; ``os.environ`` when None.

    Returns:
        :data:`US_GOVERNMENT_RESOURCE_ID` when ``REGION_NAME`` starts with ``usgov`` or
        ``usdod``, otherwise :data:`DEFAULT_RESOURCE_ID`.
    """
    region = (os.environ if environ is None else environ).get("REGION_NAME", "")
    if region.lower().startswith(_US_GOVERNMENT_REGION_PREFIXES):
        return US_GOVERNMENT_RESOURCE_ID
    return DEFAULT_RESOURCE_ID


def token_scope(resource_id: str | None, environ: Mapping[str, str] | None = None) -> str:
    """Return the OAuth scope to ask the credential for: ``<resource_id>/.default``.

    Args:
        resource_id: The scheduler's resource; the cloud's default when None or empty.
        environ: Environment for :func:`default_resource_id`.
    """
    resource = resource_id or default_resource_id(environ)
    return f"{resource.rstrip('/')}/.default"


def new_worker_id() -> str:
    """Return a fresh ``<hostname>:<pid>:<uuid4>`` identifying one worker to the scheduler."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4()}"


def static_headers(taskhub: str, worker_id: str | None = None) -> tuple[Header, ...]:
    """Return the headers that never change for one client or worker.

    Args:
        taskhub: The task hub every call addresses.
        worker_id: The worker's id (workers only); omitted when None.
    """
    headers: list[Header] = [
        ("taskhub", taskhub),
        ("x-user-agent", f"durabletask-python/{PACKAGE_VERSION}"),
    ]
    if worker_id is not None:
        headers.append(("workerid", worker_id))
    return tuple(headers)


def authorization_header(token: str) -> Header:
    """Return the ``authorization: Bearer <token>`` header."""
    return ("authorization", f"Bearer {token}")


def merge_metadata(
    existing: Iterable[tuple[str, str | bytes]] | None, added: Sequence[Header]
) -> list[tuple[str, str | bytes]]:
    """Return a NEW metadata list: ``existing`` without the keys in ``added``, then ``added``.

    Neither argument is modified, so metadata shared between calls is never changed.

    Args:
        existing: The call's metadata so far (may be None).
        added: The headers to set; they replace any existing value of the same key.
    """
    keys = {key for key, _ in added}
    kept = [(key, value) for key, value in existing or () if key.lower() not in keys]
    return [*kept, *added]
