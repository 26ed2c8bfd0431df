"""Export and archive against DynamoDB Local and the S3 emulator."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from export.archive import move_applied_files
from export.dynamodb import kpi_tables, scan_items, sync_table
from export.mart_changes import order_dates_recomputed
from ingestion.raw_tables import LedgerEntry
from orchestration.passed_tests import table_states

pytestmark = pytest.mark.slow


def _order_row(day: str, revenue: str) -> dict:
    return {
        "order_date": day,
        "total_orders": 2,
        "total_revenue": Decimal(revenue),
        "total_items_sold": 3,
        "return_rate": Decimal("0.5000"),
        "unique_customers": 1,
        "avg_order_value": Decimal("17.50"),
    }


def test_sync_creates_an_on_demand_table_upserts_and_deletes_stale_keys(pipeline):
    _, table = kpi_tables("cat", "ord_sync")
    client = pipeline.dynamodb

    sync_table(client, table, [_order_row("2025-03-08", "35.00"), _order_row("2025-03-09", "0.01")])
    result = sync_table(client, table, [_order_row("2025-03-08", "123456789012.35")])

    description = client.describe_table(TableName="ord_sync")["Table"]
    assert description["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert description["KeySchema"] == [{"AttributeName": "order_date", "KeyType": "HASH"}]
    assert (result.written, result.unchanged, result.deleted) == (1, 0, 1)
    (item,) = scan_items(client, "ord_sync")
    assert item["order_date"] == "2025-03-08"
    assert item["total_revenue"] == Decimal("123456789012.35")
    assert item["return_rate"] == Decimal("0.5")


def test_sync_writes_only_new_and_changed_rows_and_converges_after_an_interrupted_export(pipeline):
    _, table = kpi_tables("cat", "ord_diff")
    client = pipeline.dynamodb
    before = [_order_row("2025-03-07", "1.00"), _order_row("2025-03-08", "9831.60")]
    after = [_order_row("2025-03-08", "9831.60"), _order_row("2025-03-09", "2.50")]
    sync_table(client, table, before)
    # An export killed half-way: one of the new rows written, the stale key still there.
    client.put_item(TableName="ord_diff", Item=table.item(after[1]))

    result = sync_table(client, table, after)

    assert (result.written, result.unchanged, result.deleted) == (0, 2, 1)
    assert sorted(item["order_date"] for item in scan_items(client, "ord_diff")) == [
        "2025-03-08",
        "2025-03-09",
    ]
    changed = sync_table(client, table, [after[0], _order_row("2025-03-09", "2.51")])
    assert (changed.written, changed.unchanged, changed.deleted) == (1, 1, 0)


def _entry(key: str, outcome: str, etag: str, size: int, reason: str | None = None) -> LedgerEntry:
    return LedgerEntry(
        key=key,
        etag=etag,
        size=size,
        landed_at=datetime.now(UTC),
        entity="orders",
        cycle_id="run-1",
        outcome=outcome,
        reason=reason,
        detail="the header lacks user_id" if reason else None,
        row_count=0,
    )


def test_files_move_byte_for_byte_with_a_sidecar_for_rejected_ones(pipeline):
    s3, bucket = pipeline.s3, pipeline.settings.bucket
    good, bad = b"order_id,user_id,status,created_at\r\n1,2,shipped,2025-01-01 00:00:00\r\n", b"\x00\x01junk"
    entries = []
    for key, body, outcome, reason in (
        ("landing/orders/2025/good.csv", good, "accepted", None),
        ("landing/orders/bad.bin", bad, "rejected", "unsupported_file_type"),
    ):
        etag = s3.put_object(Bucket=bucket, Key=key, Body=body)["ETag"].strip('"')
        entries.append(_entry(key, outcome, etag, len(body), reason))

    moved = move_applied_files(s3, bucket, entries)

    assert moved == {"archived": 1, "errored": 1}
    assert pipeline.keys("landing/") == []
    assert s3.get_object(Bucket=bucket, Key="archive/orders/2025/good.csv")["Body"].read() == good
    assert s3.get_object(Bucket=bucket, Key="errors/orders/bad.bin")["Body"].read() == bad
    sidecar = json.loads(s3.get_object(Bucket=bucket, Key="errors/orders/bad.bin.error.json")["Body"].read())
    assert sidecar["reason"] == "unsupported_file_type" and sidecar["cycle_id"] == "run-1"


def test_a_redelivery_under_the_same_key_keeps_both_archived_copies(pipeline):
    s3, bucket = pipeline.s3, pipeline.settings.bucket
    for body in (b"first version\n", b"second version\n"):
        etag = s3.put_object(Bucket=bucket, Key="landing/orders/same.csv", Body=body)["ETag"].strip('"')
        move_applied_files(s3, bucket, [_entry("landing/orders/same.csv", "accepted", etag, len(body))])
    bodies = sorted(s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in pipeline.keys("archive/"))
    assert bodies == [b"first version\n", b"second version\n"]


class _ChangeDuringTheMove:
    """The S3 client, with the source's key changed by someone else right after each copy."""

    def __init__(self, s3, change) -> None:
        self._s3, self._change = s3, change

    def copy_object(self, **kwargs):
        copied = self._s3.copy_object(**kwargs)
        self._change(self._s3, kwargs["Bucket"], kwargs["CopySource"]["Key"])
        return copied

    def __getattr__(self, name: str):
        return getattr(self._s3, name)


