"""The access token managers: lazy fetch, early refresh, single flight, failure fallback."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from durabletask.azuremanaged.internal.access_token_manager import (
    AccessTokenError,
    AccessTokenManager,
    AsyncAccessTokenManager,
)
from durabletask.errors import DurableTaskError
from tests.durabletask.helpers.wait import async_poll_until, poll_until

SCOPE = "https://durabletask.io/.default"


def test_token_manager_fetches_nothing_until_asked(credential, clock):
    manager = AccessTokenManager(credential, SCOPE, clock=clock)

    assert credential.calls == 0
    assert manager.cached_token() is None
    assert manager.get_token() == "tok-1"
    assert credential.scopes == [(SCOPE,)]


def test_token_manager_reuses_token_until_refresh_margin(credential, clock):
    manager = AccessTokenManager(credential, SCOPE, clock=clock)
    manager.get_token()

    clock.now += 3600 - 601
    assert manager.get_token() == "tok-1"
    assert credential.calls == 1

    clock.now += 2  # now within 600 s of expiry
    assert manager.get_token() == "tok-2"
    assert credential.calls == 2


def test_token_manager_refreshes_once_when_threads_race(credential, clock):
    manager = AccessTokenManager(credential, SCOPE, clock=clock)
    credential.gate = threading.Event()
    arrived: list[int] = []
    results: list[str] = []
    start = threading.Barrier(8)

    def fetch(index: int) -> None:
        start.wait(5.0)
        arrived.append(index)
        results.append(manager.get_token())

    threads = [threading.Thread(target=fetch, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    poll_until(lambda: len(arrived) == 8 and credential.entered.is_set(), message="threads")
    credential.gate.set()
    for thread in threads:
        thread.join(10.0)

    assert credential.calls == 1
    assert results == ["tok-1"] * 8


def test_token_manager_keeps_valid_token_when_refresh_fails(credential, clock, caplog):
    manager = AccessTokenManager(credential, SCOPE, clock=clock)
    manager.get_token()
    clock.now += 3600 - 100
    credential.fail_with = OSError("identity endpoint unreachable")

    with caplog.at_level(logging.WARNING, logger="durabletask.azuremanaged"):
        assert manager.get_token() == "tok-1"
    assert "identity endpoint unreachable" in caplog.text


def test_token_manager_raises_clear_error_when_no_valid_token(credential, clock):
    credential.fail_with = OSError("identity endpoint unreachable")
    manager = AccessTokenManager(credential, SCOPE, clock=clock)

    with pytest.raises(AccessTokenError, match="FakeCredential could not get an access token"):
        manager.get_token()
    with pytest.raises(DurableTaskError) as caught:
        manager.get_token()
    assert isinstance(caught.value.__cause__, OSError)


def test_token_manager_rejects_a_result_without_token(clock):
    class Empty:
        def get_token(self, *scopes: str) -> object:
            return object()

    with pytest.raises(AccessTokenError, match="not an AccessToken"):
        AccessTokenManager(Empty(), SCOPE, clock=clock).get_token()


async def test_async_token_manager_refreshes_once_for_concurrent_callers(
    async_credential, clock
):
    manager = AsyncAccessTokenManager(async_credential, SCOPE, clock=clock)
    async_credential.gate = asyncio.Event()

    calls = [asyncio.create_task(manager.get_token()) for _ in range(8)]

    async def fetching() -> bool:  # noqa: ASYNC124 - async_poll_until awaits its probe
        return async_credential.calls >= 1

    await async_poll_until(fetching, message="the first refresh to start")
    async_credential.gate.set()
    results = await asyncio.gather(*calls)

    assert results == ["atok-1"] * 8
    assert async_credential.calls == 1


async def test_async_token_manager_refreshes_within_margin(async_credential, clock):
    manager = AsyncAccessTokenManager(async_credential, SCOPE, clock=clock)
    assert manager.cached_token() is None
    assert await manager.get_token() == "atok-1"

    clock.now += 3600 - 599
    assert manager.cached_token() is None
    assert await manager.get_token() == "atok-2"
    assert async_credential.scopes == [(SCOPE,), (SCOPE,)]
