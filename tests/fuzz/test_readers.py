"""Fuzz every reader a user can point at a file: real files damaged, and files made from nothing.

The property (see ``property.py``): success, or one ``file:line: field: cause`` line with exit 2 — in the
library and through the CLI — never a traceback, never a hang.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from .property import FUZZ, Reader, run_example
from .readers import READERS


@pytest.mark.parametrize("reader", READERS, ids=[r.name for r in READERS])
@FUZZ
@given(data=st.data())
def test_damaged_real_files(reader: Reader, workdir_for: Callable[[str], Path], data: st.DataObject) -> None:
    run_example(reader, workdir_for(reader.name), data, data.draw(reader.damaged, label="file"))


@pytest.mark.parametrize("reader", READERS, ids=[r.name for r in READERS])
@FUZZ
@given(data=st.data())
def test_files_from_nothing(reader: Reader, workdir_for: Callable[[str], Path], data: st.DataObject) -> None:
    run_example(reader, workdir_for(reader.name), data, data.draw(reader.scratch, label="file"))
