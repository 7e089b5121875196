"""Has the application set a global tracer or meter provider yet? Cheap to ask per work item."""

from __future__ import annotations

import os
from collections.abc import Callable
from types import ModuleType
from typing import Any

__all__ = ["ProviderWatch"]


class ProviderWatch:
    """True once the application set a provider (until then the API hands out a proxy).

    Reads the API's provider global directly while it is unset (the API resolves a provider
    named in the environment on first use: then it asks the API), and keeps the answer once
    one is set: the API lets a global provider be set only once per process.
    """

    def __init__(self, module: ModuleType | None, global_name: str, env_name: str,
                 get: Callable[[], Any], proxy: type | None) -> None:
        """Watch ``module.global_name`` (``get()`` returns the provider; ``proxy`` its type)."""
        self._module = module
        self._global = global_name
        self._in_env = env_name in os.environ
        self._get = get
        self._proxy = proxy
        self._set = proxy is None  # another API version: always record

    def __call__(self) -> bool:
        """True once a provider is set."""
        if self._set:
            return True
        if getattr(self._module, self._global, False) is None and not self._in_env:
            return False
        self._set = not isinstance(self._get(), self._proxy)  # type: ignore[arg-type]
        return self._set
