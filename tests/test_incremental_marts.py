"""The marts are merged incrementally: each cycle recomputes only the order dates its changes touch. These
cycles move an order to another date twice, cancel the only order of a date, move a product to another
category and items to other orders, one of them an order that has not arrived yet (and then does);
after each, the KPIs must be exactly what the contract says (a full computation, the oracle), and after
the last two so must fct_orders.
Then a date-range backfill sets the rows of its dates right."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pytest

from ingestion.entities import ENTITIES
from ingestion.landing import upload_directory
from ingestion.settings import PROJECT_ROOT
from orchestration.dbt import entity_tables, read_cycle_start
from orchestration.passed_tests import load_records, source_tables, table_states
from tests.conftest import apply_one_cycle_each, assert_state_is_what_the_contract_says

pytestmark = pytest.mark.slow

MERGE_INTO = re.compile(r"^\s*merge into (\S+)", re.MULTILINE | re.IGNORECASE)
COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
PRUNED_FROM = re.compile(r"DBT_INTERNAL_DEST\._landed_at >= timestamp'([^']+)'")
# Conditions Delta's statistics of a table rule out for every file: the pipeline's filters (watermarks,
# merge pruning) and its not_null tests. No other column keeps statistics.
SKIPPED_BY_STATISTICS = {
    "raw.orders": ["_ingested_at > timestamp'2999-01-01'", "_row_number is null"],
    "intermediate.int_orders__checked": ["_landed_at > timestamp'2999-01-01'"],
    "intermediate.int_orders__current": ["_ingested_at > timestamp'2999-01-01'", "order_id is null"],
    "marts.fct_orders": ["_changed_at > timestamp'2999-01-01'", "order_id is null"],
}
ORDERS_HEADER = "order_id,user_id,status,gender,created_at,shipped_at,delivered_at,returned_at,num_of_item"
ITEMS_HEADER = "id,order_id,user_id,product_id,inventory_item_id,status,created_at,sale_price"

DELIVERIES = {
    "first": {
        "products/products.csv": ["id,category,name", "p1,Shoes,Runner", "p2,Jeans,Slim"],
        "orders/orders.csv": [
            ORDERS_HEADER,
            "o1,u1,Complete,F,2025-03-01 10:00:00,,,,2",
            "o2,u2,Returned,M,2025-03-02 10:00:00,,,,1",
            "o3,u1,Shipped,F,2025-03-03 10:00:00,,,,1",
        ],
        "order_items/order_items.csv": [
            ITEMS_HEADER,
            "i1,o1,u1,p1,v1,Complete,2025-03-01 10:00:00,10.005",
            "i2,o1,u1,p2,v2,Complete,2025-03-01 10:00:00,20.00",
            "i3,o2,u2,p2,v3,Returned,2025-03-02 10:00:00,30.10",
            "i4,o3,u1,p1,v4,Shipped,2025-03-03 10:00:00,5.55",
        ],
    },
    # o1 moves from 03-01 to 03-05 (03-01 loses every item), o2 is cancelled (03-02 loses its only
    # order), p1 moves to Socks (03-03's Shoes row becomes a Socks row), an item of a new order lands.
    "second": {
        "products/products.csv": ["id,category,name", "p1,Socks,Runner"],
        "orders/orders.csv": [
            ORDERS_HEADER,
            "o1,u1,Complete,F,2025-03-05 10:00:00,,,,2",
            "o2,u2,Cancelled,M,2025-03-02 10:00:00,,,,1",
            "o4,u3,Processing,M,2025-03-03 11:00:00,,,,1",
        ],
        "order_items/order_items.csv": [ITEMS_HEADER, "i5,o4,u3,p2,v5,Processing,2025-03-03 11:00:00,7.25"],
    },
    # o1 moves again, to a date that already has rows; i5's price is corrected; two items move: i2 from
    # o1 to o4, and i4 from o3 to o9, an order that has not arrived (i4 waits for it), leaving o3, which
    # does not change itself, without items. No product changes.
    "third": {
        "orders/orders.csv": [ORDERS_HEADER, "o1,u1,Complete,F,2025-03-03 09:00:00,,,,2"],
        "order_items/order_items.csv": [
            ITEMS_HEADER,
            "i2,o4,u1,p2,v2,Complete,2025-03-01 10:00:00,20.00",
            "i4,o9,u1,p1,v4,Shipped,2025-03-03 11:00:00,5.55",
            "i5,o4,u3,p2,v5,Processing,2025-03-03 11:00:00,8.25",
        ],
    },
    # o9 arrives, on a date of its own: i4, which waited for it, counts from now on (SPEC section 4).
    "fourth": {"orders/orders.csv": [ORDERS_HEADER, "o9,u1,Shipped,F,2025-03-04 10:00:00,,,,1"]},
}


def _write(root: Path, files: dict[str, list[str]]) -> Path:
    for relative, lines in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n")
    return root


def _latest_dbt_invocation() -> Path:
    """dagster-dbt keeps the log and results of every invocation in a folder of its own."""
    return max(
        (PROJECT_ROOT / "target").glob("dbt_models-*/dbt.log"), key=lambda log: log.stat().st_mtime
    ).parent


def _statements_of_the_latest_dbt_build() -> list[str]:
    log = (_latest_dbt_invocation() / "dbt.log").read_text()
    events = (json.loads(line) for line in log.splitlines() if line.startswith("{"))
    return [event["data"]["sql"] for event in events if event["info"]["name"] == "SQLQuery"]


def _merges_of_the_latest_dbt_build() -> dict[str, str]:
    statements = _statements_of_the_latest_dbt_build()
    return {match.group(1): sql for sql in statements for match in MERGE_INTO.finditer(sql)}


def _compiled_sql_of_the_latest_dbt_build() -> dict[str, str]:
    results = json.loads((_latest_dbt_invocation() / "run_results.json").read_text())["results"]
    return {result["unique_id"].split(".")[2]: result["compiled_code"] for result in results}


def _settled_entities(spark) -> list[str]:
    manifest = json.loads((PROJECT_ROOT / "target" / "manifest.json").read_text())
    return read_cycle_start(spark, table_states(spark, entity_tables() | source_tables(manifest))).settled


def _nodes_run_by_the_latest_dbt_build() -> set[str]:
    return set(_statuses_in_the_latest_dbt_build())


def _statuses_in_the_latest_dbt_build() -> dict[str, str]:
    results = json.loads((_latest_dbt_invocation() / "run_results.json").read_text())["results"]
    # A unique_id is type.package.name[.hash].
    return {result["unique_id"].split(".")[2]: result["status"] for result in results}


def _partitions_reported_by_the_latest_run(key: list[str]) -> list[str]:
    with dg.DagsterInstance.get() as instance:
        [run] = instance.get_runs(limit=1)
        records = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
    materializations = (record.asset_materialization for record in records)
    return sorted(m.partition for m in materializations if m.asset_key.path == key and m.partition)


def _order_values(pipeline) -> dict[str, tuple]:
    """marts.fct_orders as the oracle's Expected.order_values: order_id -> (items_counted, order_value)."""
    orders = pipeline.spark.table("marts.fct_orders").select("order_id", "items_counted", "order_value")
    return {row.order_id: (row.items_counted, row.order_value) for row in orders.collect()}


