"""A module that takes longer to import than the isolation test's activity timeout.

It stands for a heavy import (a numerical library, a model): a child pays it before the
activity runs, and that time must not count against ``activity_timeout_seconds``.
"""

from __future__ import annotations

import time
from typing import Any

from durabletask import task

IMPORT_SECONDS = 2.5
time.sleep(IMPORT_SECONDS)


def quick(ctx: task.ActivityContext, value: Any) -> Any:
    """Returns its input at once."""
    return value
