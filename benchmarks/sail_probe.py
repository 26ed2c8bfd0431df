"""Sail as the Spark Connect server (issue 5, point 3): does the project's Spark code run on it, and agree?

Sail (https://docs.lakesail.com/sail/latest/) is a Spark Connect server written in Rust. This script
repeats in one command the trial that was first done by hand:

  1. it starts a Sail server of its own (stopped at the end, also on error);
  2. it generates theLook-shaped plain CSVs as benchmarks/bench.py does, through benchmarks/common.py
     (or takes them from --data);
  3. it runs baseline A's KPI code (benchmarks/baseline_pyspark.py, imported) on Sail three times, and
     compares every KPI row with DuckDB's (benchmarks/baseline_duckdb.py, run in the project's .venv);
  4. it probes, one small function each, the Spark features that ingestion and the dbt models rely on:
     a probe works only if the statement runs and gives Spark's answer.

The probes use only the public names of ingestion/raw_tables.py, so they cannot drift from private helpers
that nothing here tests; the window and array functions that ingestion's row- and line-numbering uses are
covered by the generic function probes.

Sail needs the thin pyspark-client, and the project's .venv has the full pyspark, so the script runs in a venv
of its own. From the repository root (PYTHONPATH=. makes `ingestion` and `benchmarks` importable; the parts
used here need only the standard library and pyspark):

    python3.11 -m venv .sail && .sail/bin/pip install pysail==0.7.2 pyspark-client==4.2.0 pandas==2.3.3
    PYTHONPATH=. .sail/bin/python benchmarks/sail_probe.py --scale 10k

Writes benchmarks/results/sail-<scale>.json and prints a Markdown summary.
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
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from importlib.metadata import version
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from benchmarks import baseline_pyspark
from benchmarks.common import SCALES, bench_deliveries, canonical_row
from ingestion.entities import ENTITIES
from ingestion.generate import generate_delivery
from ingestion.raw_tables import CORRUPT_RECORD, LEDGER_TABLE, ensure_raw_tables, raw_table

log = logging.getLogger("sail_probe")
BENCHMARKS = Path(__file__).resolve().parent
REPO = BENCHMARKS.parent
HOST = "127.0.0.1"
TIMED_RUNS = 3
# The DuckDB baseline needs the project's .venv (duckdb), so it runs there and hands back its rows as JSON.
DUCKDB_KPIS = (
    "import json, sys; from pathlib import Path; from benchmarks.baseline_duckdb import kpis; "
    "json.dump(kpis(Path(sys.argv[1])), sys.stdout)"
)
LANDED_AT = datetime(2025, 3, 9, 12, tzinfo=UTC)
PRODUCTS_SAMPLE = Path("products/products_part1.csv")  # names with quoted commas, quotes and line breaks
MALFORMED = REPO / "tests/data/faults/d1/orders/orders_a.csv"  # row o8 has 9 fields for 8
ERROR_WIDTH = 160
CTAS_ERROR = "the failing select of the CTAS probe"  # raise_error's message, to tell it from other errors


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="10k", help="also names the result file")
    parser.add_argument(
        "--data",
        type=Path,
        help="a delivery of plain CSVs (orders/, order_items/, products/) outside --state",
    )
    parser.add_argument("--port", type=int, default=15090, help="the Sail server's port")
    parser.add_argument("--state", type=Path, default=BENCHMARKS / ".sail-state", help="wiped at start")
    parser.add_argument("--project-python", type=Path, default=REPO / ".venv/bin/python", help="for DuckDB")
    args = parser.parse_args()

    state = args.state.resolve()
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    landing = args.data.resolve() if args.data else plain_history(state / "data", SCALES[args.scale])
    samples = mixed_samples(state / "samples")
    warehouse = state / "warehouse"
    duckdb_seconds, duckdb_rows = duckdb_kpis(args.project_python, landing)
    with sail_server(args.port, state) as server:
        spark = connect(f"{server}/;session_id={uuid.uuid4()}", warehouse)
        try:
            server_version = spark.version
            load_before = os.getloadavg()[0]
            seconds, sail_rows = time_baseline_a(spark, landing)
            probes = run_probes(Lab(spark, server, warehouse, samples))
        finally:
            spark.stop()

    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "scale": args.scale,
        "data": os.path.relpath(landing, REPO),
        "versions": {
            "pysail": version("pysail"),
            "pyspark-client": version("pyspark-client"),
            "Spark version the server reports": server_version,
            "python": platform.python_version(),
        },
        "machine": {"cpus": os.cpu_count(), "load average before the timed runs": load_before},
        "baseline A on Sail, s": seconds,
        "baseline B (DuckDB), s": duckdb_seconds,
        "agreement": compare(sail_rows, duckdb_rows),
        "probes": probes,
    }
    results = BENCHMARKS / "results"
    results.mkdir(exist_ok=True)
    (results / f"sail-{args.scale}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(markdown(result))
    return 0


# --- the server and the data ---------------------------------------------------------------------------


@contextmanager
def sail_server(port: int, state: Path) -> Iterator[str]:
    """A Sail server of our own, working in `state`, stopped on the way out whatever happened."""
    if accepts_connections(port):
        raise SystemExit(f"port {port} is already in use; pass another --port")
    sail = Path(sys.executable).parent / "sail"  # the console script of pysail, in this venv
    command = [str(sail), "spark", "server", "--ip", HOST, "--port", str(port), "-C", str(state)]
    with (state / "sail.log").open("w") as server_log:
        server = subprocess.Popen(command, stdout=server_log, stderr=subprocess.STDOUT)
        try:
            wait_until_listening(server, port)
            log.info("Sail %s listening on %s:%d (pid %d)", version("pysail"), HOST, port, server.pid)
            yield f"sc://{HOST}:{port}"
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            log.info("Sail stopped")


def wait_until_listening(server: subprocess.Popen, port: int, timeout: float = 60) -> None:
    """Until the port accepts a connection; fails at once if the server exits first."""
    deadline = time.monotonic() + timeout
    while not accepts_connections(port):
        if time.monotonic() > deadline:
            raise SystemExit(f"Sail did not listen on port {port} within {timeout:.0f}s")
        try:
            code = server.wait(timeout=0.2)
        except subprocess.TimeoutExpired:
            continue
        raise SystemExit(f"Sail exited with code {code} before listening; see its sail.log")


def accepts_connections(port: int) -> bool:
    try:
        socket.create_connection((HOST, port), timeout=1).close()
    except OSError:
        return False
    return True


def connect(remote: str, warehouse: Path) -> SparkSession:
    """A client session. Sail's default warehouse is the relative `spark-warehouse`, and managed Delta tables
    then fail with 'table location must be an absolute path', so every session gets an absolute one."""
    spark = SparkSession.builder.remote(remote).getOrCreate()
    spark.conf.set("spark.sql.warehouse.dir", str(warehouse))
    return spark


def plain_history(data: Path, orders: int) -> Path:
    """The history delivery benchmarks/bench.py gives its baselines (its small delivery is not used here)."""
    started = time.monotonic()
    history, _ = bench_deliveries(data, orders)
    log.info("generated %d orders in %s in %.1fs", orders, history, time.monotonic() - started)
    return history


def mixed_samples(directory: Path) -> Path:
    """A small delivery in every form the contract allows (LF, CRLF with a BOM, gzip) for the read probes."""
    generate_delivery(directory, orders=40, seed=1)
    return directory


# --- baseline A on Sail against DuckDB -----------------------------------------------------------------


def time_baseline_a(spark: SparkSession, landing: Path) -> tuple[list[float], dict]:
    """Baseline A's KPI code, run and collected TIMED_RUNS times in one warm client (no client start-up)."""
    seconds, rows = [], {}
    for run in range(1, TIMED_RUNS + 1):
        started = time.monotonic()
        rows = baseline_pyspark.kpis(spark, str(landing))
        seconds.append(round(time.monotonic() - started, 2))
        log.info("baseline A on Sail, run %d: %.2fs", run, seconds[-1])
    return seconds, rows


