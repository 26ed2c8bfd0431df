"""Ingestion against the real services: Spark reads the files straight from S3 (s3a) into raw Delta."""

from __future__ import annotations

import gzip
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pyspark.sql import Observation

from ingestion import raw_tables
from ingestion.entities import ENTITIES
from ingestion.raw_tables import LEDGER_TABLE, Cycle, ingest_landing
from orchestration.services import _java, spark_java_env

pytestmark = pytest.mark.slow

PRODUCTS = (
    b"\xef\xbb\xbfID,Name,Category,Retail_Price,Warehouse\r\n"
    b'1,"Jeans, ""slim""\r\nfit",Jeans,12.50,north\r\n'
    b"2,Plain Tee,Tops & Tees,.5,south\r\n"
    b"3,Cap,Accessories,1e2,east\r\n"
)
ITEMS = (
    b"id,order_id,product_id,status,sale_price\n10,100,1,delivered,49.9900016784668\n11,100,2,returned,5\n"
)


def _put(pipeline, key: str, body: bytes) -> None:
    pipeline.s3.put_object(Bucket=pipeline.settings.bucket, Key=key, Body=body)


def test_files_land_as_text_rows_with_lineage_and_physical_line_numbers(pipeline):
    _put(pipeline, "landing/products/2025/p.csv", PRODUCTS)
    _put(pipeline, "landing/order_items/i.csv.gz", gzip.compress(ITEMS))
    _put(pipeline, "landing/orders/bad.csv", b"order_id,status\n1,shipped\n")

    result = ingest_landing(
        pipeline.spark, pipeline.s3, pipeline.settings.bucket, Cycle("c-1", datetime.now(UTC))
    )

    assert result.rows_by_entity == {"orders": 0, "order_items": 2, "products": 3}
    assert [i.obj.key for i in result.rejected] == ["landing/orders/bad.csv"]
    products = {row["id"]: row.asDict() for row in pipeline.spark.table("raw.products").collect()}
    assert products["1"]["name"] == 'Jeans, "slim"\r\nfit' or products["1"]["name"] == 'Jeans, "slim"\nfit'
    assert products["2"]["retail_price"] == ".5"
    assert products["3"]["retail_price"] == "1e2"
    assert products["1"]["brand"] is None  # an optional column the file does not have
    assert [products[k]["_line_number"] for k in ("1", "2", "3")] == [2, 4, 5]
    assert [products[k]["_row_number"] for k in ("1", "2", "3")] == [1, 2, 3]
    assert {p["_source_key"] for p in products.values()} == {"landing/products/2025/p.csv"}
    assert {p["_cycle_id"] for p in products.values()} == {"c-1"}
    items = {row["id"]: row["sale_price"] for row in pipeline.spark.table("raw.order_items").collect()}
    assert items == {"10": "49.9900016784668", "11": "5"}

    ledger = {row["key"]: row.asDict() for row in pipeline.spark.table(LEDGER_TABLE).collect()}
    assert ledger["landing/orders/bad.csv"]["outcome"] == "rejected"
    assert ledger["landing/orders/bad.csv"]["reason"] == "missing_required_columns"
    assert ledger["landing/products/2025/p.csv"]["row_count"] == 3


def test_line_numbers_count_the_blank_lines_spark_skips(pipeline):
    body = b'id,category\n1,A\n\n2,"x\n\ny"\n\r\n3,B\n'
    _put(pipeline, "landing/products/blank.csv", body)
    _put(pipeline, "landing/products/blank_crlf.csv", b"id,category\r\n4,A\r\n\r\n\r\n5,B\r\n")

    ingest_landing(pipeline.spark, pipeline.s3, pipeline.settings.bucket, Cycle("c-1", datetime.now(UTC)))

    rows = pipeline.spark.table("raw.products").select("id", "_line_number", "_row_number").collect()
    assert sorted((r["id"], r["_line_number"], r["_row_number"]) for r in rows) == [
        ("\r", 7, 3),
        ("1", 2, 1),
        ("2", 4, 2),
        ("3", 8, 4),
        ("4", 2, 1),
        ("5", 5, 2),
    ]


