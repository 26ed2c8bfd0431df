"""Where a `dbt build` spent its server time, by kind of statement, from the JSON log dagster-dbt keeps
of every invocation (target/dbt_models-*/dbt.log): MERGEs, the merge-skipping probes, everything else.
dbt's own timings are per node; this splits them by statement, which is what the macros control.

    .venv/bin/python benchmarks/dbt_statements.py target/dbt_models-*/dbt.log

Prints one line per log, oldest first: the build's elapsed seconds and, per kind, count and seconds.
A statement's seconds are dbt's: for MERGE, CREATE and the like the server's whole work, but a query's
rows are fetched after dbt stops its clock, so for tests, probes and watermarks only the count tells.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)


def statement_kind(sql: str, node: str) -> str:
    text = " ".join(COMMENT.sub("", sql).split()).lower()
    if node.startswith("test."):
        return "test"
    if " as merge_probe" in text:
        return "probe"
    if "nothing changed: no merge" in text:
        return "skipped merge"
    if "merge into" in text:
        return "merge"
    if text.startswith("select cast(coalesce(max("):
        return "watermark"
    if text.startswith("create or replace"):
        return "view or table"
    return "catalog" if text.startswith(("show ", "describe ")) else "other"


def seconds_by_kind(log: Path) -> tuple[Counter, Counter]:
    """dbt logs a statement's text (SQLQuery) and then its time (SQLQueryStatus) on the same thread."""
    pending: dict[str, str] = {}
    count: Counter = Counter()
    seconds: Counter = Counter()
    for line in log.read_text().splitlines():
        if not line.startswith("{"):
            continue
        event = json.loads(line)
        name, thread = event["info"]["name"], event["info"]["thread"]
        if name == "SQLQuery":
            node = (event["data"].get("node_info") or {}).get("unique_id", "")
            pending[thread] = statement_kind(event["data"]["sql"], node)
        elif name == "SQLQueryStatus" and thread in pending:
            kind = pending.pop(thread)
            count[kind] += 1
            seconds[kind] += event["data"]["elapsed"]
    return count, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("logs", nargs="+", type=Path, help="dbt.log files of dagster-dbt invocations")
    args = parser.parse_args()
    for log in sorted(args.logs, key=lambda path: path.stat().st_mtime):
        elapsed = json.loads((log.parent / "run_results.json").read_text())["elapsed_time"]
        count, seconds = seconds_by_kind(log)
        kinds = ", ".join(f"{kind} {count[kind]} in {seconds[kind]:.1f} s" for kind in sorted(count))
        print(f"{log.parent.name}: build {elapsed:.1f} s; {kinds}")


if __name__ == "__main__":
    main()
