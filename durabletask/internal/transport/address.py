"""Parse a sidecar host address: default, scheme prefixes and the TLS decision they force."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_HOST_ADDRESS = "localhost:4001"
"""Where the SDK looks for a sidecar when no address is given (no environment is read)."""

# Scheme prefix -> whether it forces TLS.
_SCHEME_PREFIXES: tuple[tuple[str, bool], ...] = (
    ("https://", True),
    ("grpcs://", True),
    ("http://", False),
    ("grpc://", False),
)


@dataclass(frozen=True, slots=True)
class HostAddress:
    """A sidecar target and whether to use TLS for it.

    Attributes:
        target: The gRPC target, without any scheme prefix, e.g. ``localhost:4001``.
        secure: True for a TLS channel, False for plaintext.
    """

    target: str
    secure: bool


def parse_host_address(host_address: str | None, *, secure_channel: bool = False) -> HostAddress:
    """Resolve the address a client or worker was given into a target and a TLS flag.

    ``https://`` and ``grpcs://`` force TLS, ``http://`` and ``grpc://`` force plaintext;
    the prefix is stripped (case-insensitively). Without a prefix ``secure_channel`` decides.

    Args:
        host_address: The address given by the user; ``None`` means ``localhost:4001``.
        secure_channel: Whether to use TLS when the address has no scheme prefix.

    Returns:
        The target to dial and whether to use TLS.

    Raises:
        ValueError: The address is empty, or nothing is left after the prefix.
    """
    if host_address is None:
        return HostAddress(DEFAULT_HOST_ADDRESS, secure_channel)
    address = host_address.strip()
    secure = secure_channel
    for prefix, forces_tls in _SCHEME_PREFIXES:
        if address.lower().startswith(prefix):
            address = address[len(prefix):]
            secure = forces_tls
            break
    address = address.rstrip("/")
    if not address:
        raise ValueError(
            f"host_address {host_address!r} names no host: pass 'host:port', e.g. "
            f"{DEFAULT_HOST_ADDRESS!r}, or None for the default"
        )
    return HostAddress(address, secure)
