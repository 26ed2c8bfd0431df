"""Land the files of a cycle as rows of the raw Delta tables, every value kept as text, plus lineage.

The raw tables are append-only history: validation, typing and picking the current row happen in dbt.
Each file is read by Spark straight from S3 (s3a) with an explicit all-text schema built from that file's
own header, so column order, header case, extra columns and absent optional columns need no inference.
Malformed rows are kept whole in `_corrupt_record` so that dbt can quarantine them with their line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from ingestion.entities import ENTITIES, Entity
from ingestion.landing import Inspection, LandedObject, inspect, list_landed

log = logging.getLogger(__name__)

RAW_SCHEMA = "raw"
LEDGER_TABLE = f"{RAW_SCHEMA}.landed_files"
CORRUPT_RECORD = "_corrupt_record"
LINEAGE_COLUMNS = {
    CORRUPT_RECORD: "string",
    "_source_key": "string",
    "_source_etag": "string",
    "_landed_at": "timestamp",
    "_row_number": "int",
    "_line_number": "int",
    "_cycle_id": "string",
    "_ingested_at": "timestamp",
}
# Delta keeps statistics only for the columns reads filter on: a delivery's rows (the replace on key, ETag
# and landing time, the row counts by cycle), new cycles' rows (_ingested_at, which dbt's staging reads
# and the settled check takes the max of) and the staging's not_null tests (_source_key, _row_number).
# Statistics of every text column cost up to a fifth of writing a raw table (docs/benchmarks.md,
# "Column statistics"); the models name theirs in their tblproperties config.
RAW_STATS_COLUMNS = ("_source_key", "_source_etag", "_landed_at", "_row_number", "_cycle_id", "_ingested_at")
READABLE_COPIES = "ingesting/"
GLOB_CHARACTERS = "[]{}*?\\"
# monotonically_increasing_id puts the partition in the upper 31 bits and the row within it in the lower 33.
ROWS_IN_PARTITION_MASK = (1 << 33) - 1
LEDGER_COLUMNS = {
    "key": "string",
    "etag": "string",
    "size": "bigint",
    "landed_at": "timestamp",
    "entity": "string",
    "cycle_id": "string",
    "ingested_at": "timestamp",
    "outcome": "string",
    "reason": "string",
    "detail": "string",
    "row_count": "bigint",
}


@dataclass(frozen=True)
class Cycle:
    """One run of the pipeline; `started_at` orders cycles, so later cycles' rows win."""

    cycle_id: str
    started_at: datetime


@dataclass(frozen=True)
class IngestionResult:
    accepted: list[Inspection]
    rejected: list[Inspection]
    rows_by_entity: dict[str, int]
    seconds: float


def raw_table(entity: Entity) -> str:
    return f"{RAW_SCHEMA}.{entity.name}"


def ensure_raw_tables(spark) -> None:
    """Create the raw tables and the file ledger if missing, so dbt's sources exist before any file lands."""
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {RAW_SCHEMA}")
    for entity in ENTITIES.values():
        columns = {column: "string" for column in entity.columns} | LINEAGE_COLUMNS
        spark.sql(
            f"CREATE TABLE IF NOT EXISTS {raw_table(entity)} ({_ddl(columns)}) USING delta "
            f"TBLPROPERTIES ('delta.dataSkippingStatsColumns' = '{','.join(RAW_STATS_COLUMNS)}')"
        )
    spark.sql(f"CREATE TABLE IF NOT EXISTS {LEDGER_TABLE} ({_ddl(LEDGER_COLUMNS)}) USING delta")