def duckdb_kpis(project_python: Path, landing: Path) -> tuple[float, dict]:
    """Baseline B's rows from the project's .venv; the time includes that interpreter's start-up."""
    started = time.monotonic()
    done = subprocess.run(
        [str(project_python), "-c", DUCKDB_KPIS, str(landing)], cwd=REPO, capture_output=True, text=True
    )
    seconds = round(time.monotonic() - started, 2)
    if done.returncode != 0:
        raise SystemExit(f"baseline B (DuckDB) failed:\n{done.stderr[-3000:]}")
    log.info("baseline B (DuckDB): %.2fs", seconds)
    return seconds, json.loads(done.stdout)


def compare(sail: dict, duckdb: dict) -> dict[str, dict]:
    """Each KPI row of Sail against DuckDB's row with the same key, values compared as text as
    benchmarks/bench.py's agreement check does, with enough detail per column to say how they differ."""
    agreement = {
        table: compare_table(by_key(sail[table], key), by_key(duckdb[table], key))
        for table, key in baseline_pyspark.KPI_KEYS.items()
    }
    log.info("agreement with DuckDB: %s", agreement)
    return agreement


RowKey = tuple[str, ...]


def by_key(rows: list[dict], key: tuple[str, ...]) -> dict[RowKey, dict[str, str]]:
    return {tuple(str(row[name]) for name in key): canonical_row(row) for row in rows}


