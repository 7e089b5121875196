"""The entity commands of ``durabletask``: ``entities list|show|signal`` and ``clean-entities``."""

from __future__ import annotations

import argparse
from typing import Any

from durabletask.cli import render
from durabletask.cli.commands import (
    EXIT_USAGE,
    Command,
    CommandError,
    Output,
    parse_json_value,
    positive_int,
)
from durabletask.client import EntityQuery, TaskHubGrpcClient
from durabletask.entities import EntityInstanceId, EntityMetadata

ENTITY_HEADERS = ("ENTITY ID", "LAST MODIFIED", "BACKLOG", "LOCKED BY", "STATE")


def add_entity_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    shared: argparse.ArgumentParser,
) -> None:
    """Add ``entities`` (with ``list``, ``show``, ``signal``) and ``clean-entities``.

    Args:
        commands: The top-level subcommands.
        shared: Parent parser with ``--address``, ``--json`` and ``--timeout``.
    """
    entities = commands.add_parser(
        "entities", help="list, show and signal durable entities",
        description="List, show and signal durable entities.",
    )
    sub = entities.add_subparsers(dest="entities_command", metavar="SUBCOMMAND", required=True)
    listing = sub.add_parser("list", parents=[shared], help="list entities by id",
                             description="List entities that have state, ordered by id.")
    listing.add_argument("--prefix", metavar="P",
                         help="only ids starting with P (e.g. @counter@ or counter)")
    listing.add_argument("--transient", action="store_true",
                         help="also list entities without state (locked, or with queued "
                              "operations)")
    listing.add_argument("--limit", type=positive_int, default=100, metavar="N",
                         help="show at most N entities (default 100)")
    show = sub.add_parser("show", parents=[shared], help="show an entity's state and lock",
                          description="Show an entity's metadata and state.")
    show.add_argument("entity_id", metavar="ID", help="the entity id, @name@key")
    signal = sub.add_parser("signal", parents=[shared], help="send an operation to an entity",
                            description="Send a one-way operation to an entity.")
    signal.add_argument("entity_id", metavar="ID", help="the entity id, @name@key")
    signal.add_argument("operation", metavar="OP")
    signal.add_argument("data", metavar="INPUT-JSON", nargs="?", help="operation input as JSON")
    clean = commands.add_parser(
        "clean-entities", parents=[shared],
        help="delete empty entities and release locks of ended orchestrations",
        description="Delete entities without state, lock or queued operations, and release "
                    "locks whose orchestration has ended or is gone.",
    )
    clean.add_argument("--keep-empty", action="store_true", help="do not delete empty entities")
    clean.add_argument("--keep-locks", action="store_true", help="do not release orphaned locks")


def entities_command(client: TaskHubGrpcClient, args: argparse.Namespace) -> Output:
    """``entities SUBCOMMAND``: dispatch to list, show or signal."""
    return _SUBCOMMANDS[args.entities_command](client, args)


def list_entities(client: TaskHubGrpcClient, args: argparse.Namespace) -> Output:
    """``entities list``: entities ordered by id."""
    query = EntityQuery(instance_id_starts_with=args.prefix, include_state=True,
                        include_transient=args.transient)
    found = client.get_all_entities(query)
    shown = found[: args.limit]
    text = render.render_table(ENTITY_HEADERS, (_row(m) for m in shown))
    if len(shown) < len(found):
        text += f"\n({len(shown)} of {len(found)} entities shown; use --limit to see more)"
    elif not found:
        text = "no entities"
    return Output(text, [_document(m) for m in shown])


def show_entity(client: TaskHubGrpcClient, args: argparse.Namespace) -> Output:
    """``entities show ID``: one entity, including a transient one (no state)."""
    entity_id = _entity_id(args.entity_id)
    found = client.get_entity(entity_id, include_state=True)
    if found is None:
        transient = client.get_all_entities(EntityQuery(
            instance_id_starts_with=str(entity_id), include_transient=True))
        found = next((m for m in transient if str(m.id) == str(entity_id)), None)
    if found is None:
        raise CommandError(f"no entity {str(entity_id)!r} at {args.address}")
    document = _document(found)
    fields = [
        ("Entity ID", document["id"]),
        ("Name", document["name"]),
        ("Key", document["key"]),
        ("Last modified", render.format_time(found.last_modified)),
        ("Backlog", str(document["backlog_queue_size"])),
        ("Locked by", document["locked_by"] or ""),
        ("State", "" if document["state"] is None else render.render_json(document["state"])),
    ]
    return Output(render.render_fields(fields), document)


def signal_entity(client: TaskHubGrpcClient, args: argparse.Namespace) -> Output:
    """``entities signal ID OP [INPUT]``: queue a one-way operation."""
    entity_id = _entity_id(args.entity_id)
    data = parse_json_value(args.data, "the operation input")
    client.signal_entity(entity_id, args.operation, input=data)
    return Output(
        f"signalled {args.operation!r} to entity {str(entity_id)!r}",
        {"entity_id": str(entity_id), "operation": args.operation, "command": "entities signal",
         "ok": True},
    )


def clean_entities(client: TaskHubGrpcClient, args: argparse.Namespace) -> Output:
    """``clean-entities``: remove empty entities and release orphaned locks."""
    result = client.clean_entity_storage(
        remove_empty_entities=not args.keep_empty, release_orphaned_locks=not args.keep_locks
    )
    return Output(
        f"removed {result.empty_entities_removed} empty entit"
        f"{'y' if result.empty_entities_removed == 1 else 'ies'}, released "
        f"{result.orphaned_locks_released} orphaned lock"
        f"{'' if result.orphaned_locks_released == 1 else 's'}",
        {"command": "clean-entities", "ok": True,
         "empty_entities_removed": result.empty_entities_removed,
         "orphaned_locks_released": result.orphaned_locks_released},
    )


ENTITY_COMMANDS: dict[str, Command] = {
    "entities": entities_command,
    "clean-entities": clean_entities,
}
"""Entity command name -> function; ``add_entity_commands`` defines their arguments."""

_SUBCOMMANDS: dict[str, Command] = {
    "list": list_entities,
    "show": show_entity,
    "signal": signal_entity,
}


def _entity_id(text: str) -> EntityInstanceId:
    try:
        return EntityInstanceId.parse(text)
    except ValueError as exc:
        raise CommandError(
            f"not an entity id: {exc} (entity ids look like @counter@my-key)", EXIT_USAGE
        ) from None


def _state(metadata: EntityMetadata) -> Any:
    value = metadata.get_state()  # the stored JSON string, as 1.12.0 returns it
    return render.decode_payload(value) if isinstance(value, str) else value


def _document(metadata: EntityMetadata) -> dict[str, Any]:
    return {
        "id": str(metadata.id),
        "name": metadata.id.entity,
        "key": metadata.id.key,
        "last_modified": render.format_iso(metadata.last_modified),
        "backlog_queue_size": metadata.backlog_queue_size,
        "locked_by": metadata.locked_by,
        "state": _state(metadata),
    }


def _row(metadata: EntityMetadata) -> list[str]:
    state = _state(metadata)
    return [
        str(metadata.id),
        render.format_time(metadata.last_modified),
        str(metadata.backlog_queue_size),
        metadata.locked_by or "",
        "" if state is None else render.shorten(render.render_json(state).replace("\n", " ")),
    ]