def ingest_landing(spark, s3, bucket: str, cycle: Cycle) -> IngestionResult:
    """Read every landed file not yet applied into the raw tables and record each one in the ledger.

    A file already in the ledger (same key, ETag and landing time) was applied by an earlier cycle that
    stopped before archiving it; it is not read again, and the archive step picks it up.
    """
    started = time.monotonic()
    ensure_raw_tables(spark)
    landed = list_landed(s3, bucket)
    fresh = not_yet_applied(spark, landed)
    log.info("%d file(s) in landing/, %d not yet applied", len(landed), len(fresh))
    inspections = [inspect(s3, bucket, obj) for obj in fresh]
    accepted = [i for i in inspections if i.accepted]
    rejected = [i for i in inspections if not i.accepted]
    for inspection in rejected:
        log.warning("rejecting %s", inspection.rejection.detail)
    _delete(s3, bucket, _copies_left_by_interrupted_cycles(s3, bucket))
    read_from = _keys_spark_reads(s3, bucket, accepted, cycle)
    row_counts: dict[str, int] = {}
    for entity in ENTITIES.values():
        files = [i for i in accepted if i.entity == entity]
        if files:
            row_counts |= _append_files(spark, bucket, read_from, entity, files, cycle)
    _delete(s3, bucket, [key for key in read_from.values() if key.startswith(READABLE_COPIES)])
    _record_in_ledger(spark, cycle, accepted, rejected, row_counts)
    rows_by_entity = {
        name: sum(row_counts[i.obj.key] for i in accepted if i.obj.entity_name == name) for name in ENTITIES
    }
    return IngestionResult(accepted, rejected, rows_by_entity, time.monotonic() - started)


def _keys_spark_reads(s3, bucket: str, accepted: list[Inspection], cycle: Cycle) -> dict[str, str]:
    """The key Spark reads each accepted file from: its own, or a copy under `ingesting/` when Spark would
    misread its key. Spark takes a path holding one of `[]{}*?\\` for a pattern of other files, and skips
    a file when a part of its path is empty or starts with `_` or `.`: rows that would be lost or
    doubled without a word. The rows keep the landed key as their lineage."""
    read_from = {}
    for number, inspection in enumerate(accepted):
        key = inspection.obj.key
        if _spark_reads_as_is(key):
            read_from[key] = key
            continue
        copy = f"{READABLE_COPIES}{cycle.cycle_id}/{number}{'.csv.gz' if inspection.obj.is_gzip else '.csv'}"
        s3.copy({"Bucket": bucket, "Key": key}, bucket, copy)
        log.info("%s is read from its copy %s: Spark would misread its key", key, copy)
        read_from[key] = copy
    return read_from


def _spark_reads_as_is(key: str) -> bool:
    parts = key.split("/")
    return not any(c in key for c in GLOB_CHARACTERS) and all(
        p and not p.startswith(("_", ".")) for p in parts
    )


