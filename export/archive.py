"""Move applied files out of landing, byte for byte: accepted ones to `archive/`, rejected to `errors/`.

A move is copy, verify, delete: the source is deleted only once the copy is confirmed to have its size
and content hash, so a crash at any point leaves the file in landing, in its destination, or in both
(a rerun finishes the move), never nowhere. The delete is conditional on the source's ETag, so a new upload
under the same key during the move is not deleted with it.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from ingestion.landing import ARCHIVE, ERRORS, LANDING
from ingestion.raw_tables import LedgerEntry

log = logging.getLogger(__name__)

# The error codes S3 gives for a key that does not exist: HEAD requests have no body, hence "404".
MISSING = {"404", "NoSuchKey", "NotFound"}


class ArchiveError(RuntimeError):
    """A copy did not match its source; the source stays in landing."""


def destination_of(entry: LedgerEntry) -> str:
    area = ARCHIVE if entry.outcome == "accepted" else ERRORS
    return area + entry.key.removeprefix(LANDING)


def move_applied_files(s3, bucket: str, files: list[LedgerEntry]) -> dict[str, int]:
    """Move every file; returns how many went to archive/ and to errors/."""
    moved = {"archived": 0, "errored": 0}
    for applied in files:
        destination = _free_destination(s3, bucket, applied)
        s3.copy_object(Bucket=bucket, Key=destination, CopySource={"Bucket": bucket, "Key": applied.key})
        _verify_copy(s3, bucket, applied, destination)
        if applied.outcome != "accepted":
            _write_error_sidecar(s3, bucket, applied, destination)
        _delete_if_unchanged(s3, bucket, applied, destination)
        moved["archived" if applied.outcome == "accepted" else "errored"] += 1
        log.info("moved %s -> %s", applied.key, destination)
    return moved


def _delete_if_unchanged(s3, bucket: str, applied: LedgerEntry, destination: str) -> None:
    """Deletes the source only while it still holds the applied content: a file uploaded under the same key
    after the copy is a new delivery, which the next cycle applies. A source someone else deleted meanwhile
    is as good as moved: its copy is verified."""
    try:
        s3.delete_object(Bucket=bucket, Key=applied.key, IfMatch=f'"{applied.etag}"')
    except s3.exceptions.ClientError as error:
        code = error.response["Error"]["Code"]
        if code in MISSING:
            return
        if code != "PreconditionFailed":
            raise
        log.warning(
            "%s was uploaded again while it was moved: the applied content is in %s, the new upload stays in "
            "landing/ for the next cycle",
            applied.key,
            destination,
        )


def _free_destination(s3, bucket: str, applied: LedgerEntry) -> str:
    """The destination, unless another file sits there: every re-delivery under one key is kept."""
    destination = destination_of(applied)
    existing = _head(s3, bucket, destination)
    if existing is None or existing["ETag"].strip('"') == applied.etag:
        return destination
    return f"{destination}.{applied.cycle_id}"


def _verify_copy(s3, bucket: str, applied: LedgerEntry, destination: str) -> None:
    copy = _head(s3, bucket, destination)
    same_size = copy is not None and copy["ContentLength"] == applied.size
    # A multipart upload's ETag is not a content hash, so only a plain ETag can be compared.
    same_hash = "-" in applied.etag or (copy is not None and copy["ETag"].strip('"') == applied.etag)
    if not (same_size and same_hash):
        raise ArchiveError(
            f"copy of {applied.key} to {destination} does not match its source "
            f"(size {applied.size}, etag {applied.etag}); the source stays in landing/"
        )


def _write_error_sidecar(s3, bucket: str, applied: LedgerEntry, destination: str) -> None:
    sidecar = {
        "key": applied.key,
        "reason": applied.reason,
        "detail": applied.detail,
        "cycle_id": applied.cycle_id,
        "rejected_at": datetime.now(UTC).isoformat(),
        "rows_applied": 0,
    }
    s3.put_object(
        Bucket=bucket,
        Key=f"{destination}.error.json",
        Body=json.dumps(sidecar, indent=2).encode(),
        ContentType="application/json",
    )


def _head(s3, bucket: str, key: str) -> dict | None:
    try:
        return s3.head_object(Bucket=bucket, Key=key)
    except s3.exceptions.ClientError as error:
        if error.response["Error"]["Code"] in MISSING:
            return None
        raise
