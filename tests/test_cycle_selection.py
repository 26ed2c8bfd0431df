"""What dbt selects when a cycle leaves a settled entity out (orchestration/dbt.py, nodes_left_out): its
models and the tests on its staging and checked models go; the tests on its current-state model stay,
and so does a test that also reads another entity. Checked with `dbt ls` on the project as it is. Runs
that must build what they select never leave anything out. And which tests a cycle leaves out because
they passed on the tables as they are (orchestration/passed_tests.py), on the project's manifest."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import pytest
from pyspark.sql import Row

from ingestion.settings import PROJECT_ROOT
from orchestration.dbt import (
    NOTHING_READ,
    DbtBuildConfig,
    _written_once_at_most,
    cycle_start,
    dbt_arguments,
    entity_tables,
    nodes_left_out,
    read_cycle_start,
)
from orchestration.dbt_project import DBT_EXECUTABLE, dbt_project
from orchestration.passed_tests import (
    TableState,
    already_passed,
    data_test_scopes,
    data_tests,
    key_tests,
    record_passes,
    source_tables,
    tables_read,
)


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


class SparkAnswering:
    """Spark that answers the cycle-start query with the newest raw rows only, and keeps what it was asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def sql(self, query: str):
        self.asked.append(query)
        row = Row(raw_orders=None, raw_order_items=None, raw_products=None, newest_raw="2026-11-24 01:00:00")
        return SimpleNamespace(first=lambda: row)


def test_no_entity_is_settled_while_one_of_their_tables_is_missing():
    """Before the first build, or after a table was dropped: dbt must create it. The table states the
    cycle read before dbt tell; the newest raw row is still read, for the tests' scopes. Before the raw
    tables exist nothing is read."""
    raw = dict.fromkeys(source_tables(PROJECT_MANIFEST), TableState(3, "2026-11-24T01:00:00"))
    states = {**raw, **dict.fromkeys(entity_tables(), TableState(3, "2026-11-24T01:00:00"))}
    states["intermediate.int_products__checked"] = None
    spark = SparkAnswering()

    assert read_cycle_start(spark, states) == ([], "2026-11-24 01:00:00")
    [query] = spark.asked
    assert "int_" not in query
    assert read_cycle_start(SparkUntouched(), {}) == NOTHING_READ


@pytest.mark.parametrize(
    ("picked", "config", "dates"),
    [
        (True, DbtBuildConfig(), None),
        (False, DbtBuildConfig(full_refresh=True), None),
        (False, DbtBuildConfig(), dg.PartitionKeyRange("2025-03-01", "2025-03-03")),
    ],
    ids=["assets picked in the UI", "a rebuild", "a backfill"],
)
def test_a_run_that_builds_what_it_selects_leaves_nothing_out_and_scopes_no_test(picked, config, dates):
    context = SimpleNamespace(is_subset=picked)
    assert cycle_start(context, SparkUntouched(), {}, config, dates) == NOTHING_READ


PROJECT_MANIFEST = json.loads(dbt_project.manifest_path.read_text())


def _states(**changed: str | None) -> dict[str, TableState | None]:
    """Every tested table at version 1, but those given (by table name with `__` for `.`)."""
    states = {table: TableState(1, "2026-11-24T01:00:00") for table in _tables_of_all_tests()}
    for name, committed in changed.items():
        states[name.replace("__", ".", 1)] = TableState(2, committed) if committed else None
    return states


def _tables_of_all_tests() -> set[str]:
    return {t for test in data_tests(PROJECT_MANIFEST).values() for t in tables_read(PROJECT_MANIFEST, test)}


def _results(status: str, **statuses: str) -> dict:
    """Every test with `status`, but those named."""
    return {
        "results": [
            {"unique_id": uid, "status": statuses.get(test["name"], status)}
            for uid, test in data_tests(PROJECT_MANIFEST).items()
        ]
    }


def _tests_reading(table: str) -> set[str]:
    return {
        test["name"]
        for test in data_tests(PROJECT_MANIFEST).values()
        if table in tables_read(PROJECT_MANIFEST, test)
    }