def _upload_again(s3, bucket: str, key: str) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=b"order_id\n2\n")


def _delete(s3, bucket: str, key: str) -> None:
    s3.delete_object(Bucket=bucket, Key=key)


@pytest.mark.parametrize(("change", "left_in_landing"), [(_upload_again, [b"order_id\n2\n"]), (_delete, [])])
def test_a_change_to_a_file_while_it_is_moved_keeps_both_the_archived_and_the_new_content(
    pipeline, change, left_in_landing
):
    s3, bucket, key = pipeline.s3, pipeline.settings.bucket, "landing/orders/raced.csv"
    applied = b"order_id\n1\n"
    etag = s3.put_object(Bucket=bucket, Key=key, Body=applied)["ETag"].strip('"')
    entry = _entry(key, "accepted", etag, len(applied))

    moved = move_applied_files(_ChangeDuringTheMove(s3, change), bucket, [entry])

    assert moved == {"archived": 1, "errored": 0}
    assert s3.get_object(Bucket=bucket, Key="archive/orders/raced.csv")["Body"].read() == applied
    landing = [s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in pipeline.keys("landing/")]
    assert landing == left_in_landing


# As the marts merge: recomputed dates updated or inserted, a recomputed date left without rows deleted.
MERGE = (
    "MERGE INTO {table} t USING (SELECT * FROM VALUES {rows} AS s(order_date, total_orders)) s "
    "ON t.order_date = s.order_date WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT * "
    "WHEN NOT MATCHED BY SOURCE AND t.order_date = DATE'{emptied}' THEN DELETE"
)


def test_a_cycle_finds_the_order_dates_a_kpi_mart_recomputed(pipeline):
    spark, table = pipeline.spark, "default.recomputed_dates_probe"
    spark.sql(f"DROP TABLE IF EXISTS {table}")
    assert _version(spark, table) is None
    created = (
        f"CREATE TABLE {table} USING delta TBLPROPERTIES ('delta.enableChangeDataFeed' = 'true') AS "
        "SELECT * FROM VALUES (DATE'2025-03-01', 1), (DATE'2025-03-02', 2), (DATE'2025-03-03', 3) "
        "AS t(order_date, total_orders)"
    )
    spark.sql(created)
    assert order_dates_recomputed(spark, table, None) == ["2025-03-01", "2025-03-02", "2025-03-03"]

    before = _version(spark, table)
    assert order_dates_recomputed(spark, table, before) == []
    merged = "(DATE'2025-03-02', 5), (DATE'2025-03-04', 1)"
    spark.sql(MERGE.format(table=table, rows=merged, emptied="2025-03-03"))
    spark.sql(f"ALTER TABLE {table} SET TBLPROPERTIES ('ecom.probe' = '1')")
    assert order_dates_recomputed(spark, table, before) == ["2025-03-02", "2025-03-03", "2025-03-04"]

    # Built again, or without a change feed: every date it holds.
    before = _version(spark, table)
    spark.sql(created.replace("CREATE TABLE", "CREATE OR REPLACE TABLE").replace("2025-03-0", "2025-04-0"))
    assert order_dates_recomputed(spark, table, before) == ["2025-04-01", "2025-04-02", "2025-04-03"]
    before = _version(spark, table)
    spark.sql(f"ALTER TABLE {table} SET TBLPROPERTIES ('delta.enableChangeDataFeed' = 'false')")
    spark.sql(MERGE.format(table=table, rows="(DATE'2025-04-01', 9)", emptied="2025-04-03"))
    assert order_dates_recomputed(spark, table, before) == ["2025-04-01", "2025-04-02"]


def _version(spark, table: str) -> int | None:
    """As a cycle reads it before dbt (orchestration/passed_tests.py)."""
    state = table_states(spark, [table])[table]
    return state.version if state else None
