"""The landing sensor asks for one run per batch of new objects and keeps a cursor with an overlap."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from orchestration.definitions import defs
from orchestration.resources import EcomResource
from tests.fakes import fake_s3

BUCKET = "sensor-bucket"


@pytest.fixture
def s3():
    with fake_s3(BUCKET) as client:
        yield client


def _tick(cursor: str | None):
    sensor = defs.resolve_sensor_def("landing_sensor")
    context = dg.build_sensor_context(
        cursor=cursor,
        resources={"ecom": EcomResource(bucket=BUCKET)},
        instance=dg.DagsterInstance.ephemeral(),
    )
    return sensor(context), context.cursor


def test_new_files_request_one_run_and_advance_the_cursor(s3):
    s3.put_object(Bucket=BUCKET, Key="landing/orders/a.csv", Body=b"1")
    s3.put_object(Bucket=BUCKET, Key="landing/order_items/b.csv", Body=b"2")
    s3.put_object(Bucket=BUCKET, Key="archive/orders/old.csv", Body=b"3")

    request, cursor = _tick(None)

    assert isinstance(request, dg.RunRequest)
    assert request.run_key.startswith("landing-")
    assert request.tags["ecom/new_objects"] == "2"
    assert request.tags["ecom/new_by_entity"] == "order_items=1, orders=1"
    state = json.loads(cursor)
    assert state["high_water"] is not None
    assert sorted(i.split("@")[0] for i in state["seen_in_overlap"]) == [
        "landing/order_items/b.csv",
        "landing/orders/a.csv",
    ]


def test_a_tick_with_nothing_new_skips_and_keeps_the_cursor(s3):
    s3.put_object(Bucket=BUCKET, Key="landing/orders/a.csv", Body=b"1")
    _, cursor = _tick(None)

    again, cursor_after = _tick(cursor)

    assert isinstance(again, dg.SkipReason)
    assert json.loads(cursor_after) == json.loads(cursor)


def test_a_file_landing_in_the_same_second_is_still_seen(s3):
    s3.put_object(Bucket=BUCKET, Key="landing/orders/a.csv", Body=b"1")
    first, cursor = _tick(None)
    s3.put_object(Bucket=BUCKET, Key="landing/orders/b.csv", Body=b"2")

    second, cursor = _tick(cursor)

    assert isinstance(second, dg.RunRequest)
    assert second.tags["ecom/new_objects"] == "1"
    assert second.run_key != first.run_key
    assert any(i.startswith("landing/orders/b.csv@") for i in json.loads(cursor)["seen_in_overlap"])


def test_the_same_new_objects_always_give_the_same_run_key(s3):
    s3.put_object(Bucket=BUCKET, Key="landing/orders/a.csv", Body=b"1")
    first, _ = _tick(None)
    repeated, _ = _tick(None)
    assert first.run_key == repeated.run_key


def test_ticks_over_an_empty_landing_zone_keep_skipping(s3):
    first, cursor = _tick(None)
    second, cursor = _tick(cursor)

    assert isinstance(first, dg.SkipReason) and isinstance(second, dg.SkipReason)
    s3.put_object(Bucket=BUCKET, Key="landing/orders/a.csv", Body=b"1")
    third, _ = _tick(cursor)
    assert isinstance(third, dg.RunRequest)
