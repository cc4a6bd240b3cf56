"""The judge's client path, replayed from a cassette recorded from the REAL embedded server.

The judge here uses a frozen copy of the judge prompt (``tests/evals/data/judge_prompts/``), not the
shipped ``prompts/judge*.md``, so editing the shipped prompt does not break replay. The transcript is a
hand-written fixture. Re-record with ``make record`` (it starts the embedded server).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evals.scorers.judge import JudgeScorer
from harness.llm.client import OpenAIChatModel
from harness.llm.retry import RetryPolicy
from harness.prompts import Prompts
from harness.transcript import Run
from tests.evals.conftest import U, write_run
from tests.llm.conftest import CASSETTES, SCRUBBED_HEADERS, config_for, scrub_response

FROZEN_PROMPTS = Path(__file__).parent / "data" / "judge_prompts"
NOWHERE = "http://127.0.0.1:9/v1"
UTTERANCES = [  # hand-written fixture statements
    U("m1", "ROK", "rok-a", "Japanese troops on Korean soil are unacceptable; civilian ferries only."),
    U("m1", "ROK", "rok-b", "We should tell Beijing our intentions in full, and early."),
    U("m1", "JPN", "jpn-a", "The SDF must be ready to protect our nationals in Seoul if needed."),
]


@pytest.fixture(scope="module")
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    return str(CASSETTES / request.path.stem)


@pytest.fixture
def vcr_config(request: pytest.FixtureRequest) -> dict[str, Any]:
    return {
        "match_on": ["method", "path", "body"],
        "filter_headers": list(SCRUBBED_HEADERS),
        "before_record_response": scrub_response,
        "decode_compressed_response": True,
        "record_mode": request.config.getoption("--record-mode") or "none",
    }


@pytest.fixture(scope="module")
def embedded_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if (request.config.getoption("--record-mode") or "none") == "none":
        yield NOWHERE
        return
    from harness.llm.embedded import EmbeddedServer

    with EmbeddedServer(log_file=tmp_path_factory.mktemp("embedded") / "server.log") as server:
        yield server.base_url


@pytest.mark.vcr
def test_judge_scores_through_the_embedded_client(
    vcr: Any, request: pytest.FixtureRequest, embedded_url: str, tmp_path: Path, rubrics: dict[str, Any]
) -> None:
    folder = write_run(tmp_path / "run", UTTERANCES)
    run = Run.load(folder)
    model = OpenAIChatModel(
        config_for(embedded_url, "embedded", model="SmolLM2-135M-Instruct"),
        retry_policy=RetryPolicy(max_attempts=1),
    )
    judge = JudgeScorer([model], samples=1, seed=0, concurrency=1, prompts=Prompts(FROZEN_PROMPTS))
    neo = {"neo": rubrics["neo"]}
    scores = judge.score_run(run, neo)
    # one unit per (move, delegation) for the one axis, each a well-formed AxisScore from this model
    units = sorted((s.move, s.delegation, s.axis) for s in scores)
    assert units == [("m1", "JPN", "neo"), ("m1", "ROK", "neo")]
    assert all(s.scorer == "judge" and s.model == "SmolLM2-135M-Instruct" for s in scores)
    # a level is only given with verified evidence; quotes the tiny model invents leave the unit unscored
    texts = {u.text for u in UTTERANCES}
    for s in scores:
        if s.level is not None:
            assert s.evidence and all(any(e.quote in t for t in texts) for e in s.evidence)
        else:
            assert s.dist is None or sum(s.dist) == pytest.approx(1.0)
    # every request went through the recorded JSON-object dialect of the embedded server
    assert len(vcr.requests) >= 2
    assert all(b'"type":"json_object"' in r.body for r in vcr.requests)
    if (request.config.getoption("--record-mode") or "none") == "none":
        assert vcr.all_played
