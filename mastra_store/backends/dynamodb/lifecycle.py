"""Thread lifecycle under concurrency: ``delete_thread`` and ``clone_thread`` as fenced, resumable steps.

DynamoDB has no transaction that spans an unbounded query, so a thread is deleted and a large clone is written
in several calls. A marker attribute on the thread item makes that safe:

* ``_mastraDeleting = <token>``: a delete is in progress. The thread is invisible to reads, and every
  ``save_messages`` transaction conditions on the marker's absence, so once the marker is set no message can be
  added. The delete then sweeps the thread's messages in transactions that each re-check the marker
  (``ConditionCheck``) and delete a message only if it still belongs to the thread, and removes the thread last.
  0 orphans: a save either committed before the marker (its messages are swept) or is refused.
* ``_mastraCloning = <token>``: a clone is being written. The new thread is invisible until its messages are
  all written; the marker is then removed (conditioned on the token). A clone interrupted at any point leaves
  an invisible thread that the next clone to the same id takes over (sweeping the partial messages): a retry
  converges.

Whoever replaces a marker fences out its previous owner: a sweep whose ``ConditionCheck`` fails stops, a clone
whose final step fails removes the messages it wrote.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from .client import (
    TRANSACT_LIMIT,
    ConditionFailed,
    DynamoDBConnection,
    Expr,
    TransactionCanceled,
    delete_action,
    put_action,
)
from .codec import to_wire
from .keys import primary_key, query_prefix

__all__ = (
    "CLONING",
    "DELETING",
    "create_thread_with_messages",
    "delete_thread",
    "is_live",
    "live_condition",
)

DELETING = "_mastraDeleting"
CLONING = "_mastraCloning"
_CCF = "ConditionalCheckFailed"
#: Messages per sweep transaction (one action is the fence).
_SWEEP_CHUNK = TRANSACT_LIMIT - 1
#: Re-reads of a contended thread item before a clone gives up (each one means another writer made progress).
_CLAIM_ATTEMPTS = 16


def thread_key(thread_id: str) -> dict[str, str]:
    return primary_key("thread", {"id": thread_id})


def is_live(item: Mapping[str, Any]) -> bool:
    """A thread item that is neither being deleted nor being cloned into."""
    return DELETING not in item and CLONING not in item


def live_condition(e: Expr) -> str:
    """Condition: the thread item exists and carries no marker."""
    return (
        f"attribute_exists({e.n('pk')}) AND attribute_not_exists({e.n(DELETING)}) "
        f"AND attribute_not_exists({e.n(CLONING)})"
    )


def _condition_check(key: Mapping[str, str], e: Expr, condition: str) -> dict[str, Any]:
    return {"ConditionCheck": {"Key": to_wire(key), "ConditionExpression": condition, **e.kwargs()}}


def _only_conditions(exc: TransactionCanceled) -> bool:
    return bool(exc.reasons) and all(r in (None, _CCF) for r in exc.reasons)


async def _message_keys(db: DynamoDBConnection, thread_id: str) -> list[dict[str, Any]]:
    e = Expr()
    pkf, pk, skf, prefix = query_prefix("message", "byThread", {"threadId": thread_id})
    return await db.query(
        IndexName="gsi1",
        KeyConditionExpression=f"{e.n(pkf)} = {e.v(pk)} AND begins_with({e.n(skf)}, {e.v(prefix)})",
        ProjectionExpression=f"{e.n('pk')}, {e.n('sk')}, {e.n('gsi1pk')}",
        **e.kwargs(),
    )


async def sweep(db: DynamoDBConnection, thread_id: str, marker: str, token: str) -> bool:
    """Delete the thread's messages while its item carries ``marker = token``; ``False`` once fenced out.

    Each transaction holds a ``ConditionCheck`` on the marker plus up to 99 deletes, each conditioned on the
    message still being in this thread (one moved away meanwhile is left alone). Repeats until the thread's
    partition is empty.
    """
    tkey = thread_key(thread_id)
    while True:
        keys = await _message_keys(db, thread_id)
        if not keys:
            return True
        for i in range(0, len(keys), _SWEEP_CHUNK):
            chunk = keys[i : i + _SWEEP_CHUNK]
            while chunk:
                fe = Expr()
                actions = [_condition_check(tkey, fe, f"{fe.n(marker)} = {fe.v(token)}")]
                for k in chunk:
                    de = Expr()
                    cond = f"{de.n('gsi1pk')} = {de.v(k['gsi1pk'])}"
                    actions.append(delete_action({"pk": k["pk"], "sk": k["sk"]}, cond, de))
                try:
                    await db.transact(actions)
                    chunk = []
                except TransactionCanceled as exc:
                    if not _only_conditions(exc):
                        raise
                    if exc.reasons[0]:
                        return False  # the marker changed: someone else owns the thread now
                    chunk = [k for k, r in zip(chunk, exc.reasons[1:], strict=False) if not r]


async def delete_thread(db: DynamoDBConnection, thread_id: str) -> None:
    """Mark, sweep, remove (module docstring). A missing thread is a no-op; a repeat after an interruption
    (or a concurrent delete) takes over and finishes."""
    key = thread_key(thread_id)
    token = uuid.uuid4().hex
    e = Expr()
    try:
        # Also clears a clone marker: the clone's final step then fails and it removes what it wrote.
        await db.update(
            key,
            e,
            f"SET {e.n(DELETING)} = {e.v(token)} REMOVE {e.n(CLONING)}",
            condition=f"attribute_exists({e.n('pk')})",
        )
    except ConditionFailed:
        return
    if not await sweep(db, thread_id, DELETING, token):
        return
    e = Expr()
    # A failed condition: re-created meanwhile (save_thread/clone finished the delete first), theirs now.
    with contextlib.suppress(ConditionFailed):
        await db.delete(key, condition=f"{e.n(DELETING)} = {e.v(token)}", expr=e)


async def create_thread_with_messages(
    db: DynamoDBConnection, thread_item: dict[str, Any], message_items: Sequence[dict[str, Any]]
) -> bool:
    """Clone target: the thread and its messages. ``False`` (nothing left behind) when a live thread has the id.

    Fewer than 100 messages into a free id: one atomic transaction. Otherwise: claim the id with a clone marker
    (taking over an interrupted clone or delete), sweep what a previous attempt left, write the messages, then
    remove the marker if it is still ours — else remove our messages and report the id as taken.
    """
    key = {"pk": thread_item["pk"], "sk": thread_item["sk"]}
    for _ in range(_CLAIM_ATTEMPTS):
        current = await db.get(key)
        if current is not None and is_live(current):
            return False
        e = Expr()
        if current is None and len(message_items) < TRANSACT_LIMIT:
            create = put_action(thread_item, f"attribute_not_exists({e.n('pk')})", e)
            try:
                await db.transact([create, *(put_action(i) for i in message_items)])
            except TransactionCanceled as exc:
                if _only_conditions(exc) and exc.reasons[0] == _CCF:
                    continue  # created or claimed meanwhile: look again
                raise
            return True
        token = uuid.uuid4().hex
        if current is None:
            claim = f"attribute_not_exists({e.n('pk')})"
        else:
            marker = CLONING if CLONING in current else DELETING
            claim = f"{e.n(marker)} = {e.v(current[marker])}"
        try:
            await db.put({**thread_item, CLONING: token}, condition=claim, expr=e)
        except ConditionFailed:
            continue
        if not await sweep(db, thread_item["id"], CLONING, token):
            continue  # taken over before we wrote anything
        await db.batch_write(puts=message_items)
        e = Expr()
        try:
            await db.update(key, e, f"REMOVE {e.n(CLONING)}", condition=f"{e.n(CLONING)} = {e.v(token)}")
        except ConditionFailed:
            await db.batch_write(deletes=[{"pk": i["pk"], "sk": i["sk"]} for i in message_items])
            return False
        return True
    return False