def compare_table(on_sail: dict[RowKey, dict[str, str]], in_duckdb: dict[RowKey, dict[str, str]]) -> dict:
    """How many rows differ and where; the example is the first differing value in key order."""
    differences = [
        (row_key, name, on_sail[row_key].get(name), in_duckdb[row_key].get(name))
        for row_key in sorted(on_sail.keys() & in_duckdb.keys())
        for name in sorted(on_sail[row_key].keys() | in_duckdb[row_key].keys())
        if on_sail[row_key].get(name) != in_duckdb[row_key].get(name)
    ]
    example = next((f"{k}: {name} {s} on Sail, {d} in DuckDB" for k, name, s, d in differences), None)
    return {
        "rows": len(in_duckdb),
        "rows differing": len({row_key for row_key, *_ in differences}),
        "only on Sail": len(on_sail.keys() - in_duckdb.keys()),
        "only in DuckDB": len(in_duckdb.keys() - on_sail.keys()),
        "columns differing": column_differences(differences),
        "example": example,
    }


def column_differences(differences: list[tuple[RowKey, str, str | None, str | None]]) -> dict[str, dict]:
    """Per column: how many values differ, how many of them are lower and higher on Sail than in DuckDB, and
    the largest absolute difference; values that are not numbers, or equal numbers written differently, are
    neither lower nor higher."""
    columns: dict[str, dict] = {}
    for _, name, on_sail, in_duckdb in differences:
        column = columns.setdefault(
            name, {"values": 0, "lower on Sail": 0, "higher on Sail": 0, "largest absolute difference": None}
        )
        column["values"] += 1
        difference = numeric_difference(on_sail, in_duckdb)
        if difference:
            column["lower on Sail" if difference < 0 else "higher on Sail"] += 1
            largest = max(abs(difference), Decimal(column["largest absolute difference"] or 0))
            column["largest absolute difference"] = str(largest)
    return columns


def numeric_difference(on_sail: str | None, in_duckdb: str | None) -> Decimal | None:
    """Sail's value minus DuckDB's, or None when either is not a number (absent, or the text `None`)."""
    try:
        return Decimal(on_sail) - Decimal(in_duckdb)
    except (InvalidOperation, TypeError):
        return None


# --- the probes ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lab:
    """What a probe may use: the session, the server's address, the warehouse and the sample delivery."""

    spark: SparkSession
    server: str
    warehouse: Path
    samples: Path


Probe = Callable[[Lab], None]
PROBES: list[tuple[str, Probe]] = []


def probe(statement: str) -> Callable[[Probe], Probe]:
    """Register a probe under the statement it tries; it raises when Sail fails or answers unlike Spark."""

    def register(function: Probe) -> Probe:
        PROBES.append((statement, function))
        return function

    return register


def run_probes(lab: Lab) -> dict[str, str]:
    """Every probe in order: `works`, or `fails: ` and the first line of its error."""
    outcomes = {}
    for statement, check in PROBES:
        try:
            check(lab)
            outcomes[statement] = "works"
        except Exception as error:
            first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
            # Paths relative to the repository root, as everywhere in the result file.
            outcomes[statement] = "fails: " + shorten(first_line.replace(f"{REPO}/", ""))
        log.info("probe %s: %s", statement, outcomes[statement])
    return outcomes


def shorten(text: str) -> str:
    return text if len(text) <= ERROR_WIDTH else text[: ERROR_WIDTH - 1] + "…"


def expect(actual: object, expected: object, what: str) -> None:
    if actual != expected:
        raise AssertionError(f"{what}: {actual!r}, expected {expected!r}")


def require(condition: bool, failure: str) -> None:
    if not condition:
        raise AssertionError(failure)


def sql_rows(spark: SparkSession, statement: str) -> list[tuple]:
    return [tuple(row) for row in spark.sql(statement).collect()]


def sql_value(spark: SparkSession, statement: str) -> object:
    """The one value of a one-row, one-column query."""
    [(value,)] = sql_rows(spark, statement)
    return value


def csv_records(path: Path) -> list[list[str]]:
    """The file as Python's csv module reads it (BOM dropped, gzip opened): the answer Spark should give."""
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def read_like_ingestion(spark: SparkSession, path: Path, corrupt_column: bool = True) -> DataFrame:
    """The read of `ingestion.raw_tables._read_file` on a local file: a positional all-text schema from the
    file's header, plus the corrupt-record column unless told otherwise."""
    fields = [StructField(f"c{i}", StringType()) for i in range(len(csv_records(path)[0]))]
    # The schema and options of `_read_file` in ingestion/raw_tables.py, copied by hand: keep them in step.
    options = {"mode": "PERMISSIVE", "quote": '"', "escape": '"', "encoding": "UTF-8"}
    if corrupt_column:
        fields.append(StructField(CORRUPT_RECORD, StringType()))
        options["columnNameOfCorruptRecord"] = CORRUPT_RECORD
    return spark.read.csv(str(path), schema=StructType(fields), header=True, multiLine=True, **options)


