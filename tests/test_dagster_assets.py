"""The Dagster assets and checks on the real services, materialized and executed directly."""

from __future__ import annotations

import dagster as dg
import pytest

from orchestration.assets import raw_tables
from orchestration.definitions import defs
from orchestration.resources import EcomResource

pytestmark = pytest.mark.slow


def test_raw_tables_asset_reports_files_and_rows_per_entity(pipeline):
    bucket = pipeline.settings.bucket
    pipeline.s3.put_object(
        Bucket=bucket,
        Key="landing/orders/o.csv",
        Body=b"order_id,user_id,status,created_at\n1,7,shipped,2025-01-01 10:00:00\n",
    )
    pipeline.s3.put_object(Bucket=bucket, Key="landing/orders/notes.txt", Body=b"hello")

    result = dg.materialize([raw_tables], resources={"ecom": EcomResource()})

    assert result.success
    by_asset = {
        event.asset_key.to_user_string(): event.step_materialization_data.materialization.metadata
        for event in result.get_asset_materialization_events()
    }
    assert by_asset["raw/orders"]["files"].value == 1
    assert by_asset["raw/orders"]["rows_appended"].value == 1
    assert by_asset["raw/products"]["rows_appended"].value == 0
    assert by_asset["raw/landed_files"]["files_rejected"].value == 1
    assert "notes.txt" in by_asset["raw/landed_files"]["rejections"].value


def test_the_freshness_check_warns_when_a_file_waits_unapplied_too_long(pipeline):
    pipeline.s3.put_object(
        Bucket=pipeline.settings.bucket, Key="landing/orders/waiting.csv", Body=b"order_id\n1\n"
    )
    job = defs.resolve_job_def("marts_freshness")

    result = job.execute_in_process(resources={"ecom": EcomResource(max_landing_lag_minutes=0)})

    evaluations = result.get_asset_check_evaluations()
    assert {e.asset_key.to_user_string() for e in evaluations} == {"marts/category_kpis", "marts/order_kpis"}
    assert {e.passed for e in evaluations} == {False}
    assert {e.severity for e in evaluations} == {dg.AssetCheckSeverity.WARN}
    assert evaluations[0].metadata["oldest_waiting"].value == "landing/orders/waiting.csv"
    assert result.success  # a warning, not a failed run
