"""What sits in the landing zone, in landing order, and whether each file can be read at all.

Each file is streamed once here to prove it decompresses and decodes to the end (Spark would replace bad
bytes without a word) and to read its header; its rows are then read by Spark, straight from S3.
"""

from __future__ import annotations

import codecs
import csv
import io
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from ingestion.entities import ENTITIES, Entity

LANDING = "landing/"
ARCHIVE = "archive/"
ERRORS = "errors/"
CHUNK_BYTES = 1 << 20
HEAD_CHARS = 1 << 20
ACCEPTED_SUFFIXES = (".csv", ".csv.gz")


@dataclass(frozen=True)
class LandedObject:
    key: str
    etag: str
    size: int
    last_modified: datetime

    @property
    def identity(self) -> tuple[str, str, datetime]:
        """One delivery: the same key uploaded again is a new delivery with a new landing time."""
        return self.key, self.etag, self.last_modified

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
    # Physical lines that are empty outside quotes: Spark skips them, the line numbers must not.
    blank_lines: tuple[int, ...] = ()
    # Only a quoted field can hold a line break: a file without a quote has one physical line per row.
    has_quotes: bool = True

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
    """Decide whether the file is refused as a whole: from its key, then from one streaming read of all
    its bytes (it must decompress and decode as UTF-8 to the end), then from its header."""
    entity = ENTITIES.get(obj.entity_name)

    def rejected(reason: str, detail: str) -> Inspection:
        return Inspection(obj, entity, (), 0, Rejection(reason, f"{detail}; the whole file goes to errors/"))

    if not obj.key.lower().endswith(ACCEPTED_SUFFIXES):
        return rejected("unsupported_file_type", f"{obj.key}: only .csv and .csv.gz files are accepted")
    if entity is None:
        return rejected(
            "unknown_entity", f"{obj.key}: landing/<entity>/ must be one of {', '.join(ENTITIES)}"
        )
    if obj.size == 0:
        return rejected("empty_file", f"{obj.key}: the file is empty (no header row)")
    body = s3.get_object(Bucket=bucket, Key=obj.key)["Body"]
    try:
        decoded = decode_whole_file(iter(lambda: body.read(CHUNK_BYTES), b""), obj.is_gzip)
    except UndecodableFile as error:
        return rejected("undecodable", f"{obj.key}{error.where}: {error}")
    header, header_lines = _parse_header(decoded.head)
    if not header:
        return rejected("empty_file", f"{obj.key}: the file has no header row")
    missing = [column for column in entity.required if column not in header]
    if missing:
        return rejected(
            "missing_required_columns",
            f"{obj.key}, line 1: the header lacks required column(s) {', '.join(missing)} "
            f"(found: {', '.join(header)})",
        )
    return Inspection(obj, entity, header, header_lines, None, decoded.blank_lines, decoded.has_quotes)


class UndecodableFile(ValueError):
    """The bytes are not gzip (for .gz) or not UTF-8; `where` names the line and column when known."""

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(message)
        self.where = where


@dataclass(frozen=True)
class DecodedFile:
    head: str
    blank_lines: tuple[int, ...]
    has_quotes: bool


def decode_whole_file(chunks: Iterable[bytes], is_gzip: bool) -> DecodedFile:
    """Decode every byte of the file, failing on the first that is not UTF-8, and keep its beginning
    (enough for the header), where its blank lines are and whether it quotes anything. Spark would
    silently replace bad bytes and skip blank lines, so all of it is found here, in the one read of the
    file."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
    blanks = BlankLines()
    head: list[str] = []
    head_size = lines = column = 0
    has_quotes = False
    for data in _inflated(chunks) if is_gzip else chunks:
        try:
            text = decoder.decode(data)
        except UnicodeDecodeError as error:
            before = data[: max(error.start, 0)].decode("utf-8", errors="replace")
            line = lines + before.count("\n") + 1
            col = len(before) - before.rfind("\n") if "\n" in before else column + len(before) + 1
            bad = error.object[error.start] if error.start < len(error.object) else 0
            raise UndecodableFile(f"byte 0x{bad:02x} is not UTF-8", f", line {line}, column {col}") from error
        lines += text.count("\n")
        column = len(text) - text.rfind("\n") - 1 if "\n" in text else column + len(text)
        blanks.feed(text)
        has_quotes = has_quotes or '"' in text
        if head_size < HEAD_CHARS:
            head.append(text[: HEAD_CHARS - head_size])
            head_size += len(head[-1])
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as error:
        raise UndecodableFile(
            "the file ends inside a multi-byte UTF-8 character", f", line {lines + 1}"
        ) from error
    return DecodedFile("".join(head), tuple(blanks.found), has_quotes)


class BlankLines:
    """Physical line numbers of the lines Spark skips as empty, fed text in pieces.

    Like Spark's reader, the first line break decides the file's line ending: in a CRLF file an empty line
    is `\r\n`, in an LF file it is `\n` (a lone `\r` there is a one-field row). RFC 4180 quotes toggle, an
    escaped quote (`""`) twice, so the parity of the quotes so far says whether a break is inside a field.
    """

    def __init__(self) -> None:
        self.found: list[int] = []
        self._line = 1
        self._in_quotes = False
        self._partial = ""
        self._empty: str | None = None

    def feed(self, text: str) -> None:
        *complete, self._partial = (self._partial + text).split("\n")
        for line in complete:
            if self._empty is None:
                self._empty = "\r" if line.endswith("\r") else ""
            if not self._in_quotes and line == self._empty:
                self.found.append(self._line)
            self._in_quotes ^= line.count('"') % 2 == 1
            self._line += 1


def _inflated(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """gunzip a stream, members concatenated included; a corrupt or truncated stream is undecodable."""
    inflater = zlib.decompressobj(wbits=31)
    inside_member = False
    for chunk in chunks:
        while chunk:
            try:
                yield inflater.decompress(chunk)
            except zlib.error as error:
                raise UndecodableFile(f"not a valid gzip stream ({error})") from error
            inside_member = not inflater.eof
            chunk = inflater.unused_data if inflater.eof else b""
            if inflater.eof:
                inflater = zlib.decompressobj(wbits=31)
    if inside_member:
        raise UndecodableFile("the gzip stream is truncated")


def normalize_column(name: str) -> str:
    return name.replace("\ufeff", "").strip().lower()


def _encoding(obj: LandedObject) -> str:
    return "gzip-compressed UTF-8" if obj.is_gzip else "UTF-8"


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
