"""The conditions of a sensitivity experiment, built as data: derived scenario and persona files.

Every condition, the baseline included, is a self-contained folder ``<out>/conditions/<name>/``:
``scenario.yaml`` (the base scenario with id ``<base id>.<name>`` and only the intended change),
``personas/``, ``rubrics/`` and ``prompts/`` (the files the base scenario resolves to, copied byte for
byte, ablated personas rewritten) and ``condition.json`` (what was changed, from which file). The
scenario names its own data folders, so each run's manifest records the derived scenario (path and hash)
and the derived persona folder among its data paths: a run can always be traced back to its condition.

Writing is idempotent: the same experiment writes the same bytes, so running the command again finds
the runs already done; a folder holding a *different* condition is an error, never overwritten.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml

from harness.batch.spec import BackendSpec
from harness.errors import ConfigError
from harness.loaders import Bundle
from harness.research.spec import SensitivitySpec
from harness.schema import DataFolders, Persona, Scenario

log = logging.getLogger(__name__)

NEUTRAL_FILE = Path(__file__).resolve().parent / "neutral.yaml"
BASELINE = "baseline"
Role = Literal["baseline", "treatment"]


@dataclass(frozen=True)
class ConditionFiles:
    name: str
    role: Role
    scenario: Path
    scenario_id: str
    backend: BackendSpec
    changes: list[str] = field(default_factory=list)


@lru_cache(maxsize=1)
def neutral_texts() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(NEUTRAL_FILE.read_text(encoding="utf-8"))
    return data


def resolve_spec(spec: SensitivitySpec, scenario: Scenario) -> SensitivitySpec:
    """Fill the defaults that depend on the scenario (identity swap: its first and last delegations) and
    check every delegation id the spec names."""
    ids = [d.id for d in scenario.delegations]
    update: dict[str, Any] = {}
    if spec.experiment == "identity-swap" and not spec.swap:
        if len(ids) < 2:
            raise ConfigError(f"{scenario.id}: an identity swap needs two delegations")
        update["swap"] = [ids[0], ids[-1]]
    resolved = spec.model_copy(update=update)
    named = [*resolved.swap, *resolved.ablate, *resolved.model_for]
    unknown = [d for d in named if d not in ids]
    if unknown:
        raise ConfigError(
            f"{scenario.id} has no delegation {', '.join(map(repr, unknown))} (it has {', '.join(ids)})"
        )
    return resolved


# ------------------------------------------------------------------------------------------------
# the changes
# ------------------------------------------------------------------------------------------------


def _swap(scenario: Scenario, spec: SensitivitySpec) -> tuple[Scenario, list[str]]:
    a, b = (scenario.delegation(x) for x in spec.swap)
    fields = ("name", "brief") if spec.swap_what == "both" else (spec.swap_what.removesuffix("s"),)
    changed = scenario.model_copy(deep=True)
    da, db = changed.delegation(a.id), changed.delegation(b.id)
    for f in fields:
        va, vb = getattr(a, f), getattr(b, f)
        setattr(da, f, vb)
        setattr(db, f, va)
    return changed, [f"{a.id} and {b.id} exchange their {' and '.join(f + 's' for f in fields)}"]


def _ablate_briefs(scenario: Scenario, spec: SensitivitySpec) -> tuple[Scenario, list[str]]:
    changed = scenario.model_copy(deep=True)
    who = spec.ablate or [d.id for d in scenario.delegations]
    for d in changed.delegations:
        if d.id in who:
            d.brief = " ".join(str(neutral_texts()["brief"]).split())
    return changed, [f"the briefs of {', '.join(who)} replaced by the neutral brief"]


def ablated_persona(persona: Persona, mode: str, delegation: str) -> Persona:
    """A persona reduced to name and title (``minimal``) or given a generic role background (``neutral``);
    ``stance_priors`` stay (analysis only, never prompted)."""
    texts = neutral_texts()[mode]
    values = {"name": persona.name, "title": persona.title, "role": persona.role, "delegation": delegation}
    background = texts["background"]
    if isinstance(background, dict):
        background = background[persona.role]
    return persona.model_copy(
        update={
            "background": " ".join(str(background).format(**values).split()),
            "voice": str(texts["voice"]).format(**values),
            "interests": [],
            "constraints": [],
            "red_lines": [],
        }
    )


# ------------------------------------------------------------------------------------------------
# writing a condition folder
# ------------------------------------------------------------------------------------------------


def _yaml(data: Any, header: str) -> bytes:
    return (header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)).encode("utf-8")


def _prompt_files(bundle: Bundle) -> dict[str, Path]:
    names = sorted({p.stem for folder in bundle.paths.prompts.folders for p in folder.glob("*.md")})
    found = {name: bundle.paths.prompts.find(name) for name in names}
    return {name: p for name, p in found.items() if p is not None}


def _condition_files(
    bundle: Bundle, scenario: Scenario, personas: dict[str, Persona], header: str
) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    data = scenario.model_copy(
        update={"data": DataFolders(personas="personas", rubrics="rubrics", prompts="prompts")}
    ).model_dump(mode="json", exclude_none=True)
    files["scenario.yaml"] = _yaml(data, header)
    for pid, path in bundle.persona_paths.items():
        if pid in personas:
            body = personas[pid].model_dump(mode="json", exclude_none=False)
            files[f"personas/{pid}.yaml"] = _yaml(body, header)
        else:
            files[f"personas/{pid}.yaml"] = path.read_bytes()
    for axis, path in bundle.rubric_paths.items():
        files[f"rubrics/{axis}.yaml"] = path.read_bytes()
    for name, path in _prompt_files(bundle).items():
        files[f"prompts/{name}.md"] = path.read_bytes()
    return files


def _write_folder(folder: Path, files: dict[str, bytes], meta: dict[str, Any]) -> None:
    meta_bytes = (json.dumps(meta, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    wanted = {**files, "condition.json": meta_bytes}
    if folder.is_dir():
        present = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
        differs = sorted(
            rel for rel in present | set(wanted) if rel not in wanted or not (folder / rel).is_file()
        )
        differs += sorted(
            rel for rel in wanted if (folder / rel).is_file() and (folder / rel).read_bytes() != wanted[rel]
        )
        if differs:
            raise ConfigError(
                f"{folder} holds another condition ({', '.join(differs[:3])} differ): this output folder "
                "belongs to another experiment; use another --out"
            )
        return
    for rel, data in wanted.items():
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def derive_conditions(
    spec: SensitivitySpec, bundle: Bundle, out_dir: Path, backend: BackendSpec
) -> list[ConditionFiles]:
    """Write the baseline and the treatment condition folders; returns them, baseline first."""
    base = bundle.scenario
    digest = hashlib.sha256(bundle.scenario_path.read_bytes()).hexdigest()
    header = (
        f"# Derived by `harness sensitivity` ({spec.experiment}) from {bundle.scenario_path}\n"
        f"# (sha256 {digest[:16]}…). Edit the source scenario, not this copy.\n"
    )
    treated = base
    personas: dict[str, Persona] = {}
    changes: list[str] = []
    treatment_backend = backend
    if spec.experiment == "identity-swap":
        treated, changes = _swap(base, spec)
    elif spec.experiment == "brief-ablation":
        treated, changes = _ablate_briefs(base, spec)
    elif spec.experiment == "persona-ablation":
        who = spec.ablate or [d.id for d in base.delegations]
        for d in base.delegations:
            if d.id in who:
                for pid in d.members:
                    personas[pid] = ablated_persona(bundle.personas[pid], spec.persona_mode, d.name)
        changes = [f"the personas of {', '.join(who)} reduced to {spec.persona_mode}"]
    else:
        treatment_backend = backend.model_copy(
            update={"name": spec.treatment[:40], "model_for": {**backend.model_for, **spec.model_for}}
        )
        changes = [f"{d} plays on {m}" for d, m in sorted(spec.model_for.items())]
    roles: list[tuple[str, Role, Scenario, dict[str, Persona], BackendSpec, list[str]]] = [
        (BASELINE, "baseline", base, {}, backend, [])
    ]
    if spec.experiment != "model":
        roles.append((spec.treatment, "treatment", treated, personas, backend, changes))
    out: list[ConditionFiles] = []
    for name, role, scenario, changed, b, what in roles:
        sid = f"{base.id}.{name}"
        folder = out_dir / "conditions" / name
        meta = {
            "experiment": spec.experiment,
            "condition": name,
            "role": role,
            "changes": what,
            "source": {"path": str(bundle.scenario_path), "sha256": digest, "id": base.id},
        }
        files = _condition_files(bundle, scenario.model_copy(update={"id": sid}), changed, header)
        _write_folder(folder, files, meta)
        out.append(ConditionFiles(name, role, folder / "scenario.yaml", sid, b, what))
    if spec.experiment == "model":
        first = out[0]
        out.append(
            ConditionFiles(
                spec.treatment, "treatment", first.scenario, first.scenario_id, treatment_backend, changes
            )
        )
    log.info("conditions of %s written under %s", spec.experiment, out_dir / "conditions")
    return out
