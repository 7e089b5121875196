"""The payload store interface and the options that say when a payload is externalized."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from dataclasses import dataclass

__all__ = ["LargePayloadStorageOptions", "PayloadStore"]


@dataclass
class LargePayloadStorageOptions:
    """When payloads are externalized, and how big a stored payload may be.

    Attributes:
        threshold_bytes: Strings larger than this (UTF-8 bytes) are moved to the store;
            256 KiB by default, as in the official SDKs.
        max_stored_payload_bytes: The largest payload the store accepts (10 MiB by
            default); a larger one is refused with a ``ValueError``.
        enable_compression: Whether the store gzip-compresses what it stores.
    """

    threshold_bytes: int = 262144
    max_stored_payload_bytes: int = 10485760
    enable_compression: bool = True

    def __post_init__(self) -> None:
        if self.threshold_bytes <= 0:
            raise ValueError(f"threshold_bytes must be > 0, got {self.threshold_bytes}")
        if self.max_stored_payload_bytes < self.threshold_bytes:
            raise ValueError(
                "max_stored_payload_bytes must be >= threshold_bytes, got "
                f"{self.max_stored_payload_bytes} < {self.threshold_bytes}"
            )


class PayloadStore(ABC):
    """Stores large payloads and gives back tokens that stand for them on the wire.

    Give the same store (or one reading the same storage) to the client and the worker:
    the client externalizes what it sends and resolves what it reads, the worker resolves
    its work items before user code runs and externalizes its results.
    """

    @property
    @abstractmethod
    def options(self) -> LargePayloadStorageOptions:
        """The thresholds this store works with."""

    @abstractmethod
    def upload(self, data: bytes, *, instance_id: str | None = None) -> str:
        """Store ``data`` and return the token that stands for it.

        Args:
            data: The payload (UTF-8 text as bytes).
            instance_id: The instance the payload belongs to, if any; stores may group
                payloads by it.
        """

    async def upload_async(self, data: bytes, *, instance_id: str | None = None) -> str:
        """Async :meth:`upload`; by default runs the sync one in a worker thread."""
        return await asyncio.to_thread(self.upload, data, instance_id=instance_id)

    @abstractmethod
    def download(self, token: str) -> bytes:
        """Return the payload a token stands for."""

    async def download_async(self, token: str) -> bytes:
        """Async :meth:`download`; by default runs the sync one in a worker thread."""
        return await asyncio.to_thread(self.download, token)

    @abstractmethod
    def is_known_token(self, value: str) -> bool:
        """Return True if ``value`` has the form of a token issued by this store."""
