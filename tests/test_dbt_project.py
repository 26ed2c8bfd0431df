"""The dbt project on every model built empty, once for this module: the unit tests of the KPI definitions
pass, and the docs are complete (every column of every model and source, as the real catalog lists it, has
a description, and the DynamoDB KPI tables are exposures of the two KPI marts)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from ingestion.raw_tables import ensure_raw_tables
from ingestion.settings import PROJECT_ROOT
from orchestration.dbt_project import DBT_EXECUTABLE
from tests.conftest import reset_pipeline

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def target(services, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Unit tests need their input relations and `dbt docs generate` reads the catalog from the warehouse,
    so every model is built empty first. dbt writes under the returned folder: the project's target/ holds
    the manifest the Dagster code loads."""
    ensure_raw_tables(reset_pipeline(services).spark)
    target = tmp_path_factory.mktemp("dbt") / "target"
    built = _dbt(target, "run", "--empty")
    assert built.returncode == 0, built.stdout[-3000:]
    return target


def _dbt(target: Path, *args: str) -> subprocess.CompletedProcess:
    options = ["--project-dir", str(PROJECT_ROOT), "--profiles-dir", str(PROJECT_ROOT)]
    paths = ["--target-path", str(target), "--log-path", str(target.parent / "logs")]
    return subprocess.run(
        [DBT_EXECUTABLE, "--no-use-colors", *args, *options, *paths],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
    )


def test_dbt_unit_tests_of_the_kpi_definitions_pass(target):
    tested = _dbt(target, "test", "--select", "test_type:unit")

    assert tested.returncode == 0, tested.stdout[-5000:]
    assert "PASS=10" in tested.stdout


def test_dbt_docs_describe_every_column_and_expose_the_dynamodb_tables(target):
    started = time.time()

    generated = _dbt(target, "docs", "generate", "--static")

    assert generated.returncode == 0, generated.stdout[-3000:]
    assert (target / "static_index.html").stat().st_mtime >= started
    catalog = json.loads((target / "catalog.json").read_text())
    manifest = json.loads((target / "manifest.json").read_text())
    models = {uid for uid, node in manifest["nodes"].items() if node["resource_type"] == "model"}
    assert models <= set(catalog["nodes"]), "every model must be in the catalog, or nothing is checked"
    assert set(manifest["sources"]) <= set(catalog["sources"])
    described = {uid: manifest["nodes"][uid] for uid in models} | manifest["sources"]
    listed = {uid: catalog["nodes"][uid] for uid in models} | catalog["sources"]
    assert undescribed(described, listed) == []
    assert stale_columns(described, listed) == []
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    assert {name: e["depends_on"]["nodes"] for name, e in exposures.items()} == {
        "category_kpi_table": ["model.ecom_kpis.category_kpis"],
        "order_kpi_table": ["model.ecom_kpis.order_kpis"],
    }
    assert all(e["description"].strip() and e["owner"]["email"] for e in exposures.values())


def undescribed(described: dict[str, dict], listed: dict[str, dict]) -> list[str]:
    """Models and sources without a description, and catalog columns without one, as `unique_id[.column]`."""
    missing = []
    for uid, node in sorted(described.items()):
        if not node["description"].strip():
            missing.append(uid)
        text = {name.lower(): column["description"].strip() for name, column in node["columns"].items()}
        missing += [f"{uid}.{name}" for name in listed[uid]["columns"] if not text.get(name.lower())]
    return missing


def stale_columns(described: dict[str, dict], listed: dict[str, dict]) -> list[str]:
    """Columns documented in YAML that the relation does not have (a typo, or a column since dropped)."""
    return [
        f"{uid}.{name}"
        for uid, node in sorted(described.items())
        for name in node["columns"]
        if name.lower() not in {column.lower() for column in listed[uid]["columns"]}
    ]