def expect_csv_module_rows(spark: SparkSession, path: Path) -> None:
    """Sail's rows of the file (without the corrupt-record column) must be those Python's csv module reads;
    Spark reads an empty field as null."""
    frame = read_like_ingestion(spark, path, corrupt_column=False)
    read = sorted(tuple("" if value is None else value for value in row) for row in frame.collect())
    expect(read, sorted(tuple(record) for record in csv_records(path)[1:]), f"rows of {path.name}")


def fresh_target(spark: SparkSession, name: str) -> str:
    """A new Delta table probe.<name> with rows (1,a) (2,b) (3,c) in version 1, and a source view
    probe_source of (2,B) (4,D) to merge from."""
    table = f"probe.{name}"
    spark.sql("create database if not exists probe")
    spark.sql(f"drop table if exists {table}")
    spark.sql(f"create table {table} (id string, v string) using delta")
    spark.sql(f"insert into {table} values ('1', 'a'), ('2', 'b'), ('3', 'c')")
    spark.sql(
        "create or replace temporary view probe_source as "
        "select * from values ('2', 'B'), ('4', 'D') as t(id, v)"
    )
    return table


def upsert(table: str) -> str:
    return (
        f"merge into {table} t using probe_source s on t.id = s.id "
        "when matched then update set * when not matched then insert *"
    )


def table_rows(spark: SparkSession, table: str) -> list[tuple]:
    return sorted(tuple(row) for row in spark.table(table).collect())


def table_details(spark: SparkSession, table: str) -> dict[str, str]:
    """`describe extended`'s detail rows (Location, Table Properties, ...), since SHOW TBLPROPERTIES fails."""
    return {row[0]: row[1] for row in spark.sql(f"describe extended {table}").collect()}


def table_location(spark: SparkSession, table: str) -> Path:
    return Path(table_details(spark, table)["Location"].removeprefix("file://"))


def delta_commits(location: Path) -> list[Path]:
    """The commit files of a Delta table's log (checkpoints aside); none when there is no log."""
    return sorted((location / "_delta_log").glob("*.json"))


def rows_in_schema_of(spark: SparkSession, table: str, rows: list[dict]) -> DataFrame:
    """`rows` in the table's own schema, columns not given null: written with public names only, so the
    probe follows the table's definition without copying how ingestion builds its rows."""
    schema = spark.table(table).schema
    return spark.createDataFrame([tuple(row.get(name) for name in schema.names) for row in rows], schema)


# Ingestion: the reads and writes of ingestion/raw_tables.py.


@probe("CSV read as `_read_file`: all-text schema + `_corrupt_record`, header, multiLine, PERMISSIVE, escape")
def read_with_corrupt_record_column(lab: Lab) -> None:
    path = lab.samples / PRODUCTS_SAMPLE
    expect(read_like_ingestion(lab.spark, path).count(), len(csv_records(path)) - 1, "rows")


@probe("the same read without the corrupt-record column: quoted commas, quotes, line breaks in values")
def read_quoted_values(lab: Lab) -> None:
    expect_csv_module_rows(lab.spark, lab.samples / PRODUCTS_SAMPLE)


@probe("PERMISSIVE read of a file with a malformed row (9 fields for 8) keeps every row")
def read_malformed_row(lab: Lab) -> None:
    rows = read_like_ingestion(lab.spark, MALFORMED, corrupt_column=False).count()
    expect(rows, len(csv_records(MALFORMED)) - 1, "rows")


@probe("a `.csv.gz` file")
def read_gzip(lab: Lab) -> None:
    expect_csv_module_rows(lab.spark, lab.samples / "orders/orders_part3.csv.gz")


@probe("a CRLF file with a UTF-8 BOM (no `\\r` left in values)")
def read_crlf_with_bom(lab: Lab) -> None:
    expect_csv_module_rows(lab.spark, lab.samples / "orders/orders_part2.csv")


@probe("`CREATE DATABASE IF NOT EXISTS`, `CREATE TABLE IF NOT EXISTS ... USING delta` (`ensure_raw_tables`)")
def create_raw_tables(lab: Lab) -> None:
    ensure_raw_tables(lab.spark)
    ensure_raw_tables(lab.spark)
    expect(len(sql_rows(lab.spark, "show tables in raw")), len(ENTITIES) + 1, "tables in raw")


