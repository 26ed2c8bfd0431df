"""Which landed files are read, in which order, and which are rejected as a whole from their header."""

from __future__ import annotations

import gzip

import pytest

from ingestion.landing import inspect, list_landed
from tests.fakes import fake_s3

BUCKET = "landing-bucket"


@pytest.fixture
def s3():
    with fake_s3(BUCKET) as client:
        yield client


def _inspect(s3, key: str, body: bytes):
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    (obj,) = [o for o in list_landed(s3, BUCKET) if o.key == key]
    return inspect(s3, BUCKET, obj)


def test_landing_order_is_last_modified_then_key(s3):
    for key in ("landing/orders/b.csv", "landing/orders/a.csv", "landing/products/c.csv"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    landed = list_landed(s3, BUCKET)
    assert [(o.last_modified, o.key) for o in landed] == sorted((o.last_modified, o.key) for o in landed)
    assert {o.entity_name for o in landed} == {"orders", "products"}


def test_header_with_bom_crlf_case_and_spaces_is_accepted(s3):
    inspection = _inspect(
        s3,
        "landing/orders/x.csv",
        b"\xef\xbb\xbf Order_ID ,USER_ID,Status,created_at,Extra\r\n1,2,shipped,x,y\r\n",
    )
    assert inspection.accepted
    assert inspection.header == ("order_id", "user_id", "status", "created_at", "extra")
    assert inspection.header_lines == 1


def test_quoted_line_break_in_header_counts_its_lines(s3):
    inspection = _inspect(s3, "landing/products/p.csv", b'id,"cate\ngory"\n1,Jeans\n')
    assert inspection.rejection.reason == "missing_required_columns"
    inspection = _inspect(s3, "landing/products/q.csv", b'"id\n",category\n1,Jeans\n')
    assert inspection.accepted and inspection.header_lines == 2


def test_gzip_file_header_is_read_through_the_compression(s3):
    inspection = _inspect(s3, "landing/products/p.csv.gz", gzip.compress(b"id,category\n1,Jeans\n"))
    assert inspection.accepted and inspection.header == ("id", "category")


@pytest.mark.parametrize(
    ("key", "body", "reason", "detail_mentions"),
    [
        ("landing/orders/o.json", b"{}", "unsupported_file_type", ".csv"),
        ("landing/orders/o.csv", b"", "empty_file", "empty"),
        ("landing/orders/o.csv", b"\n\n", "empty_file", "no header"),
        ("landing/orders/o.csv", b"order_id,\xff\xfe,status\n", "undecodable", "UTF-8"),
        ("landing/orders/o.csv.gz", b"not gzip at all", "undecodable", "gzip"),
        (
            "landing/orders/o.csv",
            b"order_id,status\n1,shipped\n",
            "missing_required_columns",
            "user_id, created_at",
        ),
        ("landing/customers/c.csv", b"id\n1\n", "unknown_entity", "orders, order_items, products"),
    ],
)
def test_whole_file_rejections_name_the_reason(s3, key, body, reason, detail_mentions):
    inspection = _inspect(s3, key, body)
    assert not inspection.accepted
    assert inspection.rejection.reason == reason
    assert detail_mentions in inspection.rejection.detail
    assert key in inspection.rejection.detail
