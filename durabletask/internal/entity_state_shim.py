"""Compatibility path: the official SDK has the entity state holder at this module path.

Its constructor takes the start state and the data converter positionally
(``StateShim(start_state, data_converter, *, is_serialized=False)``); ours lives in
``durabletask.entities.state_shim`` and takes the serialized state.
"""

from __future__ import annotations

from typing import Any

from durabletask.entities.state_shim import StateShim as _StateShim
from durabletask.serialization import DataConverter

__all__ = ["StateShim"]


class StateShim(_StateShim):
    """The entity state holder, constructed as the official one is.

    Args:
        start_state: The starting state: a value to serialize, or the stored payload
            itself when ``is_serialized`` is True; ``None`` means no state.
        data_converter: Encodes and decodes the state.
        is_serialized: ``start_state`` is already in wire form.
    """

    def __init__(
        self, start_state: Any, data_converter: DataConverter, *, is_serialized: bool = False
    ) -> None:
        encoded = start_state
        if start_state is not None and not is_serialized:
            encoded = data_converter.serialize(start_state)
        super().__init__(encoded, data_converter=data_converter)