@probe("`writeTo(t).overwrite(condition)` twice on a raw table: the second replaces the rows of the first")
def overwrite_raw_rows(lab: Lab) -> None:
    ensure_raw_tables(lab.spark)
    table = raw_table(ENTITIES["products"])
    delivery = {"_source_key": "landing/probe.csv", "_landed_at": LANDED_AT}
    frame = rows_in_schema_of(lab.spark, table, [delivery | {"id": "1"}, delivery | {"id": "2"}])
    for _ in range(2):
        frame.writeTo(table).overwrite(F.col("_source_key") == delivery["_source_key"])
    expect(lab.spark.table(table).count(), 2, "rows")


@probe("`createDataFrame(...).write.format('delta').mode('append').saveAsTable` (the ledger)")
def append_to_ledger(lab: Lab) -> None:
    ensure_raw_tables(lab.spark)
    before = lab.spark.table(LEDGER_TABLE).count()
    entry = {"key": "landing/probe.csv", "landed_at": LANDED_AT}
    frame = rows_in_schema_of(lab.spark, LEDGER_TABLE, [entry])
    frame.write.format("delta").mode("append").saveAsTable(LEDGER_TABLE)
    expect(lab.spark.table(LEDGER_TABLE).count(), before + 1, "ledger rows")


# Delta Lake: what ingestion and the dbt models do to their tables.


@probe("`MERGE INTO ... WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *`")
def merge_upsert(lab: Lab) -> None:
    table = fresh_target(lab.spark, "merge_upsert")
    lab.spark.sql(upsert(table))
    expect(table_rows(lab.spark, table), [("1", "a"), ("2", "B"), ("3", "c"), ("4", "D")], "rows")


@probe("`MERGE ... WHEN NOT MATCHED BY SOURCE THEN DELETE`")
def merge_deleting_unmatched(lab: Lab) -> None:
    table = fresh_target(lab.spark, "merge_delete")
    lab.spark.sql(upsert(table) + " when not matched by source then delete")
    expect(table_rows(lab.spark, table), [("2", "B"), ("4", "D")], "rows")


@probe("deletion vectors: `SET TBLPROPERTIES ('delta.enableDeletionVectors' = 'true')`, MERGE, DELETE FROM")
def deletion_vectors(lab: Lab) -> None:
    table = fresh_target(lab.spark, "deletion_vectors")
    lab.spark.sql(f"alter table {table} set tblproperties ('delta.enableDeletionVectors' = 'true')")
    lab.spark.sql(upsert(table))
    lab.spark.sql(f"delete from {table} where id = '1'")
    expect(table_rows(lab.spark, table), [("2", "B"), ("3", "c"), ("4", "D")], "rows")
    commits = delta_commits(table_location(lab.spark, table))
    require(
        any('"deletionVector":{' in commit.read_text() for commit in commits), "no deletion vector written"
    )


@probe("time travel: `SELECT ... VERSION AS OF 1`")
def time_travel(lab: Lab) -> None:
    table = fresh_target(lab.spark, "time_travel")
    lab.spark.sql(upsert(table))
    expect(sql_value(lab.spark, f"select count(*) from {table} version as of 1"), 3, "rows at version 1")


@probe("`DESCRIBE HISTORY`")
def describe_history(lab: Lab) -> None:
    table = fresh_target(lab.spark, "history")
    expect(len(sql_rows(lab.spark, f"describe history {table}")), 2, "versions")


@probe("`SHOW TBLPROPERTIES`")
def show_tblproperties(lab: Lab) -> None:
    table = fresh_target(lab.spark, "show_properties")
    lab.spark.sql(f"alter table {table} set tblproperties ('ecom.probe' = 'yes')")
    expect(dict(sql_rows(lab.spark, f"show tblproperties {table}")).get("ecom.probe"), "yes", "ecom.probe")


@probe("`ALTER TABLE ... SET TBLPROPERTIES ('ecom.item_changes_through' = ...)` (read back via DESCRIBE)")
def set_tblproperties(lab: Lab) -> None:
    table = fresh_target(lab.spark, "set_properties")
    lab.spark.sql(
        f"alter table {table} set tblproperties ('ecom.item_changes_through' = '2025-03-21 00:00:00')"
    )
    properties = table_details(lab.spark, table)["Table Properties"]
    require("ecom.item_changes_through=2025-03-21 00:00:00" in properties, f"properties: {properties}")


@probe("`DROP TABLE` of a managed Delta table removes its files")
def drop_table(lab: Lab) -> None:
    table = fresh_target(lab.spark, "dropped")
    location = table_location(lab.spark, table)
    lab.spark.sql(f"drop table {table}")
    require(
        not location.exists(), f"its files are left in the warehouse: {location.relative_to(lab.warehouse)}"
    )


