"""Backfills are runs over a range of order-date partitions of the KPI marts, from the UI or `ecom backfill`;
the range reaches dbt as the vars the marts read. `ecom backfill` refuses a range that is not one."""

from __future__ import annotations

from typing import NoReturn

import dagster as dg
import pytest

from orchestration.cli import PARTITION_RANGE_TAGS, main
from orchestration.conventions import ORDER_DATES
from orchestration.dbt import DbtBuildConfig, dbt_arguments, dbt_models, order_dates_of
from orchestration.definitions import BACKFILL_JOB, defs
from orchestration.resources import EcomResource

MARTS = {dg.AssetKey(["marts", "category_kpis"]), dg.AssetKey(["marts", "order_kpis"])}

BAD_RANGES = [
    (["--start", "2025-03-09", "--end", "2025-03-01"], "--end 2025-03-01 is before --start 2025-03-09"),
    (["--start", "2025-02-30", "--end", "2025-03-01"], "--start '2025-02-30' is not a date"),
    (["--start", "2025-3-1", "--end", "2025-03-01"], "--start '2025-3-1' is not a date"),
    (["--start", "20250301", "--end", "2025-03-01"], "--start '20250301' is not a date"),
    (["--start", "2025-W10-1", "--end", "2025-03-01"], "--start '2025-W10-1' is not a date"),
    (["--start", "", "--end", "2025-03-01"], "--start '' is not a date"),
    (
        ["--start", "2018-12-31", "--end", "2019-01-02"],
        "--start 2018-12-31 is not an order-date partition: they run from 2019-01-01 to ",
    ),
    (["--start", "2025-03-01", "--end", "2999-01-01"], "--end 2999-01-01 is not an order-date partition"),
]


@pytest.mark.parametrize(("dates", "reason"), BAD_RANGES)
def test_ecom_backfill_refuses_a_bad_range_in_its_own_terms(dates, reason, capsys):
    assert main(["backfill", *dates]) == 2
    assert f"ecom backfill: {reason}" in capsys.readouterr().err


def test_a_range_of_partitions_reaches_dbt_as_vars():
    dates = dg.PartitionKeyRange("2025-03-01", "2025-03-03")
    assert dbt_arguments(DbtBuildConfig(), dates) == [
        "build",
        "--exclude-resource-type",
        "unit_test",
        "--vars",
        '{"backfill_start": "2025-03-01", "backfill_end": "2025-03-03"}',
    ]
    assert dbt_arguments(DbtBuildConfig(full_refresh=True), None) == [
        "build",
        "--exclude-resource-type",
        "unit_test",
        "--full-refresh",
    ]


class SparkUnreachable(EcomResource):
    """A step that stops before Spark never calls this."""

    def spark(self) -> NoReturn:
        raise AssertionError("the step reached Spark")


@pytest.mark.parametrize(
    ("run", "dates"),
    [
        ({"partition_key": "2025-03-01"}, "2025-03-01"),
        (
            {"tags": dict(zip(PARTITION_RANGE_TAGS, ("2025-03-01", "2025-03-03"), strict=True))},
            "2025-03-01 to 2025-03-03",
        ),
    ],
    ids=["one date", "a range"],
)
def test_a_full_refresh_of_some_partitions_stops_before_spark_or_dbt(run, dates):
    """A full refresh rebuilds every date; Dagster would record only the run's partitions as rebuilt."""
    result = dg.materialize(
        [dbt_models],
        selection=list(MARTS),
        run_config={"ops": {"dbt_models": {"config": {"full_refresh": True}}}},
        resources={"dbt": defs.resources["dbt"], "ecom": SparkUnreachable()},
        raise_on_error=False,
        **run,
    )
    failure = result.failure_data_for_node("dbt_models").error.message
    assert f"this run is for {dates}; nothing was built" in failure
    assert "launch marts_rebuild without a partition" in failure


@pytest.mark.parametrize(
    ("run", "dates"),
    [
        ({"partition_key": "2025-03-08"}, ("2025-03-08", "2025-03-08")),
        (
            {"partition_key_range": dg.PartitionKeyRange("2025-03-01", "2025-03-03")},
            ("2025-03-01", "2025-03-03"),
        ),
        ({}, None),
    ],
    ids=["one date, launched as a run", "a range, launched as a backfill", "a cycle"],
)
def test_the_order_dates_a_run_rebuilds_come_from_its_partitions(run, dates):
    order_dates = order_dates_of(dg.build_asset_context(**run))
    assert (order_dates and (order_dates.start, order_dates.end)) == dates


def test_the_kpi_marts_alone_have_a_partition_per_order_date():
    graph = defs.resolve_asset_graph()
    partitioned = {key for key in graph.get_all_asset_keys() if graph.get(key).partitions_def}
    assert partitioned == MARTS
    assert all(graph.get(key).partitions_def == ORDER_DATES for key in MARTS)


def test_a_backfill_rebuilds_the_marts_in_one_run_and_reexports_them():
    """One dbt build for the whole range, however many dates; the DynamoDB mirror follows in that run."""
    job = defs.resolve_job_def(BACKFILL_JOB)
    assert set(job.asset_layer.executable_asset_keys) == MARTS | {dg.AssetKey("dynamodb_kpis")}
    graph = defs.resolve_asset_graph()
    assert {graph.get(key).backfill_policy for key in MARTS} == {dg.BackfillPolicy.single_run()}
