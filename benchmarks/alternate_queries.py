"""Two SQL statements, each from a file, run one after the other for several rounds on the Spark server
SPARK_REMOTE names: the before and after of a change to one model's query, measured on the same warm
server and warehouse, with a check that both return the same rows.

    eval "$(.venv/bin/ecom services env)"   # or the environment of a `make bench` state's services
    .venv/bin/python -m benchmarks.alternate_queries before.sql after.sql --rounds 5

The files hold a model's compiled SQL (`target/compiled/...`). Alternating the two cancels the drift of a
server that is still warming up (each goes first in every other round); the first round also pays
for compiling the code it runs.
"""

from __future__ import annotations

import argparse
import logging
import statistics
from collections.abc import Callable
from pathlib import Path

from pyspark.sql import SparkSession

from benchmarks.common import alternating_rounds
from ingestion.settings import Settings, spark_session

logger = logging.getLogger(__name__)


def collecting_rows(
    spark: SparkSession, statement: str, into: dict[str, list[tuple]], name: str
) -> Callable[[], None]:
    """A variant for alternating_rounds that keeps its sorted rows for the comparison after each round."""

    def run() -> None:
        into[name] = sorted(tuple(row) for row in spark.sql(statement).collect())

    return run


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", type=Path, nargs=2)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.rounds < 2:
        parser.error("--rounds must be at least 2: the first round only warms the server up")
    spark = spark_session(Settings.from_env())
    rows: dict[str, list[tuple]] = {}
    variants = {str(path): collecting_rows(spark, path.read_text(), rows, str(path)) for path in args.files}
    if len(variants) < 2:
        parser.error("give two different files")
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    for round_number, timings in enumerate(alternating_rounds(variants, args.rounds), 1):
        for name in variants:
            seconds[name].append(timings[name])
            logger.info(
                "round %d  %-40s %6.2f s  %d rows", round_number, name, timings[name], len(rows[name])
            )
        first, second = rows.values()
        if first != second:
            raise SystemExit(f"the two statements return different rows:\n{first}\n{second}")
    for name, times in seconds.items():
        logger.info("%-40s median %.2f s over rounds 2-%d", name, statistics.median(times[1:]), args.rounds)


if __name__ == "__main__":
    main()
