"""Entity ids: ``@name@key``, the form ``EntityInstanceId.__str__`` produces."""

from __future__ import annotations

from durabletask.sidecar import validation
from durabletask.sidecar.errors import InvalidRequestError

EXPECTED_FORM = "'@name@key' (a non-empty name and key, neither containing '@')"


def split_entity_id(value: str) -> tuple[str, str] | None:
    """Return ``(name, key)`` of an entity id, or None if it is not of the form ``@name@key``."""
    if not value.startswith("@"):
        return None
    name, sep, key = value[1:].partition("@")
    if not sep or not name or not key or "@" in key:
        return None
    return name, key


def entity_id(value: str, field: str = "instanceId") -> str:
    """Check an entity id as a request field.

    Args:
        value: The id.
        field: The request field name, for the message.

    Returns:
        The id unchanged.

    Raises:
        InvalidRequestError: The id is empty, too long, has control characters, or is
            not of the form ``@name@key``.
    """
    validation.instance_id(value, field)
    if split_entity_id(value) is None:
        raise InvalidRequestError(
            f"{field} {value!r} is not an entity id; entity ids have the form {EXPECTED_FORM}, "
            f"as str(EntityInstanceId(name, key)) produces"
        )
    return value


def entity_name(value: str) -> str | None:
    """Return the (lower-cased) entity name of an id, or None if it is malformed."""
    parts = split_entity_id(value)
    return None if parts is None else parts[0].lower()


def normalize_prefix(prefix: str) -> str:
    """Normalize an ``instanceIdStartsWith`` filter as DTFx does.

    A prefix without the leading ``@`` is taken as an entity-name prefix, and the
    name part is lower-cased (entity names are stored lower case).
    """
    if not prefix.startswith("@"):
        prefix = "@" + prefix
    name, sep, rest = prefix[1:].partition("@")
    return f"@{name.lower()}{sep}{rest}"
