"""Host address parsing: default, scheme prefixes and TLS."""

from __future__ import annotations

import pytest

from durabletask.internal.transport.address import HostAddress, parse_host_address


def test_parse_host_address_defaults_to_localhost_4001_plaintext() -> None:
    assert parse_host_address(None) == HostAddress("localhost:4001", False)


def test_parse_host_address_uses_secure_flag_without_prefix() -> None:
    assert parse_host_address("example:443", secure_channel=True) == HostAddress(
        "example:443", True
    )


@pytest.mark.parametrize(
    ("address", "secure_flag", "expected"),
    [
        ("https://example:443", False, HostAddress("example:443", True)),
        ("GRPCS://example:443", False, HostAddress("example:443", True)),
        ("http://example:80", True, HostAddress("example:80", False)),
        ("grpc://example:80/", True, HostAddress("example:80", False)),
    ],
)
def test_parse_host_address_prefix_forces_tls_choice_and_is_stripped(
    address: str, secure_flag: bool, expected: HostAddress
) -> None:
    assert parse_host_address(address, secure_channel=secure_flag) == expected


@pytest.mark.parametrize("address", ["", "   ", "https://"])
def test_parse_host_address_rejects_address_without_host(address: str) -> None:
    with pytest.raises(ValueError, match="names no host"):
        parse_host_address(address)
