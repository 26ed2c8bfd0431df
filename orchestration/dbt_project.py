"""The cached DbtProject and its manifest, kept apart from the assets so the manifest can be refreshed
before the assets (which read it) are loaded."""

import subprocess
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from ingestion.settings import PROJECT_ROOT

dbt_project = DbtProject(project_dir=PROJECT_ROOT, profiles_dir=PROJECT_ROOT)
dbt_project.prepare_if_dev()

DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))


def manifest_is_stale() -> bool:
    """True when a dbt file changed after the manifest was written (or there is none)."""
    manifest = dbt_project.manifest_path
    if not manifest.exists():
        return True
    sources = [PROJECT_ROOT / "dbt_project.yml", PROJECT_ROOT / "profiles.yml"]
    sources += [p for p in (PROJECT_ROOT / "dbt_project").rglob("*") if p.is_file()]
    return max(p.stat().st_mtime for p in sources) > manifest.stat().st_mtime


def refresh_manifest() -> None:
    """`dbt parse` (no warehouse connection needed) when the manifest is missing or older than the SQL."""
    if manifest_is_stale():
        subprocess.run(
            [
                DBT_EXECUTABLE,
                "parse",
                "--quiet",
                "--project-dir",
                str(PROJECT_ROOT),
                "--profiles-dir",
                str(PROJECT_ROOT),
            ],
            check=True,
            cwd=PROJECT_ROOT,
        )
