"""The property every reader must hold, and the settings it is checked under.

**Property**: whatever bytes a user points a reader at, the reader either succeeds or raises a
:class:`~harness.errors.HarnessError` whose message is one line (``file:line: field: cause``) and whose
exit status is 2; through the CLI the same file ends in exit 0 or 2 with ``error:`` lines and never a
traceback; and no example runs for long (a watchdog turns a hang into a failure).

Profiles: ``ci`` (the default, in ``make test``: few examples per test, derandomized so CI is stable) and
``deep`` (``make fuzz``: ``HARNESS_FUZZ=deep``, random, ``FUZZ_EXAMPLES`` examples per test).
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from harness.errors import HarnessError

_RELAXED = [
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.large_base_example,
    HealthCheck.function_scoped_fixture,
]
settings.register_profile(
    "fuzz-ci",
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "20")),
    deadline=None,  # time is bounded by the watchdog below, not by a flaky per-example deadline
    derandomize=True,
    database=None,
    suppress_health_check=_RELAXED,
)
settings.register_profile(
    "fuzz-deep",
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "500")),
    deadline=None,
    suppress_health_check=_RELAXED,
)
PROFILE = os.environ.get("HARNESS_FUZZ", "ci")
FUZZ = settings.get_profile(f"fuzz-{PROFILE}")
HANG_S = float(os.environ.get("FUZZ_HANG_S", "60"))
"""Seconds one example (reader and CLI together) may take before it counts as a hang. Generous: inputs
are bounded, so a healthy example takes well under a second even on a loaded 2-core machine."""


class Hang(AssertionError):
    """An example ran past :data:`HANG_S`."""


@contextlib.contextmanager
def watchdog(seconds: float = HANG_S) -> Iterator[None]:
    """Raise :class:`Hang` in the main thread if the block runs longer than ``seconds``."""

    def fire(signum: int, frame: FrameType | None) -> None:
        raise Hang(f"no result after {seconds:.0f} s: a hang")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


Argv = Callable[[Path, Path], list[str]]


@dataclass(frozen=True, repr=False)
class Reader:
    """A reader a user can point at a file.

    ``place(workdir, data)`` says where the file goes; ``load(file, workdir)`` is the library call;
    ``commands`` build CLI argument lists for the same file (one is drawn per example); ``damaged``
    damages real files, ``scratch`` generates files from nothing; ``names_file``: errors start with the
    file's path.
    """

    name: str
    place: Callable[[Path, bytes], Path]
    load: Callable[[Path, Path], object]
    damaged: st.SearchStrategy[bytes]
    scratch: st.SearchStrategy[bytes] = field(default_factory=lambda: st.binary(max_size=64))
    commands: tuple[Argv, ...] = ()
    names_file: bool = True

    def __repr__(self) -> str:  # failure reports name the reader, not its seed files
        return f"Reader({self.name!r})"


@dataclass
class Outcome:
    error: HarnessError | None
    exit_code: int | None = None
    stderr: str = ""


def assert_one_line(err: HarnessError, path: Path, *, names_file: bool) -> None:
    message = str(err)
    assert message and "\n" not in message and "\r" not in message, f"not one line: {message!r}"
    assert message.isprintable(), f"control characters in the message: {message!r}"
    assert err.exit_code == 2, f"exit status {err.exit_code} for bad input: {message}"
    if names_file:
        assert message.startswith(str(path)), f"does not name {path}: {message}"


def run_cli(argv: list[str]) -> tuple[int, str]:
    """``harness argv`` in process: exit status and stderr (a traceback would escape as an exception)."""
    from harness.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    return rc, err.getvalue()


def check(
    reader: Reader, path: Path, workdir: Path, command: Argv | None = None, *, hang_s: float = HANG_S
) -> Outcome:
    """The property for one file: see the module docstring. Any other exception escapes (a finding)."""
    with watchdog(hang_s):
        try:
            reader.load(path, workdir)
            outcome = Outcome(error=None)
        except HarnessError as exc:
            assert_one_line(exc, path, names_file=reader.names_file)
            outcome = Outcome(error=exc)
        if command is not None:
            rc, stderr = run_cli(command(path, workdir))
            outcome.exit_code, outcome.stderr = rc, stderr
            assert "Traceback" not in stderr, stderr
            assert rc in (0, 2), f"exit {rc}: {stderr}"
            if outcome.error is not None:
                assert rc == 2, f"the CLI accepted what the library refused: {outcome.error}"
            errors = [ln for ln in stderr.splitlines() if ln.startswith("error:")]
            if rc == 2:
                assert errors or "Usage:" in stderr, f"exit 2 without an error line: {stderr!r}"
    return outcome


def run_example(
    reader: Reader, workdir: Path, data: st.DataObject, content: bytes, *, hang_s: float = HANG_S
) -> Outcome:
    """Write ``content`` where ``reader`` expects its file, draw one CLI command, and :func:`check`."""
    path = reader.place(workdir, content)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    command = data.draw(st.sampled_from(reader.commands), label="command") if reader.commands else None
    return check(reader, path, workdir, command, hang_s=hang_s)
