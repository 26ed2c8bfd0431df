"""`ecom`: the operator's command line. Every command reads the same environment as the Dagster code.

Exit codes: 0 success, 1 the command ran and failed (a cycle failed, a service did not start),
2 the command line was wrong.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import sys
import time
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from ingestion.settings import (
    PROJECT_ROOT,
    STATE_DIR,
    Settings,
    close_spark_clients,
    dynamodb_client,
    s3_client,
    spark_session,
)

log = logging.getLogger("ecom")

EXAMPLES = {
    "services": 'ecom services start && eval "$(ecom services env)"',
    "generate": "ecom generate --out /tmp/deliveries --orders 500 --seed 7",
    "upload": "ecom upload ../shared/data/lab-2025",
    "run": "ecom run",
    "kpis": "ecom kpis --source dynamodb --date 2025-03-08 --format json",
    "report": "ecom report --format json",
    "backfill": "ecom backfill --start 2025-03-01 --end 2025-03-31",
    "rebuild": "ecom rebuild",
}


# A run over a range of partitions carries these tags, like the one run of a backfill launched from the UI.
PARTITION_RANGE_TAGS = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")

EXIT_CODES = "0 success, 1 failed (the reason is on stderr), 2 wrong command line, 130 interrupted"


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("botocore", "py4j", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    args = _parser().parse_args(argv)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        return 130
    finally:
        close_spark_clients()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ecom",
        description="Event-driven e-commerce KPI pipeline: S3 landing -> Spark/Delta -> dbt -> DynamoDB.",
        epilog=(
            "Every command reads its settings from the environment (see README: Configuration); "
            '`eval "$(ecom services env)"` points them at the local services. '
            f"Exit codes: {EXIT_CODES}. Try `ecom COMMAND --help`."
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str, details: str = "") -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            help=help_text,
            description=f"{help_text} {details}".strip(),
            epilog=f"example: {EXAMPLES[name]}\nexit codes: {EXIT_CODES}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    services = command(
        "services",
        "Start, stop or inspect the local Spark Connect server, S3/SNS and DynamoDB.",
        "State, logs and pids live in .ecom/; `env` prints the export lines for the endpoints.",
    )
    services.add_argument("action", choices=["start", "stop", "status", "env"], help="what to do")
    services.set_defaults(handler=_services)

    generate = command(
        "generate", "Write theLook-shaped sample files under DIR/{orders,order_items,products}/."
    )
    generate.add_argument("--out", required=True, type=Path, help="folder to write into (DIR)")
    generate.add_argument("--orders", type=int, default=1000, help="how many orders (default 1000)")
    generate.add_argument("--seed", type=int, default=42, help="random seed, for repeatable files")
    generate.set_defaults(handler=_generate)

    upload = command("upload", "Put the files of DIR/<entity>/... under landing/<entity>/... in the bucket.")
    upload.add_argument("directory", type=Path, help="folder holding orders/, order_items/, products/")
    upload.set_defaults(handler=_upload)

    run = command(
        "run",
        "Run one full cycle headless through the Dagster definitions the sensor uses.",
        "Waits for a cycle in progress to finish first, logs its progress and ends with the time of each "
        "stage. The run shows in the Dagster UI like a sensor's.",
    )
    run.set_defaults(handler=_run)

    kpis = command("kpis", "Print the KPI rows from DynamoDB or from the Delta marts.")
    kpis.add_argument("--source", choices=["dynamodb", "delta"], default="dynamodb", help="default dynamodb")
    kpis.add_argument(
        "--format", choices=["table", "json"], default="table", help="json: money and rates as strings"
    )
    kpis.add_argument("--date", help="only this order date (YYYY-MM-DD)")
    kpis.add_argument("--category", help="only this category (category KPIs)")
    kpis.set_defaults(handler=_kpis)

    report = command(
        "report",
        "Print the row accounting per entity and the files archived and rejected.",
        "received = rejected + superseded + current per entity; the table adds rejections by reason.",
    )
    report.add_argument("--format", choices=["table", "json"], default="table", help="default table")
    report.set_defaults(handler=_report)

    backfill = command("backfill", "Rebuild the marts for an order-date range and re-export them.")
    backfill.add_argument("--start", required=True, help="first order date (YYYY-MM-DD)")
    backfill.add_argument("--end", required=True, help="last order date (YYYY-MM-DD), included")
    backfill.set_defaults(handler=_backfill)

    rebuild = command(
        "rebuild",
        "Rebuild every model from the raw tables and re-export the marts.",
        "The incremental models (checked rows, current rows, quarantine) are rebuilt from scratch "
        "(dbt --full-refresh); use it after changing a validation rule or a model.",
    )
    rebuild.set_defaults(handler=_rebuild)
    return parser


def _services(args: argparse.Namespace) -> int:
    from orchestration.services import LocalServices, ServiceError

    services = LocalServices()
    if args.action == "start":
        try:
            services.start(Settings.from_env())
        except ServiceError as error:
            print(f"ecom services start: {error}", file=sys.stderr)
            return 1
        print('services are up; run: eval "$(ecom services env)"', file=sys.stderr)
    elif args.action == "stop":
        services.stop()
    elif args.action == "status":
        for name, state in services.status().items():
            print(f"{name:<9} {state}")
    else:
        env = services.client_env()
        env.setdefault("DAGSTER_HOME", os.environ.get("DAGSTER_HOME", str(STATE_DIR / "dagster")))
        for name, value in env.items():
            print(f"export {name}={value}")
    return 0


def _generate(args: argparse.Namespace) -> int:
    from ingestion.generate import generate_delivery

    files = generate_delivery(args.out, orders=args.orders, seed=args.seed)
    print(f"wrote {len(files)} file(s) under {args.out}")
    return 0


def _upload(args: argparse.Namespace) -> int:
    from ingestion.landing import upload_directory

    settings = Settings.from_env()
    if not args.directory.is_dir():
        print(f"ecom upload: {args.directory} is not a directory", file=sys.stderr)
        return 2
    keys = upload_directory(s3_client(settings), settings.bucket, args.directory)
    print(f"uploaded {len(keys)} file(s) to s3://{settings.bucket}/landing/")
    return 0


def _run(args: argparse.Namespace) -> int:
    from orchestration.conventions import CYCLE_JOB

    return 0 if execute_job(CYCLE_JOB, {"ecom/trigger": "cli"}) else 1


def _backfill(args: argparse.Namespace) -> int:
    try:
        check_backfill_range(args.start, args.end)
    except ValueError as error:
        print(f"ecom backfill: {error}", file=sys.stderr)
        return 2
    log.info(
        "rebuilding the marts' rows of order dates %s to %s from the current-state tables and re-exporting",
        args.start,
        args.end,
    )
    from orchestration.conventions import BACKFILL_JOB

    partition_range = dict(zip(PARTITION_RANGE_TAGS, (args.start, args.end), strict=True))
    return 0 if execute_job(BACKFILL_JOB, {"ecom/trigger": "cli-backfill", **partition_range}) else 1


def check_backfill_range(start: str, end: str) -> None:
    """`ecom backfill`'s dates: each a calendar date written YYYY-MM-DD that is an order-date partition,
    the end not before the start. The UI's partition picker only offers such ranges."""
    from orchestration.conventions import ORDER_DATES

    first, last = _iso_date("--start", start), _iso_date("--end", end)
    if last < first:
        raise ValueError(f"--end {last} is before --start {first}")
    for name, day in (("--start", start), ("--end", end)):
        if not ORDER_DATES.has_partition_key(day):
            first_partition, last_partition = (
                ORDER_DATES.get_first_partition_key(),
                ORDER_DATES.get_last_partition_key(),
            )
            raise ValueError(
                f"{name} {day} is not an order-date partition: they run from {first_partition} to "
                f"{last_partition} (ORDER_DATES in orchestration/conventions.py)"
            )


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(name: str, text: str) -> date:
    try:
        if ISO_DATE.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise ValueError(f"{name} {text!r} is not a date in the form YYYY-MM-DD")


