"""YAML → pydantic models with friendly errors, and cross-reference checks.

Every failure is a :class:`~harness.errors.DataError` naming the file, the field (as a dotted path) and,
where known, the line, plus the cause. Nothing else escapes (a fuzz test holds this).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from harness import datapaths
from harness.datapaths import DataPaths
from harness.errors import DataError
from harness.schema import DATA_MODELS, LocatedValueError, Persona, Rubric, Scenario

M = TypeVar("M", bound=BaseModel)

SCHEMA_HEADER = "# yaml-language-server: $schema="


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------------------------------------
# YAML with line numbers
# ------------------------------------------------------------------------------------------------


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise DataError(str(path), "file not found") from exc
    except IsADirectoryError as exc:
        raise DataError(str(path), "is a folder, expected a YAML file") from exc
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise DataError(str(path), f"not UTF-8 text ({exc.reason})", line=line) from exc
    except OSError as exc:
        raise DataError(str(path), f"cannot read ({exc.strerror})") from exc


def _parse_yaml(path: Path, text: str) -> tuple[Any, yaml.Node | None]:
    from harness import yamlsafe  # imported here to keep this file's imports untouched (issue 15)

    try:
        data, node = yamlsafe.load(text)
    except yamlsafe.DuplicateKeyError as exc:  # YAML would silently keep the last value
        key = str(exc.key)
        field = _dotted((*exc.path, key)) if len(key) <= 60 else None
        raise DataError(str(path), str(exc), field=field, line=exc.line) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        line = mark.line + 1 if mark is not None else None
        raise DataError(str(path), f"invalid YAML: {problem}", line=line) from exc
    except Exception as exc:  # PyYAML's constructors raise almost anything on odd input
        # e.g. "!!timestamp nope" (AttributeError), absurd dates (ValueError), deep nesting (RecursionError)
        cause = " ".join(str(exc).split()) or type(exc).__name__
        raise DataError(str(path), f"invalid YAML: cannot read a value ({cause})") from exc
    return data, node


def _line_of(node: yaml.Node | None, loc: Iterable[int | str]) -> int | None:
    """Follow a pydantic error location through the composed YAML tree to a line number."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if str(getattr(key_node, "value", None)) == str(part):
                    node = value_node
                    line = key_node.start_mark.line + 1
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _dotted(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = str(part)
            if not text.isprintable():  # a key with a line break or control characters: keep one line
                text = json.dumps(text)
            out += ("." if out else "") + text
    return out


def _validate(model: type[M], data: Any, path: Path, node: yaml.Node | None) -> M:
    if not isinstance(data, dict):
        kind = "empty" if data is None else type(data).__name__
        line = node.start_mark.line + 1 if node is not None else 1
        raise DataError(str(path), f"expected a mapping of fields at the top level, got {kind}", line=line)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raw_loc: tuple[int | str, ...] = tuple(err["loc"])
        msg = err["msg"]
        located = (err.get("ctx") or {}).get("error")
        if isinstance(located, LocatedValueError):  # a model-level check that knows the field
            raw_loc += located.loc
            msg = str(located)
        elif err["type"] == "value_error":
            msg = msg.removeprefix("Value error, ")
        loc = _trim_loc(data, raw_loc)
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        if err["type"] == "extra_forbidden":
            msg = "unknown field (not in the schema)"
        elif err["type"] == "missing":
            msg = "required field is missing"
        return _raise(path, _dotted(loc) or None, _line_of(node, loc), msg + more)


def _trim_loc(data: Any, loc: Iterable[int | str]) -> list[int | str]:
    """Keep the parts of a pydantic location that exist in the data (drops union/type tags)."""
    out: list[int | str] = []
    cur = data
    for part in loc:
        if isinstance(cur, dict):
            key = next((k for k in cur if str(k) == str(part)), None)
            if key is None:
                if isinstance(part, str) and not _looks_like_tag(part):
                    out.append(part)  # a missing field: name it
                break
            out.append(part)
            cur = cur[key]
        elif isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
            out.append(part)
            cur = cur[part]
        else:
            continue
    return out


def _looks_like_tag(part: str) -> bool:
    return part in {"int", "str", "float", "bool", "none", "list", "dict"} or "[" in part or "-" in part


def _raise(path: Path, field: str | None, line: int | None, cause: str) -> Any:
    raise DataError(str(path), " ".join(cause.split()), field=field, line=line)


def _load(model: type[M], path: Path) -> tuple[M, yaml.Node | None]:
    data, node = _parse_yaml(path, _read_text(path))
    return _validate(model, data, path, node), node


def load_model(model: type[M], path: str | Path) -> M:
    return _load(model, Path(path))[0]


def load_persona(path: str | Path) -> Persona:
    p = Path(path)
    persona, node = _load(Persona, p)
    if persona.id != p.stem:
        raise DataError(
            str(p),
            f"id {persona.id!r} does not match the file name {p.stem!r}",
            field="id",
            line=_line_of(node, ["id"]),
        )
    return persona


def load_scenario(path: str | Path) -> Scenario:
    return load_model(Scenario, path)


def load_rubric(path: str | Path) -> Rubric:
    p = Path(path)
    rubric, node = _load(Rubric, p)
    if rubric.axis != p.stem:
        raise DataError(
            str(p),
            f"axis {rubric.axis!r} does not match the file name {p.stem!r}",
            field="axis",
            line=_line_of(node, ["axis"]),
        )
    return rubric


def _yaml_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise DataError(str(folder), "folder not found")
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])


def load_personas(folder: str | Path) -> dict[str, Persona]:
    return {p.id: p for p in (load_persona(f) for f in _yaml_files(Path(folder)))}


