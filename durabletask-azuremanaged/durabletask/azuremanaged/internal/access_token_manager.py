"""Entra ID access tokens for the scheduler: fetched lazily, refreshed early, single-flight.

Both managers share :class:`TokenCache`, which decides when a token must be refreshed and
what to do when a refresh fails; they differ only in how they wait for the credential
(a ``threading.Lock`` around ``TokenCredential.get_token``, or an ``asyncio.Lock`` around
``await AsyncTokenCredential.get_token``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from durabletask.errors import DurableTaskError

__all__ = [
    "REFRESH_MARGIN_SECONDS",
    "AccessTokenError",
    "AccessTokenLike",
    "AccessTokenManager",
    "AsyncAccessTokenManager",
    "AsyncTokenCredentialLike",
    "TokenCache",
    "TokenCredentialLike",
]

logger = logging.getLogger("durabletask.azuremanaged")

REFRESH_MARGIN_SECONDS = 600.0
"""A token is refreshed once it expires within this many seconds."""


class AccessTokenLike(Protocol):
    """What ``get_token`` returns (``azure.core.credentials.AccessToken`` fits)."""

    @property
    def token(self) -> str:
        """The bearer token."""
        ...

    @property
    def expires_on(self) -> int | float:
        """Expiry, in seconds since the Unix epoch."""
        ...


class TokenCredentialLike(Protocol):
    """A synchronous credential (``azure.core.credentials.TokenCredential`` fits)."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessTokenLike:
        """Return a token for ``scopes``."""
        ...


class AsyncTokenCredentialLike(Protocol):
    """An asynchronous credential (``azure.core.credentials_async.AsyncTokenCredential``)."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Awaitable[AccessTokenLike]:
        """Return a token for ``scopes``."""
        ...


class AccessTokenError(DurableTaskError):
    """The credential could not provide an access token for the Durable Task Scheduler.

    Raised from the call that needed the token, chained to the credential's own error.
    Check that the credential can sign in (``az login``, managed identity, environment) and
    that the identity has a Durable Task data role on the scheduler.
    """


@dataclass(frozen=True)
class _Token:
    value: str
    expires_on: float


class TokenCache:
    """The refresh policy shared by the sync and async managers (no I/O, no locks).

    The current token is one immutable object swapped atomically, so readers never need
    the lock; only refreshes are serialised by the managers.
    """

    def __init__(
        self,
        credential_name: str,
        scope: str,
        *,
        refresh_margin_seconds: float = REFRESH_MARGIN_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Start empty: nothing is fetched until a token is needed.

        Args:
            credential_name: The credential's type name, for error messages.
            scope: The scope tokens are requested for.
            refresh_margin_seconds: Refresh when the token expires within this many seconds.
            clock: Seconds since the Unix epoch (``expires_on`` uses the same origin).
        """
        self.scope = scope
        self._credential_name = credential_name
        self._margin = refresh_margin_seconds
        self._clock = clock
        self._token: _Token | None = None

    def fresh(self) -> str | None:
        """Return the cached token if it is not within the refresh margin of expiry."""
        token = self._token
        if token is not None and token.expires_on - self._clock() > self._margin:
            return token.value
        return None

    def store(self, access_token: AccessTokenLike) -> str:
        """Cache what the credential returned and return the bearer token.

        Raises:
            AccessTokenError: The credential returned something without a token.
        """
        value = getattr(access_token, "token", None)
        expires_on = getattr(access_token, "expires_on", None)
        if not isinstance(value, str) or not value or expires_on is None:
            raise AccessTokenError(
                f"{self._credential_name}.get_token({self.scope!r}) returned {access_token!r}, "
                f"not an AccessToken with a non-empty 'token' and an 'expires_on' time"
            )
        self._token = _Token(value, float(expires_on))
        return value

    def on_failure(self, exc: Exception) -> str:
        """Decide what a failed refresh means: keep a still-valid token, or raise.

        Raises:
            AccessTokenError: There is no unexpired token to fall back on.
        """
        token = self._token
        if token is not None and token.expires_on > self._clock():
            logger.warning(
                "Refreshing the Durable Task Scheduler token failed (%s: %s); using the "
                "current token until it expires", type(exc).__name__, exc,
            )
            return token.value
        raise AccessTokenError(
            f"{self._credential_name} could not get an access token for scope "
            f"{self.scope!r}: {exc}. Check that the credential can sign in and that its "
            f"identity has access to the Durable Task Scheduler."
        ) from exc


