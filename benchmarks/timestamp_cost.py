"""What parsing timestamps costs staging, on the running Spark Connect server: the project's
`parse_timestamp` (one regex, then the fraction and offset by position) against the version before it (two
more regexes, and Spark's zone conversion), over the four timestamp columns of all of `raw.order_items`.
Both must give the same values first (docs/benchmarks.md, "Timestamps parsed by position").

    eval "$(.venv/bin/ecom services env)" && .venv/bin/python -m benchmarks.timestamp_cost

The version before fails the query on an offset past ±18:00, so the comparison needs data without one, as
the generator makes.
"""

from __future__ import annotations

import argparse
import logging
import subprocess

from benchmarks.common import alternating_rounds
from ingestion.settings import PROJECT_ROOT, Settings, spark_session
from orchestration.dbt_project import DBT_EXECUTABLE

log = logging.getLogger("timestamp_cost")
COLUMNS = ("created_at", "shipped_at", "delivered_at", "returned_at")
PATTERN = (
    r"'^\\d{4}-\\d{2}-\\d{2}[ T]\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})? ?(UTC|Z|[+-]([01]\\d|2[0-3]):?[0-5]\\d)?$'"
)
ZONE = r"regexp_extract(t, '([+-]\\d{2}:?\\d{2})$', 1)"
BEFORE = f"""case when t rlike {PATTERN}
    then to_utc_timestamp(
        try_to_timestamp(
            concat(substr(t, 1, 10), ' ', substr(t, 12, 8), '.',
                rpad(substr(regexp_extract(t, '\\\\.(\\\\d{{1,9}})', 1), 1, 6), 6, '0')),
            'yyyy-MM-dd HH:mm:ss.SSSSSS'
        ),
        case when {ZONE} = '' then '+00:00'
            else concat(substr({ZONE}, 1, 3), ':', substr({ZONE}, -2, 2)) end
    )
    end"""


def compiled_parse_timestamp() -> str:
    """The macro as dbt compiles it now, over a column named t."""
    compiled = subprocess.run(
        [
            DBT_EXECUTABLE,
            "compile",
            "--quiet",
            "--inline",
            "select {{ parse_timestamp('t') }}",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return compiled.strip().removeprefix("select").strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    spark = spark_session(Settings.from_env())
    # One column t of every timestamp text, trimmed of spaces (staging parses each column alike).
    spark.sql(
        "create or replace temporary view texts as select nullif(trim(t), '') as t from raw.order_items "
        f"lateral view explode(array({', '.join(COLUMNS)})) as t"
    )
    queries = {"by position": compiled_parse_timestamp(), "regexes": BEFORE}
    for name, expression in queries.items():
        spark.sql(f"create or replace temporary view `{name}` as select {expression} as parsed from texts")
    values, parsed, differing = spark.sql(
        "select count(*), count(parsed), (select count(*) from "
        "((select * from `by position`) except all (select * from regexes))) from `by position`"
    ).first()
    log.info("%d timestamp texts, %d parsed; values differing between the two: %d", values, parsed, differing)
    if differing:
        raise SystemExit("the two parsings differ")
    evaluations = {name: spark.sql(f"select sum(hash(parsed)) from `{name}`").collect for name in queries}
    for round_number, seconds in enumerate(alternating_rounds(evaluations, args.rounds), 1):
        log.info(
            "round %d: by position %.1f s, regexes %.1f s",
            round_number,
            seconds["by position"],
            seconds["regexes"],
        )


if __name__ == "__main__":
    main()
