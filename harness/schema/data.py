"""Data files a user edits: personas, scenarios (moves, branches, expected findings), rubrics, and the
position card a caucus produces."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from harness.schema.base import LEVELS, Ident, Level, LocatedValueError, Role, Strict, Text

# --------------------------------------------------------------------------------------------------
# Data files
# --------------------------------------------------------------------------------------------------


class Persona(Strict):
    """``personas/<id>.yaml``. ``stance_priors`` is an analysis reference only: never put in a prompt."""

    id: Ident
    name: Text
    title: Text
    delegation: Ident | None = Field(description="a delegation id, or null for Control")
    role: Role
    background: Text
    interests: list[str] = Field(default_factory=list)
    constraints: list[str] = Field(default_factory=list)
    red_lines: list[str] = Field(default_factory=list)
    voice: Text
    stance_priors: dict[str, Level] = Field(
        default_factory=dict, description="axis id -> expected level 0-4 (analysis only, never prompted)"
    )
    sources: list[str] = Field(default_factory=list)


class Setting(Strict):
    date: Text
    place: Text
    background: Text


class Delegation(Strict):
    id: Ident
    name: Text
    head: Ident = Field(description="persona id of the head of delegation (also listed in members)")
    members: list[Ident] = Field(min_length=1, description="persona ids, the head included")
    brief: Text

    @model_validator(mode="after")
    def _head_is_member(self) -> Delegation:
        if self.head not in self.members:
            raise LocatedValueError(("head",), f"head {self.head!r} is not one of the delegation's members")
        for j, member in enumerate(self.members):
            if member in self.members[:j]:
                raise LocatedValueError(("members", j), f"members lists persona {member!r} twice")
        return self


class NonPlayerActor(Strict):
    id: Ident
    name: Text
    notes: str = ""


class Condition(Strict):
    delegation: Ident
    axis: Ident
    op: Literal["<=", ">=", "=="]
    level: Level


class Branch(Strict):
    when: list[Condition] = Field(min_length=1, description="all must hold over this move's cards")
    goto: Ident


class Move(Strict):
    id: Ident
    title: Text
    inject: Text
    set_questions: list[Text] = Field(default_factory=list)
    caucus_rounds: int = Field(default=1, ge=0, le=20)
    plenary_rounds: int = Field(default=1, ge=0, le=20)
    consequences: str | None = None
    branches: list[Branch] = Field(default_factory=list)


class DataFolders(Strict):
    """Where a scenario's own data lives, relative to the scenario file (each folder is searched first,
    then the conventional folders beside the scenario, then the bundled defaults)."""

    personas: str | None = Field(default=None, description="persona folder")
    rubrics: str | None = Field(default=None, description="rubric folder")
    prompts: str | None = Field(default=None, description="prompt template folder")


FindingKind = Literal["widest_pair", "gap", "highest", "lowest"]


class ExpectedFinding(Strict):
    """What the human exercise found, as a checkable statement over the scores (``harness fidelity``).

    Like persona priors, findings are analysis only: never put in a prompt. Kinds (levels are mean
    levels over the moves checked, per run):

    * ``widest_pair`` (``axis``, ``pair``): that pair's mean distance exceeds every other pair's;
    * ``gap`` (``axis``, ``a``, ``b``, ``at_least``): level(a) − level(b) ≥ ``at_least``;
    * ``highest`` / ``lowest`` (``axis``, ``delegation``): its level exceeds (is below) every other's.
    """

    id: Ident
    statement: Text = Field(description="the finding in words, as a checkable statement")
    source: Text = Field(description="where the human exercise reported it")
    note: str = Field(default="", description="how the source's words were turned into the check")
    kind: FindingKind
    axis: Ident
    pair: list[Ident] = Field(default_factory=list, description="widest_pair: the two delegation ids")
    a: Ident | None = Field(default=None, description="gap: the delegation expected higher")
    b: Ident | None = Field(default=None, description="gap: the delegation expected lower")
    at_least: float = Field(default=1.0, description="gap: by at least this many levels")
    delegation: Ident | None = Field(default=None, description="highest/lowest: the delegation")
    moves: list[Ident] = Field(default_factory=list, description="moves checked (default: all played)")

    @model_validator(mode="after")
    def _fields_of_kind(self) -> ExpectedFinding:
        need = {
            "widest_pair": ("pair",),
            "gap": ("a", "b"),
            "highest": ("delegation",),
            "lowest": ("delegation",),
        }
        for name in need[self.kind]:
            if not getattr(self, name):
                raise LocatedValueError((name,), f"a {self.kind} finding needs {name}")
        if self.kind == "widest_pair" and (len(self.pair) != 2 or self.pair[0] == self.pair[1]):
            raise LocatedValueError(("pair",), "pair must name two different delegations")
        if self.kind == "gap" and self.a == self.b:
            raise LocatedValueError(("b",), "a gap needs two different delegations")
        return self

    def delegations(self) -> list[str]:
        return [d for d in (*self.pair, self.a, self.b, self.delegation) if d]


class Scenario(Strict):
    id: Ident
    version: str = Field(min_length=1)
    title: Text
    setting: Setting
    delegations: list[Delegation] = Field(min_length=1)
    control: Ident
    non_player_actors: list[NonPlayerActor] = Field(default_factory=list)
    axes: list[Ident] = Field(default_factory=list)
    moves: list[Move] = Field(min_length=1)
    sources: list[str] = Field(default_factory=list)
    data: DataFolders | None = Field(default=None, description="the scenario's own data folders")
    expected_findings: list[ExpectedFinding] = Field(
        default_factory=list,
        description="what the human exercise found, checked by `harness fidelity` (analysis only, never "
        "prompted)",
    )

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int | float) else v

    @model_validator(mode="after")
    def _internal_refs(self) -> Scenario:
        seen: set[str] = set()
        for i, d in enumerate(self.delegations):
            if d.id in seen:
                raise LocatedValueError(("delegations", i, "id"), f"delegation id {d.id!r} appears twice")
            seen.add(d.id)
        move_ids = [m.id for m in self.moves]
        for i, m in enumerate(self.moves):
            if m.id in move_ids[:i]:
                raise LocatedValueError(("moves", i, "id"), f"two moves share the id {m.id!r}")
        for i, m in enumerate(self.moves):
            for j, b in enumerate(m.branches):
                at = ("moves", i, "branches", j)
                if b.goto not in move_ids:
                    raise LocatedValueError((*at, "goto"), f"branch target {b.goto!r} is not a move id")
                for k, c in enumerate(b.when):
                    if c.delegation not in seen:
                        raise LocatedValueError(
                            (*at, "when", k, "delegation"),
                            f"branch names unknown delegation {c.delegation!r}",
                        )
                    if c.axis not in self.axes:
                        raise LocatedValueError(
                            (*at, "when", k, "axis"), f"branch names axis {c.axis!r} not in axes"
                        )
        return self

    @model_validator(mode="after")
    def _finding_refs(self) -> Scenario:
        delegations = {d.id for d in self.delegations}
        moves = {m.id for m in self.moves}
        for i, f in enumerate(self.expected_findings):
            at: tuple[int | str, ...] = ("expected_findings", i)
            if f.id in [g.id for g in self.expected_findings[:i]]:
                raise LocatedValueError((*at, "id"), f"two findings share the id {f.id!r}")
            if f.axis not in self.axes:
                raise LocatedValueError((*at, "axis"), f"finding names axis {f.axis!r} not in axes")
            for name in f.delegations():
                if name not in delegations:
                    raise LocatedValueError(at, f"finding names unknown delegation {name!r}")
            for k, mv in enumerate(f.moves):
                if mv not in moves:
                    raise LocatedValueError((*at, "moves", k), f"finding names unknown move {mv!r}")
        return self

    def delegation(self, delegation_id: str) -> Delegation:
        for d in self.delegations:
            if d.id == delegation_id:
                return d
        raise KeyError(delegation_id)

    def move(self, move_id: str) -> Move:
        for m in self.moves:
            if m.id == move_id:
                return m
        raise KeyError(move_id)

    def persona_ids(self) -> list[str]:
        ids = [self.control]
        for d in self.delegations:
            ids.extend(d.members)
        return ids


class Rubric(Strict):
    """``evals/rubrics/<axis>.yaml``: one anchored 0–4 ordinal scale."""

    axis: Ident
    title: Text
    question: Text
    levels: dict[Level, Text]
    not_addressed: Text

    @field_validator("levels")
    @classmethod
    def _all_levels(cls, v: dict[int, str]) -> dict[int, str]:
        missing = [lv for lv in LEVELS if lv not in v]
        if missing:
            raise ValueError(f"levels must anchor every level 0..4; missing {missing}")
        return v


# --------------------------------------------------------------------------------------------------
# Position card (the structured output of a caucus)
# --------------------------------------------------------------------------------------------------


class Answer(Strict):
    question: str
    answer: str


class Stance(Strict):
    axis: str
    level: Level | None
    rationale: str = ""


class Request(Strict):
    to: str
    ask: str


class PositionCard(Strict):
    delegation: str
    move: str
    answers: list[Answer] = Field(default_factory=list)
    stances: list[Stance] = Field(default_factory=list)
    requests: list[Request] = Field(default_factory=list)
    red_lines_invoked: list[str] = Field(default_factory=list)

    def stance(self, axis: str) -> Stance | None:
        for s in self.stances:
            if s.axis == axis:
                return s
        return None


# Files that carry a `# yaml-language-server: $schema=` header, by kind.
DATA_MODELS: dict[str, type[Strict]] = {
    "persona": Persona,
    "scenario": Scenario,
    "rubric": Rubric,
}