def _rebuild(args: argparse.Namespace) -> int:
    log.info("rebuilding every model from the raw tables (dbt --full-refresh) and re-exporting the marts")
    from orchestration.conventions import REBUILD_JOB

    return 0 if execute_job(REBUILD_JOB, {"ecom/trigger": "cli-rebuild"}, full_refresh=True) else 1


def execute_job(job_name: str, tags: dict[str, str], full_refresh: bool = False) -> bool:
    """One run of a job of the Dagster definitions in this process, recorded in DAGSTER_HOME like a run
    the daemon launches: a cycle, a backfill (its partition range in `tags`, as a backfill launched from
    the UI has it) or, with `full_refresh`, a rebuild of every model from the raw tables."""
    import dagster as dg

    from orchestration.cycles import cycle_lock, process_tags, wait_for_other_runs
    from orchestration.dbt_project import refresh_manifest

    dagster_home = ensure_dagster_home()
    refresh_manifest()
    from orchestration.definitions import defs

    started = time.monotonic()
    with dg.DagsterInstance.get() as instance, cycle_lock(dagster_home):
        wait_for_other_runs(instance)
        result = defs.resolve_job_def(job_name).execute_in_process(
            instance=instance,
            tags={**tags, **process_tags()},
            raise_on_error=False,
            # Our own progress lines (files, rows, items, timings), without Dagster's per-event noise.
            run_config={
                "loggers": {"console": {"config": {"log_level": "INFO"}}},
                "ops": {"dbt_models": {"config": {"full_refresh": full_refresh}}},
            },
        )
        print(format_table(stage_timings(instance, result.run_id)), file=sys.stderr)
    elapsed = time.monotonic() - started
    if result.success:
        log.info("cycle %s succeeded in %.1fs (runs recorded in %s)", result.run_id, elapsed, dagster_home)
        return True
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            print(
                f"ecom: step {event.step_key} failed: {error.message.strip() if error else ''}",
                file=sys.stderr,
            )
    print(f"ecom: cycle {result.run_id} failed after {elapsed:.1f}s; no file was archived", file=sys.stderr)
    return False


