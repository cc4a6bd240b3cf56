"""The run's checkpointer closes without leaving a lock behind (harness/checkpoints.py).

A run that stops on an error has LangGraph cancel the step's other tasks; one of them can be cancelled
between a checkpoint INSERT and its commit. Closing the connection under it used to leave SQLite's
connection alive as a zombie, holding the write lock until the task's cursor was garbage-collected, so a
resume or a batch retry in the same process failed with "database is locked" (seen in CI under load).
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from harness.checkpoints import CHECKPOINTS, open_checkpoints

INSERT = (
    "INSERT INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, "
    "type, value) VALUES ('t', '', 'c', 'task', '', 0, 'ch', 'null', x'00')"
)


async def _cancelled_mid_write(folder: Path) -> asyncio.Task[None]:
    """A task that wrote through the saver and is cancelled before it commits, as the run's context
    closes; returned (and so kept alive, with its cursor) to the caller."""
    inserted = asyncio.Event()
    async with open_checkpoints(folder) as saver:
        await saver.setup()

        async def writer() -> None:
            async with saver.lock, saver.conn.cursor() as cur:
                await cur.execute(INSERT)
                inserted.set()
                await asyncio.Event().wait()  # the commit never comes: cancelled here
                await saver.conn.commit()

        task = asyncio.create_task(writer())
        await inserted.wait()
        task.cancel()  # as LangGraph cancels a step's siblings; the context closes at once
    await asyncio.gather(task, return_exceptions=True)
    return task


def test_a_write_cancelled_before_its_commit_leaves_no_lock(tmp_path: Path) -> None:
    task = asyncio.run(_cancelled_mid_write(tmp_path))
    assert task.cancelled()
    other = sqlite3.connect(tmp_path / CHECKPOINTS, timeout=0.5)  # what a resume opens next
    try:
        other.execute(
            "INSERT INTO writes (thread_id, checkpoint_id, task_id, idx, channel) "
            "VALUES ('t2', 'c', 'task', 0, 'ch')"
        )
        other.commit()
        # the cancelled write was rolled back, not committed by the close
        rows = other.execute("SELECT thread_id FROM writes ORDER BY thread_id").fetchall()
    finally:
        other.close()
    assert rows == [("t2",)]
