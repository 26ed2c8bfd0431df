"""`kill -9` of a cycle at any point, then another `ecom run`, gives exactly what a clean run gives, and marts
that another Delta reader opens after their merges; on that state, files uploaded again and a full rebuild
change nothing. One story, so that the later checks start from the state the crashes left instead of paying
for clean cycles of their own."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from ingestion.generate import generate_deliveries
from ingestion.landing import upload_directory
from ingestion.settings import PROJECT_ROOT
from orchestration.cli import ensure_dagster_home
from orchestration.cycles import PID_TAG
from tests.conftest import assert_state_is_what_the_contract_says
from tests.reference import expected_outputs

pytestmark = pytest.mark.slow

STAGES = ("raw_tables", "dbt_models", "dynamodb_kpis", "archived_files")
STAGE_TIMEOUT_S = 600


def test_cycles_killed_in_each_stage_then_re_uploads_and_a_rebuild_end_as_the_contract_says(
    pipeline, tmp_path
):
    deliveries = generate_deliveries(tmp_path, orders=240, seed=3, count=2)
    chance = random.Random(4)
    upload_directory(pipeline.s3, pipeline.settings.bucket, deliveries[0])
    for stage in STAGES:
        _kill_when_in(pipeline, stage, delay_s=chance.uniform(0, 1.5))

    rerun = pipeline.ecom("run")

    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "marked failed" in rerun.stderr
    assert_state_is_what_the_contract_says(pipeline, deliveries[:1])

    # The first delivery's kill in dbt came during its first build, which creates every table; this one
    # comes among the MERGEs of an incremental build.
    upload_directory(pipeline.s3, pipeline.settings.bucket, deliveries[1])
    _kill_when_in(pipeline, "dbt_models", delay_s=chance.uniform(0, 3))
    assert pipeline.ecom("run").returncode == 0
    expected = assert_state_is_what_the_contract_says(pipeline, deliveries)
    _assert_marts_read_without_spark(pipeline, expected)
    before = expected.kpis

    # Files of the latest delivery again, under their own keys and under new ones: no KPI changes and
    # no DynamoDB item is written; their rows count as received and superseded.
    again = _copies_of_some_files(deliveries[-1], tmp_path / "again")
    upload_directory(pipeline.s3, pipeline.settings.bucket, again)
    resent = pipeline.ecom("run")

    assert resent.returncode == 0, resent.stderr[-3000:]
    assert pipeline.kpis("dynamodb") == pipeline.kpis("delta") == before
    assert resent.stderr.count("0 written, ") == 2, resent.stderr[-3000:]
    accounting = expected_outputs([*deliveries, again]).accounting
    assert pipeline.report()["entities"] == accounting
    assert pipeline.keys("landing/") == []

    # Every model rebuilt from the raw tables gives the same marts and accounting.
    rebuilt = pipeline.ecom("rebuild")

    assert rebuilt.returncode == 0, rebuilt.stderr[-3000:]
    assert pipeline.kpis("dynamodb") == pipeline.kpis("delta") == before
    assert pipeline.report()["entities"] == accounting
    # The rebuilt marts have absorbed every item change: the next cycle recomputes only what changes.
    newest_change = "SELECT cast(max(_changed_at) AS string) FROM marts.fct_order_items"
    newest = pipeline.spark.sql(newest_change).first()[0]
    for mart in ("marts.order_kpis", "marts.category_kpis"):
        properties = {
            row.key: row.value for row in pipeline.spark.sql(f"SHOW TBLPROPERTIES {mart}").collect()
        }
        assert properties["ecom.item_changes_through"] == newest, mart


def _copies_of_some_files(delivery: Path, again: Path) -> Path:
    for path in sorted(p for p in delivery.rglob("*") if p.is_file())[:4]:
        relative = path.relative_to(delivery)
        for target in (again / relative, again / relative.parent / f"resent-{relative.name}"):
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    return again


def _assert_marts_read_without_spark(pipeline, expected) -> None:
    """Another Delta reader (delta-rs, through the deltalake package) opens both marts with their types."""
    from deltalake import DeltaTable

    warehouse = Path(pipeline.settings.warehouse)
    for mart, rows in (("category_kpis", expected.category_kpis), ("order_kpis", expected.order_kpis)):
        arrow = DeltaTable(str(warehouse / "marts.db" / mart)).to_pyarrow_table()
        types = {field.name: str(field.type) for field in arrow.schema}
        assert types["order_date"] == "date32[day]"
        assert {types[name] for name in rows[0] if name.startswith(("avg_order", "total_rev", "daily"))} == {
            "decimal128(18, 2)"
        }
        read = [{**row, "order_date": row["order_date"].isoformat()} for row in arrow.to_pylist()]
        assert sorted(read, key=lambda row: tuple(map(str, row.values()))) == sorted(
            rows, key=lambda row: tuple(map(str, row.values()))
        )


def _kill_when_in(pipeline, stage: str, delay_s: float) -> None:
    """Start `ecom run`, and kill its whole process group (dbt included) `delay_s` into `stage`."""
    process = subprocess.Popen(
        [sys.executable, "-m", "orchestration.cli", "run"],
        env={**os.environ, **pipeline.env},
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _await_step_at_work(process, stage)
        time.sleep(delay_s)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _await_step_at_work(process: subprocess.Popen, stage: str) -> None:
    """The step has started; dbt's has built its first model too. dbt takes 5-9 s to start, so a kill
    within a second of the step's start would never land among the build's MERGEs."""
    ensure_dagster_home()
    events = dg.DagsterEventType
    sign = events.ASSET_MATERIALIZATION if stage == "dbt_models" else events.STEP_START
    deadline = time.monotonic() + STAGE_TIMEOUT_S
    with dg.DagsterInstance.get() as instance:
        while time.monotonic() < deadline:
            assert process.poll() is None, f"the cycle ended before reaching {stage}"
            for run in instance.get_runs(filters=dg.RunsFilter(tags={PID_TAG: str(process.pid)})):
                if any(record.step_key == stage for record in instance.all_logs(run.run_id, of_type=sign)):
                    return
            time.sleep(0.2)
    raise AssertionError(f"the cycle did not reach {stage} within {STAGE_TIMEOUT_S}s")
