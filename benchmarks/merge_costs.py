"""What a Delta MERGE costs the incremental models, on the running Spark Connect server: with and without
deletion vectors, for a 1% delivery, a handful of rows and nothing at all, against the probe that lets a
model skip a merge with nothing to merge. The figures behind two settings of the dbt project
(dbt_project.yml: no deletion vectors, see also benchmarks/ab_cycles.sh from-empty; macros/incremental.sql:
no empty merges).

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
SCAN = "full scan after a 1% merge"
MERGE = (
    "merge into {target} as dest using {source} as src on dest.k = src.k "
    "when matched then update set * when not matched then insert *"
)


def fresh_target(spark, target: str, deletion_vectors: str, history: int) -> None:
    spark.sql(f"drop table if exists {target}")
    spark.sql(
        f"create table {target} using delta "
        f"tblproperties ('delta.enableDeletionVectors' = '{deletion_vectors}') "
        f"as select id as k, {COLUMNS}, current_timestamp() as ts from range({history})"
    )


def changed_rows(target: str, condition: str) -> str:
    """A source read from the table itself, as an incremental model reads its changed rows upstream."""
    changed = ", ".join(f"concat(c{i}, '-changed') as c{i}" for i in range(16))
    return f"select k, {changed}, current_timestamp() as ts from {target} where {condition}"


def seconds(spark, statement: str) -> float:
    started = time.monotonic()
    spark.sql(statement).collect()
    return time.monotonic() - started


def measure(spark, history: int, repeats: int) -> list[dict]:
    """Each case on a fresh table, best of `repeats`: the probe the incremental models ask first, then
    the merge; and a full scan of a table a 1% merge has changed."""
    target = f"{SCRATCH}.target"
    sources = {
        "1% of the rows, read from the whole table": changed_rows(target, "k % 100 = 7"),
        "50 rows, read from the whole table": changed_rows(target, f"k % {history // 50} = 7"),
        # As an incremental model's rows past its watermark: a timestamp literal no file's statistics reach.
        "nothing past the watermark": changed_rows(target, "ts > timestamp'2999-01-01 00:00:00'"),
    }
    results = []
    for dv in ("true", "false"):
        for case, source in sources.items():
            probes, merges = [], []
            for _ in range(repeats):
                fresh_target(spark, target, dv, history)
                spark.sql(f"create or replace temporary view merge_source as {source}")
                probes.append(seconds(spark, "select 1 from merge_source limit 1"))
                merges.append(seconds(spark, MERGE.format(target=target, source="merge_source")))
            result = {"deletion_vectors": dv, "case": case, "probe": min(probes), "merge": min(merges)}
            log.info("%s", result)
            results.append(result)
        spark.sql(f"create or replace temporary view merge_source as {next(iter(sources.values()))}")
        spark.sql(MERGE.format(target=target, source="merge_source"))
        scan = min(seconds(spark, f"select count(distinct c3) from {target}") for _ in range(repeats))
        results.append({"deletion_vectors": dv, "case": SCAN, "scan": scan})
    return results


def markdown(results: list[dict]) -> str:
    by_case = {(r["case"], r["deletion_vectors"]): r for r in results}
    lines = [
        "| seconds, source | probe, deletion vectors on | merge, on | probe, off | merge, off |",
        "|---|---|---|---|---|",
    ]
    for case in dict.fromkeys(r["case"] for r in results if r["case"] != SCAN):
        on, off = by_case[case, "true"], by_case[case, "false"]
        cells = [f"{row[kind]:.2f}" for row in (on, off) for kind in ("probe", "merge")]
        lines.append(f"| {case} | " + " | ".join(cells) + " |")
    scan_on, scan_off = by_case[SCAN, "true"]["scan"], by_case[SCAN, "false"]["scan"]
    lines.append(f"| {SCAN} | | {scan_on:.2f} | | {scan_off:.2f} |")
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