def test_each_cycle_recomputes_every_kpi_row_its_changes_touch_and_a_backfill_its_dates(pipeline, tmp_path):
    deliveries = [_write(tmp_path / name, files) for name, files in DELIVERIES.items()]

    apply_one_cycle_each(pipeline, deliveries[:2])
    upload_directory(pipeline.s3, pipeline.settings.bucket, deliveries[2])
    third = pipeline.ecom("run")

    assert third.returncode == 0, third.stderr[-3000:]
    expected = assert_state_is_what_the_contract_says(pipeline, deliveries[:3])
    assert [row["order_date"] for row in expected.order_kpis] == ["2025-03-03"]
    # fct_orders, which no KPI reads, holds what a full computation gives: o1 lost i2 to o4, and o3
    # lost i4 to o9, which has not arrived; o3 itself did not change, so only i4's earlier order ids
    # lead the build back to it.
    assert _order_values(pipeline) == expected.order_values
    assert {order: expected.order_values.get(order) for order in ("o1", "o3", "o4", "o9")} == {
        "o1": (1, Decimal("10.01")),
        "o3": (0, 0),
        "o4": (2, Decimal("28.25")),
        "o9": None,
    }
    # The third delivery holds no product: the products' models and the tests on their staging and
    # checked models did not run. Nor did the tests on their current-state model: they passed in the
    # second cycle on the table as it is. The price check (items against products) ran: the items
    # changed. The other models merged only what changed.
    run = _nodes_run_by_the_latest_dbt_build()
    assert not run & {"stg_products", "int_products__checked", "int_products__current"}
    assert not [node for node in run if "stg_products" in node or "int_products__checked" in node]
    assert not run & {"unique_int_products__current_product_id", "not_null_int_products__current_product_id"}
    assert {"warn_sale_price_above_retail_price", "unique_int_order_items__current_order_item_id"} <= run
    assert {"int_orders__current", "int_order_items__current"} <= run
    merged = _merges_of_the_latest_dbt_build()
    assert {"intermediate.int_orders__current", "intermediate.int_order_items__current"} <= merged.keys()
    assert "marts.fct_order_items" in merged
    assert "quarantine.rejected_rows" not in merged  # no row of the delivery was rejected
    # The merge into a checked table joins only the files that can hold this delivery's rows: its
    # condition on landing time lets Delta skip the files of the two earlier deliveries. Every merge
    # computes its source once (the server's setting, which the sessions of dbt and the tests inherit).
    assert "intermediate.int_orders__checked" in merged
    [lowest] = PRUNED_FROM.findall(merged["intermediate.int_orders__checked"])
    checked = pipeline.spark.table("intermediate.int_orders__checked")
    pruned = checked.where(f"_landed_at >= timestamp'{lowest}'")
    assert 0 < len(pruned.inputFiles()) < len(checked.inputFiles())
    assert pipeline.spark.conf.get("spark.databricks.delta.merge.materializeSource") == "all"
    # Delta keeps statistics only for the columns the pipeline filters on: a condition on one of them
    # skips every file of these tables, one on another column (status) skips none.
    for table, conditions in SKIPPED_BY_STATISTICS.items():
        rows = pipeline.spark.table(table)
        assert rows.inputFiles(), table
        for condition in conditions:
            assert rows.where(condition).inputFiles() == [], (table, condition)
        assert len(rows.where("status > 'zzz'").inputFiles()) == len(rows.inputFiles()), table
    # The key tests passed in the second cycle, so they read only what came after its newest raw row:
    # the third delivery's rows. The other tests read every row.
    second_cycle = pipeline.spark.sql("select cast(max(_ingested_at) as string) from raw.products").first()[0]
    compiled = _compiled_sql_of_the_latest_dbt_build()
    assert (
        f"where _ingested_at > timestamp'{second_cycle}'" in compiled["unique_int_orders__current_order_id"]
    )
    assert (
        f"where _changed_at > timestamp'{second_cycle}'" in compiled["not_null_fct_order_items_order_item_id"]
    )
    assert "timestamp'" not in compiled["not_null_fct_order_items_is_counted"]
    # Moving o1 from 03-05 to 03-03 recomputed both dates; 03-05 lost its rows. Dagster heard of both.
    assert _partitions_reported_by_the_latest_run(["marts", "order_kpis"]) == ["2025-03-03", "2025-03-05"]
    # o9 arrives: i4 counts, on o9's date, and o9 holds its value.
    upload_directory(pipeline.s3, pipeline.settings.bucket, deliveries[3])
    fourth = pipeline.ecom("run")

    assert fourth.returncode == 0, fourth.stderr[-3000:]
    expected = assert_state_is_what_the_contract_says(pipeline, deliveries)
    assert [row["order_date"] for row in expected.order_kpis] == ["2025-03-03", "2025-03-04"]
    assert _order_values(pipeline) == expected.order_values
    assert expected.order_values["o9"] == (1, Decimal("5.55"))
    # A backfill rebuilds its dates from the current-state tables: a KPI row without counted items and a
    # damaged row inside the range are set right in Delta and DynamoDB.
    pipeline.spark.sql(
        "INSERT INTO marts.order_kpis (order_date, total_orders, total_revenue, total_items_sold, "
        "return_rate, unique_customers, avg_order_value) "
        "VALUES (DATE'2025-03-01', 1, 1.00, 1, 0.0000, 1, 1.00)"
    )
    pipeline.spark.sql("UPDATE marts.order_kpis SET total_revenue = 0 WHERE order_date = DATE'2025-03-03'")
    backfilled = pipeline.ecom("backfill", "--start", "2025-03-01", "--end", "2025-03-03")

    assert backfilled.returncode == 0, backfilled.stderr[-3000:]
    assert pipeline.kpis("delta") == pipeline.kpis("dynamodb") == expected.kpis
    # No item changed, so the marts' "item changes absorbed" property needed no new table version.
    for mart in ("marts.order_kpis", "marts.category_kpis"):
        assert pipeline.spark.sql(f"DESCRIBE HISTORY {mart} LIMIT 1").first().operation == "MERGE"
    # Each mart read that property once, for its SQL, its merge and its post-hook; no merge asked for
    # the columns of its target.
    statements = [
        " ".join(COMMENT.sub("", sql).split()).lower() for sql in _statements_of_the_latest_dbt_build()
    ]
    for mart in ("marts.order_kpis", "marts.category_kpis"):
        assert statements.count(f"show tblproperties {mart}") == 1, mart
    assert not [sql for sql in statements if sql.startswith("describe")]
    # A test that passed runs again once a table it reads changes, whoever changed it: a product written
    # twice behind dbt's back fails the next cycle, though nothing landed, and keeps failing it.
    pipeline.spark.sql(
        "INSERT INTO intermediate.int_products__current "
        "SELECT * FROM intermediate.int_products__current WHERE product_id = 'p1'"
    )
    for _ in range(2):
        damaged = pipeline.ecom("run")
        assert damaged.returncode != 0
        assert _statuses_in_the_latest_dbt_build()["unique_int_products__current_product_id"] == "fail"
        # The failed build still recorded its tests: the failed one lost its record, so it reads every
        # row until it passes; the key tests that passed keep a record with a time.
        with dg.DagsterInstance.get() as instance:
            records = {uid.split(".")[2]: record for uid, record in load_records(instance).items()}
        assert "unique_int_products__current_product_id" not in records
        assert records["unique_int_orders__current_order_id"]["through"]
    # Every entity's rows are in its current-state table; a row a cycle ingested but did not build (it
    # died in dbt) brings its entity back into the next build.
    assert _settled_entities(pipeline.spark) == list(ENTITIES)
    pipeline.spark.sql(
        "INSERT INTO raw.products (id, category, _ingested_at) VALUES ('p3', 'Hats', current_timestamp())"
    )
    assert _settled_entities(pipeline.spark) == ["orders", "order_items"]
