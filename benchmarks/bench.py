"""`make bench`: the pipeline against the baselines, in one invocation, on one machine and one set of warm
services (issues 4 and 5).

Steps, in order, on theLook-shaped data at a named scale (plain files, so the baselines can read them):
  1. baseline A, the one-script PySpark job (benchmarks/baseline_pyspark.py) on the same Spark server;
  2. baseline B, DuckDB on a local copy of the same files (benchmarks/baseline_duckdb.py);
  3. the full cycle: `ecom run` over the whole history, the time of each stage and the slowest dbt nodes;
     its KPIs must equal both baselines' before any time is reported;
  4. a small cycle: 1% new orders, updates of 0.5% of the earlier ones, a product moving category;
  5. a full rebuild of the same history (`ecom rebuild`: every model from the raw tables, re-export);
  6. a cycle with one tiny file (one order): the fixed cost of a cycle;
  7. the export alone: items/s into DynamoDB Local for a synthetic table of 20,000 KPI rows.

    .venv/bin/python benchmarks/bench.py --scale 1m     # make bench (about 20 minutes here)
    .venv/bin/python benchmarks/bench.py --scale 10k    # the smoke run

Writes benchmarks/results/bench-<scale>.json and prints a Markdown table (docs/benchmarks.md shows it).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCHMARKS))

import baseline_duckdb  # noqa: E402
from common import SCALES, bench_deliveries, canonical_rows  # noqa: E402

from export.dynamodb import KpiTable, kpi_tables, sync_table  # noqa: E402
from ingestion.landing import upload_directory  # noqa: E402
from ingestion.settings import (  # noqa: E402
    PROJECT_ROOT,
    Settings,
    close_spark_clients,
    dynamodb_client,
    s3_client,
)
from orchestration.services import LocalServices, RunningServices  # noqa: E402

log = logging.getLogger("bench")
RESULTS = BENCHMARKS / "results"
STAGE_LINE = re.compile(r"^(ingestion|dbt build|freshness check|export|archive) +(ok|FAILED) +([\d.]+)$")
EXPORT_ROWS = 20_000


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="1m")
    parser.add_argument("--state", type=Path, default=BENCHMARKS / ".state", help="wiped at start")
    args = parser.parse_args()
    shutil.rmtree(args.state, ignore_errors=True)
    bench = start_services(args.state)
    try:
        result = run(bench, args.state / "data", SCALES[args.scale])
    finally:
        close_spark_clients()
        bench.local.stop()
    result["scale"] = args.scale
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"bench-{args.scale}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(markdown(result))
    return 0


def start_services(state: Path) -> RunningServices:
    local = LocalServices(
        state_dir=state, spark_port=15052, s3_port=4616, dynamodb_port=8050, dynamodb_in_memory=True
    )
    settings = Settings(
        bucket="ecom-bench", warehouse=str(state / "warehouse"), spark_remote=local.endpoints["SPARK_REMOTE"]
    )
    env = {
        **os.environ,
        **local.client_env(),
        "ECOM_BUCKET": settings.bucket,
        "ECOM_WAREHOUSE": settings.warehouse,
        "DAGSTER_HOME": str(state / "dagster"),
    }
    os.environ.update(env)
    local.start(settings)
    return RunningServices(local, settings, env)


def run(bench: RunningServices, data: Path, orders: int, smoke: bool = False) -> dict:
    """Every step on the given services; raises SystemExit when the three KPI results disagree. `smoke`
    stops after the agreement check (the CI run: tests/test_bench_smoke.py)."""
    history, small = bench_deliveries(data, orders)
    tiny = tiny_file(data / "tiny")
    s3 = s3_client(bench.settings)
    upload_directory(s3, bench.settings.bucket, history)
    landing = f"s3a://{bench.settings.bucket}/landing"

    steps = {"baseline A (PySpark script)": baseline_a(bench, landing)}
    kpis_a = steps["baseline A (PySpark script)"].pop("kpis")
    started = time.monotonic()
    kpis_b = baseline_duckdb.kpis(history)
    steps["baseline B (DuckDB)"] = {"seconds": round(time.monotonic() - started, 1)}
    steps["full cycle"] = ecom(bench, "run")
    pipeline_kpis = json.loads(ecom_output(bench, "kpis", "--source", "delta", "--format", "json"))
    agreement = agree(pipeline_kpis, kpis_a, kpis_b)
    if smoke:
        return {"agreement": agreement, "steps": steps}

    upload_directory(s3, bench.settings.bucket, small)
    steps["small cycle"] = ecom(bench, "run")
    steps["full rebuild"] = ecom(bench, "rebuild")
    upload_directory(s3, bench.settings.bucket, tiny)
    steps["tiny cycle (one file)"] = ecom(bench, "run")
    steps["export alone"] = export_throughput(bench)

    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "system": platform.platform(),
        },
        "rows": {"history": count_rows(history), "small": count_rows(small)},
        "agreement": agreement,
        "steps": steps,
        "peak_rss_mb": {**bench_services_peak_rss(bench.local), "clients": children_peak_rss_mb()},
        "ratios": {
            "full cycle / baseline A": ratio(steps["full cycle"], steps["baseline A (PySpark script)"]),
            "small cycle / full rebuild": ratio(steps["small cycle"], steps["full rebuild"]),
        },
    }


def tiny_file(directory: Path) -> Path:
    """One orders file with one new order: what a cycle costs when almost nothing arrives."""
    path = directory / "orders" / "tiny.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "order_id,user_id,status,created_at,num_of_item\ntiny-1,tiny-user,processing,2025-03-10 12:00:00,1\n"
    )
    return directory


def baseline_a(bench: RunningServices, landing: str) -> dict:
    script = BENCHMARKS / "baseline_pyspark.py"
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(script), "--landing", landing], env=bench.env, capture_output=True, text=True
    )
    seconds = round(time.monotonic() - started, 1)
    if done.returncode != 0:
        raise SystemExit(f"baseline A failed after {seconds}s:\n{done.stderr[-3000:]}")
    log.info("baseline A: %.1fs", seconds)
    return {"seconds": seconds, "kpis": json.loads(done.stdout)}


def ecom(bench: RunningServices, command: str) -> dict:
    started_at = time.time()
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", command], env=bench.env, capture_output=True, text=True
    )
    seconds = round(time.monotonic() - started, 1)
    if done.returncode != 0:
        raise SystemExit(f"ecom {command} failed after {seconds}s:\n{done.stderr[-3000:]}")
    stages = {m[1]: float(m[3]) for m in map(STAGE_LINE.match, done.stderr.splitlines()) if m}
    log.info("ecom %s: %.1fs %s", command, seconds, stages)
    return {"seconds": seconds, "stages": stages, "slowest_dbt_nodes": slowest_dbt_nodes(started_at)}


def ecom_output(bench: RunningServices, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", *args], env=bench.env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"ecom {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def agree(pipeline: dict, baseline_a_kpis: dict, baseline_b_kpis: dict) -> dict:
    """The three KPI results must be the same rows; a benchmark of different answers is no benchmark."""
    results = {"pipeline": pipeline, "baseline A": baseline_a_kpis, "baseline B": baseline_b_kpis}
    canonical = {name: canonical_rows(kpis) for name, kpis in results.items()}
    disagreements = [
        f"{table}: only {name}: {sorted(set(rows) - set(canonical['pipeline'][table]))[:3]}; "
        f"only the pipeline: {sorted(set(canonical['pipeline'][table]) - set(rows))[:3]}"
        for name, value in canonical.items()
        for table, rows in value.items()
        if rows != canonical["pipeline"][table]
    ]
    if disagreements:
        raise SystemExit(
            "the pipeline and the baselines disagree on the KPIs, so no time is reported:\n"
            + "\n".join(disagreements)
        )
    rows = {table: len(value) for table, value in canonical["pipeline"].items()}
    log.info("the pipeline and both baselines agree on every KPI row: %s", rows)
    return rows


def export_throughput(bench: RunningServices) -> dict:
    """The export code on its own: a synthetic category table written from empty, then deleted."""
    template = kpi_tables("unused", "unused")[0]
    table = KpiTable(mart=template.mart, name="bench_export", keys=template.keys, scales=template.scales)
    first = date(2020, 1, 1)
    rows = [
        {
            "category": f"category {n % 50}",
            "order_date": first + timedelta(days=n // 50),
            "daily_revenue": "1234.56",
            "avg_order_value": "61.73",
            "avg_return_rate": "0.1000",
            "orders": 20,
            "items_sold": 31,
        }
        for n in range(EXPORT_ROWS)
    ]
    client = dynamodb_client(bench.settings)
    written = sync_table(client, table, rows)
    client.delete_table(TableName=table.name)
    log.info("export alone: %d items in %.1fs", written.written, written.seconds)
    return {
        "seconds": round(written.seconds, 1),
        "items": written.written,
        "items_per_second": round(written.items_per_second),
    }


def slowest_dbt_nodes(since: float, count: int = 8) -> dict[str, float]:
    """Where the dbt build's time went: the nodes that took longest, from the run's run_results.json
    (dagster-dbt keeps one target folder per invocation)."""
    found = (PROJECT_ROOT / "target").glob("*/run_results.json")
    runs = [path for path in found if path.stat().st_mtime > since]
    if not runs:
        return {}
    results = json.loads(max(runs, key=lambda path: path.stat().st_mtime).read_text())["results"]
    slowest = sorted(results, key=lambda result: result["execution_time"], reverse=True)[:count]
    return {result["unique_id"].split(".")[2]: round(result["execution_time"], 1) for result in slowest}


def bench_services_peak_rss(local: LocalServices) -> dict[str, int]:
    """Peak resident memory (VmHWM) of each service's processes, in MB, read before they stop."""
    peaks = {}
    for pid_file in local.state_dir.glob("*.pid"):
        group = int(pid_file.read_text())
        peaks[pid_file.stem] = max((_peak_rss_kb(pid) for pid in _group_members(group)), default=0) // 1024
    return peaks


