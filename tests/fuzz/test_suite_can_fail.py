"""The fuzz suite can fail: deliberately broken readers, put through the same property and strategies,
are caught (a stack overflow, a KeyError, a two-line message, a wrong exit status, a hang)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from harness.errors import DataError, HarnessError

from .property import FUZZ, Hang, Reader, run_example
from .readers import READERS

TRANSCRIPT = next(r for r in READERS if r.name == "transcript")


def _lines(path: Path) -> list[tuple[int, bytes]]:
    return list(enumerate(path.read_bytes().splitlines(), start=1))


def recursion_escapes(path: Path, workdir: Path) -> None:
    """json.loads without a depth limit: what the transcript reader did before issue 15."""
    for i, raw in _lines(path):
        try:
            json.loads(raw)
        except ValueError as exc:
            raise DataError(str(path), "not JSON", line=i) from exc


def key_error_escapes(path: Path, workdir: Path) -> None:
    """Trusts every JSON line to be an object with an ``event`` field."""
    for i, raw in _lines(path):
        try:
            obj = json.loads(raw[:10_000]) if raw.strip() else {"event": "blank"}
        except (ValueError, RecursionError) as exc:
            raise DataError(str(path), "not JSON", line=i) from exc
        obj["event"]


class TwoLineError(HarnessError):
    exit_code = 2


def two_line_message(path: Path, workdir: Path) -> None:
    """Refuses what it cannot read with a message that quotes the bad line, line break and all."""
    for i, raw in _lines(path):
        if b"manifest" not in raw:
            raise TwoLineError(f"{path}:{i}: not a manifest:\n{raw[:40]!r}")


def exit_one(path: Path, workdir: Path) -> None:
    """Refuses bad input with the generic HarnessError (exit status 1, not 2)."""
    if b'"event":"manifest"' not in path.read_bytes()[:2000]:
        raise HarnessError(f"{path}: no manifest")


def hangs(path: Path, workdir: Path) -> None:
    """Loops forever on a line that is not JSON."""
    for _, raw in _lines(path):
        try:
            json.loads(raw[:10_000])
        except (ValueError, RecursionError):
            while True:
                pass


def _hunt(load: Callable[[Path, Path], None], workdir: Path, *, hang_s: float = 60.0) -> BaseException:
    """Run the suite's property over ``load`` (library only) until it fails; return what escaped."""
    reader: Reader = dataclasses.replace(TRANSCRIPT, name=load.__name__, load=load, commands=())

    @settings(
        FUZZ,
        max_examples=300,
        derandomize=True,
        database=None,
        report_multiple_bugs=False,
        phases=[Phase.generate],  # no shrinking: the point is that a failure is found at all
    )
    @given(data=st.data())
    def prop(data: st.DataObject) -> None:
        content = data.draw(st.one_of(reader.damaged, reader.scratch), label="file")
        run_example(reader, workdir, data, content, hang_s=hang_s)

    with pytest.raises(BaseException) as info:
        prop()
    return info.value


@pytest.mark.parametrize(
    ("load", "escaped"),
    [
        (recursion_escapes, RecursionError),
        (key_error_escapes, (KeyError, TypeError)),
        (two_line_message, AssertionError),
        (exit_one, AssertionError),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_the_suite_catches_a_broken_reader(
    workdir_for: Callable[[str], Path], load: Callable[[Path, Path], None], escaped: type[BaseException]
) -> None:
    error = _hunt(load, workdir_for("broken"))
    assert isinstance(error, escaped), repr(error)
    if load is two_line_message:
        assert "not one line" in str(error)
    if load is exit_one:
        assert "exit status 1" in str(error)


def test_the_suite_catches_a_hang(workdir_for: Callable[[str], Path]) -> None:
    """An endless loop is stopped by the watchdog (1 s here) and reported as a hang."""
    assert isinstance(_hunt(hangs, workdir_for("broken"), hang_s=1.0), Hang)


def test_the_shipped_transcript_reader_passes_the_same_hunt(workdir_for: Callable[[str], Path]) -> None:
    """The control: the real reader under the same settings finds nothing."""
    from harness.transcript import Run

    def real(path: Path, workdir: Path) -> None:
        Run.load(path)

    real.__name__ = "real"
    with pytest.raises(pytest.fail.Exception, match="DID NOT RAISE"):
        _hunt(real, workdir_for("broken"))
