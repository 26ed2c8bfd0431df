"""What a Delta MERGE costs the incremental models, on the running Spark Connect server: with and without
deletion vectors, for a 1% delivery, a handful of rows and nothing at all, against the probe that lets a
model skip a merge with nothing to merge. The figures behind two settings of the dbt project
(dbt_project.yml: deletion vectors on the internal tables; macros/incremental.sql: no empty merges).

    eval "$(.venv/bin/ecom services env)" && .venv/bin/python benchmarks/merge_costs.py

Works in a scratch schema it drops at the end; writes benchmarks/results/merge-costs.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from ingestion.settings import Settings, spark_session

log = logging.getLogger("merge_costs")
RESULTS = Path(__file__).resolve().parent / "results"
SCRATCH = "merge_costs_scratch"
# As wide as the checked tables: a key, sixteen text columns, a timestamp.
COLUMNS = ", ".join(f"concat('value-', cast(id * {i} as string), '-padding') as c{i}" for i in range(16))
MERGE = (
    "merge into {target} as dest using {source} as src on dest.k = src.k "
    "when matched then update set * when not matched then insert *"
)


def rows(count: int, stride: int = 7919, modulo: int | None = None) -> str:
    key = f"id * {stride} % {modulo}" if modulo else "id"
    return f"select {key} as k, {COLUMNS}, current_timestamp() as ts from range({count})"


def best_of(spark, statement: str, repeats: int) -> float:
    """The fastest of `repeats` runs, in seconds: the cost without the noise of a busy two-core machine."""
    runs = []
    for _ in range(repeats):
        started = time.monotonic()
        spark.sql(statement).collect()
        runs.append(time.monotonic() - started)
    return round(min(runs), 2)


def measure(spark, history: int, repeats: int) -> list[dict]:
    """Each case on a fresh table of `history` rows, with deletion vectors on and off."""
    target = f"{SCRATCH}.target"
    merges = {
        "merge: 1% delivery": rows(history // 100, modulo=history),
        "merge: 50 rows": rows(50, modulo=history),
        # Found empty only by reading the table, as an incremental model finds no rows past its watermark.
        "merge: nothing": f"select * from {target} where length(c3) < 0",
    }
    results = []
    for dv in ("true", "false"):
        spark.sql(f"drop table if exists {target}")
        spark.sql(
            f"create table {target} using delta "
            f"tblproperties ('delta.enableDeletionVectors' = '{dv}') as {rows(history)}"
        )
        seconds = {}
        for case, source in merges.items():
            spark.sql(f"create or replace temporary view merge_source as {source}")
            seconds[case] = best_of(spark, MERGE.format(target=target, source="merge_source"), repeats)
            log.info("deletion vectors %s, %s: %.2fs", dv, case, seconds[case])
        seconds["probe: any row to merge?"] = best_of(spark, "select 1 from merge_source limit 1", repeats)
        scan = f"select count(distinct c3) from {target}"
        seconds["full scan of the table"] = best_of(spark, scan, repeats)
        results += [{"deletion_vectors": dv, "case": c, "seconds": s} for c, s in seconds.items()]
    return results


def markdown(results: list[dict]) -> str:
    cases = list(dict.fromkeys(r["case"] for r in results))
    seconds = {(r["case"], r["deletion_vectors"]): r["seconds"] for r in results}
    lines = ["| seconds | deletion vectors on | off |", "|---|---|---|"]
    lines += [f"| {case} | {seconds[case, 'true']} | {seconds[case, 'false']} |" for case in cases]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the target table")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each case; the best counts")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    spark = spark_session(Settings.from_env())
    spark.sql(f"create schema if not exists {SCRATCH}")
    try:
        results = measure(spark, args.rows, args.repeats)
    finally:
        spark.sql(f"drop schema if exists {SCRATCH} cascade")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "merge-costs.json").write_text(json.dumps({"rows": args.rows, "results": results}, indent=2))
    print(markdown(results))


if __name__ == "__main__":
    main()