# SQL that dbt-spark issues for the project's models, tests and macros.


@probe("`show databases`")
def show_databases(lab: Lab) -> None:
    fresh_target(lab.spark, "listed")
    require("probe" in {row[0] for row in sql_rows(lab.spark, "show databases")}, "probe not listed")


@probe("`show table extended in <schema> like '*'`")
def show_table_extended(lab: Lab) -> None:
    fresh_target(lab.spark, "listed")
    require(len(sql_rows(lab.spark, "show table extended in probe like '*'")) > 0, "no table listed")


@probe("`describe extended <table>`")
def describe_extended(lab: Lab) -> None:
    table = fresh_target(lab.spark, "described")
    expect(table_details(lab.spark, table).get("Provider"), "delta", "Provider")


@probe("`create or replace view`")
def create_or_replace_view(lab: Lab) -> None:
    fresh_target(lab.spark, "viewed")
    for value in ("a", "b"):
        lab.spark.sql(f"create or replace view probe.v as select v from probe.viewed where v = '{value}'")
    expect(sql_rows(lab.spark, "select * from probe.v"), [("b",)], "view rows")


@probe("`create or replace temporary view` with `array_compact` and a timestamp literal")
def create_temporary_view(lab: Lab) -> None:
    lab.spark.sql(
        "create or replace temporary view probe_tmp as "
        "select array_compact(array('a', null)) as a, timestamp'2025-03-01 00:00:00' as t"
    )
    expect(sql_rows(lab.spark, "select * from probe_tmp"), [(["a"], datetime(2025, 3, 1))], "view rows")


@probe("`create or replace table ... using delta tblproperties (...) as select`")
def create_or_replace_table_as_select(lab: Lab) -> None:
    lab.spark.sql("create database if not exists probe")
    for rows in (2, 3):
        lab.spark.sql(
            "create or replace table probe.replaced using delta "
            f"tblproperties ('delta.enableDeletionVectors' = 'true') as select id from range({rows})"
        )
    expect(lab.spark.table("probe.replaced").count(), 3, "rows")


@probe("CTAS: `create table ... using delta as select`")
def create_table_as_select(lab: Lab) -> None:
    source = fresh_target(lab.spark, "ctas_source")
    lab.spark.sql("drop table if exists probe.ctas")
    lab.spark.sql(f"create table probe.ctas using delta as select * from {source}")
    expect(table_rows(lab.spark, "probe.ctas"), table_rows(lab.spark, source), "rows")


@probe("a CTAS whose select fails at run time leaves no table behind")
def failed_ctas(lab: Lab) -> None:
    lab.spark.sql("create database if not exists probe")
    lab.spark.sql("drop table if exists probe.failed")
    try:
        lab.spark.sql(
            "create table probe.failed using delta "
            f"as select if(id > 0, raise_error('{CTAS_ERROR}'), 'a') as x from range(2)"
        )
    except Exception as error:
        if CTAS_ERROR not in str(error):
            raise
    else:
        raise AssertionError("the CTAS ran to the end although its select raises, so nothing was probed")
    if lab.spark.catalog.tableExists("probe.failed"):
        commits = delta_commits(table_location(lab.spark, "probe.failed"))
        raise AssertionError(
            f"probe.failed is left in the catalog, with {len(commits)} Delta commits in its log"
        )


@probe("`merge ... when not matched by source and order_date in (...) then delete` (`spark__get_merge_sql`)")
def merge_by_order_dates(lab: Lab) -> None:
    lab.spark.sql("create database if not exists probe")
    lab.spark.sql(
        "create or replace table probe.kpis using delta as select * from values "
        "(date'2025-03-01', 'Jeans', 1.00BD), (date'2025-03-02', 'Jeans', 2.00BD), "
        "(date'2025-03-03', 'Socks', 3.00BD) as t(order_date, category, revenue)"
    )
    lab.spark.sql(
        "create or replace temporary view kpis__dbt_tmp as select * from values "
        "(date'2025-03-02', 'Jeans', 5.00BD), (date'2025-03-04', 'Tops', 4.00BD) "
        "as t(order_date, category, revenue)"
    )
    lab.spark.sql(
        "merge into probe.kpis as DBT_INTERNAL_DEST using kpis__dbt_tmp as DBT_INTERNAL_SOURCE "
        "on DBT_INTERNAL_SOURCE.order_date = DBT_INTERNAL_DEST.order_date "
        "and DBT_INTERNAL_SOURCE.category = DBT_INTERNAL_DEST.category "
        "when matched then update set * when not matched then insert * "
        "when not matched by source and DBT_INTERNAL_DEST.order_date in (date'2025-03-01', date'2025-03-02') "
        "then delete"
    )
    expected = [
        (date(2025, 3, 2), "Jeans", Decimal("5.00")),
        (date(2025, 3, 3), "Socks", Decimal("3.00")),
        (date(2025, 3, 4), "Tops", Decimal("4.00")),
    ]
    expect(table_rows(lab.spark, "probe.kpis"), expected, "rows")


