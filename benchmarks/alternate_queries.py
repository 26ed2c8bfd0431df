"""Two SQL statements, each from a file, run one after the other for several rounds on the Spark server
SPARK_REMOTE names: the before and after of a change to one model's query, measured on the same warm
server and warehouse, with a check that both return the same rows.

    eval "$(.venv/bin/ecom services env)"   # or the environment of a `make bench` state's services
    .venv/bin/python benchmarks/alternate_queries.py before.sql after.sql --rounds 5

The files hold a model's compiled SQL (`target/compiled/...`). Alternating the two cancels the drift of a
server that is still warming up; the first round also pays for compiling the code it runs.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import time
from pathlib import Path

from pyspark.sql import SparkSession

logger = logging.getLogger(__name__)


def timed_rows(spark: SparkSession, statement: str) -> tuple[float, list[tuple]]:
    started = time.monotonic()
    rows = spark.sql(statement).collect()
    return time.monotonic() - started, sorted(tuple(row) for row in rows)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", type=Path, nargs=2)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.rounds < 2:
        parser.error("--rounds must be at least 2: the first round only warms the server up")
    statements = {path.name: path.read_text() for path in args.files}
    spark = SparkSession.builder.remote(os.environ["SPARK_REMOTE"]).getOrCreate()
    seconds: dict[str, list[float]] = {name: [] for name in statements}
    for round_number in range(1, args.rounds + 1):
        results = {}
        for name, statement in statements.items():
            elapsed, results[name] = timed_rows(spark, statement)
            seconds[name].append(elapsed)
            logger.info("round %d  %-40s %6.2f s  %d rows", round_number, name, elapsed, len(results[name]))
        first, second = results.values()
        if first != second:
            raise SystemExit(f"the two statements return different rows:\n{first}\n{second}")
    for name, times in seconds.items():
        logger.info("%-40s median %.2f s over rounds 2-%d", name, statistics.median(times[1:]), args.rounds)


if __name__ == "__main__":
    main()