def _copies_left_by_interrupted_cycles(s3, bucket: str) -> list[str]:
    """Copies are only read, never the only copy of a file, so a cycle that died before removing its own
    leaves nothing the next one needs. Safe because one cycle runs at a time (docs/design.md)."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=READABLE_COPIES)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def _delete(s3, bucket: str, keys: list[str]) -> None:
    """In batches of a thousand, the most one request takes; nothing to send when there is nothing."""
    for start in range(0, len(keys), 1000):
        batch = [{"Key": key} for key in keys[start : start + 1000]]
        s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})


def _append_files(
    spark, bucket: str, read_from: dict[str, str], entity: Entity, files: list[Inspection], cycle: Cycle
) -> dict[str, int]:
    """Append the files' rows in one commit; returns the rows of each file (by landed key), counted as
    the write reads them (observed metrics come back with the write's answer): a count of the table after
    the write cost a scan of the cycle's rows, about 2.8 s for the 1M history (docs/benchmarks.md, "Row
    counts from the write")."""
    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    started = time.monotonic()
    counted = {i.obj.key: Observation() for i in files}

    def read(inspection: Inspection):
        rows = _read_file(spark, bucket, read_from, entity, inspection, cycle)
        return rows.observe(counted[inspection.obj.key], F.count(F.lit(1)).alias("rows"))

    numbered = [_numbered_in_read_order(read(i)) for i in files if not i.has_quotes]
    quoting = [read(i) for i in files if i.has_quotes]
    if quoting:
        numbered.append(_numbered_counting_line_breaks(_union(quoting)))
    # One commit that also drops whatever an interrupted attempt committed for these same deliveries
    # (rows appended, ledger not yet written): each delivery's rows are in the raw table exactly once.
    _union(numbered).writeTo(raw_table(entity)).overwrite(_is_one_of([i.obj for i in files]))
    row_counts = {key: _observed_rows(observation, key, entity) for key, observation in counted.items()}
    log.info(
        "%s: %d file(s), %d row(s) appended to %s in %.1fs",
        entity.name,
        len(files),
        sum(row_counts.values()),
        raw_table(entity),
        time.monotonic() - started,
    )
    return row_counts


def _observed_rows(observation, key: str, entity: Entity) -> int:
    """The write committed, so the rows are in the raw table but the ledger does not know them yet: the next
    cycle applies the file again and its write replaces them (an overwrite of the same delivery). pyspark
    raises from `get` when no metrics came back with the write."""
    from pyspark.errors import PySparkException

    try:
        return observation.get["rows"]
    except (PySparkException, KeyError) as error:
        raise RuntimeError(
            f"{key}: the write of {entity.name} committed but Spark sent back no row count for this file "
            f"({error}); its rows are in the raw table and the ledger does not hold it yet, so the next "
            "cycle applies it again, replacing those rows"
        ) from error


def _union(frames: list):
    return _pairwise(lambda left, right: left.unionByName(right), frames)


def _pairwise(combine: Callable, items: list):
    """Combine neighbours, then their results, and so on: a plan log2(n) levels deep, not n. Spark Connect
    refuses deeply nested messages: a chain of one OR per file failed from the 49th file."""
    while len(items) > 1:
        items = [
            combine(*items[i : i + 2]) if i + 1 < len(items) else items[i] for i in range(0, len(items), 2)
        ]
    return items[0]


def _is_one_of(deliveries: list[LandedObject]):
    """Rows of exactly these deliveries: a re-delivery under the same key has another landing time."""
    from pyspark.sql import functions as F

    return _pairwise(
        lambda left, right: left | right,
        [
            (F.col("_source_key") == obj.key)
            & (F.col("_source_etag") == obj.etag)
            & (F.col("_landed_at") == F.lit(obj.last_modified).cast("timestamp"))
            for obj in deliveries
        ],
    )


def _read_file(
    spark, bucket: str, read_from: dict[str, str], entity: Entity, inspection: Inspection, cycle: Cycle
):
    """One file as raw rows: positional all-text schema from its header, known columns picked by name."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    positions = {}
    for index, name in enumerate(inspection.header):
        positions.setdefault(name, index)
    schema = StructType(
        [StructField(f"c{i}", StringType()) for i in range(len(inspection.header))]
        + [StructField(CORRUPT_RECORD, StringType())]
    )
    obj = inspection.obj
    frame = spark.read.csv(
        f"s3a://{bucket}/{read_from[obj.key]}",
        schema=schema,
        header=True,
        multiLine=True,
        mode="PERMISSIVE",
        columnNameOfCorruptRecord=CORRUPT_RECORD,
        quote='"',
        escape='"',
        encoding="UTF-8",
    )
    newlines = _count_newlines([F.col(f"c{i}") for i in range(len(inspection.header))])
    return frame.select(
        *[
            (F.col(f"c{positions[column]}") if column in positions else F.lit(None).cast("string")).alias(
                column
            )
            for column in entity.columns
        ],
        F.col(CORRUPT_RECORD),
        F.lit(obj.key).alias("_source_key"),
        F.lit(obj.etag).alias("_source_etag"),
        F.lit(obj.last_modified).cast("timestamp").alias("_landed_at"),
        F.lit(cycle.cycle_id).alias("_cycle_id"),
        F.lit(cycle.started_at).cast("timestamp").alias("_ingested_at"),
        F.lit(inspection.header_lines).alias("_header_lines"),
        _blank_line_thresholds(inspection.blank_lines).alias("_blank_thresholds"),
        F.when(F.col(CORRUPT_RECORD).isNotNull(), _count_newlines([F.col(CORRUPT_RECORD)]))
        .otherwise(newlines)
        .alias("_newlines"),
        F.monotonically_increasing_id().alias("_read_order"),
    )


def _count_newlines(columns):
    from pyspark.sql import functions as F

    text = F.concat_ws("", *columns)
    return F.length(text) - F.length(F.regexp_replace(text, "\n", ""))


def _numbered_in_read_order(frame):
    """Row and line numbers of a file with no quote, without a shuffle: each of its rows is one physical
    line, and the file is one partition (multiLine reads do not split files), in which the low 33 bits of
    monotonically_increasing_id count the rows from 0 (docs/benchmarks.md, "Numbering rows without a
    window")."""
    from pyspark.sql import functions as F

    row_number = F.col("_read_order").bitwiseAND(ROWS_IN_PARTITION_MASK) + 1
    return _with_row_and_line_numbers(frame, row_number, F.lit(0))


def _numbered_counting_line_breaks(frame):
    """Row and line numbers of files that quote: a row starts after the line breaks of the file's earlier
    rows, so each file's rows are sorted in read order to sum them."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    in_file = Window.partitionBy("_source_key").orderBy("_read_order")
    earlier = in_file.rowsBetween(Window.unboundedPreceding, -1)
    newlines_before = F.coalesce(F.sum("_newlines").over(earlier), F.lit(0))
    return _with_row_and_line_numbers(frame, F.row_number().over(in_file), newlines_before)


def _with_row_and_line_numbers(frame, row_number, newlines_before):
    """Row number within the file, and the physical line the row starts on (quoted line breaks counted)."""
    from pyspark.sql import functions as F

    without_blanks = F.col("_header_lines") + row_number + newlines_before
    blanks_before = F.size(F.filter("_blank_thresholds", lambda threshold: threshold <= F.col("_line")))
    return (
        frame.withColumn("_row_number", row_number.cast("int"))
        .withColumn("_line", without_blanks)
        .withColumn("_line_number", (F.col("_line") + blanks_before).cast("int"))
        .drop("_header_lines", "_blank_thresholds", "_newlines", "_read_order", "_line")
    )


def _blank_line_thresholds(blank_lines: tuple[int, ...]):
    """A row whose line number, counting no blank line, is at least the j-th (0-based) threshold B[j] - j
    starts after the j-th blank line B[j]; so its physical line is that number plus how many it reaches."""
    from pyspark.sql import functions as F

    thresholds = [line - j for j, line in enumerate(blank_lines)]
    return F.array(*[F.lit(t) for t in thresholds]).cast("array<int>")


def _record_in_ledger(
    spark,
    cycle: Cycle,
    accepted: list[Inspection],
    rejected: list[Inspection],
    row_counts: dict[str, int],
) -> None:
    if not accepted and not rejected:
        return
    rows = [
        (
            i.obj.key,
            i.obj.etag,
            i.obj.size,
            i.obj.last_modified,
            i.obj.entity_name,
            cycle.cycle_id,
            cycle.started_at,
            "accepted" if i.accepted else "rejected",
            None if i.accepted else i.rejection.reason,
            None if i.accepted else i.rejection.detail,
            row_counts[i.obj.key] if i.accepted else 0,
        )
        for i in accepted + rejected
    ]
    spark.createDataFrame(rows, schema=_ddl(LEDGER_COLUMNS)).write.format("delta").mode("append").saveAsTable(
        LEDGER_TABLE
    )


@dataclass(frozen=True)
class LedgerEntry:
    """A landed object a cycle applied: accepted (its rows are in the raw tables) or rejected as a whole."""

    key: str
    etag: str
    size: int
    landed_at: datetime
    entity: str
    cycle_id: str
    outcome: str
    reason: str | None
    detail: str | None
    row_count: int

    @property
    def identity(self) -> tuple[str, str, datetime]:
        return self.key, self.etag, self.landed_at


def not_yet_applied(spark, landed: list[LandedObject]) -> list[LandedObject]:
    """Landed objects no cycle has applied; applied ones in landing/ only wait for the archive step."""
    applied = {entry.identity for entry in ledger_entries_for(spark, landed)}
    return [obj for obj in landed if obj.identity not in applied]


def ledger_entries_for(spark, landed: list[LandedObject]) -> list[LedgerEntry]:
    """The ledger entries of objects that are in landing/ now (applied but not yet moved)."""
    if not landed:
        return []
    from pyspark.sql import functions as F

    present = {obj.identity for obj in landed}
    rows = (
        spark.table(LEDGER_TABLE)
        .where(F.col("key").isin(sorted({obj.key for obj in landed})))
        .drop("ingested_at")
        .collect()
    )
    entries = [LedgerEntry(**{**row.asDict(), "landed_at": _as_utc(row["landed_at"])}) for row in rows]
    return [entry for entry in entries if entry.identity in present]


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ddl(columns: dict[str, str]) -> str:
    return ", ".join(f"`{name}` {kind}" for name, kind in columns.items())
