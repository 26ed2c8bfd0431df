"""What Delta's column statistics cost the pipeline's writes, on the running Spark Connect server: each table
that keeps statistics only for the columns its reads filter on (its `delta.dataSkippingStatsColumns`) is
copied twice per round, once with that property and once with Delta's default (statistics of the first 32
columns), the two alternated. The figures behind the property on the raw, intermediate, `fct_` and
quarantine tables (docs/benchmarks.md, "Column statistics").

    eval "$(.venv/bin/ecom services env)" && .venv/bin/python benchmarks/column_statistics.py

On a warehouse the pipeline has filled (the 1M figures come from `make bench`'s, with its services
started again on benchmarks/.state). Works in a scratch schema it drops at the end; its log is what
benchmarks/results/column-statistics.txt holds.
"""

from __future__ import annotations

import argparse
import logging
import time

from ingestion.settings import Settings, spark_session

log = logging.getLogger("column_statistics")
SCRATCH = "column_statistics_scratch"
PROPERTY = "delta.dataSkippingStatsColumns"
SCHEMAS = ("raw", "intermediate", "marts", "quarantine")


def tables_with_kept_statistics(spark) -> dict[str, str]:
    """Every pipeline table with the property, and the columns it names."""
    kept = {}
    for schema in SCHEMAS:
        for table in spark.catalog.listTables(schema):
            name = f"{schema}.{table.name}"
            for key, value in spark.sql(f"show tblproperties {name}").collect():
                if key == PROPERTY:
                    kept[name] = value
    return kept


def seconds_to_copy(spark, table: str, columns: str | None) -> float:
    """A `create table as select` of the whole table: Delta computes the statistics as it writes."""
    properties = f"tblproperties ('{PROPERTY}' = '{columns}')" if columns else ""
    spark.sql(f"drop table if exists {SCRATCH}.copy")
    started = time.monotonic()
    spark.sql(f"create table {SCRATCH}.copy using delta {properties} as select * from {table}")
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    spark = spark_session(Settings.from_env())
    spark.sql(f"create database if not exists {SCRATCH}")
    try:
        for table, columns in tables_with_kept_statistics(spark).items():
            rows = spark.table(table).count()
            width = len(spark.table(table).columns)
            for round_number in range(1, args.rounds + 1):
                # Each goes first in every other round: the first copy warms the cache for the second.
                kept_first = round_number % 2 == 0
                seconds = {
                    kept: seconds_to_copy(spark, table, columns if kept else None)
                    for kept in ([True, False] if kept_first else [False, True])
                }
                log.info(
                    "%s (%d rows, %d columns), round %d: every column %.1f s, only %s %.1f s",
                    table,
                    rows,
                    width,
                    round_number,
                    seconds[False],
                    columns,
                    seconds[True],
                )
    finally:
        spark.sql(f"drop database if exists {SCRATCH} cascade")


if __name__ == "__main__":
    main()