def test_a_test_is_left_out_only_while_it_passed_on_every_table_it_reads_as_it_is():
    every_test = {test["name"] for test in data_tests(PROJECT_MANIFEST).values()}
    records = record_passes(
        PROJECT_MANIFEST, {}, _results("pass", warn_sale_price_above_retail_price="warn"), _states(), {}
    )

    assert already_passed(PROJECT_MANIFEST, {}, _states()) == []
    assert set(already_passed(PROJECT_MANIFEST, records, _states())) == every_test
    # A view is followed to the table under it: a raw table's commit brings back its staging tests.
    changed = set(already_passed(PROJECT_MANIFEST, records, _states(raw__products="2026-11-24T02:00:00")))
    assert every_test - changed == _tests_reading("raw.products")
    assert "not_null_stg_products__source_key" in _tests_reading("raw.products")
    # One commit to a current-state table brings back the tests on it, the price check that joins it too.
    changed = set(
        already_passed(
            PROJECT_MANIFEST, records, _states(intermediate__int_products__current="2026-11-24T02:00:00")
        )
    )
    assert (
        every_test - changed
        == _tests_reading("intermediate.int_products__current")
        >= {
            "unique_int_products__current_product_id",
            "warn_sale_price_above_retail_price",
        }
    )
    # A table that is gone, or dropped and built again to the same version number, is not the same table.
    gone = set(already_passed(PROJECT_MANIFEST, records, _states(marts__order_kpis=None)))
    assert every_test - gone == _tests_reading("marts.order_kpis")
    same_number = {**_states(), "marts.order_kpis": TableState(1, "2026-11-24T03:00:00")}
    assert every_test - set(already_passed(PROJECT_MANIFEST, records, same_number)) == _tests_reading(
        "marts.order_kpis"
    )


def test_a_test_that_failed_or_whose_code_changed_runs_again():
    passed = record_passes(PROJECT_MANIFEST, {}, _results("pass"), _states(), {})
    failed = record_passes(
        PROJECT_MANIFEST, passed, _results("skipped", unique_order_kpis_order_date="fail"), _states(), {}
    )

    assert "unique_order_kpis_order_date" in already_passed(PROJECT_MANIFEST, passed, _states())
    assert "unique_order_kpis_order_date" not in already_passed(PROJECT_MANIFEST, failed, _states())
    # A test that did not run (skipped, left out) keeps its record.
    assert len(already_passed(PROJECT_MANIFEST, failed, _states())) == len(passed) - 1
    # New code for a project macro (a generic test, a parsing rule) brings every test back.
    edited = copy.deepcopy(PROJECT_MANIFEST)
    macro = next(m for m in edited["macros"].values() if m["package_name"] == "ecom_kpis")
    macro["macro_sql"] += "\n"
    assert already_passed(edited, passed, _states()) == []


KEY_TESTS = {
    "unique_int_orders__current_order_id": "_ingested_at",
    "not_null_int_orders__current_order_id": "_ingested_at",
    "unique_int_order_items__current_order_item_id": "_ingested_at",
    "not_null_int_order_items__current_order_item_id": "_ingested_at",
    "unique_int_products__current_product_id": "_ingested_at",
    "not_null_int_products__current_product_id": "_ingested_at",
    "unique_combination_int_orders__checked__source_key___landed_at___row_number": "_ingested_at",
    "unique_combination_int_order_items__checked__source_key___landed_at___row_number": "_ingested_at",
    "unique_combination_int_products__checked__source_key___landed_at___row_number": "_ingested_at",
    "unique_fct_orders_order_id": "_changed_at",
    "not_null_fct_orders_order_id": "_changed_at",
    "unique_fct_order_items_order_item_id": "_changed_at",
    "not_null_fct_order_items_order_item_id": "_changed_at",
}


def _names(scoped: dict) -> dict[str, str]:
    tests = data_tests(PROJECT_MANIFEST)
    return {tests[uid]["name"]: scope["column"] for uid, scope in scoped.items()}


def test_only_tests_of_the_key_a_model_is_merged_on_may_be_scoped():
    tests = data_tests(PROJECT_MANIFEST)
    scoped = {tests[uid]["name"]: column for uid, (_, column) in key_tests(PROJECT_MANIFEST).items()}
    # Not the other tests on those models: a merge may rewrite an order of fct_orders (an item left it)
    # with an old _changed_at, and its band must still be right.
    assert scoped == KEY_TESTS
    assert {
        "accepted_values_fct_orders_order_value_band__Small__Medium__Large",
        "not_null_fct_order_items_is_counted",
    }.isdisjoint(scoped)


