"""The harness CLI with a deterministic crash: ``python -m tests.crashing N harness-args…`` dies hard
(``os._exit(75)``, no clean-up, like a SIGKILL) right after the N-th transcript event this process writes.

The kill/resume tests use it through :func:`harness.transcript.add_write_hook` (the library itself has no
crash switch).
"""

from __future__ import annotations

import os
import sys

from harness.schema import EventBase
from harness.transcript import add_write_hook

CRASH_CODE = 75


def crash_after(n: int) -> None:
    written = 0

    def hook(event: EventBase) -> None:
        nonlocal written
        written += 1
        if written >= n:
            os._exit(CRASH_CODE)

    add_write_hook(hook)


if __name__ == "__main__":
    crash_after(int(sys.argv[1]))
    from harness.cli import main

    sys.exit(main(sys.argv[2:]))
