"""What dbt selects when a cycle leaves a settled entity out (orchestration/dbt.py, nodes_left_out): its
models and the tests on its staging and checked models go; the tests on its current-state model stay,
and so does a test that also reads another entity. Checked with `dbt ls` on the project's manifest."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from ingestion.settings import PROJECT_ROOT
from orchestration.dbt import DbtBuildConfig, dbt_arguments, nodes_left_out
from orchestration.dbt_project import DBT_EXECUTABLE, dbt_project


def _listed(build: list[str], target: Path) -> set[str]:
    """The nodes a `dbt build` with these arguments runs (as dagster-dbt calls it: every node by fqn)."""
    project = ["--project-dir", str(PROJECT_ROOT), "--profiles-dir", str(PROJECT_ROOT)]
    output = ["--target-path", str(target), "--log-path", str(target), "--output", "name", "--quiet"]
    listed = subprocess.run(
        [DBT_EXECUTABLE, "ls", *build[1:], "--select", "fqn:*", *project, *output],
        capture_output=True,
        text=True,
        check=True,
        cwd=PROJECT_ROOT,
    )
    return set(listed.stdout.split())


def test_a_settled_entity_loses_its_models_but_not_the_tests_that_guard_the_marts(tmp_path):
    manifest = json.loads(dbt_project.manifest_path.read_text())
    whole = _listed(dbt_arguments(DbtBuildConfig(), None), tmp_path)

    without_products = _listed(
        dbt_arguments(DbtBuildConfig(), None, nodes_left_out(manifest, ["products"])), tmp_path
    )

    assert whole - without_products == {
        "stg_products",
        "int_products__checked",
        "int_products__current",
        "not_null_stg_products__source_key",
        "not_null_stg_products__row_number",
        "unique_combination_stg_products__source_key___landed_at___row_number",
        "unique_combination_int_products__checked__source_key___landed_at___row_number",
    }
    assert without_products <= whole
    guards = {"unique_int_products__current_product_id", "warn_sale_price_above_retail_price"}
    assert guards <= without_products