def stage_timings(instance, run_id: str) -> list[dict[str, Any]]:
    """Each step of a run with its outcome and seconds, from the run's event log."""
    import dagster as dg

    from orchestration.conventions import STAGES

    started: dict[str, float] = {}
    rows = []
    for record in instance.all_logs(run_id):
        event, step = record.dagster_event, record.step_key
        if event is None or step is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            started[step] = record.timestamp
        elif event.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
            rows.append(
                {
                    "stage": STAGES.get(step, step),
                    "outcome": "ok" if event.is_step_success else "FAILED",
                    "seconds": Decimal(f"{record.timestamp - started.get(step, record.timestamp):.1f}"),
                }
            )
    return rows


def ensure_dagster_home() -> Path:
    """DAGSTER_HOME defaults to a git-ignored folder of the project, with the project's dagster.yaml."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(STATE_DIR / "dagster")))
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copy(PROJECT_ROOT / "orchestration" / "dagster.yaml", home / "dagster.yaml")
    return home


def _kpis(args: argparse.Namespace) -> int:
    from export.dynamodb import kpi_tables
    from export.kpis import filtered, read_dynamodb, read_mart

    settings = Settings.from_env()
    tables = kpi_tables(settings.category_kpi_table, settings.order_kpi_table)
    if args.source == "delta":
        spark = spark_session(settings)
        rows = [read_mart(spark, table) for table in tables]
    else:
        client = dynamodb_client(settings)
        rows = [read_dynamodb(client, table) for table in tables]
    result = {
        "category_kpis": filtered(rows[0], args.date, args.category),
        "order_kpis": filtered(rows[1], args.date, None),
    }
    if args.format == "json":
        print(json.dumps(result, default=_json_value, indent=2))
    else:
        for name, table_rows in result.items():
            print(f"{name} ({len(table_rows)} rows, from {args.source})")
            print(format_table(table_rows, terminal_width()))
            print()
    return 0


def _report(args: argparse.Namespace) -> int:
    from export.report import read_rejections, read_report

    spark = spark_session(Settings.from_env())
    report = read_report(spark)
    if args.format == "json":
        print(json.dumps(report, indent=2))
    else:
        rows = [{"entity": name, **figures} for name, figures in report["entities"].items()]
        print(format_table(rows, terminal_width()))
        print("\nrejections by reason (rows in accepted files, and whole files)")
        print(format_table(read_rejections(spark), terminal_width()))
        files = report["files"]
        print(f"\nfiles archived: {files['archived']}, rejected to errors/: {files['errored']}")
    return 0


def format_table(rows: list[dict[str, Any]], width: int | None = None) -> str:
    """Aligned columns, numbers to the right; given a width, text columns are cut (with …) to fit it."""
    if not rows:
        return "(no rows)"
    columns = list(rows[0])
    cells = [[_text(row.get(column)) for column in columns] for row in rows]
    widths = [max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(columns)]
    numeric = [all(isinstance(row.get(column), int | Decimal) for row in rows) for column in columns]
    if width:
        widths = _fitted(widths, numeric, width)
    header = [
        column.rjust(w) if is_number else _cut(column, w).ljust(w)
        for column, w, is_number in zip(columns, widths, numeric, strict=True)
    ]
    lines = ["  ".join(header).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for line in cells:
        aligned = [
            cell.rjust(w) if is_number else _cut(cell, w).ljust(w)
            for cell, w, is_number in zip(line, widths, numeric, strict=True)
        ]
        lines.append("  ".join(aligned).rstrip())
    return "\n".join(lines)


MIN_TEXT_WIDTH = 8


def _fitted(widths: list[int], numeric: list[bool], limit: int) -> list[int]:
    """Narrow the widest text column, then the next, until the table fits or none can give more."""
    widths = list(widths)
    excess = sum(widths) + 2 * (len(widths) - 1) - limit
    while excess > 0:
        text = [i for i, is_number in enumerate(numeric) if not is_number and widths[i] > MIN_TEXT_WIDTH]
        if not text:
            break
        widest = max(text, key=lambda i: widths[i])
        cut = min(excess, widths[widest] - MIN_TEXT_WIDTH)
        widths[widest] -= cut
        excess -= cut
    return widths


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def terminal_width() -> int | None:
    """The terminal's width when printing to one; None when piped, so no value is ever cut in a file."""
    return shutil.get_terminal_size().columns if sys.stdout.isatty() else None


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _json_value(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON serializable: {value!r}")


if __name__ == "__main__":
    sys.exit(main())
