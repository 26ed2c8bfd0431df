"""What sits in the landing zone, in landing order, and whether each file can be read at all.

Only the header is fetched here (a ranged GET), so a whole-file rejection costs one small request and the
rows themselves are read once, by Spark, straight from S3.
"""

from __future__ import annotations

import codecs
import csv
import io
import zlib
from dataclasses import dataclass
from datetime import datetime

from ingestion.entities import ENTITIES, Entity

LANDING = "landing/"
ARCHIVE = "archive/"
ERRORS = "errors/"
HEADER_PROBE_BYTES = 1 << 20
ACCEPTED_SUFFIXES = (".csv", ".csv.gz")


@dataclass(frozen=True)
class LandedObject:
    key: str
    etag: str
    size: int
    last_modified: datetime

    @property
    def relative_key(self) -> str:
        """The key below `landing/`, kept when the file moves to `archive/` or `errors/`."""
        return self.key.removeprefix(LANDING)

    @property
    def entity_name(self) -> str:
        return self.relative_key.split("/", 1)[0] if "/" in self.relative_key else ""

    @property
    def is_gzip(self) -> bool:
        return self.key.lower().endswith(".gz")


@dataclass(frozen=True)
class Rejection:
    """Why a whole file was refused; `reason` is a stable code, `detail` is for people."""

    reason: str
    detail: str


@dataclass(frozen=True)
class Inspection:
    obj: LandedObject
    entity: Entity | None
    header: tuple[str, ...]
    header_lines: int
    rejection: Rejection | None

    @property
    def accepted(self) -> bool:
        return self.rejection is None


def list_landed(s3, bucket: str) -> list[LandedObject]:
    """Every object under `landing/`, in landing order: LastModified ascending, ties broken by key."""
    objects = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=LANDING):
        for item in page.get("Contents", []):
            if item["Key"].endswith("/"):
                continue
            objects.append(
                LandedObject(
                    key=item["Key"],
                    etag=item["ETag"].strip('"'),
                    size=item["Size"],
                    last_modified=item["LastModified"],
                )
            )
    return sorted(objects, key=lambda o: (o.last_modified, o.key))


def inspect(s3, bucket: str, obj: LandedObject) -> Inspection:
    """Decide from the key and the header alone whether the file is rejected as a whole."""
    entity = ENTITIES.get(obj.entity_name)

    def rejected(reason: str, detail: str) -> Inspection:
        return Inspection(obj, entity, (), 0, Rejection(reason, detail))

    if not obj.key.lower().endswith(ACCEPTED_SUFFIXES):
        return rejected("unsupported_file_type", f"{obj.key}: only .csv and .csv.gz files are accepted")
    if entity is None:
        return rejected(
            "unknown_entity",
            f"{obj.key}: landing/<entity>/ must be one of {', '.join(ENTITIES)}",
        )
    if obj.size == 0:
        return rejected("empty_file", f"{obj.key}: the file is empty (no header row)")
    head = s3.get_object(Bucket=bucket, Key=obj.key, Range=f"bytes=0-{HEADER_PROBE_BYTES - 1}")["Body"]
    try:
        text = _decode_head(head.read(), obj.is_gzip)
    except (zlib.error, UnicodeDecodeError) as error:
        return rejected("undecodable", f"{obj.key}: cannot be decoded as {_encoding(obj)}: {error}")
    header, header_lines = _parse_header(text)
    if not header:
        return rejected("empty_file", f"{obj.key}: the file has no header row")
    missing = [column for column in entity.required if column not in header]
    if missing:
        return rejected(
            "missing_required_columns",
            f"{obj.key}, line 1: the header lacks required column(s) {', '.join(missing)} "
            f"(found: {', '.join(header)})",
        )
    return Inspection(obj, entity, header, header_lines, None)


def normalize_column(name: str) -> str:
    return name.replace("\ufeff", "").strip().lower()


def _encoding(obj: LandedObject) -> str:
    return "gzip-compressed UTF-8" if obj.is_gzip else "UTF-8"


def _decode_head(data: bytes, is_gzip: bool) -> str:
    """Decode the first bytes of a file; a multi-byte character cut by the range end is not an error."""
    if is_gzip:
        data = zlib.decompressobj(wbits=31).decompress(data, HEADER_PROBE_BYTES)
    return codecs.getincrementaldecoder("utf-8-sig")(errors="strict").decode(data, final=False)


def _parse_header(text: str) -> tuple[tuple[str, ...], int]:
    """The header's normalized column names and how many physical lines it spans."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        row = next(reader)
    except (StopIteration, csv.Error):
        return (), 0
    columns = tuple(normalize_column(name) for name in row)
    if not any(columns):
        return (), 0
    return columns, max(reader.line_num, 1)


def upload_directory(s3, bucket: str, directory) -> list[str]:
    """Put every file under `directory/<entity>/...` at `landing/<entity>/...`, in name order."""
    from pathlib import Path

    root = Path(directory)
    keys = []
    for path in sorted(
        (p for p in root.rglob("*") if p.is_file()), key=lambda p: p.relative_to(root).as_posix()
    ):
        key = LANDING + path.relative_to(root).as_posix()
        s3.upload_file(str(path), bucket, key)
        keys.append(key)
    return keys
