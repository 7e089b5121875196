"""Entity operation inputs as 1.12.0 decodes them: annotations count only when rebuildable.

In 1.12.0 type discovery asks ``DataConverter.can_reconstruct`` first: a dataclass
annotation rebuilds the dataclass, a builtin annotation (``str``, ``int``) gets the decoded
payload unchanged (checked against the official worker: a dict sent to ``item: str``
arrives as the dict).
"""

from __future__ import annotations

from dataclasses import dataclass

from durabletask import entities
from tests.durabletask.engine import entity_histories as eh


@dataclass
class Item:
    sku: int


class Cart(entities.DurableEntity):
    def echo_text(self, item: str):
        return {"type": type(item).__name__, "value": item}

    def echo_item(self, item: Item):
        return {"type": type(item).__name__, "sku": item.sku}


def echo_function(ctx: entities.EntityContext, item: str):
    return {"type": type(item).__name__, "value": item}


def _outputs(entity, entity_id: str, operation: str, value: object) -> list:
    result = eh.new_entity_executor(entity).execute(
        eh.batch(entity_id, [eh.operation(operation, value)])).result
    assert result is not None
    return eh.outputs(result)


def test_a_builtin_annotation_passes_the_decoded_payload_unchanged():
    assert _outputs(Cart, "@cart@k", "echo_text", {"sku": 1}) == [
        {"type": "dict", "value": {"sku": 1}}]
    assert _outputs(echo_function, "@echo_function@k", "any", {"sku": 1}) == [
        {"type": "dict", "value": {"sku": 1}}]


def test_a_dataclass_annotation_rebuilds_the_dataclass():
    assert _outputs(Cart, "@cart@k", "echo_item", {"sku": 7}) == [{"type": "Item", "sku": 7}]
