"""DynamoDB transactions that cost what the items they name cost, not what the whole table costs.

moto backs up every table a TransactWriteItems names with a deep copy of the *whole table* before it
applies the transaction, to put it back if one condition fails. A table that grows (the shared store
keeps a row per session trigger and per history event) makes every transaction slower than the one
before: at a few thousand items a transaction takes tens of milliseconds of the emulator's one lock on
DynamoDB, which AWS never charges. A transaction can only change the items it names (at most 100,
each at most once), so backing up those items is as safe: `install` makes moto's table copy a no-op
during a transaction and restores the named items itself when the transaction is cancelled.

All-or-nothing is kept: the emulator serves DynamoDB requests one at a time (`spd.emulator.http.app`),
and a cancelled transaction leaves every named item as it was.
"""

from __future__ import annotations

import contextvars
import copy
from collections.abc import Callable
from typing import Any

from spd.emulator.moto_services.moto_glue import dynamodb_models

_IN_TRANSACTION = contextvars.ContextVar("spd_dynamodb_transaction", default=False)
_Backup = tuple[Any, Any, Any, Any]
"""(table, hash key, range key or None, the item as it was or None)."""


class _TableCopy:
    """Stands in for the `copy` module inside moto's DynamoDB models: a table is not copied while a
    transaction runs (its items are backed up instead); everything else is copied as before."""

    def __init__(self, table_class: type) -> None:
        self._table_class = table_class

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        if _IN_TRANSACTION.get() and isinstance(value, self._table_class):
            return value
        return copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def install() -> None:
    """Replace moto's whole-table backup by item backups (once per process)."""
    models = dynamodb_models()
    backend = models.DynamoDBBackend
    if getattr(backend, "_spd_item_backups", False):
        return
    models.copy = _TableCopy(models.Table)
    original: Callable[[Any, list[dict[str, Any]]], None] = backend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        backups = _backups(self, transact_items, models.DynamoType)
        token = _IN_TRANSACTION.set(True)
        try:
            original(self, transact_items)
        except BaseException:
            _restore(backups)
            raise
        finally:
            _IN_TRANSACTION.reset(token)

    backend.transact_write_items = transact_write_items
    backend._spd_item_backups = True


def _backups(backend: Any, transact_items: list[dict[str, Any]], dynamo_type: type) -> list[_Backup]:
    """A copy of every item the transaction names (None for one that does not exist yet)."""
    backups = []
    for entry in transact_items:
        if not isinstance(entry, dict) or len(entry) != 1:
            continue  # moto refuses it itself
        _, op = next(iter(entry.items()))
        if not isinstance(op, dict):
            continue
        table = backend.tables.get(op.get("TableName"))
        key = op.get("Item") or op.get("Key")
        if table is None or not isinstance(key, dict) or table.hash_key_attr not in key:
            continue
        hash_key = dynamo_type(key[table.hash_key_attr])
        range_key = None
        if table.range_key_attr is not None:
            if table.range_key_attr not in key:
                continue
            range_key = dynamo_type(key[table.range_key_attr])
        item = table.get_item(hash_key, range_key)
        backups.append((table, hash_key, range_key, copy.deepcopy(item)))
    return backups


def _restore(backups: list[_Backup]) -> None:
    """Put every named item back as it was, the first backup of a key last (it is the oldest)."""
    for table, hash_key, range_key, item in reversed(backups):
        if range_key is None:
            if item is None:
                table.items.pop(hash_key, None)
            else:
                table.items[hash_key] = item
        elif item is None:
            table.items.get(hash_key, {}).pop(range_key, None)
        else:
            table.items[hash_key][range_key] = item
