"""Shared fixtures for the evaluation tests.

Every transcript here is a HAND-WRITTEN FIXTURE built with ``TranscriptWriter`` and the schema's event
classes; no model wrote any of it. Rubrics are hand-written from the rubric anchors so the tests do not
depend on the shipped rubric files.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness import keys
from harness.schema import (
    BackendInfo,
    InjectEvent,
    ManifestEvent,
    PositionCard,
    PositionCardEvent,
    Rubric,
    RunEndEvent,
    ScenarioRef,
    Stance,
    UtteranceEvent,
)
from harness.transcript import TranscriptWriter

REPO = Path(__file__).resolve().parents[2]
GOLD = REPO / "evals" / "gold"
GOLD_SEED = GOLD / "seed.jsonl"


@dataclass
class U:
    """One utterance of a hand-written fixture."""

    move: str
    delegation: str | None
    speaker: str
    text: str
    phase: str = "caucus"
    to: str | None = None
    round: int = 1

    @property
    def channel(self) -> str:
        return "caucus" if self.phase == "caucus" else "plenary"

    def key(self, n: int) -> str:
        """Numbered within the move, as an imported record's statements are."""
        return keys.imported(self.move, self.channel, self.delegation, n)


def write_run(
    folder: Path,
    utterances: Sequence[U],
    *,
    run_id: str = "run-1",
    injects: dict[str, str] | None = None,
    cards: Sequence[PositionCard] = (),
) -> Path:
    """Write a hand-written fixture transcript into ``folder``; return the folder."""
    with TranscriptWriter(folder / "transcript.jsonl") as w:
        w.write(
            ManifestEvent(
                key="manifest",
                run_id=run_id,
                created="2025-01-01T00:00:00Z",
                harness_version="test",
                scenario=ScenarioRef(id="fixture", version="1", path="fixture.yaml", sha256="0" * 64),
                backend=BackendInfo(profile="scripted"),
            )
        )
        moves = list(dict.fromkeys([*(injects or {}), *(u.move for u in utterances)]))
        for move in moves:
            text = (injects or {}).get(move, f"Control describes the situation in {move}.")
            w.write(InjectEvent(key=keys.inject(move), move=move, title=f"Title of {move}", text=text))
            for n, u in enumerate((u for u in utterances if u.move == move), start=1):
                w.write(
                    UtteranceEvent(
                        key=u.key(n),
                        utterance_id=u.key(n),
                        move=u.move,
                        phase=u.phase,
                        channel=u.channel,
                        delegation=u.delegation,
                        speaker=u.speaker,
                        round=u.round,
                        to=u.to,
                        text=u.text,
                    )
                )
            for card in (c for c in cards if c.move == move):
                w.write(
                    PositionCardEvent(
                        key=keys.card(move, card.delegation), move=move, delegation=card.delegation, card=card
                    )
                )
        w.write(RunEndEvent(key="run_end", status="completed"))
    return folder


def card(move: str, delegation: str, levels: dict[str, int | None], answer: str = "") -> PositionCard:
    return PositionCard(
        delegation=delegation,
        move=move,
        answers=[{"question": "What do you do?", "answer": answer}] if answer else [],
        stances=[
            Stance(axis=a, level=lv, rationale=f"Our {a} position is {lv}.") for a, lv in levels.items()
        ],
    )


@pytest.fixture
def rubrics() -> dict[str, Rubric]:
    """Hand-written copies of the rubric anchors."""
    return {
        "neo": Rubric(
            axis="neo",
            title="NEO: role of Japan's SDF in evacuating Japanese nationals from the ROK",
            question="What role does the delegation accept for the SDF in the evacuation?",
            levels={
                0: "Civilian/commercial means only; no SDF role in or near Korea",
                1: "SDF only outside ROK territory; US/ROK move them in Korea",
                2: "SDF ships/aircraft may use ROK ports or airfields for transport only, with ROK consent",
                3: "Armed SDF protection at assembly points/routes in the ROK, with ROK consent",
                4: "SDF operations in the ROK as Japan judges necessary; consent secondary",
            },
            not_addressed="Says nothing about how Japanese nationals are evacuated.",
        ),
        "china_messaging": Rubric(
            axis="china_messaging",
            title="China messaging: how much the allies tell Beijing",
            question="How much does the delegation want to tell Beijing?",
            levels={
                0: "Deliberate opacity",
                1: "General reassurance only",
                2: "Selective: intentions and red lines shared",
                3: "Substantial: advance notice of major moves and their limits",
                4: "Full transparency: detailed advance consultation",
            },
            not_addressed="Says nothing about what to tell Beijing.",
        ),
    }


@pytest.fixture
def run_folder(tmp_path: Path) -> Callable[..., Path]:
    """``run_folder(utterances, name="r1", **kw)`` writes a fixture run under tmp_path."""

    def make(utterances: Sequence[U], name: str = "r1", **kw: Any) -> Path:
        return write_run(tmp_path / name, utterances, run_id=name, **kw)

    return make


# A small two-move exercise (hand-written fixture): ROK and JPN diverge on NEO in m1 and converge in m2.
EXERCISE: list[U] = [
    U(
        "m1",
        "ROK",
        "rok-fm",
        "We will not accept the Self-Defense Forces in this operation. Japan should use commercial carriers.",
    ),
    U(
        "m1",
        "ROK",
        "rok-jcs",
        "Civilian charter flights and ferries are enough for the evacuation.",
        phase="report",
    ),
    U(
        "m1",
        "JPN",
        "jpn-pm",
        "Japan will deploy the SDF wherever our nationals are; consent can come afterwards.",
    ),
    U(
        "m1",
        "US",
        "us-dos",
        "The SDF can wait offshore while American and Korean personnel handle everything on land.",
    ),
    U("m1", None, "control", "Control: the PLA is on alert."),
    U(
        "m2",
        "ROK",
        "rok-fm",
        "Japanese transport ships may dock at Busan with our explicit consent and under ROK control.",
    ),
    U(
        "m2",
        "JPN",
        "jpn-pm",
        "MSDF transport ships could dock at Busan, unarmed, with Seoul's explicit consent.",
    ),
    U("m2", "US", "us-dos", "We support Japanese ships using Busan for transport only.", phase="report"),
]
