"""Bad input and outages through whole cycles: nothing crashes, nothing is lost, every row counts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ingestion.landing import upload_directory
from tests.conftest import assert_state_is_what_the_contract_says
from tests.notices import RunStatusWatch

pytestmark = pytest.mark.slow

FAULTS = Path(__file__).parent / "data" / "faults"


def test_every_fault_is_accounted_for_and_every_file_kept_byte_for_byte_through_an_outage(pipeline, notices):
    """The first delivery's first cycle fails at export (DynamoDB unreachable) after its rows are committed:
    the failure names the service and leaves every file where it was; the rerun completes it."""
    rejections, failures = RunStatusWatch("cycle_rejections_notice"), RunStatusWatch("cycle_failure_notice")
    upload_directory(pipeline.s3, pipeline.settings.bucket, FAULTS / "d1")
    landed = pipeline.keys("landing/")

    failed = pipeline.ecom_with({"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:9"}, "run")

    assert failed.returncode == 1
    assert "DynamoDB is unreachable at http://127.0.0.1:9" in failed.stderr
    assert "No file was moved" in failed.stderr
    assert re.search(r"^ingestion +ok +\d+\.\d$", failed.stderr, re.MULTILINE)
    assert re.search(r"^export +FAILED +\d+\.\d$", failed.stderr, re.MULTILINE)
    assert (pipeline.keys("landing/"), pipeline.keys("archive/")) == (landed, [])
    assert failures.tick() == []
    (failure,) = notices.received()
    assert failure["Subject"] == "ecom cycle failed at export"
    assert failure["MessageAttributes"]["stage"]["Value"] == "export"
    assert "DynamoDB is unreachable at http://127.0.0.1:9" in failure["Message"]
    assert all(key in failure["Message"] for key in landed)

    rerun = pipeline.ecom("run")

    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert_state_is_what_the_contract_says(pipeline, [FAULTS / "d1"])
    upload_directory(pipeline.s3, pipeline.settings.bucket, FAULTS / "d2")
    assert pipeline.ecom("run").returncode == 0
    assert_state_is_what_the_contract_says(pipeline, [FAULTS / "d1", FAULTS / "d2"])
    assert rejections.tick() == []
    summaries = notices.received()
    assert [n["MessageAttributes"]["event"]["Value"] for n in summaries] == ["cycle_rejections"] * 2
    # The first delivery's rejections were committed by the cycle that failed: the rerun tells of them.
    assert summaries[0]["Subject"].startswith("ecom cycle rejected ")
    assert "4 whole file(s)" in summaries[0]["Message"]
    assert "| row | orders | invalid_status | 1 | 1 |" in summaries[0]["Message"]
    assert "rejected 0 row(s), 1 file(s)" in summaries[1]["Subject"]

    errored = [key for key in pipeline.keys("errors/") if not key.endswith(".error.json")]
    reasons = {
        key: json.loads(
            pipeline.s3.get_object(Bucket=pipeline.settings.bucket, Key=f"{key}.error.json")["Body"].read()
        )["reason"]
        for key in errored
    }
    assert reasons == {
        "errors/misc/unknown.csv": "unknown_entity",
        "errors/order_items/corrupt.csv.gz": "undecodable",
        "errors/order_items/missing_price_column.csv": "missing_required_columns",
        "errors/orders/empty.csv": "empty_file",
        "errors/orders/orders.json": "unsupported_file_type",
    }

    quarantined = {
        (row["record_key"], row["line_number"]): sorted(row["rejection_reasons"])
        for row in pipeline.spark.table("quarantine.rejected_rows").collect()
    }
    assert quarantined[("o3", 4)] == ["invalid_status"]
    assert quarantined[("o4", 5)] == ["unparseable_created_at"]
    assert quarantined[("o6", 7)] == ["shipped_before_created"]
    assert quarantined[("o8", 9)] == ["field_count_mismatch"]
    assert quarantined[("i8", 9)] == ["negative_sale_price"]
    assert quarantined[("i13", 13)] == ["unparseable_sale_price"]  # 1e17: past the marts' decimal(18,2)
    assert quarantined[("p3", 4)] == ["missing_category"]
    assert quarantined[("p6", 7)] == ["too_long_category"]  # 2,050 bytes: past DynamoDB's key limit
    pending = {
        row["order_item_id"]: row["waiting_for"]
        for row in pipeline.spark.table("quarantine.order_items_pending").collect()
    }
    assert pending == {"i3": "order", "i5": "product", "i6": "order"} or pending["i6"] == "order"


def test_a_cycle_of_only_bad_files_succeeds_and_records_each_of_them(pipeline):
    bad = FAULTS / "d1"
    names = ("orders/orders.json", "orders/empty.csv", "order_items/corrupt.csv.gz")
    for name in names:
        pipeline.s3.put_object(
            Bucket=pipeline.settings.bucket, Key=f"landing/{name}", Body=(bad / name).read_bytes()
        )

    run = pipeline.ecom("run")

    assert run.returncode == 0, run.stderr[-3000:]
    assert pipeline.keys("landing/") == []
    assert pipeline.keys("errors/") == sorted(
        f"errors/{n}{suffix}" for n in names for suffix in ("", ".error.json")
    )
    report = pipeline.report()
    assert report["files"] == {"archived": 0, "errored": 3}
    assert {figures["received"] for figures in report["entities"].values()} == {0}
