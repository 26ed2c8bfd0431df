"""What trimming costs staging, on the running Spark Connect server: the compiled `stg_order_items` of the
last dbt run (its `clean_text` trims with `trim(BOTH ...)`) against the same SQL trimming with the regex
`^\\s+|\\s+$` it used before, each evaluated over all of `raw.order_items` in turn. Both must give the same
rows first (docs/benchmarks.md, "Trimming without a regex").

    eval "$(.venv/bin/ecom services env)" && .venv/bin/python -m benchmarks.trim_cost

The 1M figures come from the warehouse of `make bench`, with its services started again on
benchmarks/.state and its target/ compiled SQL; its log is what benchmarks/results/trim-cost.txt holds.
"""

from __future__ import annotations

import argparse
import logging
import re
from functools import partial

from benchmarks.common import alternating_rounds
from ingestion.settings import PROJECT_ROOT, Settings, spark_session

log = logging.getLogger("trim_cost")
TRIM = re.compile(r"trim\(BOTH '[^']*' FROM (\w+)\)")
REGEX = r"regexp_replace(\1, '^\\\\s+|\\\\s+$', '')"


def compiled_staging() -> str:
    """The newest compiled stg_order_items under target/: dbt's own, or that of a Dagster run's dbt."""
    paths = PROJECT_ROOT.glob("target/**/compiled/ecom_kpis/dbt_project/models/staging/stg_order_items.sql")
    return max(paths, key=lambda path: path.stat().st_mtime).read_text()


def evaluate(spark, sql: str) -> None:
    """Every staged column of every row, summed into one hash so nothing is pruned away."""
    spark.sql(f"select sum(hash(*)) from ({sql})").collect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    spark = spark_session(Settings.from_env())
    trimmed = compiled_staging()
    with_regex, replaced = TRIM.subn(REGEX, trimmed)
    differing = spark.sql(f"select count(*) from (({trimmed}) except all ({with_regex}))").first()[0]
    log.info("%d trimmed columns; rows differing between the two: %d", replaced, differing)
    if not replaced or differing:
        raise SystemExit("the two staging queries do not compare: nothing replaced, or different rows")
    evaluations = {
        name: partial(evaluate, spark, sql)
        for name, sql in (("trim", trimmed), ("regexp_replace", with_regex))
    }
    for round_number, seconds in enumerate(alternating_rounds(evaluations, args.rounds), 1):
        log.info(
            "round %d: trim %.1f s, regexp_replace %.1f s",
            round_number,
            seconds["trim"],
            seconds["regexp_replace"],
        )


if __name__ == "__main__":
    main()
