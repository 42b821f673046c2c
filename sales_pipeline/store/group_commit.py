"""Group commit: many threads' small durable writes in few transactions.

A write that must be durable before its caller goes on (the push ledger's "sent" mark, written
right before each lead's request) costs one transaction per call, and on SQLite each one waits
for the database's single write lock and an ``fsync``. When several threads write at once,
:class:`GroupCommit` lets the first of them write every item queued so far in one transaction
while the others wait; whoever finds its item unwritten once that transaction ends writes the
next group. Each caller returns only after the transaction holding its own item has committed,
so the durability each caller gets is exactly that of a transaction of its own, and a thread
writing alone pays nothing extra.

No library fits: the databases' own group commit (PostgreSQL's ``commit_delay``, SQLite's none)
works per transaction, and the point is to have fewer of them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar, cast

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass
class _Entry(Generic[Item, Result]):
    """One caller's item, and what its group's transaction came to."""

    item: Item
    done: bool = False
    result: Result | None = None
    error: BaseException | None = None


class GroupCommit(Generic[Item, Result]):
    """Writes items of concurrent callers in groups; see the module docstring."""

    def __init__(self, write: Callable[[Sequence[Item]], Sequence[Result]]) -> None:
        """``write`` stores its items in one transaction and returns one result per item, in
        their order (an item may appear twice in a group; it is written in the order given)."""
        self._write = write
        self._changed = threading.Condition()
        self._queue: list[_Entry[Item, Result]] = []
        self._writing = False

    def submit(self, item: Item) -> Result:
        """Write ``item`` (with whatever else is queued) and return its result once committed;
        raises what the group's transaction raised."""
        entry: _Entry[Item, Result] = _Entry(item)
        with self._changed:
            self._queue.append(entry)
            while self._writing and not entry.done:
                self._changed.wait()
            group: list[_Entry[Item, Result]] = []
            if not entry.done:
                self._writing = True
                group, self._queue = self._queue, []
        if group:
            self._commit(group)
        if entry.error is not None:
            raise entry.error
        return cast(Result, entry.result)

    def _commit(self, group: list[_Entry[Item, Result]]) -> None:
        """Write ``group`` in one transaction and wake its callers (and the next writer)."""
        results: Sequence[Result | None] = [None] * len(group)
        error: BaseException | None = None
        try:
            results = self._write([entry.item for entry in group])
        except BaseException as failure:
            error = failure  # every caller of the group raises it
        with self._changed:
            for entry, result in zip(group, results, strict=True):
                entry.result, entry.error, entry.done = result, error, True
            self._writing = False
            self._changed.notify_all()