def load_rubrics(folder: str | Path) -> dict[str, Rubric]:
    return {r.axis: r for r in (load_rubric(f) for f in _yaml_files(Path(folder)))}


def detect_kind(path: Path, kinds: Iterable[str] = DATA_MODELS) -> str | None:
    """``persona`` / ``scenario`` / ``rubric`` (or one of ``kinds``) from the schema header, else from the
    folder name."""
    try:
        first = path.read_text(encoding="utf-8").splitlines()[:1]
    except (OSError, UnicodeDecodeError):
        first = []
    if first and first[0].startswith(SCHEMA_HEADER):
        for kind in kinds:
            if f"{kind}.schema.json" in first[0]:
                return kind
    parents = {p.name for p in path.parents}
    if "personas" in parents:
        return "persona"
    if "scenarios" in parents:
        return "scenario"
    if "rubrics" in parents:
        return "rubric"
    return None


# ------------------------------------------------------------------------------------------------
# A scenario with everything it references
# ------------------------------------------------------------------------------------------------


@dataclass
class Bundle:
    """A scenario, the personas it names and the rubrics of its axes, cross-checked, and where they came
    from (``paths``: the search path of each kind, see :mod:`harness.datapaths`)."""

    scenario: Scenario
    scenario_path: Path
    personas: dict[str, Persona]
    rubrics: dict[str, Rubric]
    paths: DataPaths
    persona_paths: dict[str, Path] = field(default_factory=dict)
    rubric_paths: dict[str, Path] = field(default_factory=dict)

    def persona_hashes(self) -> dict[str, str]:
        return {pid: sha256_file(p) for pid, p in sorted(self.persona_paths.items())}

    def rubric_hashes(self) -> dict[str, str]:
        return {axis: sha256_file(p) for axis, p in sorted(self.rubric_paths.items())}


def check_references(
    scenario: Scenario,
    path: Path,
    personas: dict[str, Persona],
    rubrics: dict[str, Rubric],
    *,
    unreadable_personas: Collection[str] = (),
    unreadable_rubrics: Collection[str] = (),
) -> list[DataError]:
    """Every cross-reference problem of a scenario (empty list when it is consistent).

    ``unreadable_*`` name persona ids and axes whose files exist but failed to load: their own errors
    are reported already, so they are not reported again here as "not found".
    """
    problems: list[tuple[list[int | str], str]] = []
    if scenario.control in unreadable_personas:
        pass
    elif scenario.control not in personas:
        problems.append((["control"], f"control persona {scenario.control!r} not found"))
    elif personas[scenario.control].delegation is not None:
        problems.append((["control"], f"control persona {scenario.control!r} must have delegation: null"))
    for i, d in enumerate(scenario.delegations):
        for j, member in enumerate(d.members):
            persona = personas.get(member)
            if member in unreadable_personas:
                continue
            if persona is None:
                problems.append((["delegations", i, "members", j], f"persona {member!r} not found"))
            elif persona.delegation != d.id:
                problems.append(
                    (
                        ["delegations", i, "members", j],
                        f"persona {member!r} belongs to delegation {persona.delegation!r}, not {d.id!r}",
                    )
                )
    for k, axis in enumerate(scenario.axes):
        if axis not in rubrics and axis not in unreadable_rubrics:
            problems.append((["axes", k], f"axis {axis!r} has no rubric file"))
    if not problems:
        return []
    node: yaml.Node | None = None
    try:  # line numbers, where the file can still be read
        node = yaml.compose(Path(path).read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except Exception:
        node = None
    return [
        DataError(
            str(path), cause, field=_dotted(loc), line=_line_of(node, loc) if node is not None else None
        )
        for loc, cause in problems
    ]


def load_bundle(
    scenario_path: str | Path,
    personas_dir: str | Path | None = None,
    rubrics_dir: str | Path | None = None,
    prompts_dir: str | Path | None = None,
    *,
    paths: DataPaths | None = None,
) -> Bundle:
    """A scenario with its personas and rubrics, looked up along its search paths (or ``paths``)."""
    sp = Path(scenario_path)
    scenario = load_scenario(sp)
    if paths is None:
        given = {"personas": personas_dir, "rubrics": rubrics_dir, "prompts": prompts_dir}
        paths = datapaths.resolve(sp, scenario, explicit={k: Path(v) for k, v in given.items() if v})
    persona_paths: dict[str, Path] = {}
    personas: dict[str, Persona] = {}
    for pid in scenario.persona_ids():
        f = paths.personas.find(pid)
        if f is not None:
            personas[pid] = load_persona(f)
            persona_paths[pid] = f
    rubric_paths: dict[str, Path] = {}
    rubrics: dict[str, Rubric] = {}
    for axis in scenario.axes:
        f = paths.rubrics.find(axis)
        if f is not None:
            rubrics[axis] = load_rubric(f)
            rubric_paths[axis] = f
    errors = check_references(scenario, sp, personas, rubrics)
    if errors:
        raise errors[0]
    return Bundle(scenario, sp, personas, rubrics, paths, persona_paths, rubric_paths)


# ------------------------------------------------------------------------------------------------
# JSON Schemas for editors
# ------------------------------------------------------------------------------------------------


def json_schemas(models: Mapping[str, type[BaseModel]] | None = None) -> dict[str, str]:
    """``{kind: schema JSON text}`` for every data file kind (``models``: kind → model, default
    :data:`~harness.schema.DATA_MODELS`)."""
    out = {}
    for kind, model in (models or DATA_MODELS).items():
        schema = model.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        out[kind] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return out
