"""What a recorded run used: its scenario file, the folders its data came from, its rubrics.

Resume, fork, scoring and the report all read a run's data back through here, so a run started with a
workspace's own personas, rubrics or prompts is continued, scored and labelled with the same files.
"""

from __future__ import annotations

import logging
from pathlib import Path

from harness import datapaths
from harness.datapaths import DataPaths
from harness.errors import ConfigError
from harness.loaders import Bundle, load_bundle, load_rubric, sha256_file
from harness.resources import bundled_scenarios
from harness.schema import ManifestEvent, Rubric

log = logging.getLogger(__name__)


def scenario_file(manifest: ManifestEvent) -> Path:
    """The scenario file a run names; a bundled scenario of the same id when that file is gone."""
    recorded = Path(manifest.scenario.path)
    if recorded.is_file():
        return recorded
    shipped = bundled_scenarios().get(manifest.scenario.id)
    if shipped is not None:
        if sha256_file(shipped) != manifest.scenario.sha256:
            log.warning(
                "%s is gone; using the bundled scenario %s, which differs from the recorded one",
                recorded,
                manifest.scenario.id,
            )
        return shipped
    raise ConfigError(f"run {manifest.run_id}: scenario file {recorded} not found")


def data_paths(manifest: ManifestEvent, scenario: Path) -> DataPaths:
    """The search paths the run recorded (older runs: the persona and rubric folders in its options)."""
    if manifest.data_paths:
        return datapaths.from_recorded(manifest.data_paths)
    legacy = {k: manifest.options.get(f"{k}_dir") for k in ("personas", "rubrics")}
    return datapaths.resolve(scenario, explicit={k: Path(v) for k, v in legacy.items() if v})


def bundle_of(manifest: ManifestEvent) -> Bundle:
    """The scenario bundle a recorded run used, read along the search paths it recorded."""
    scenario = scenario_file(manifest)
    bundle = load_bundle(scenario, paths=data_paths(manifest, scenario))
    if sha256_file(scenario) != manifest.scenario.sha256:
        log.warning("%s changed since run %s started; using the current file", scenario, manifest.run_id)
    return bundle


def rubrics_of(manifest: ManifestEvent) -> dict[str, Rubric]:
    """The rubric of each axis a run's scenario probes, from the run's own rubric search path.

    Imported records (no scenario file) and runs whose scenario is gone get the bundled rubrics.
    """
    try:
        scenario = scenario_file(manifest)
    except ConfigError:
        scenario = None
    if manifest.source == "import" or scenario is None:
        paths = datapaths.from_recorded(manifest.data_paths) if manifest.data_paths else None
        search = paths.rubrics if paths is not None else datapaths.from_recorded({}).rubrics
        return _all_rubrics(search)
    return dict(bundle_of(manifest).rubrics)


def _all_rubrics(search: datapaths.SearchPath) -> dict[str, Rubric]:
    out: dict[str, Rubric] = {}
    for folder in search.folders:
        for f in sorted(folder.glob("*.yaml")):
            out.setdefault(f.stem, load_rubric(f))
    return out
