"""A small cycle on top of a large history, against a full rebuild of the same history (issue 4).

One run, one machine, one set of warm services: a history of `--orders` orders (about 2.5 order items
each) lands and is applied by one `ecom run`; then a small delivery (1% new orders, updates of 0.5% of the
earlier orders, a product moving category) is applied by another `ecom run`; then `ecom rebuild` rebuilds
every model from the raw tables. Each command is timed from the outside and its stage table kept.

    .venv/bin/python benchmarks/incremental_cycle.py --orders 410000     # about 1,015,000 order items

Writes benchmarks/results/incremental_cycle.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import logging
import os
import platform
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from ingestion.generate import generate_deliveries
from ingestion.landing import upload_directory
from ingestion.settings import PROJECT_ROOT, Settings, close_spark_clients, s3_client
from orchestration.services import LocalServices

log = logging.getLogger("benchmark")
RESULTS = PROJECT_ROOT / "benchmarks" / "results"
STAGE_LINE = re.compile(r"^(ingestion|dbt build|freshness check|export|archive) +(ok|FAILED) +([\d.]+)$")


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=410_000)
    parser.add_argument("--state", type=Path, default=PROJECT_ROOT / "benchmarks" / ".state")
    args = parser.parse_args()

    local = LocalServices(state_dir=args.state, spark_port=15042, s3_port=4606, dynamodb_port=8040)
    settings = Settings(
        bucket="ecom-bench",
        warehouse=str(args.state / "warehouse"),
        spark_remote=local.endpoints["SPARK_REMOTE"],
    )
    env = {
        **os.environ,
        **local.client_env(),
        "ECOM_BUCKET": settings.bucket,
        "ECOM_WAREHOUSE": settings.warehouse,
        "DAGSTER_HOME": str(args.state / "dagster"),
    }
    os.environ.update(env)
    local.start(settings)
    try:
        history, small = generate_deliveries(
            args.state / "data", orders=args.orders, seed=1, shares=(0.99, 0.01), updated_share=0.005
        )
        rows = {"history": count_rows(history), "small": count_rows(small)}
        log.info("rows: %s", rows)
        s3 = s3_client(settings)
        upload_directory(s3, settings.bucket, history)
        steps = {"history cycle": ecom(env, "run")}
        upload_directory(s3, settings.bucket, small)
        steps["small cycle"] = ecom(env, "run")
        steps["full rebuild"] = ecom(env, "rebuild")
    finally:
        close_spark_clients()
        local.stop()

    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "system": platform.platform(),
        },
        "orders": args.orders,
        "rows": rows,
        "steps": steps,
        "small_over_rebuild": round(steps["small cycle"]["seconds"] / steps["full rebuild"]["seconds"], 3),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "incremental_cycle.json").write_text(json.dumps(result, indent=2) + "\n")
    print(markdown(result))
    return 0


def ecom(env: dict[str, str], command: str) -> dict:
    started_at = time.time()
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", command], env=env, capture_output=True, text=True
    )
    seconds = round(time.monotonic() - started, 1)
    if done.returncode != 0:
        raise SystemExit(f"ecom {command} failed after {seconds}s:\n{done.stderr[-3000:]}")
    stages = {m[1]: float(m[3]) for m in map(STAGE_LINE.match, done.stderr.splitlines()) if m}
    log.info("ecom %s: %.1fs %s", command, seconds, stages)
    return {"seconds": seconds, "stages": stages, "slowest_dbt_nodes": slowest_dbt_nodes(started_at)}


def slowest_dbt_nodes(since: float, count: int = 8) -> dict[str, float]:
    """Where the dbt build's time went: the nodes that took longest, from the run's run_results.json
    (dagster-dbt keeps one target folder per invocation)."""
    runs = [
        path for path in (PROJECT_ROOT / "target").glob("*/run_results.json") if path.stat().st_mtime > since
    ]
    if not runs:
        return {}
    results = json.loads(max(runs, key=lambda path: path.stat().st_mtime).read_text())["results"]
    slowest = sorted(results, key=lambda result: result["execution_time"], reverse=True)[:count]
    return {result["unique_id"].split(".")[2]: round(result["execution_time"], 1) for result in slowest}


def count_rows(delivery: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in delivery.rglob("*"):
        if path.is_file():
            raw = path.read_bytes()
            text = (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode("utf-8-sig")
            entity = path.relative_to(delivery).parts[0]
            counts[entity] = counts.get(entity, 0) + sum(1 for _ in csv.reader(io.StringIO(text))) - 1
    return counts


def markdown(result: dict) -> str:
    stage_names = ["ingestion", "dbt build", "freshness check", "export", "archive"]
    lines = [
        "| step | total s | " + " | ".join(stage_names) + " |",
        "|---|---|" + "---|" * len(stage_names),
    ]
    for name, step in result["steps"].items():
        stages = " | ".join(str(step["stages"].get(stage, "")) for stage in stage_names)
        lines.append(f"| {name} | {step['seconds']} | {stages} |")
    lines.append(f"\nsmall cycle / full rebuild = {result['small_over_rebuild']}; rows: {result['rows']}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
