"""What numbering rows costs ingestion, on the running services: the files of a delivery without quotes,
numbered in read order (no shuffle) against numbered by a window over each file, as all files were before.
Both must give the same rows first (docs/benchmarks.md, "Numbering rows without a window").

    eval "$(.venv/bin/ecom services env)" && .venv/bin/python -m benchmarks.ingestion_numbering \
        --data benchmarks/.state/data/delivery-01

The files go to a bucket of their own (`--bucket`), so the pipeline's landing zone is left alone. Each
variant is timed as a write to Spark's `noop` sink: every row read, parsed and numbered, nothing stored.
"""

from __future__ import annotations

import argparse
import logging
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.common import alternating_rounds
from ingestion.entities import ENTITIES
from ingestion.landing import inspect, list_landed, upload_directory
from ingestion.raw_tables import (
    Cycle,
    _numbered_counting_line_breaks,
    _numbered_in_read_order,
    _read_file,
    _union,
)
from ingestion.settings import Settings, s3_client, spark_session

log = logging.getLogger("ingestion_numbering")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a folder of <entity>/ folders of CSV files")
    parser.add_argument("--bucket", default="ecom-numbering-bench")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = Settings.from_env()
    spark, s3 = spark_session(settings), s3_client(settings)
    s3.create_bucket(Bucket=args.bucket)
    upload_directory(s3, args.bucket, args.data)
    inspections = [inspect(s3, args.bucket, obj) for obj in list_landed(s3, args.bucket)]
    cycle = Cycle("numbering-bench", datetime.now(UTC))
    for entity in ENTITIES.values():
        plain = [i for i in inspections if i.entity == entity and i.accepted and not i.has_quotes]
        if not plain:
            continue
        read_from = {i.obj.key: i.obj.key for i in plain}
        frames = [
            _read_file(spark, args.bucket, read_from, entity, inspection, cycle) for inspection in plain
        ]
        variants = {
            "read order": _union([_numbered_in_read_order(frame) for frame in frames]),
            "window": _numbered_counting_line_breaks(_union(frames)),
        }
        differing = sum(
            variants[a].exceptAll(variants[b]).count()
            for a, b in (("read order", "window"), ("window", "read order"))
        )
        rows = variants["read order"].count()
        log.info(
            "%s: %d file(s) without quotes, %d rows; rows differing between the two: %d",
            entity.name,
            len(plain),
            rows,
            differing,
        )
        if differing:
            raise SystemExit("the two numberings differ")
        writes = {name: frame.write.format("noop").mode("overwrite").save for name, frame in variants.items()}
        for round_number, seconds in enumerate(alternating_rounds(writes, args.rounds), 1):
            log.info(
                "%s round %d: read order %.1f s, window %.1f s",
                entity.name,
                round_number,
                seconds["read order"],
                seconds["window"],
            )


if __name__ == "__main__":
    main()