def test_files_with_and_without_quotes_number_their_rows_alike(pipeline):
    crlf = b"id,category\r\n1,A\r\n\r\n2,B,extra\r\n3,C\r\n"  # a blank line, a row with a field too many
    _put(pipeline, "landing/products/crlf.csv", crlf)
    _put(pipeline, "landing/products/lf.csv.gz", gzip.compress(crlf.replace(b"\r\n", b"\n")))
    _put(pipeline, "landing/products/quoting.csv", crlf.replace(b"3,C", b'3,"C"'))

    ingest_landing(pipeline.spark, pipeline.s3, pipeline.settings.bucket, Cycle("c-1", datetime.now(UTC)))

    rows = pipeline.spark.table("raw.products").select("_source_key", "id", "_row_number", "_line_number")
    numbers: dict[str, list] = {}
    for key, *numbered in sorted(rows.collect()):
        numbers.setdefault(key.removeprefix("landing/products/"), []).append(tuple(numbered))
    expected = [("1", 1, 2), ("2", 2, 4), ("3", 3, 5)]
    assert numbers == {"crlf.csv": expected, "lf.csv.gz": expected, "quoting.csv": expected}


def test_the_ledger_counts_the_rows_of_each_file_of_a_cycle(pipeline):
    """Several files of one entity go in one write; the rows of each are counted as it goes."""
    files = {
        "plain.csv": b"id,category\n1,A\n2,B\n3,C\n",
        "quoting.csv": b'id,category\n4,"D\nE"\n5,F\n',
        "header_only.csv": b"id,category\n",
        "_read_from_a_copy.csv.gz": gzip.compress(b"id,category\n6,G\n7,H,extra\n"),
    }
    for name, body in files.items():
        _put(pipeline, f"landing/products/{name}", body)

    result = ingest_landing(
        pipeline.spark, pipeline.s3, pipeline.settings.bucket, Cycle("c-1", datetime.now(UTC))
    )

    ledger = pipeline.spark.table(LEDGER_TABLE).select("key", "row_count", "outcome").collect()
    assert {row["key"].removeprefix("landing/products/"): row["row_count"] for row in ledger} == {
        "plain.csv": 3,
        "quoting.csv": 2,
        "header_only.csv": 0,
        "_read_from_a_copy.csv.gz": 2,
    }
    assert {row["outcome"] for row in ledger} == {"accepted"}
    assert result.rows_by_entity["products"] == 7


def test_a_write_that_sends_back_no_count_names_the_file_and_what_becomes_of_its_rows():
    """A count that never came back is an Observation with no result, as pyspark leaves it."""
    never_sent_back = Observation()

    with pytest.raises(RuntimeError) as raised:
        raw_tables._observed_rows(never_sent_back, "landing/orders/a.csv", ENTITIES["orders"])

    assert "landing/orders/a.csv" in str(raised.value)
    assert "the next cycle applies it again" in str(raised.value)


def test_a_cycle_applies_a_backlog_of_many_files_of_one_entity(pipeline):
    """Spark Connect refuses deeply nested plans: the files' union and the condition naming their deliveries
    must not grow one level per file (49 files failed every cycle)."""
    for number in range(60):
        _put(
            pipeline,
            f"landing/orders/{number:03}.csv",
            f"order_id,user_id,status,created_at\no{number},u,x,y\n".encode(),
        )

    result = ingest_landing(
        pipeline.spark, pipeline.s3, pipeline.settings.bucket, Cycle("c-1", datetime.now(UTC))
    )

    assert result.rows_by_entity["orders"] == 60
    rows = pipeline.spark.table("raw.orders").select("order_id", "_source_key", "_row_number").collect()
    assert sorted((r["_source_key"], r["order_id"], r["_row_number"]) for r in rows) == [
        (f"landing/orders/{number:03}.csv", f"o{number}", 1) for number in range(60)
    ]


