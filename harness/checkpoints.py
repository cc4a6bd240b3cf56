"""LangGraph checkpoints of a run (``checkpoints.sqlite``, thread id = run id), committed after the
transcript they describe is durable (docs/contract.md, "What the writer guarantees").

The transcript is the record; a checkpoint only says which graph steps are done, and a re-run step
reuses every turn the transcript holds (nodes look their keys up). So a checkpoint must never be on disk
ahead of the transcript, and nothing else about it needs an fsync of its own:

* :class:`GroupCommitSaver` awaits :meth:`TranscriptWriter.adurable` (one fsync, in a thread, covering
  every event the step wrote) before it commits the step's checkpoint, and before it commits a finished
  task's writes (which let a resumed step skip that task); with ``durability="sync"`` LangGraph awaits
  the checkpoint's commit before the next step starts.
* SQLite runs in WAL mode with ``synchronous=NORMAL``: a commit reaches the WAL without an fsync of its
  own. A power loss can take the last checkpoints, never leave one ahead of the transcript (it was
  written after the transcript's fsync); the steps they covered are run again and reuse their turns.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from harness.transcript import TranscriptWriter

CHECKPOINTS = "checkpoints.sqlite"


class GroupCommitSaver(AsyncSqliteSaver):
    """An :class:`AsyncSqliteSaver` that makes the run's transcript durable before each checkpoint."""

    def __init__(self, conn: aiosqlite.Connection, writer: TranscriptWriter | None = None) -> None:
        super().__init__(conn)
        self.writer = writer

    async def aput(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        if self.writer is not None:
            await self.writer.adurable()
        return await super().aput(config, checkpoint, metadata, new_versions)

    async def aput_writes(self, config: Any, writes: Any, task_id: str, task_path: str = "") -> None:
        # a finished task's writes let a resumed step skip it: they must not outlive its turns either
        if self.writer is not None:
            await self.writer.adurable()
        await super().aput_writes(config, writes, task_id, task_path)


@asynccontextmanager
async def open_checkpoints(
    folder: Path, writer: TranscriptWriter | None = None
) -> AsyncIterator[GroupCommitSaver]:
    """The run folder's checkpointer; with ``writer``, each checkpoint waits for the transcript's fsync."""
    # a generous busy timeout: another reader of the file (the web room) is waited for, not failed on
    async with aiosqlite.connect(str(folder / CHECKPOINTS), timeout=30.0) as conn:
        await conn.execute("PRAGMA synchronous=NORMAL")
        saver = GroupCommitSaver(conn, writer)
        try:
            yield saver
        finally:
            await _close_clean(saver)


async def _close_clean(saver: GroupCommitSaver) -> None:
    """Close the connection with no transaction open.

    When a run stops on an error, LangGraph cancels the step's other tasks, and one may be cancelled
    between its INSERT and its commit: its write stays uncommitted and its cursor is never closed (the
    cancelled task closes it only after this connection is gone). SQLite then keeps the closed
    connection alive as a zombie until that cursor is garbage-collected, with the write lock held, and
    the next connection to this file (``harness resume``, a batch's retry) fails with "database is
    locked". So: wait for any task still inside the saver (all of them hold its lock), roll back
    what was left uncommitted (a checkpoint counts only once committed), then close.
    """
    async with saver.lock:
        await saver.conn.rollback()  # a no-op when nothing is pending
        await saver.conn.close()
