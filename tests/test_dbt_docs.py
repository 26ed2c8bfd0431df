"""The dbt docs are complete: every column of every model and source, as the real catalog lists it, has a
description, and the DynamoDB KPI tables are exposures of the two KPI marts."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from ingestion.raw_tables import ensure_raw_tables
from ingestion.settings import PROJECT_ROOT
from orchestration.dbt_project import DBT_EXECUTABLE

pytestmark = pytest.mark.slow


def test_dbt_docs_describe_every_column_and_expose_the_dynamodb_tables(pipeline, tmp_path: Path):
    """dbt docs generate reads the catalog from the warehouse, so build every model empty first. Everything
    dbt writes goes under tmp_path: the project's target/ holds the manifest the Dagster code loads."""
    started = time.time()
    ensure_raw_tables(pipeline.spark)
    target = tmp_path / "target"
    dbt = [DBT_EXECUTABLE, "--no-use-colors"]
    options = [
        "--project-dir",
        str(PROJECT_ROOT),
        "--profiles-dir",
        str(PROJECT_ROOT),
        "--target-path",
        str(target),
        "--log-path",
        str(tmp_path / "logs"),
    ]
    built = subprocess.run(
        [*dbt, "run", "--empty", *options], capture_output=True, text=True, cwd=PROJECT_ROOT
    )
    assert built.returncode == 0, built.stdout[-3000:]

    generated = subprocess.run(
        [*dbt, "docs", "generate", "--static", *options], capture_output=True, text=True, cwd=PROJECT_ROOT
    )

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