def test_a_model_with_the_scope_meta_must_be_merged_on_a_key():
    manifest = copy.deepcopy(PROJECT_MANIFEST)
    fct_orders = next(node for node in manifest["nodes"].values() if node["name"] == "fct_orders")
    fct_orders["config"]["materialized"] = "table"
    with pytest.raises(ValueError, match="fct_orders: scope_key_tests_by is only for a model merged"):
        key_tests(manifest)


def _cycle_through(time: str = "2026-11-24 01:00:00") -> dict[str, str]:
    return dict.fromkeys(_tables_of_all_tests(), time)


def test_a_key_test_reads_only_newer_rows_after_passing_in_a_cycle_on_the_table_as_it_is():
    cycle = record_passes(PROJECT_MANIFEST, {}, _results("pass"), _states(), _cycle_through())
    scopes = data_test_scopes(PROJECT_MANIFEST, cycle, _states())

    assert _names(scopes) == KEY_TESTS
    assert {scope["after"] for scope in scopes.values()} == {"2026-11-24 01:00:00"}
    # Passed in a rebuild, a backfill or a pick of assets (no time recorded): every row again. So too
    # for a table written twice during the cycle (orchestration/dbt.py gives it no time).
    other_run = record_passes(PROJECT_MANIFEST, cycle, _results("pass"), _states(), {})
    assert data_test_scopes(PROJECT_MANIFEST, other_run, _states()) == {}
    # Written since by anything but the build to come (its version moved): every row of that table.
    moved = _states(marts__fct_orders="2026-11-24T02:00:00")
    assert set(KEY_TESTS) - set(_names(data_test_scopes(PROJECT_MANIFEST, cycle, moved))) == {
        "unique_fct_orders_order_id",
        "not_null_fct_orders_order_id",
    }
    # Failed once: every row until it passes again.
    failed = record_passes(
        PROJECT_MANIFEST, cycle, _results("skipped", unique_fct_orders_order_id="fail"), _states(), {}
    )
    assert "unique_fct_orders_order_id" not in _names(data_test_scopes(PROJECT_MANIFEST, failed, _states()))
    # New code for the test, or for the model whose merge the scope relies on: every row.
    edited = copy.deepcopy(PROJECT_MANIFEST)
    macro = next(m for m in edited["macros"].values() if m["package_name"] == "ecom_kpis")
    macro["macro_sql"] += "\n"
    assert data_test_scopes(edited, cycle, _states()) == {}
    edited = copy.deepcopy(PROJECT_MANIFEST)
    _model(edited, "fct_orders")["checksum"]["checksum"] = "changed"
    assert set(KEY_TESTS) - set(_names(data_test_scopes(edited, cycle, _states()))) == {
        "unique_fct_orders_order_id",
        "not_null_fct_orders_order_id",
    }


def _model(manifest: dict, name: str) -> dict:
    return next(node for node in manifest["nodes"].values() if node["name"] == name)


def test_a_warning_or_a_uniqueness_test_of_part_of_the_key_is_not_scoped():
    warning = copy.deepcopy(PROJECT_MANIFEST)
    _test(warning, "unique_fct_orders_order_id")["config"]["severity"] = "warn"
    # Merged on (order_id, status): an inserted row can repeat an older row's order_id.
    part_of_the_key = copy.deepcopy(PROJECT_MANIFEST)
    _model(part_of_the_key, "fct_orders")["config"]["unique_key"] = ["order_id", "status"]

    for manifest in (warning, part_of_the_key):
        scoped = {data_tests(manifest)[uid]["name"] for uid in key_tests(manifest)}
        assert set(KEY_TESTS) - scoped == {"unique_fct_orders_order_id"}


def _test(manifest: dict, name: str) -> dict:
    return next(test for test in data_tests(manifest).values() if test["name"] == name)


def test_a_table_committed_to_twice_during_a_build_records_no_time_for_its_key_tests():
    """The build commits once at most (its merge); a second commit is someone else's write."""
    before = TableState(4, "2026-11-24T01:00:00")
    assert _written_once_at_most(before, before)
    assert _written_once_at_most(before, TableState(5, "2026-11-24T01:01:00"))
    assert not _written_once_at_most(before, TableState(6, "2026-11-24T01:02:00"))
    assert not _written_once_at_most(None, TableState(0, "2026-11-24T01:00:00"))
