"""Property: whatever producers do to otherwise valid files, a cycle never fails, every row is accounted
for, rows of untouched files are unaffected, and every landed object is kept byte for byte."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.generate import generate_delivery
from ingestion.landing import upload_directory
from tests.conftest import file_digests, reset_pipeline
from tests.reference import read_rows

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("ECOM_PROPERTY_EXAMPLES", "1"))


def _cut(data: bytes, at: int, _: bytes) -> bytes:
    return data[:at]


def _insert(data: bytes, at: int, piece: bytes) -> bytes:
    return data[:at] + piece + data[at:]


def _swap_header_columns(data: bytes, _: int, __: bytes) -> bytes:
    header, _, rest = data.partition(b"\n")
    names = header.split(b",")
    names[0], names[1] = names[1], names[0]
    return b",".join(names) + b"\n" + rest


MUTATIONS = {
    "cut": (_cut, st.just(b"")),
    "junk_bytes": (_insert, st.binary(min_size=1, max_size=12)),
    "stray_quote": (_insert, st.just(b'"')),
    "huge_field": (_insert, st.just(b"x" * 200_000)),
    "swap_columns": (_swap_header_columns, st.just(b"")),
}


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_mutated_files_never_break_a_cycle(services, tmp_path_factory, data):
    pipeline = reset_pipeline(services)
    root = tmp_path_factory.mktemp("mutated")
    generate_delivery(root, orders=30, seed=data.draw(st.integers(0, 10_000), label="seed"))
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.endswith(".gz"))
    mutated = data.draw(st.sets(st.sampled_from(files), min_size=1, max_size=3), label="mutated files")
    for path in sorted(mutated):
        name = data.draw(st.sampled_from(sorted(MUTATIONS)), label=f"mutation of {path.name}")
        mutate, pieces = MUTATIONS[name]
        original = path.read_bytes()
        at = data.draw(st.integers(0, len(original)), label="position")
        path.write_bytes(mutate(original, at, data.draw(pieces, label="bytes")))
    upload_directory(pipeline.s3, pipeline.settings.bucket, root)

    run = pipeline.ecom("run")

    assert run.returncode == 0, run.stderr[-3000:]
    report = pipeline.report()
    for figures in report["entities"].values():
        assert figures["received"] == figures["rejected"] + figures["superseded"] + figures["current"]
    assert sum(report["files"].values()) == sum(1 for p in root.rglob("*") if p.is_file())
    _assert_untouched_files_are_unaffected(pipeline, root, [p for p in files if p not in mutated])
    _assert_every_object_kept(pipeline, root)


def _assert_untouched_files_are_unaffected(pipeline, root: Path, untouched: list[Path]) -> None:
    for path in untouched:
        key = "landing/" + path.relative_to(root).as_posix()
        entity = path.relative_to(root).parts[0]
        stored = pipeline.spark.table(f"raw.{entity}").where(f"_source_key = '{key}'").count()
        assert stored == len(read_rows(path)), key
        rejected = pipeline.spark.table("quarantine.rejected_rows").where(f"source_key = '{key}'").count()
        assert rejected == 0, key


def _assert_every_object_kept(pipeline, root: Path) -> None:
    assert pipeline.keys("landing/") == []
    assert pipeline.kept_digests() == file_digests([root])