_Credential = TypeVar("_Credential")


class _TokenSource(Generic[_Credential]):
    """What both managers share: the credential, its token cache and the cached token."""

    def __init__(
        self, credential: _Credential, scope: str, *, refresh_margin_seconds: float,
        clock: Callable[[], float],
    ) -> None:
        self._credential = credential
        self._cache = TokenCache(
            type(credential).__name__, scope,
            refresh_margin_seconds=refresh_margin_seconds, clock=clock,
        )

    @property
    def scope(self) -> str:
        """The scope tokens are requested for."""
        return self._cache.scope

    def cached_token(self) -> str | None:
        """Return the cached token if it needs no refresh, without blocking."""
        return self._cache.fresh()


class AccessTokenManager(_TokenSource[TokenCredentialLike]):
    """Tokens from a synchronous credential; safe to share between threads.

    The first call fetches; later calls return the cached token until it is within
    ``refresh_margin_seconds`` of expiry. Concurrent callers that find the token stale
    wait for ONE refresh instead of each calling the credential.
    """

    def __init__(
        self,
        credential: TokenCredentialLike,
        scope: str,
        *,
        refresh_margin_seconds: float = REFRESH_MARGIN_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Wrap ``credential``; nothing is fetched yet.

        Args:
            credential: Has ``get_token(scope) -> AccessToken``.
            scope: The scope to request, e.g. ``https://durabletask.io/.default``.
            refresh_margin_seconds: Refresh when the token expires within this many seconds.
            clock: Seconds since the Unix epoch; injectable for tests.
        """
        super().__init__(credential, scope, refresh_margin_seconds=refresh_margin_seconds,
                         clock=clock)
        self._lock = threading.Lock()

    def get_token(self) -> str:
        """Return a token, fetching or refreshing it first when needed (blocks).

        Raises:
            AccessTokenError: The credential failed and no unexpired token is cached.
        """
        token = self._cache.fresh()
        if token is not None:
            return token
        with self._lock:
            token = self._cache.fresh()  # another thread may have refreshed meanwhile
            if token is not None:
                return token
            try:
                access_token = self._credential.get_token(self._cache.scope)
            except Exception as exc:
                return self._cache.on_failure(exc)
            return self._cache.store(access_token)


class AsyncAccessTokenManager(_TokenSource[AsyncTokenCredentialLike]):
    """Tokens from an ``AsyncTokenCredential``; coroutines share one refresh.

    Use it from one event loop at a time (it holds an ``asyncio.Lock``).
    """

    def __init__(
        self,
        credential: AsyncTokenCredentialLike,
        scope: str,
        *,
        refresh_margin_seconds: float = REFRESH_MARGIN_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Wrap ``credential``; nothing is fetched yet.

        Args:
            credential: Has ``async get_token(scope) -> AccessToken``.
            scope: The scope to request.
            refresh_margin_seconds: Refresh when the token expires within this many seconds.
            clock: Seconds since the Unix epoch; injectable for tests.
        """
        super().__init__(credential, scope, refresh_margin_seconds=refresh_margin_seconds,
                         clock=clock)
        self._lock = asyncio.Lock()

    async def get_token(self) -> str:
        """Return a token, fetching or refreshing it first when needed.

        Raises:
            AccessTokenError: The credential failed and no unexpired token is cached.
        """
        token = self._cache.fresh()
        if token is not None:
            return token
        async with self._lock:
            token = self._cache.fresh()
            if token is not None:
                return token
            try:
                access_token = await self._credential.get_token(self._cache.scope)
            except Exception as exc:
                return self._cache.on_failure(exc)
            return self._cache.store(access_token)