def test_files_whose_keys_spark_would_misread_are_read_whole_and_once(pipeline):
    """Spark takes `[1]` or `{x}` in a path for a pattern, and skips names starting with `_` or `.`."""
    names = ["_a.csv", ".b.csv", "c[1].csv", "c1.csv", "d{x}.csv", "_dir/e.csv", "f*.csv", "fg.csv"]
    for number, name in enumerate(names):
        _put(
            pipeline,
            f"landing/orders/{name}",
            f"order_id,user_id,status,created_at\no{number},u,x,y\n".encode(),
        )
    _put(pipeline, "ingesting/killed-cycle/0.csv", b"left by a cycle killed before it removed its copies")

    ingest_landing(pipeline.spark, pipeline.s3, pipeline.settings.bucket, Cycle("c-1", datetime.now(UTC)))

    rows = pipeline.spark.table("raw.orders").select("order_id", "_source_key").collect()
    assert sorted((r["_source_key"], r["order_id"]) for r in rows) == sorted(
        (f"landing/orders/{name}", f"o{number}") for number, name in enumerate(names)
    )
    assert pipeline.keys("ingesting/") == []


def test_a_file_already_applied_is_not_read_again(pipeline):
    _put(pipeline, "landing/order_items/i.csv", ITEMS)
    bucket = pipeline.settings.bucket
    ingest_landing(pipeline.spark, pipeline.s3, bucket, Cycle("c-1", datetime.now(UTC)))

    again = ingest_landing(pipeline.spark, pipeline.s3, bucket, Cycle("c-2", datetime.now(UTC)))

    assert again.accepted == [] and again.rows_by_entity["order_items"] == 0
    assert pipeline.spark.table("raw.order_items").count() == 2


def test_a_cycle_killed_between_the_raw_commit_and_the_ledger_leaves_no_duplicate_rows(pipeline, monkeypatch):
    _put(pipeline, "landing/order_items/i.csv", ITEMS)
    _put(pipeline, "landing/order_items/2.csv", ITEMS.replace(b"10,100", b"12,100"))
    bucket = pipeline.settings.bucket
    with monkeypatch.context() as patched:
        patched.setattr(raw_tables, "_record_in_ledger", _killed)
        with pytest.raises(SystemExit):
            ingest_landing(pipeline.spark, pipeline.s3, bucket, Cycle("killed", datetime.now(UTC)))
    assert pipeline.spark.table("raw.order_items").count() == 4  # committed, not yet in the ledger

    rerun = ingest_landing(pipeline.spark, pipeline.s3, bucket, Cycle("c-2", datetime.now(UTC)))

    assert rerun.rows_by_entity["order_items"] == 4
    rows = pipeline.spark.table("raw.order_items").select("id", "_source_key", "_cycle_id").collect()
    assert sorted((r["id"], r["_cycle_id"]) for r in rows) == [
        ("10", "c-2"),
        ("11", "c-2"),
        ("11", "c-2"),
        ("12", "c-2"),
    ]
    assert pipeline.spark.table(LEDGER_TABLE).count() == 2


def _killed(*args, **kwargs):
    raise SystemExit("killed")


def test_the_spark_server_runs_on_the_jdk_chosen_for_it(pipeline):
    """The newest supported JDK when the machine has one (ECOM_SPARK_JAVA_HOME overrides), else the one
    DynamoDB Local runs on."""
    expected = spark_java_env().get("JAVA_HOME") or Path(shutil.which(_java()) or "").resolve().parents[1]
    query = "select reflect('java.lang.System', 'getProperty', 'java.home')"
    assert Path(pipeline.spark.sql(query).first()[0]).resolve() == Path(expected).resolve()
