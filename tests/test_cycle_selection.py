"""What dbt selects when a cycle leaves a settled entity out (orchestration/dbt.py, nodes_left_out): its
models and the tests on its staging and checked models go; the tests on its current-state model stay,
and so does a test that also reads another entity. Checked with `dbt ls` on the project as it is. Runs
that must build what they select never leave anything out."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import pytest

from ingestion.settings import PROJECT_ROOT
from orchestration.dbt import DbtBuildConfig, dbt_arguments, nodes_left_out, settled_entities
from orchestration.dbt_project import DBT_EXECUTABLE


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
    whole = _listed(dbt_arguments(DbtBuildConfig(), None), tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())

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


class SparkUntouched:
    """Spark for a run that must not ask which entities are settled."""

    def __getattr__(self, name: str):
        raise AssertionError(f"the run asked Spark for {name}")


@pytest.mark.parametrize(
    ("picked", "config", "dates"),
    [
        (True, DbtBuildConfig(), None),
        (False, DbtBuildConfig(full_refresh=True), None),
        (False, DbtBuildConfig(), dg.PartitionKeyRange("2025-03-01", "2025-03-03")),
    ],
    ids=["assets picked in the UI", "a rebuild", "a backfill"],
)
def test_a_run_that_builds_what_it_selects_leaves_nothing_out(picked, config, dates):
    context = SimpleNamespace(is_subset=picked)
    assert settled_entities(context, SparkUntouched(), config, dates) == []
