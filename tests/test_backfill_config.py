"""Backfill dates are checked before dbt starts, the same way from the Launchpad and from `ecom backfill`."""

from __future__ import annotations

import dagster as dg
import pydantic
import pytest

from orchestration.cli import main
from orchestration.dbt import DbtBuildConfig
from orchestration.definitions import REBUILD_JOB, defs

BAD_RANGES = [
    ({"backfill_start": "2025-03-09", "backfill_end": "2025-03-01"}, "is before backfill_start"),
    ({"backfill_start": "2025-02-30", "backfill_end": "2025-03-01"}, "'2025-02-30' is not a date"),
    ({"backfill_start": "2025-3-1", "backfill_end": "2025-03-01"}, "'2025-3-1' is not a date"),
    ({"backfill_start": "20250301", "backfill_end": "2025-03-01"}, "'20250301' is not a date"),
    ({"backfill_start": "2025-W10-1", "backfill_end": "2025-03-01"}, "'2025-W10-1' is not a date"),
    ({"backfill_start": "", "backfill_end": "2025-03-01"}, "'' is not a date"),
    ({"backfill_start": "2025-03-01"}, "give both backfill_start and backfill_end"),
]


@pytest.mark.parametrize(("dates", "reason"), BAD_RANGES)
def test_a_bad_backfill_range_is_refused_with_its_reason(dates, reason):
    with pytest.raises(pydantic.ValidationError, match=reason):
        DbtBuildConfig(**dates)


def test_a_backfill_range_reaches_dbt_as_vars():
    config = DbtBuildConfig(backfill_start="2025-03-01", backfill_end="2025-03-03")
    assert config.dbt_arguments() == [
        "build",
        "--exclude-resource-type",
        "unit_test",
        "--vars",
        '{"backfill_start": "2025-03-01", "backfill_end": "2025-03-03"}',
    ]


def test_a_launchpad_backfill_with_a_bad_date_fails_before_dbt_and_exports_nothing():
    dates = {"backfill_start": "2025-13-01", "backfill_end": "2025-12-31"}
    run_config = {"ops": {"dbt_models": {"config": dates}}}
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def(REBUILD_JOB).execute_in_process(
            run_config=run_config, instance=instance, raise_on_error=False
        )
    assert not result.success
    [failure] = [event for event in result.all_events if event.is_step_failure]
    assert failure.step_key == "dbt_models"
    assert "backfill_start '2025-13-01' is not a date in the form YYYY-MM-DD" in str(
        failure.step_failure_data.error.to_string()
    )
    assert [event.step_key for event in result.all_events if event.is_step_start] == ["dbt_models"]


def test_ecom_backfill_refuses_a_bad_range_in_its_own_terms(capsys):
    assert main(["backfill", "--start", "2025-03-09", "--end", "2025-03-01"]) == 2
    assert "ecom backfill: --end 2025-03-01 is before --start 2025-03-09" in capsys.readouterr().err