@probe("watermark: `cast(coalesce(max(_ingested_at), timestamp'1970-01-01 00:00:00') as string)`")
def watermark(lab: Lab) -> None:
    ensure_raw_tables(lab.spark)
    watermark_sql = "select cast(coalesce(max(_ingested_at), timestamp'1970-01-01 00:00:00') as string) from "
    value = sql_value(lab.spark, watermark_sql + raw_table(ENTITIES["orders"]))
    expect(value, "1970-01-01 00:00:00", "watermark of an empty table")


@probe("dbt tests: `not_null` and `unique` (`group by ... having count(*) > 1`) in dbt's failure count")
def dbt_tests(lab: Lab) -> None:
    table = fresh_target(lab.spark, "tested")
    wrapper = "select count(*) as failures, count(*) != 0 as should_warn from ({}) dbt_internal_test"
    not_null = f"select id from {table} where id is null"
    unique = f"select id, count(*) as occurrences from {table} group by id having count(*) > 1"
    for test in (not_null, unique):
        expect(sql_rows(lab.spark, wrapper.format(test)), [(0, False)], test)


@probe("`explode`, `left semi join`, `row_number() over (partition by ... order by ... desc)`")
def explode_semi_join_window(lab: Lab) -> None:
    table = fresh_target(lab.spark, "windowed")
    rows = sql_rows(
        lab.spark,
        f"select id from (select *, row_number() over (partition by v order by id desc) as n from {table}) "
        "left semi join (select explode(array('1', '3')) as id) using (id) where n = 1 order by id",
    )
    expect(rows, [("1",), ("3",)], "rows")


@probe("`row_number`, `sum` over `rowsBetween(unboundedPreceding, -1)`, `filter(array, lambda)`, `size`")
def window_and_array_functions(lab: Lab) -> None:
    in_order = Window.partitionBy("g").orderBy("n")
    before = F.sum("n").over(in_order.rowsBetween(Window.unboundedPreceding, -1))
    reached = F.filter(F.array(F.lit(1), F.lit(2), F.lit(3)), lambda threshold: threshold <= F.col("n"))
    frame = lab.spark.range(1, 4).select(F.lit("g").alias("g"), F.col("id").alias("n"))
    frame = frame.select(F.row_number().over(in_order), F.coalesce(before, F.lit(0)), F.size(reached))
    expect(sorted(tuple(row) for row in frame.collect()), [(1, 0, 1), (2, 1, 2), (3, 3, 3)], "rows")


@probe(
    "`lit(datetime).cast('timestamp')`, `concat_ws`/`regexp_replace`/`length`, `monotonically_increasing_id`"
)
def column_functions(lab: Lab) -> None:
    text = F.concat_ws("|", F.lit("a\nb"), F.lit("c"))
    frame = lab.spark.range(3).select(
        F.lit(LANDED_AT).cast("timestamp").alias("at"),
        F.length(F.regexp_replace(text, "\n", "")).alias("length"),
        F.monotonically_increasing_id().alias("id"),
    )
    rows = frame.collect()
    local_time = LANDED_AT.astimezone().replace(tzinfo=None)  # how the client hands back a timestamp
    expect({(row["at"], row["length"]) for row in rows}, {(local_time, 4)}, "timestamp and length")
    expect(len({row["id"] for row in rows}), 3, "distinct ids")


@probe(
    "`try_cast(... as decimal(38,18))`, `try_to_timestamp(..., format)`, `rlike`, `regexp_extract`, `rpad`"
)
def parsing_functions(lab: Lab) -> None:
    rows = sql_rows(
        lab.spark,
        "select try_cast('49.99' as decimal(38, 18)), try_cast('abc' as decimal(38, 18)), "
        "try_to_timestamp('2025-03-01 10:00:00.' "
        "|| rpad(regexp_extract('10:00:00.5Z', '\\\\.(\\\\d+)', 1), 6, '0'), 'yyyy-MM-dd HH:mm:ss.SSSSSS'), "
        "'2025-03-01T10:00:00Z' rlike '^\\\\d{4}-\\\\d{2}-\\\\d{2}[ T]'",
    )
    expected = [
        (Decimal("49.99").quantize(Decimal(10) ** -18), None, datetime(2025, 3, 1, 10, 0, 0, 500000), True)
    ]
    expect(rows, expected, "values")


