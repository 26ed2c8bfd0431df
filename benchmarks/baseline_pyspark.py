"""Baseline A: the one-script PySpark job teams write for this (read the CSVs, join, group, write to
DynamoDB), on the same Spark Connect server and the same S3 files as the pipeline.

It does what such scripts do and no more: it trusts its input (no validation, no versions of a row, no
lineage, no quarantine, no accounting), so it agrees with the pipeline only on clean data, which is what
the benchmark gives it. Its KPIs follow the contract: exact decimal sums, rounded half-up at the end.

    python benchmarks/baseline_pyspark.py --landing s3a://ecom-bench/landing --prefix baseline_

Prints the KPI rows as JSON on stdout (money and rates as decimal strings), like `ecom kpis --format json`.
"""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

MONEY = "decimal(18,2)"
RATE = "decimal(9,4)"
# The key of each KPI table: its DynamoDB key here, and what benchmarks/sail_probe.py matches rows on.
KPI_KEYS = {"category_kpis": ("category", "order_date"), "order_kpis": ("order_date",)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landing", required=True, help="the landing/ prefix as an s3a:// URI")
    parser.add_argument("--prefix", default="baseline_", help="prefix of its two DynamoDB tables")
    args = parser.parse_args()

    spark = SparkSession.builder.getOrCreate()
    result = kpis(spark, args.landing)
    write_to_dynamodb(args.prefix, result)
    json.dump(result, sys.stdout)
    return 0


def kpis(spark: SparkSession, landing: str) -> dict[str, list[dict]]:
    """The two KPI tables from the CSVs under `landing`; benchmarks/sail_probe.py runs this on Sail."""
    orders = read_csv(spark, f"{landing}/orders/")
    items = read_csv(spark, f"{landing}/order_items/")
    products = read_csv(spark, f"{landing}/products/")

    counted = (
        items.select("order_id", "product_id", F.col("status").alias("item_status"), "sale_price")
        .join(orders.select("order_id", "user_id", "status", "created_at"), "order_id")
        .join(products.select(F.col("id").alias("product_id"), "category"), "product_id")
        .where((F.lower("status") != "cancelled") & (F.lower("item_status") != "cancelled"))
        .withColumn("order_date", F.to_date("created_at"))
        .withColumn("sale_price", F.col("sale_price").cast("decimal(38,18)"))
        .withColumn("returned_order", F.when(F.lower("status") == "returned", F.col("order_id")))
    ).cache()

    category_kpis = (
        counted.groupBy("category", "order_date")
        .agg(
            F.sum("sale_price").alias("revenue"),
            F.countDistinct("order_id").alias("orders"),
            F.countDistinct("returned_order").alias("returned"),
            F.count("*").alias("items_sold"),
        )
        .select(
            "category",
            "order_date",
            money(F.col("revenue")).alias("daily_revenue"),
            money(F.col("revenue") / F.col("orders")).alias("avg_order_value"),
            rate("returned", "orders").alias("avg_return_rate"),
            "orders",
            "items_sold",
        )
    )
    order_kpis = (
        counted.groupBy("order_date")
        .agg(
            F.countDistinct("order_id").alias("total_orders"),
            F.sum("sale_price").alias("revenue"),
            F.count("*").alias("total_items_sold"),
            F.countDistinct("returned_order").alias("returned"),
            F.countDistinct("user_id").alias("unique_customers"),
        )
        .select(
            "order_date",
            "total_orders",
            money(F.col("revenue")).alias("total_revenue"),
            "total_items_sold",
            rate("returned", "total_orders").alias("return_rate"),
            "unique_customers",
            money(F.col("revenue") / F.col("total_orders")).alias("avg_order_value"),
        )
    )
    return {
        "category_kpis": [as_text(row.asDict()) for row in category_kpis.collect()],
        "order_kpis": [as_text(row.asDict()) for row in order_kpis.collect()],
    }


def read_csv(spark: SparkSession, path: str):
    return spark.read.option("header", True).option("multiLine", True).option("escape", '"').csv(path)


def money(column):
    return F.round(column, 2).cast(MONEY)


def rate(numerator: str, denominator: str):
    exact = F.col(numerator).cast("decimal(20,0)") / F.col(denominator).cast("decimal(20,0)")
    return F.round(exact, 4).cast(RATE)


def as_text(row: dict) -> dict:
    """Dates as YYYY-MM-DD and decimals as strings; counts stay numbers."""
    return {name: value if isinstance(value, int) else str(value) for name, value in row.items()}


def write_to_dynamodb(prefix: str, result: dict) -> None:
    import boto3  # here, so that kpis() imports where boto3 is absent (the Sail probe's venv)

    dynamodb = boto3.resource("dynamodb")
    for name, rows in result.items():
        keys = KPI_KEYS[name]
        table = dynamodb.Table(prefix + name)
        try:
            table.load()
        except dynamodb.meta.client.exceptions.ResourceNotFoundException:
            table = dynamodb.create_table(
                TableName=prefix + name,
                KeySchema=[
                    {"AttributeName": key, "KeyType": kind}
                    for key, kind in zip(keys, ("HASH", "RANGE"), strict=False)
                ],
                AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"} for key in keys],
                BillingMode="PAY_PER_REQUEST",
            )
            table.wait_until_exists()
        with table.batch_writer() as batch:
            for row in rows:
                batch.put_item(Item={k: v if k in keys else Decimal(str(v)) for k, v in row.items()})


if __name__ == "__main__":
    sys.exit(main())