def children_peak_rss_mb() -> int:
    """The largest peak of any finished child (ecom commands, dbt, baseline A): Linux reports kilobytes."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024


def _group_members(group: int) -> list[int]:
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:
            members.append(int(stat.parent.name))
    return members


def _peak_rss_kb(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(match[1]) if match else 0


def count_rows(delivery: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in delivery.rglob("*.csv"):
        entity = path.relative_to(delivery).parts[0]
        with path.open(newline="") as handle:
            counts[entity] = counts.get(entity, 0) + sum(1 for _ in csv.reader(handle)) - 1
    return counts


def ratio(numerator: dict, denominator: dict) -> float:
    return round(numerator["seconds"] / denominator["seconds"], 2)


def markdown(result: dict) -> str:
    stage_names = ["ingestion", "dbt build", "freshness check", "export", "archive"]
    lines = [
        "| step | total s | " + " | ".join(stage_names) + " |",
        "|---|---|" + "---|" * len(stage_names),
    ]
    for name, step in result["steps"].items():
        stages = " | ".join(str(step.get("stages", {}).get(stage, "")) for stage in stage_names)
        lines.append(f"| {name} | {step['seconds']} | {stages} |")
    lines.append("")
    lines += [f"- {name}: {value}" for name, value in result["ratios"].items()]
    lines.append(f"- export alone: {result['steps']['export alone']['items_per_second']} items/s")
    lines.append(f"- rows: {result['rows']}; KPI rows agreed: {result['agreement']}")
    lines.append(f"- peak resident memory, MB: {result['peak_rss_mb']}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