@probe("`to_utc_timestamp(ts, '+05:30')`, a zone offset (macro `parse_timestamp`)")
def to_utc_timestamp_with_offset(lab: Lab) -> None:
    value = sql_value(lab.spark, "select to_utc_timestamp(timestamp'2025-03-01 10:00:00', '+05:30')")
    expect(value, datetime(2025, 3, 1, 4, 30), "UTC time")


@probe("`select * except (...)` (macro `latest_valid_rows`)")
def select_star_except(lab: Lab) -> None:
    expect(sql_rows(lab.spark, "select * except (n) from (select 1 as id, 2 as n)"), [(1,)], "rows")


# Decimals: why baseline A's rates differ from DuckDB's.


@probe("`decimal(20,0) / decimal(20,0)` is typed `decimal(38,18)`, as in Spark (baseline A's rates)")
def decimal_division_type(lab: Lab) -> None:
    value = sql_value(lab.spark, "select typeof(cast(729 as decimal(20,0)) / cast(5679 as decimal(20,0)))")
    expect(value, "decimal(38,18)", "type")


@probe("`decimal(38,18) / decimal(38,18)`")
def wide_decimal_division(lab: Lab) -> None:
    value = sql_value(lab.spark, "select cast(1 as decimal(38,18)) / cast(3 as decimal(38,18))")
    expect(value, Decimal("0.333333"), "quotient")


@probe("`round(decimal, 4)` rounds half up")
def round_half_up(lab: Lab) -> None:
    expect(sql_value(lab.spark, "select round(0.12345BD, 4)"), Decimal("0.1235"), "rounded")


# Sessions: ingestion, dbt and the export are separate clients of one server.


@contextmanager
def another_client(remote: str) -> Iterator[SparkSession]:
    """A second client, as another process would be. Only its connection is closed at the end: stopping it
    would release the server-side session, which may be the probe's own. These probes run last, because
    `create()` makes the new client the active session."""
    other = SparkSession.builder.remote(remote).create()
    try:
        yield other
    finally:
        other.client.close()


@probe("a second client session sees the first one's tables (a shared catalog)")
def second_session(lab: Lab) -> None:
    table = fresh_target(lab.spark, "shared")
    with another_client(lab.server) as other:
        expect(other.table(table).count(), 3, "rows")


@probe("... when the second client passes the same `session_id` in its remote URL")
def same_session_id(lab: Lab) -> None:
    table = fresh_target(lab.spark, "shared")
    with another_client(f"{lab.server}/;session_id={lab.spark.session_id}") as other:
        expect(other.table(table).count(), 3, "rows")


# --- the product ---------------------------------------------------------------------------------------


def markdown(result: dict) -> str:
    versions = result["versions"]
    seconds = result["baseline A on Sail, s"]
    lines = [
        f"### Sail probe, scale {result['scale']} ({result['when']})",
        "",
        "| what | result |",
        "|---|---|",
        f"| versions | pysail {versions['pysail']}, pyspark-client {versions['pyspark-client']} (the server "
        f"reports Spark {versions['Spark version the server reports']}), Python {versions['python']} |",
        f"| data | `{result['data']}` |",
        f"| machine | {result['machine']['cpus']} CPUs, load average "
        f"{result['machine']['load average before the timed runs']:.1f} before the timed runs |",
        f"| baseline A on Sail, {len(seconds)} runs, one warm client | {min(seconds)} to {max(seconds)} s |",
        f"| baseline B, DuckDB, one run incl. interpreter start-up | {result['baseline B (DuckDB), s']} s |",
    ]
    for table, agreement in result["agreement"].items():
        lines.append(f"| {table}: Sail vs DuckDB | {agreement_text(agreement)} |")
    lines += ["", "| statement | on Sail |", "|---|---|"]
    lines += [f"| {statement} | {cell(outcome)} |" for statement, outcome in result["probes"].items()]
    return "\n".join(lines)


def agreement_text(agreement: dict) -> str:
    text = f"{agreement['rows differing']} of {agreement['rows']} rows differ"
    if agreement["columns differing"]:
        columns = agreement["columns differing"].items()
        text += " (" + "; ".join(column_text(name, column) for name, column in columns) + ")"
    if agreement["only on Sail"] or agreement["only in DuckDB"]:
        text += f"; {agreement['only on Sail']} only on Sail, {agreement['only in DuckDB']} only in DuckDB"
    if agreement["example"]:
        text += f"; e.g. {agreement['example']}"
    return cell(text)


def column_text(name: str, column: dict) -> str:
    return (
        f"{name}: {column['values']} values, {column['lower on Sail']} lower and {column['higher on Sail']} "
        f"higher on Sail, by at most {column['largest absolute difference']}"
    )


def cell(text: str) -> str:
    """Text fit for one Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


if __name__ == "__main__":
    sys.exit(main())
